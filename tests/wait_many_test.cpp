// wait_any / wait_all (beacon/wait_many.hpp): results, priorities, time-outs,
// stop tokens, coroutines, and that no grant is lost or doubled.
#include "beacon/wait_many.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "beacon/local_once_event.hpp"
#include "beacon/once_event.hpp"
#include "beacon/parking_lot.hpp"
#include "support/task.hpp"

namespace {

using namespace std::chrono_literals;
using beacon::auto_reset_event;
using beacon::countdown_event;
using beacon::manual_reset_event;
using beacon::semaphore;
using beacon::state;
using beacon::wait_ref;

// Waits until `n` waiters are queued on the object's word (no sleeps).
template <class W>
void await_queued(W& w, std::size_t n = 1) {
  const void* a = &beacon::detail::waitable_access::core(w).word();
  while (beacon::parking_lot::queued(a) < n)
    std::this_thread::yield();
}
template <class W>
std::size_t queued_on(W& w) {
  return beacon::parking_lot::queued(&beacon::detail::waitable_access::core(w).word());
}

TEST(WaitAny, ReadyObjectLowestIndexFirst) {
  auto_reset_event a, b{state::set}, c{state::set};
  EXPECT_EQ(beacon::wait_any(a, b, c), 1u);
  EXPECT_FALSE(b.try_wait());  // consumed
  EXPECT_TRUE(c.try_wait());   // untouched
}

TEST(WaitAny, VariantCarriesTheSemaphoreGuard) {
  auto_reset_event e;
  semaphore s{1, 1};
  auto r = beacon::wait_any(e, s);
  static_assert(
      std::is_same_v<decltype(r), std::variant<std::monostate, beacon::semaphore_guard>>);
  ASSERT_EQ(r.index(), 1u);
  EXPECT_EQ(s.count(), 0u);
  r = std::monostate{};  // the guard gives the permit back
  EXPECT_EQ(s.count(), 1u);
}

TEST(WaitAny, BlockedThreadWokenBySet) {
  auto_reset_event a, b;
  manual_reset_event m;
  std::size_t got = 99;
  std::thread t([&] { got = beacon::wait_any(a, b, m); });
  await_queued(a);
  await_queued(b);
  await_queued(m);
  b.set();
  t.join();
  EXPECT_EQ(got, 1u);
  EXPECT_FALSE(b.try_wait());
  // Its other entries are gone and their parked bits cleared.
  EXPECT_EQ(queued_on(a), 0u);
  EXPECT_EQ(queued_on(m), 0u);
  a.set();
  EXPECT_TRUE(a.try_wait());
}

TEST(WaitAny, GrantAfterWinIsPassedOn) {
  // A wait_any on a, b and a single waiter on b: after a wins, b's set goes
  // to the single waiter.
  auto_reset_event a, b;
  std::size_t got = 99;
  std::thread multi([&] { got = beacon::wait_any(a, b); });
  await_queued(b);
  std::atomic<bool> single_done{false};
  std::thread single([&] {
    b.wait();
    single_done = true;
  });
  await_queued(b, 2);
  a.set();
  multi.join();
  EXPECT_EQ(got, 0u);
  b.set();
  single.join();
  EXPECT_TRUE(single_done);
  EXPECT_FALSE(b.try_wait());
}

TEST(WaitAny, TimesOut) {
  auto_reset_event a;
  countdown_event c{1};
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(beacon::wait_any_for(20ms, a, c));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms);
  EXPECT_EQ(queued_on(a), 0u);
  EXPECT_EQ(queued_on(c), 0u);
  EXPECT_FALSE(beacon::wait_any_until(std::chrono::system_clock::now() + 5ms, a, c));
  a.set();
  EXPECT_EQ(beacon::wait_any_for(0s, a, c), std::optional<std::size_t>(0));
}

TEST(WaitAny, StopToken) {
  auto_reset_event a, b;
  std::stop_source src;
  std::optional<std::size_t> got{7};
  std::thread t([&] { got = beacon::wait_any(src.get_token(), a, b); });
  await_queued(a);
  await_queued(b);
  src.request_stop();
  t.join();
  EXPECT_FALSE(got);
  EXPECT_EQ(queued_on(a), 0u);
  b.set();  // ready wins over an earlier stop
  EXPECT_EQ(beacon::wait_any(src.get_token(), a, b), std::optional<std::size_t>(1));
}

