// once_event stress and regression tests for the use-after-free races the
// `events` crate (our reference) had to fix, run under TSan and ASan in CI:
//   * a sender dropped while its receiver was suspending / awaiting;
//   * a receiver dropped (freeing the event) while its sender was still
//     signalling — the sender's wake-up must not touch the freed event;
//   * a waiter that re-entered during the wake-up: resumed inside send(), it
//     rebinds a pooled event at the same address and waits again while the
//     first send() is still running; the old wake-up must not reach it.
// Every round checks that each value was destroyed exactly once and every
// event went back (ASan reports a double free or a use after free at once).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <thread>

#include "beacon/detail/platform.hpp"
#include "beacon/once_event.hpp"
#include "support/test_support.hpp"
#include "support/tracked.hpp"

namespace {

using namespace std::chrono;
using namespace beacon_test;
using beacon::disconnected;
using beacon::once_event_pool;

// Rounds per test: enough to hit the windows often, bounded in time so that
// the sanitizer builds stay fast, but never fewer than min_rounds (a loaded
// machine makes every round slow; the tests check that the rounds ran).
constexpr int min_rounds = 200, max_rounds = 20'000;
constexpr auto time_budget = 1500ms;

// Whether to run round `r` of a test whose time budget ends at `until`.
bool another_round(int r, steady_clock::time_point until) {
  return r < max_rounds && (r < min_rounds || steady_clock::now() < until);
}

// Spins for a random short while, to shift the two sides against each other.
void jitter(std::minstd_rand& rng, unsigned max_pauses = 256) {
  for (unsigned i = rng() % max_pauses; i > 0; --i)
    beacon::detail::platform::cpu_relax();
}

// Runs `a(round)` here and `b(round)` on a second thread, started together
// each round; `setup(round)` runs first, `check(round)` after both finished.
template <class Setup, class A, class B, class Check>
int race(Setup setup, A a, B b, Check check) {
  std::atomic<int> start{-1}, done{-1};
  std::atomic<bool> stop{false};
  scoped_thread other([&] {
    for (int r = 0;; ++r) {
      // Spin briefly (the rounds want both sides running together), then
      // yield, so an oversubscribed machine does not starve the main side.
      for (int spins = 0; start.load(std::memory_order_acquire) < r; ++spins) {
        if (stop.load(std::memory_order_acquire)) return;
        if (spins < 1024)
          beacon::detail::platform::cpu_relax();
        else
          std::this_thread::yield();
      }
      b(r);
      done.store(r, std::memory_order_release);
    }
  });
  const auto until = steady_clock::now() + time_budget;
  int r = 0;
  for (; another_round(r, until); ++r) {
    setup(r);
    start.store(r, std::memory_order_release);
    a(r);
    while (done.load(std::memory_order_acquire) < r)
      std::this_thread::yield();
    check(r);
    if (::testing::Test::HasFailure()) break;
  }
  stop.store(true, std::memory_order_release);
  return r;
}

using once_event_stress = tracked_values;

// ---------------------------------------------------------------------------
// Sender dropped while the receiver was awaiting.

TEST_F(once_event_stress, sender_dropped_while_the_receiver_awaits) {
  using E = beacon::once_event<tracked>;
  std::optional<E::managed_sender> tx;
  std::optional<E::managed_receiver> rx;
  std::optional<task> t;
  bool disc = false, got = false;
  std::minstd_rand rng_a(1), rng_b(2);
  auto body = [&](E::managed_receiver r) -> task {
    try {
      (void)co_await std::move(r);
      got = true;
    } catch (const disconnected&) {
      disc = true;
    }
  };
  const int rounds = race(
      [&](int) {
        auto ch = beacon::make_once<tracked>();
        tx.emplace(std::move(ch.sender));
        rx.emplace(std::move(ch.receiver));
        disc = got = false;
      },
      [&](int) {
        jitter(rng_a);
        t.emplace(body(std::move(*rx)));  // suspends unless the drop came first
      },
      [&](int r) {
        jitter(rng_b);
        if (r % 4 == 0) std::move(*tx).emplace(r);  // sometimes a value instead
        tx.reset();  // drops the sender (frees nothing: rx lives)
      },
      [&](int r) {
        // The coroutine was resumed inline by the drop (on the other thread,
        // before it returned) or never suspended.
        ASSERT_TRUE(t->finished());
        EXPECT_EQ(r % 4 == 0, got);
        EXPECT_EQ(r % 4 != 0, disc);
        t.reset();
        rx.reset();
        EXPECT_EQ(tracked::live.load(), 0);
      });
  EXPECT_GT(rounds, 100);
}

// ---------------------------------------------------------------------------
// Receiver dropped while the sender was signalling.

// The receiver waits a little (it may park, setting `parked`), gives up or
// takes the value, and is dropped at once — freeing the managed event when
// the sender finished — while the sender may be anywhere in send().
TEST_F(once_event_stress, receiver_dropped_while_the_sender_signals) {
  using E = beacon::once_event<tracked>;
  std::optional<E::managed_sender> tx;
  std::optional<E::managed_receiver> rx;
  std::minstd_rand rng_a(3), rng_b(4);
  int received = 0;
  const int rounds = race(
      [&](int) {
        auto ch = beacon::make_once<tracked>();
        tx.emplace(std::move(ch.sender));
        rx.emplace(std::move(ch.receiver));
      },
      [&](int r) {
        jitter(rng_a);
        std::optional<tracked> v;
        switch (r % 3) {
          case 0:
            v = rx->receive_for(microseconds(rng_a() % 30));
            break;
          case 1:
            v = rx->try_receive();
            break;
          case 2:
            v = rx->receive_for(0s);
            break;
        }
        received += v.has_value();
        rx.reset();  // the last end frees the event; ASan checks the sender does not
                     // touch it
      },
      [&](int r) {
        jitter(rng_b, 1024);
        std::move(*tx).emplace(r);
        tx.reset();
      },
      [&](int) { EXPECT_EQ(tracked::live.load(), 0); });
  EXPECT_GT(rounds, 100);
  (void)received;
}

// The same with the receiver blocked for real, then leaving on a time-out
// exactly when the sender arrives (the window between a sender's store and
// its unpark in a "store, then unpark" design).
TEST_F(once_event_stress, a_timed_out_receiver_leaves_while_the_sender_wakes_it) {
  auto pool = std::make_shared<once_event_pool<tracked>>();
  using P = once_event_pool<tracked>;
  std::optional<P::sender_by_shared> tx;
  std::optional<P::receiver_by_shared> rx;
  std::minstd_rand rng_a(5), rng_b(6);
  const int rounds = race(
      [&](int) {
        auto ch = P::bind_by_shared(pool);
        tx.emplace(std::move(ch.sender));
        rx.emplace(std::move(ch.receiver));
      },
      [&](int) {
        (void)rx->receive_for(microseconds(20 + rng_a() % 40));
        rx.reset();  // may return the event to the pool, which rebinds it next round
      },
      [&](int r) {
        const auto wait = microseconds(rng_b() % 80);
        const auto until = steady_clock::now() + wait;
        while (steady_clock::now() < until)
          beacon::detail::platform::cpu_relax();
        std::move(*tx).emplace(r);
        tx.reset();
      },
      [&](int) {
        EXPECT_EQ(tracked::live.load(), 0);
        EXPECT_EQ(pool->size(), 0u);
      });
  EXPECT_GT(rounds, 100);
}

// ---------------------------------------------------------------------------
// A waiter that re-entered during the wake-up.

// A coroutine awaits a pooled event; the send() that resumes it (inline, on
// the producer thread, inside unpark_one's wake-up) lets it return the event
// and immediately rebind the same slot — same address, same queue key — and
// suspend on it again before that send() has returned. The old send must
// neither wake the new wait nor touch the event.
TEST_F(once_event_stress, a_coroutine_that_rebinds_the_same_event_during_its_wake_up) {
  once_event_pool<tracked> pool;
  pool.reserve(1);
  using P = once_event_pool<tracked>;
  constexpr int rounds = 20'000;
  std::optional<P::sender_by_ref> slot;  // guarded by `ready`
  std::atomic<bool> ready{false};
  std::atomic<bool> stop{false};
  int next = 0;
  bool failed = false;
  const void* first_address = nullptr;
  bool reused = true;
  auto consumer = [&]() -> task {
    for (int i = 0; i < rounds; ++i) {
      auto [tx, rx] = pool.bind_by_ref();
      slot.emplace(std::move(tx));
      ready.store(true, std::memory_order_release);
      tracked v = co_await std::move(rx);  // may be resumed on the producer thread
      if (v.v != i) failed = true;
      next = i + 1;
    }
  };
  std::minstd_rand rng(7);
  scoped_thread producer([&] {
    for (int i = 0; i < rounds; ++i) {
      while (!ready.load(std::memory_order_acquire)) {
        if (stop.load()) return;
        std::this_thread::yield();
      }
      ready.store(false, std::memory_order_relaxed);
      P::sender_by_ref tx = std::move(*slot);
      slot.reset();
      jitter(rng);
      std::move(tx).emplace(i);  // resumes the consumer here when it is suspended
    }
  });
  task t = consumer();
  ASSERT_TRUE(eventually([&] { return t.finished(); }));
  stop = true;
  producer.join();
  EXPECT_FALSE(failed);
  EXPECT_EQ(next, rounds);
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_EQ(pool.capacity(), 1u);  // every round reused the one event
  (void)first_address;
  (void)reused;
}

// The thread version: the receiver thread, woken by send(), returns the
// event, rebinds the same slot and parks on it again while the sender may
// still be inside its unpark (waking the previous waiter entry).
TEST_F(once_event_stress, a_thread_that_rebinds_the_same_event_during_its_wake_up) {
  once_event_pool<tracked> pool;
  pool.reserve(1);
  using P = once_event_pool<tracked>;
  std::optional<P::sender_by_ref> slot;  // guarded by `ready`
  std::atomic<bool> ready{false};
  std::atomic<bool> stop{false};
  std::atomic<int> received{0};
  scoped_thread receiver([&] {
    for (int i = 0;; ++i) {
      if (stop.load(std::memory_order_acquire)) return;
      auto [tx, rx] = pool.bind_by_ref();
      slot.emplace(std::move(tx));
      ready.store(true, std::memory_order_release);
      std::optional<tracked> v;
      while (!(v = rx.receive_for(5ms))) {  // bounded, so that `stop` ends it
        if (stop.load(std::memory_order_acquire)) return;
      }
      EXPECT_EQ(v->v, i);
      received.store(i + 1, std::memory_order_release);
    }
  });
  std::minstd_rand rng(8);
  const auto until = steady_clock::now() + time_budget;
  int i = 0;
  for (; another_round(i, until); ++i) {
    while (!ready.load(std::memory_order_acquire))
      std::this_thread::yield();
    ready.store(false, std::memory_order_relaxed);
    P::sender_by_ref tx = std::move(*slot);
    slot.reset();
    if (i % 8 == 0) std::this_thread::sleep_for(30us);  // let it really park
    jitter(rng);
    std::move(tx).emplace(i);
    if (::testing::Test::HasFailure()) break;
  }
  ASSERT_TRUE(eventually([&] { return received.load() == i; }));
  stop = true;
  receiver.join();
  EXPECT_GT(i, 100);
  EXPECT_EQ(pool.capacity(), 1u);
}

// ---------------------------------------------------------------------------
// Everything at once: pairs of ends over a shared pool and managed events,
// each end doing something random (send, drop, block, time out, try, await),
// on two threads.
TEST_F(once_event_stress, random_operations_on_both_ends) {
  auto pool = std::make_shared<once_event_pool<tracked>>();
  using P = once_event_pool<tracked>;
  std::optional<P::sender_by_shared> tx;
  std::optional<P::receiver_by_shared> rx;
  std::minstd_rand rng_a(9), rng_b(10);
  std::optional<task> t;
  auto body = [](P::receiver_by_shared r) -> task {
    try {
      (void)co_await std::move(r);
    } catch (const disconnected&) {
    }
  };
  const int rounds = race(
      [&](int) {
        auto ch = P::bind_by_shared(pool);
        tx.emplace(std::move(ch.sender));
        rx.emplace(std::move(ch.receiver));
      },
      [&](int) {
        jitter(rng_a);
        try {
          switch (rng_a() % 5) {
            case 0:
              (void)rx->receive_for(microseconds(rng_a() % 50));
              break;
            case 1:
              (void)rx->try_receive();
              break;
            case 2:
              t.emplace(body(std::move(*rx)));
              break;
            case 3:
              break;  // just drop it
            case 4: {
              std::stop_source s;
              if (rng_a() % 2) s.request_stop();
              (void)rx->receive(s.get_token());
              break;
            }
          }
        } catch (const disconnected&) {
        }
        rx.reset();
      },
      [&](int r) {
        jitter(rng_b);
        if (rng_b() % 3) std::move(*tx).emplace(r);
        tx.reset();
      },
      [&](int) {
        if (t) {
          ASSERT_TRUE(t->finished());
          t.reset();
        }
        EXPECT_EQ(tracked::live.load(), 0);
        EXPECT_EQ(pool->size(), 0u);
      });
  EXPECT_GT(rounds, 100);
}

}  // namespace
