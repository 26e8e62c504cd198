// Multi-thread stress with invariants: nothing lost, nothing doubled. Every
// wait is bounded, so a lost wake-up fails the test instead of hanging it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "beacon/auto_reset_event.hpp"
#include "beacon/manual_reset_event.hpp"
#include "support/test_support.hpp"

namespace {

using namespace std::chrono;
using namespace beacon_test;
using beacon::auto_reset_event;
using beacon::manual_reset_event;

// Producers post tokens (a counter) and set the event; consumers take tokens
// and wait when there are none. If a set() were lost while a consumer
// sleeps, the consumers would stall with tokens left: the bounded wait
// catches it.
TEST(event_stress, auto_reset_tokens_produced_equal_tokens_consumed) {
  constexpr int producers = 3, consumers = 3, per_producer = 20'000;
  constexpr long total = long{producers} * per_producer;
  auto_reset_event ev;
  std::atomic<long> pending{0}, consumed{0};
  std::atomic<bool> stalled{false};
  std::vector<scoped_thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&] {
      for (int i = 0; i < per_producer; ++i) {
        pending.fetch_add(1, std::memory_order_release);
        ev.set();
      }
    });
  for (int c = 0; c < consumers; ++c)
    threads.emplace_back([&] {
      while (consumed.load() < total && !stalled.load()) {
        long p = pending.load(std::memory_order_acquire);
        if (p > 0 && pending.compare_exchange_strong(p, p - 1)) {
          consumed.fetch_add(1);
          continue;
        }
        if (consumed.load() >= total) break;
        // Wait for the next set(); the time-out only detects a lost wake-up.
        if (!ev.wait_for(patience) && pending.load() > 0) stalled = true;
      }
      ev.set();  // let the other consumers see the end
    });
  for (auto& t : threads)
    t.join();
  EXPECT_FALSE(stalled.load());
  EXPECT_EQ(consumed.load(), total);
  EXPECT_EQ(pending.load(), 0);
}

// Each set() releases at most one waiter: a waiter checks, right after it is
// released, that releases never outnumber the sets issued so far. The setter
// paces itself so no set collapses, hence every set releases exactly one.
//
// The exit is a relay: the waiter released by the last paced set issues one
// more set(), and every waiter released after that passes one on before it
// returns. Only one exit signal exists at a time, so none can collapse into
// another. (Issuing all the exit sets at once, as an earlier version did,
// lets them collapse while the other waiters are not yet back in wait(), and
// the test then timed out on a loaded machine, with no fault in the event.)
TEST(event_stress, auto_reset_never_releases_more_than_one_per_set) {
  constexpr int waiters = 4, rounds = 3'000;
  auto_reset_event ev;
  std::atomic<int> sets{0}, released{0};
  std::atomic<bool> doubled{false}, timed_out{false};
  std::vector<scoped_thread> threads;
  for (int w = 0; w < waiters; ++w)
    threads.emplace_back([&] {
      for (;;) {
        if (!ev.wait_for(patience)) {
          timed_out = true;
          return;
        }
        const int r = released.fetch_add(1) + 1;
        if (r >= waiters * rounds) {
          // The last paced release, or an exit signal: pass one on, leave.
          if (r == waiters * rounds && r > sets.load()) doubled = true;
          ev.set();
          return;
        }
        if (r > sets.load()) doubled = true;
      }
    });
  for (int i = 1; i <= waiters * rounds && !timed_out; ++i) {
    sets.fetch_add(1);
    ev.set();
    ASSERT_TRUE(eventually([&] { return released.load() >= i; }))
        << "set " << i << " was lost";
  }
  for (auto& t : threads)
    t.join();
  EXPECT_FALSE(doubled.load());
  EXPECT_FALSE(timed_out.load());
}

// Waiters with very short time-outs race set(): a signal handed to a waiter
// that is timing out must reach a waiter or stay in the event, never vanish.
TEST(event_stress, auto_reset_signal_survives_racing_time_outs) {
  constexpr int waiters = 4, rounds = 4'000;
  auto_reset_event ev;
  std::atomic<int> successes{0};
  std::atomic<bool> done{false};
  std::vector<scoped_thread> threads;
  for (int w = 0; w < waiters; ++w)
    threads.emplace_back([&, w] {
      while (!done.load()) {
        if (ev.wait_for(microseconds(w * 20))) successes.fetch_add(1);
      }
    });
  for (int i = 1; i <= rounds; ++i) {
    ev.set();
    ASSERT_TRUE(eventually([&] { return successes.load() >= i; }))
        << "signal " << i << " lost";
    ASSERT_EQ(successes.load(), i) << "signal " << i << " consumed twice";
  }
  done = true;
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(successes.load(), rounds);
}

// Rounds of broadcast: every waiter blocked when set() runs is released,
// even though reset() follows immediately.
TEST(event_stress, manual_reset_broadcast_releases_every_blocked_waiter) {
  constexpr int waiters = 4, rounds = 500;
  manual_reset_event go;
  std::atomic<int> passed{0};
  std::atomic<bool> timed_out{false};
  std::atomic<int> round{0};
  std::vector<scoped_thread> threads;
  for (int w = 0; w < waiters; ++w)
    threads.emplace_back([&] {
      for (int r = 1; r <= rounds; ++r) {
        // Wait for the main thread to open round r, then for the broadcast.
        if (!eventually([&] { return round.load() >= r; })) {
          timed_out = true;
          return;
        }
        if (!go.wait_for(patience)) {
          timed_out = true;
          return;
        }
        passed.fetch_add(1);
      }
    });
  for (int r = 1; r <= rounds; ++r) {
    round.store(r);
    // All waiters of this round are parked (or about to find it set).
    ASSERT_TRUE(queued_eventually(key(go), waiters));
    go.set();
    go.reset();
    ASSERT_TRUE(eventually([&] { return passed.load() == r * waiters; }))
        << "round " << r << ": " << passed.load();
  }
  for (auto& t : threads)
    t.join();
  EXPECT_FALSE(timed_out.load());
}

// Coroutines resumed on several setter threads: each set resumes at most
// one, and all are eventually resumed.
TEST(event_stress, auto_reset_coroutines_each_resumed_once) {
  constexpr int coroutines = 2'000, setters = 2;
  auto_reset_event ev;
  std::atomic<int> resumed{0};
  std::vector<task> tasks;
  auto coro = [&]() -> task {
    co_await ev;
    resumed.fetch_add(1);
  };
  tasks.reserve(coroutines);
  for (int i = 0; i < coroutines; ++i)
    tasks.push_back(coro());
  std::vector<scoped_thread> threads;
  for (int s = 0; s < setters; ++s)
    threads.emplace_back([&] {
      for (int i = 0; i < coroutines / setters; ++i)
        ev.set();
    });
  for (auto& t : threads)
    t.join();
  // Each set released one coroutine or, if it found none queued... all were
  // queued before the setters started, so every set resumed exactly one.
  EXPECT_EQ(resumed.load(), coroutines);
  EXPECT_FALSE(ev.try_wait());
  for (auto& t : tasks)
    EXPECT_TRUE(t.finished());
}

}  // namespace