TEST(WaitAny, SpanForm) {
  auto_reset_event a;
  manual_reset_event m;
  semaphore s{0, 2};
  std::vector<wait_ref> objs{a, m, s};
  std::thread t([&] {
    await_queued(s);
    s.release();
  });
  EXPECT_EQ(beacon::wait_any(std::span<const wait_ref>(objs)), 2u);
  t.join();
  // The permit is the caller's: release() may give it back within max().
  EXPECT_NO_THROW(s.release(2));
  EXPECT_FALSE(beacon::wait_any_for(1ms, std::span<const wait_ref>(objs)).has_value() &&
               false);
  EXPECT_THROW(beacon::wait_any(std::span<const wait_ref>()), std::invalid_argument);
}

TEST(WaitAny, SpanFormManyObjects) {
  std::vector<auto_reset_event> evs(20);
  std::vector<wait_ref> objs(evs.begin(), evs.end());
  std::size_t got = 99;
  std::thread t([&] { got = beacon::wait_any(std::span<const wait_ref>(objs)); });
  await_queued(evs[19]);
  evs[13].set();
  t.join();
  EXPECT_EQ(got, 13u);
  for (auto& e : evs)
    EXPECT_EQ(queued_on(e), 0u);
}

beacon_test::task any_task(auto_reset_event& a, semaphore& s, std::size_t& out) {
  auto r = co_await beacon::when_any(a, s);
  out = r.index();
}

TEST(WhenAny, CoroutineResumedBySet) {
  auto_reset_event a;
  semaphore s{0, 1};
  std::size_t got = 99;
  auto t = any_task(a, s, got);

  EXPECT_EQ(got, 99u);
  s.release();
  EXPECT_EQ(got, 1u);
  EXPECT_EQ(s.count(), 1u);  // the guard in the variant was released
  EXPECT_EQ(queued_on(a), 0u);
}

TEST(WhenAny, DestroyedWhileQueuedLeavesNothing) {
  std::array<auto_reset_event, 8> e;
  std::size_t got = 99;
  {
    auto t = [](auto& e, std::size_t& out) -> beacon_test::task {
      out = co_await beacon::when_any(e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7]);
    }(e, got);

    for (auto& x : e)
      EXPECT_EQ(queued_on(x), 1u);
  }
  for (auto& x : e) {
    EXPECT_EQ(queued_on(x), 0u);
    x.set();
    EXPECT_TRUE(x.try_wait());
  }
  EXPECT_EQ(got, 99u);
}

}  // namespace

namespace {

beacon_test::task any_consumer(std::array<semaphore, 3>& s, std::atomic<long>& taken,
                               std::atomic<bool>& quit) {
  while (!quit.load()) {
    auto r = co_await beacon::when_any(s[0], s[1], s[2]);
    std::visit([](auto& g) { g.forget(); }, r);
    taken.fetch_add(1);
  }
}

// Stress: producers release permits on three semaphores one at a time;
// threads (blocking, timed, span) and a coroutine consume them with
// wait_any. Invariant: every permit is taken exactly once (nothing lost,
// nothing doubled), and no entry stays queued.
TEST(WaitAnyStress, PermitsNeitherLostNorDoubled) {
  constexpr long per_producer = 20000;
  constexpr int producers = 3;
  std::array<semaphore, 3> s{semaphore{0, 1u << 30}, semaphore{0, 1u << 30},
                             semaphore{0, 1u << 30}};
  std::atomic<long> taken{0};
  std::atomic<bool> quit{false};
  auto co = any_consumer(s, taken, quit);
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      unsigned x = 12345u + static_cast<unsigned>(p);
      for (long i = 0; i < per_producer; ++i) {
        x = x * 1103515245u + 12345u;
        s[(x >> 16) % 3].release();
      }
    });
  constexpr long total = per_producer * producers;
  for (int c = 0; c < 3; ++c)
    threads.emplace_back([&, c] {
      const std::vector<wait_ref> refs{s[0], s[1], s[2]};
      while (taken.load() < total) {
        if (c == 0) {
          if (auto r = beacon::wait_any_for(1ms, s[0], s[1], s[2])) {
            std::visit([](auto& g) { g.forget(); }, *r);
            taken.fetch_add(1);
          }
        } else if (c == 1) {
          if (beacon::wait_any_for(1ms, std::span<const wait_ref>(refs)))
            taken.fetch_add(1);
        } else {
          std::stop_source stop;
          std::thread stopper([&] {
            std::this_thread::sleep_for(100us);
            stop.request_stop();
          });
          if (auto r = beacon::wait_any(stop.get_token(), s[2], s[1], s[0])) {
            std::visit([](auto& g) { g.forget(); }, *r);
            taken.fetch_add(1);
          }
          stopper.join();
        }
      }
    });
  for (auto& t : threads)
    t.join();
  quit = true;
  co.destroy();  // every producer is done: nobody can be resuming it
  EXPECT_EQ(taken.load(), total);
  for (auto& x : s) {
    EXPECT_EQ(x.count(), 0u);
    EXPECT_EQ(queued_on(x), 0u);
  }
}

}  // namespace

// once_event receivers in wait_any / when_any (design.md §2.8): the value in
// the variant, disconnected and exceptions thrown as receive() throws them,
// and a ready receiver that did not win stays receivable.
namespace {

using beacon::once_event;

// The address a receiver's multi-wait entry is queued on (its event's word).
template <class R>
std::size_t queued_on_rx(const R& rx) {
  return beacon::parking_lot::queued(beacon::detail::once_access::wait_word(rx));
}
template <class R>
void await_queued_rx(const R& rx) {
  while (queued_on_rx(rx) < 1)
    std::this_thread::yield();
}

TEST(WaitAnyReceiver, ReadyBeforeTheWait) {
  auto_reset_event e;
  auto [tx, rx] = beacon::make_once<int>();
  std::move(tx).send(7);
  auto r = beacon::wait_any(e, rx);
  static_assert(std::is_same_v<decltype(r), std::variant<std::monostate, int>>);
  ASSERT_EQ(r.index(), 1u);
  EXPECT_EQ(std::get<1>(r), 7);
  EXPECT_FALSE(rx.valid());  // received
}

TEST(WaitAnyReceiver, LowestIndexWinsAndTheLoserStaysReceivable) {
  auto_reset_event e{state::set};
  auto [tx, rx] = beacon::make_once<std::string>();
  std::move(tx).send("kept");
  auto r = beacon::wait_any(e, rx);
  EXPECT_EQ(r.index(), 0u);
  EXPECT_FALSE(e.try_wait());  // consumed
  ASSERT_TRUE(rx.valid());
  EXPECT_EQ(rx.receive(), "kept");
}

TEST(WaitAnyReceiver, SentWhileBlocked) {
  auto_reset_event e;
  semaphore s{0, 1};
  auto [tx, rx] = beacon::make_once<int>();
  int got = 0;
  std::thread t([&, &rx = rx] {
    auto r = beacon::wait_any(e, s, rx);
    got = std::get<2>(r);
  });
  await_queued_rx(rx);
  EXPECT_EQ(queued_on(e), 1u);
  std::move(tx).send(42);
  t.join();
  EXPECT_EQ(got, 42);
  EXPECT_EQ(queued_on(e), 0u);
  EXPECT_EQ(queued_on(s), 0u);
}

TEST(WaitAnyReceiver, GrantAfterAnotherWonLeavesTheValue) {
  // The event wins while the receiver's entry is queued; the send that
  // follows finds the entry claimed, skips it, and the value stays.
  for (int round = 0; round < 50; ++round) {
    auto_reset_event e;
    auto [tx, rx] = beacon::make_once<int>();
    std::size_t idx = 9;
    std::thread t([&, &rx = rx] { idx = beacon::wait_any(e, rx).index(); });
    await_queued(e);
    std::thread setter([&] { e.set(); });
    std::move(tx).send(round);
    setter.join();
    t.join();
    if (idx == 0) {
      EXPECT_EQ(rx.receive(), round);  // not consumed by the wait
    } else {
      EXPECT_FALSE(rx.valid());
      EXPECT_TRUE(e.try_wait());  // the set went to nobody: still there
    }
    EXPECT_EQ(queued_on(e), 0u);
  }
}

TEST(WaitAnyReceiver, DisconnectedThrowsAndAcquiresNothingElse) {
  manual_reset_event m;
  auto [tx, rx] = beacon::make_once<int>();
  { auto drop = std::move(tx); }
  EXPECT_THROW(beacon::wait_any(rx, m), beacon::disconnected);
  EXPECT_TRUE(rx.valid());  // as receive(): the receiver stays
  // Blocked, then disconnected.
  auto [tx2, rx2] = beacon::make_once<int>();
  bool threw = false;
  std::thread t([&, &rx2 = rx2] {
    try {
      (void)beacon::wait_any(m, rx2);
    } catch (const beacon::disconnected&) {
      threw = true;
    }
  });
  await_queued_rx(rx2);
  { auto drop = std::move(tx2); }
  t.join();
  EXPECT_TRUE(threw);
  EXPECT_EQ(queued_on(m), 0u);
}

TEST(WaitAnyReceiver, ExceptionSentIsRethrown) {
  auto_reset_event e;
  auto [tx, rx] = beacon::make_once<int>();
  std::move(tx).send_exception(std::make_exception_ptr(std::runtime_error("boom")));
  EXPECT_THROW(beacon::wait_any(e, rx), std::runtime_error);
  EXPECT_FALSE(rx.valid());  // consumed, as by receive()
}

TEST(WaitAnyReceiver, TimeOutAndStopLeaveTheReceiverUsable) {
  auto_reset_event e;
  auto [tx, rx] = beacon::make_once<int>();
  EXPECT_FALSE(beacon::wait_any_for(5ms, e, rx));
  EXPECT_FALSE(
      beacon::wait_any_until(std::chrono::system_clock::now() + 2ms, rx, e).has_value());
  std::stop_source stop;
  std::thread stopper([&, &rx = rx] {
    await_queued_rx(rx);
    stop.request_stop();
  });
  EXPECT_FALSE(beacon::wait_any(stop.get_token(), e, rx));
  stopper.join();
  EXPECT_EQ(queued_on_rx(rx), 0u);
  EXPECT_EQ(queued_on(e), 0u);
  std::move(tx).send(3);
  auto r = beacon::wait_any_for(1s, e, rx);
  ASSERT_TRUE(r);
  EXPECT_EQ(std::get<1>(*r), 3);
}

TEST(WaitAnyReceiver, TypeErasedReceiver) {
  auto_reset_event e;
  beacon::once_event<int> ev;
  auto [tx, crx] = ev.bind_by_ref();
  beacon::once_receiver<int> rx = std::move(crx);
  std::move(tx).send(11);
  auto r = beacon::wait_any(e, rx);
  EXPECT_EQ(std::get<1>(r), 11);
  EXPECT_FALSE(rx.valid());
  // An empty or local receiver: std::logic_error before anything happens.
  EXPECT_THROW(beacon::wait_any(e, rx), std::logic_error);
  beacon::local_once_event<int> lev;
  auto [ltx, lrx] = lev.bind_by_ref();
  beacon::once_receiver<int> erased_local = std::move(lrx);
  e.set();
  EXPECT_THROW(beacon::wait_any(e, erased_local), std::logic_error);
  EXPECT_TRUE(e.try_wait());  // not acquired
}

beacon_test::task any_rx_task(auto_reset_event& a, beacon::once_receiver<int>& rx,
                              int& out) {
  auto r = co_await beacon::when_any(a, rx);
  out = r.index() == 1 ? std::get<1>(r) : -1;
}

TEST(WhenAnyReceiver, ResumedBySendAndDestroyedLeavesTheValue) {
  auto_reset_event a;
  {
    auto [tx, crx] = beacon::make_once<int>();
    beacon::once_receiver<int> rx = std::move(crx);
    int got = 0;
    auto t = any_rx_task(a, rx, got);
    EXPECT_EQ(got, 0);
    EXPECT_EQ(queued_on_rx(rx), 1u);
    std::move(tx).send(5);
    EXPECT_EQ(got, 5);
    EXPECT_EQ(queued_on(a), 0u);
  }
  {
    auto [tx, crx] = beacon::make_once<int>();
    beacon::once_receiver<int> rx = std::move(crx);
    int got = 0;
    {
      auto t = any_rx_task(a, rx, got);
      EXPECT_EQ(queued_on(a), 1u);
    }
    EXPECT_EQ(queued_on(a), 0u);
    EXPECT_EQ(queued_on_rx(rx), 0u);
    std::move(tx).send(8);
    EXPECT_EQ(rx.receive(), 8);
    EXPECT_EQ(got, 0);
  }
}

TEST(WhenAnyReceiver, SentFromAnotherThread) {
  auto_reset_event a;
  auto [tx, crx] = beacon::make_once<int>();
  beacon::once_receiver<int> rx = std::move(crx);
  int got = 0;
  auto t = any_rx_task(a, rx, got);
  std::thread([&, tx = std::move(tx)]() mutable { std::move(tx).send(9); }).join();
  EXPECT_TRUE(t.finished());
  EXPECT_EQ(got, 9);
}

// Stress: senders on other threads send distinct values to receivers that
// one thread waits on with wait_any (mixed with an auto-reset event set by
// another thread); each consumed receiver is rebound. Every value is
// received exactly once, every set is taken once or left in the event.
TEST(WaitAnyReceiverStress, EveryValueReceivedOnce) {
  using channel = decltype(beacon::make_once<int>());
  using rx_t = decltype(std::declval<channel>().receiver);
  using tx_t = decltype(std::declval<channel>().sender);
  constexpr int total = 3000;
  std::mutex m;
  std::vector<tx_t> pending;  // guarded by m
  int next_value = 0;         // guarded by m
  std::atomic<bool> quit{false};
  auto bind = [&](rx_t& slot) {
    auto [tx, rx] = beacon::make_once<int>();
    slot = std::move(rx);
    std::lock_guard g(m);
    pending.push_back(std::move(tx));
  };
  std::array<rx_t, 3> rxs{beacon::make_once<int>().receiver,
                          beacon::make_once<int>().receiver,
                          beacon::make_once<int>().receiver};
  for (auto& r : rxs)
    bind(r);
  std::vector<std::thread> senders;
  for (int p = 0; p < 2; ++p)
    senders.emplace_back([&] {
      while (!quit.load()) {
        std::unique_lock g(m);
        if (pending.empty() || next_value >= total) {
          g.unlock();
          std::this_thread::yield();
          continue;
        }
        tx_t tx = std::move(pending.back());
        pending.pop_back();
        const int v = next_value++;
        g.unlock();
        std::move(tx).send(v);
      }
    });
  auto_reset_event tick;
  std::atomic<long> ticks_set{0};
  std::thread ticker([&] {
    while (!quit.load()) {
      tick.set();
      ticks_set.fetch_add(1);
      std::this_thread::sleep_for(50us);
    }
  });
  std::vector<int> seen(total, 0);
  int received = 0;
  long ticks_taken = 0;
  while (received < total) {
    auto r = beacon::wait_any_for(1s, tick, rxs[0], rxs[1], rxs[2]);
    ASSERT_TRUE(r);
    if (r->index() == 0) {
      ++ticks_taken;
      continue;
    }
    const int v = std::visit(
        [](auto& x) {
          if constexpr (std::is_same_v<std::decay_t<decltype(x)>, int>)
            return x;
          else
            return -1;
        },
        *r);
    ASSERT_GE(v, 0);
    ASSERT_LT(v, total);
    ++seen[static_cast<std::size_t>(v)];
    ++received;
    bind(rxs[r->index() - 1]);
  }
  quit = true;
  for (auto& t : senders)
    t.join();
  ticker.join();
  for (int i = 0; i < total; ++i)
    EXPECT_EQ(seen[static_cast<std::size_t>(i)], 1) << i;
  // Each set was taken at most once (auto-reset: sets may coalesce).
  EXPECT_LE(ticks_taken + (tick.try_wait() ? 1 : 0), ticks_set.load());
  EXPECT_EQ(queued_on(tick), 0u);
}

}  // namespace
