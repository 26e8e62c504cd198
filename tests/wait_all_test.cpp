// wait_all / when_all (beacon/wait_many.hpp): atomic acquisition of several
// objects: results, duplicates, time-outs, stop tokens, coroutines, being
// overtaken by single waiters, and stress with exact accounting.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include "beacon/once_event.hpp"
#include "beacon/parking_lot.hpp"
#include "beacon/wait_many.hpp"
#include "support/task.hpp"

namespace {

using namespace std::chrono_literals;
using beacon::auto_reset_event;
using beacon::countdown_event;
using beacon::manual_reset_event;
using beacon::semaphore;
using beacon::semaphore_guard;
using beacon::state;
using beacon::wait_ref;

template <class W>
std::size_t queued_on(W& w) {
  return beacon::parking_lot::queued(&beacon::detail::waitable_access::core(w).word());
}
// Waits until the sum of entries queued on the objects is `n` (no sleeps).
template <class... W>
void await_queued_total(std::size_t n, W&... w) {
  while ((queued_on(w) + ...) != n)
    std::this_thread::yield();
}

TEST(WaitAll, AllAvailableAcquiredAtOnce) {
  auto_reset_event a{state::set}, b{state::set};
  manual_reset_event m{state::set};
  countdown_event c{0};
  semaphore s{2, 2};
  auto r = beacon::wait_all(a, m, c, s, b);
  static_assert(std::is_same_v<decltype(r),
                               std::tuple<std::monostate, std::monostate, std::monostate,
                                          semaphore_guard, std::monostate>>);
  EXPECT_FALSE(a.try_wait());  // consumed
  EXPECT_FALSE(b.try_wait());
  EXPECT_TRUE(m.is_set());  // observed, not consumed
  EXPECT_TRUE(c.try_wait());
  EXPECT_EQ(s.count(), 1u);
  EXPECT_TRUE(std::get<3>(r));
  std::get<3>(r).release();
  EXPECT_EQ(s.count(), 2u);
  // Holds are gone: every operation works as before.
  m.reset();
  EXPECT_FALSE(m.is_set());
  c.increment();
  EXPECT_EQ(c.count(), 1u);
}

TEST(WaitAll, VoidWhenEveryWaitIsVoid) {
  auto_reset_event a{state::set}, b{state::set};
  static_assert(std::is_void_v<decltype(beacon::wait_all(a, b))>);
  static_assert(std::is_same_v<decltype(beacon::wait_all_for(1ms, a, b)), bool>);
  semaphore s{1, 1};
  static_assert(
      std::is_same_v<decltype(beacon::wait_all_for(1ms, a, s)),
                     std::optional<std::tuple<std::monostate, semaphore_guard>>>);
  beacon::wait_all(a, b);
  EXPECT_FALSE(a.try_wait());
  EXPECT_FALSE(b.try_wait());
}

TEST(WaitAll, NothingTakenWhenOneIsUnavailable) {
  auto_reset_event a{state::set}, b;
  semaphore s{1, 1};
  countdown_event c{0};
  EXPECT_FALSE(beacon::wait_all_for(0ms, a, b, c));
  EXPECT_FALSE(beacon::wait_all_for(2ms, a, s, b).has_value());
  EXPECT_TRUE(a.try_wait());  // still set: the attempts rolled back
  EXPECT_EQ(s.count(), 1u);
  EXPECT_EQ(queued_on(a) + queued_on(b) + queued_on(s), 0u);
}

TEST(WaitAll, ManualAndCountdownMustBeSet) {
  auto_reset_event a{state::set};
  manual_reset_event m;
  countdown_event c{1};
  EXPECT_FALSE(beacon::wait_all_for(2ms, a, m));
  m.set();
  EXPECT_FALSE(beacon::wait_all_for(2ms, a, m, c));
  EXPECT_TRUE(beacon::wait_all_for(0ms, a, m));  // all available: no wait needed
  EXPECT_FALSE(a.try_wait());
}

TEST(WaitAll, DuplicatesRejected) {
  auto_reset_event a{state::set}, b{state::set};
  EXPECT_THROW(beacon::wait_all(a, b, a), std::invalid_argument);
  EXPECT_THROW((void)beacon::wait_all_for(1ms, b, b), std::invalid_argument);
  const std::vector<wait_ref> dup{a, b, b};
  EXPECT_THROW(beacon::wait_all(std::span<const wait_ref>(dup)), std::invalid_argument);
  EXPECT_THROW(beacon::wait_all(std::span<const wait_ref>()), std::invalid_argument);
  EXPECT_THROW((void)beacon::when_all(a, a), std::invalid_argument);
  EXPECT_TRUE(a.try_wait());  // nothing acquired
  EXPECT_TRUE(b.try_wait());
}

TEST(WaitAll, BlockedUntilTheLastIsSet) {
  auto_reset_event a, b;
  semaphore s{0, 1};
  std::atomic<bool> done{false};
  std::thread t([&] {
    auto r = beacon::wait_all(a, s, b);
    std::get<1>(r).forget();
    done = true;
  });
  await_queued_total(1, a, b, s);
  a.set();
  s.release();
  // Still waiting for b; a and the permit are not taken meanwhile (nothing
  // is acquired until all are available at one instant).
  await_queued_total(1, b);
  EXPECT_FALSE(done.load());
  EXPECT_EQ(s.count(), 1u);
  b.set();
  t.join();
  EXPECT_FALSE(a.try_wait());
  EXPECT_FALSE(b.try_wait());
  EXPECT_EQ(s.count(), 0u);
  EXPECT_EQ(queued_on(a) + queued_on(b) + queued_on(s), 0u);
}

TEST(WaitAll, CountdownReachingZero) {
  countdown_event c{2};
  auto_reset_event a{state::set};
  std::thread t([&] { beacon::wait_all(c, a); });
  await_queued_total(1, c);
  c.tick();
  c.tick();
  t.join();
  EXPECT_FALSE(a.try_wait());
  EXPECT_EQ(c.count(), 0u);
  c.reset(3);  // not held any more
  EXPECT_EQ(c.count(), 3u);
}

// Documented: a waiting wait_all reserves nothing, so a single waiter (here a
// try_wait) takes an object it wants, and the wait_all goes on waiting until
// all are available at one instant.
TEST(WaitAll, OvertakenBySingleWaiters) {
  auto_reset_event a, b{state::set};
  std::atomic<bool> done{false};
  std::thread t([&] {
    beacon::wait_all(a, b);
    done = true;
  });
  await_queued_total(1, a);
  EXPECT_TRUE(b.try_wait());  // not reserved for the wait_all
  a.set();
  // The wait_all retries, finds b gone and waits for b, leaving a set.
  await_queued_total(1, b);
  EXPECT_FALSE(done.load());
  b.set();
  t.join();
  EXPECT_FALSE(a.try_wait());
  EXPECT_FALSE(b.try_wait());
}

TEST(WaitAll, TimesOutTakingNothing) {
  auto_reset_event a{state::set}, b;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(beacon::wait_all_for(20ms, a, b));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms);
  EXPECT_FALSE(beacon::wait_all_until(std::chrono::steady_clock::now() + 5ms, a, b));
  EXPECT_EQ(queued_on(a) + queued_on(b), 0u);
  EXPECT_TRUE(a.try_wait());
}

TEST(WaitAll, StopTokenTakesNothing) {
  auto_reset_event a{state::set}, b;
  semaphore s{1, 1};
  std::stop_source stop;
  std::optional<std::tuple<std::monostate, semaphore_guard, std::monostate>> r;
  std::thread t([&] { r = beacon::wait_all(stop.get_token(), a, s, b); });
  await_queued_total(1, b);
  stop.request_stop();
  t.join();
  EXPECT_FALSE(r.has_value());
  EXPECT_TRUE(a.try_wait());
  EXPECT_EQ(s.count(), 1u);
  EXPECT_EQ(queued_on(b), 0u);
  // Already requested: objects all available are still acquired.
  b.set();
  a.set();
  EXPECT_TRUE(beacon::wait_all(stop.get_token(), a, b));
}

TEST(WaitAll, SpanForm) {
  auto_reset_event a, b{state::set};
  manual_reset_event m{state::set};
  semaphore s{1, 1};
  const std::vector<wait_ref> objs{a, s, m, b};
  const std::span<const wait_ref> span(objs);
  EXPECT_FALSE(beacon::wait_all_for(1ms, span));
  EXPECT_TRUE(b.try_wait());  // untouched by the failed attempt
  b.set();
  std::thread t([&] { beacon::wait_all(span); });
  await_queued_total(1, a);
  a.set();
  t.join();
  EXPECT_EQ(s.count(), 0u);
  s.release();  // the permit taken through a wait_ref is the caller's
  EXPECT_EQ(s.count(), 1u);
  EXPECT_FALSE(a.try_wait());
  EXPECT_FALSE(b.try_wait());
  std::stop_source stop;
  stop.request_stop();
  EXPECT_FALSE(beacon::wait_all(stop.get_token(), span));
  a.set();
  b.set();
  EXPECT_TRUE(beacon::wait_all_until(std::chrono::steady_clock::now() + 1s, span));
}

TEST(WaitAll, SpanFormManyObjects) {
  std::array<auto_reset_event, 12> e;
  std::vector<wait_ref> objs(e.begin(), e.end());
  std::thread t([&] { beacon::wait_all(std::span<const wait_ref>(objs)); });
  for (auto& x : e)
    x.set();
  t.join();
  for (auto& x : e) {
    EXPECT_FALSE(x.try_wait());
    EXPECT_EQ(queued_on(x), 0u);
  }
}

beacon_test::task all_task(auto_reset_event& a, semaphore& s, bool& got) {
  auto [x, guard] = co_await beacon::when_all(a, s);
  (void)x;
  got = static_cast<bool>(guard);
}

TEST(WhenAll, CoroutineResumedWhenAllAreSet) {
  auto_reset_event a;
  semaphore s{0, 1};
  bool got = false;
  auto t = all_task(a, s, got);
  EXPECT_FALSE(t.finished());
  s.release();  // notifies: the coroutine retries and waits for a
  EXPECT_FALSE(t.finished());
  EXPECT_EQ(s.count(), 1u);
  a.set();  // the setter's thread acquires both and resumes it
  EXPECT_TRUE(t.finished());
  EXPECT_TRUE(got);
  EXPECT_EQ(s.count(), 1u);  // the guard in the tuple was released
  EXPECT_FALSE(a.try_wait());
  EXPECT_EQ(queued_on(a) + queued_on(s), 0u);
}

TEST(WhenAll, ReadyAtOnce) {
  auto_reset_event a{state::set};
  semaphore s{1, 1};
  bool got = false;
  auto t = all_task(a, s, got);
  EXPECT_TRUE(t.finished());
  EXPECT_TRUE(got);
}

TEST(WhenAll, DestroyedWhileQueuedLeavesNothing) {
  std::array<auto_reset_event, 4> e;
  e[1].set();
  {
    auto t = [](auto& e) -> beacon_test::task {
      co_await beacon::when_all(e[0], e[1], e[2], e[3]);
    }(e);
    EXPECT_EQ(queued_on(e[0]) + queued_on(e[1]) + queued_on(e[2]) + queued_on(e[3]), 1u);
  }
  for (auto& x : e)
    EXPECT_EQ(queued_on(x), 0u);
  EXPECT_TRUE(e[1].try_wait());  // nothing was taken
  EXPECT_FALSE(e[0].try_wait());
}

// --- stress ----------------------------------------------------------------

// Permits on three semaphores, released at random by producers; consumers:
// wait_all on (A, B), wait_all on (B, C) (overlapping), a when_all coroutine
// on (A, C), and try_waits on single objects. Exact accounting per object:
// released == single takes + wait_alls that contain it + what is left.
// A partial acquisition (one permit taken, another rolled back wrongly) or a
// doubled or lost one breaks it.
beacon_test::task all_consumer(semaphore& x, semaphore& y, std::atomic<long>& n,
                               std::atomic<bool>& quit) {
  while (!quit.load()) {
    auto [gx, gy] = co_await beacon::when_all(x, y);
    gx.forget();
    gy.forget();
    n.fetch_add(1);
  }
}

TEST(WaitAllStress, OverlappingSetsExactAccounting) {
  constexpr long per_producer = 20000;
  constexpr int producers = 2;
  std::array<semaphore, 3> s{semaphore{0, 1u << 30}, semaphore{0, 1u << 30},
                             semaphore{0, 1u << 30}};
  std::array<std::atomic<long>, 3> released{}, single{};
  std::atomic<long> ab{0}, bc{0}, ac{0};
  std::atomic<bool> quit{false}, co_quit{false};
  auto co = all_consumer(s[0], s[2], ac, co_quit);
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      unsigned x = 777u + static_cast<unsigned>(p);
      for (long i = 0; i < per_producer; ++i) {
        x = x * 1103515245u + 12345u;
        const unsigned k = (x >> 16) % 3;
        released[k].fetch_add(1);
        s[k].release();
      }
    });
  std::vector<std::thread> consumers;
  consumers.emplace_back([&] {
    while (!quit.load())
      if (auto r = beacon::wait_all_for(1ms, s[0], s[1])) {
        std::get<0>(*r).forget();
        std::get<1>(*r).forget();
        ab.fetch_add(1);
      }
  });
  consumers.emplace_back([&] {
    const std::vector<wait_ref> refs{s[2], s[1]};
    std::stop_source stop;
    while (!quit.load())
      if (beacon::wait_all_for(1ms, std::span<const wait_ref>(refs))) bc.fetch_add(1);
  });
  consumers.emplace_back([&] {
    unsigned x = 99u;
    while (!quit.load()) {
      x = x * 1103515245u + 12345u;
      const unsigned k = (x >> 16) % 3;
      if (auto g = s[k].try_wait()) {
        g->forget();
        single[k].fetch_add(1);
      }
      if ((x >> 8) % 4 == 0) std::this_thread::yield();
    }
  });
  for (auto& t : threads)
    t.join();
  quit = true;
  for (auto& t : consumers)
    t.join();
  co_quit = true;  // nobody else runs now: the coroutine can only be queued
  co.destroy();
  const long n[3] = {single[0] + ab + ac, single[1] + ab + bc, single[2] + bc + ac};
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(released[k].load(), n[k] + static_cast<long>(s[k].count())) << k;
    EXPECT_EQ(queued_on(s[k]), 0u);
  }
  EXPECT_GT(ab + bc + ac, 0);
}

// Two auto-reset events set at random by one thread; a wait_all(A, B) and
// try_waits on A or B. Every set that found the event unset is counted (a
// set on a set event is a no-op); invariant: effective sets == acquisitions
// + what is left set, per event.
TEST(WaitAllStress, AutoEventsExactAccounting) {
  constexpr long sets = 40000;
  auto_reset_event e[2];
  std::atomic<long> effective[2]{}, single[2]{}, all{0};
  std::atomic<bool> quit{false};
  std::thread setter([&] {
    unsigned x = 4242u;
    for (long i = 0; i < sets; ++i) {
      x = x * 1103515245u + 12345u;
      const unsigned k = (x >> 16) % 2;
      // Only this thread sets: a set is effective iff the event is unset
      // just before it, which a try_wait would disturb; so count by
      // taking: try_wait first (an acquisition of our own), then set.
      if (e[k].try_wait()) single[k].fetch_add(1);
      e[k].set();
      effective[k].fetch_add(1);
    }
  });
  std::thread waiter([&] {
    while (!quit.load())
      if (beacon::wait_all_for(1ms, e[0], e[1])) all.fetch_add(1);
  });
  std::thread taker([&] {
    unsigned x = 17u;
    while (!quit.load()) {
      x = x * 1103515245u + 12345u;
      const unsigned k = (x >> 16) % 2;
      if (e[k].try_wait()) single[k].fetch_add(1);
    }
  });
  setter.join();
  quit = true;
  waiter.join();
  taker.join();
  for (int k = 0; k < 2; ++k) {
    const long left = e[k].try_wait() ? 1 : 0;
    EXPECT_EQ(effective[k].load(), single[k].load() + all.load() + left) << k;
    EXPECT_EQ(queued_on(e[k]), 0u);
  }
}

}  // namespace

// once_event receivers in wait_all / when_all (design.md §2.8). A receiver
// is ready once its sender finished; it needs no hold (nobody but the wait
// can consume it). A broken receiver (disconnected, exception) ends the
// wait_all at the instant all are ready, with nothing acquired, throwing
// as receive() does.
namespace {

template <class R>
std::size_t queued_on_rx(const R& rx) {
  return beacon::parking_lot::queued(beacon::detail::once_access::wait_word(rx));
}

TEST(WaitAllReceiver, ReadyBeforeTheWait) {
  auto_reset_event a{state::set};
  semaphore s{1, 1};
  auto [tx, rx] = beacon::make_once<std::string>();
  std::move(tx).send("v");
  auto [x, str, g] = beacon::wait_all(a, rx, s);
  static_assert(std::is_same_v<decltype(str), std::string>);
  EXPECT_EQ(str, "v");
  EXPECT_FALSE(rx.valid());
  EXPECT_FALSE(a.try_wait());
  EXPECT_EQ(s.count(), 0u);
}

TEST(WaitAllReceiver, SentWhileBlockedAcquiresAllAtOnce) {
  auto_reset_event a{state::set};
  auto [tx, rx] = beacon::make_once<int>();
  int got = 0;
  std::thread t([&, &rx = rx] { got = std::get<1>(beacon::wait_all(a, rx)); });
  while (queued_on_rx(rx) < 1)
    std::this_thread::yield();
  EXPECT_TRUE(a.try_wait());  // nothing reserved while it waits (Win32)
  a.set();
  std::move(tx).send(17);
  t.join();
  EXPECT_EQ(got, 17);
  EXPECT_FALSE(a.try_wait());
  EXPECT_EQ(queued_on(a), 0u);
  EXPECT_EQ(queued_on_rx(rx), 0u);
}

TEST(WaitAllReceiver, BlockedOnTheEventAfterTheReceiverIsReady) {
  auto_reset_event a;
  auto [tx, rx] = beacon::make_once<int>();
  std::move(tx).send(4);
  int got = 0;
  std::thread t([&, &rx = rx] { got = std::get<0>(beacon::wait_all(rx, a)); });
  await_queued_total(1, a);
  EXPECT_TRUE(rx.valid());  // not taken while the wait_all waits
  a.set();
  t.join();
  EXPECT_EQ(got, 4);
}

TEST(WaitAllReceiver, DisconnectedAcquiresNothing) {
  auto_reset_event a{state::set};
  semaphore s{1, 1};
  auto [tx, rx] = beacon::make_once<int>();
  { auto drop = std::move(tx); }
  EXPECT_THROW((void)beacon::wait_all(a, s, rx), beacon::disconnected);
  EXPECT_TRUE(a.try_wait());  // not consumed
  EXPECT_EQ(s.count(), 1u);
  EXPECT_TRUE(rx.valid());  // as receive(): the receiver stays
  EXPECT_THROW((void)beacon::wait_all_for(1ms, s, rx), beacon::disconnected);
  EXPECT_EQ(s.count(), 1u);
}

TEST(WaitAllReceiver, ExceptionSentIsRethrownNothingElseAcquired) {
  auto_reset_event a;
  auto [tx, rx] = beacon::make_once<int>();
  bool threw = false;
  std::thread t([&, &rx = rx] {
    try {
      (void)beacon::wait_all(rx, a);
    } catch (const std::runtime_error&) {
      threw = true;
    }
  });
  // Its observer waits on the first unavailable object in address order.
  while (queued_on_rx(rx) + queued_on(a) < 1)
    std::this_thread::yield();
  std::move(tx).send_exception(std::make_exception_ptr(std::runtime_error("x")));
  a.set();
  t.join();
  EXPECT_TRUE(threw);
  EXPECT_FALSE(rx.valid());   // consumed, as by receive()
  EXPECT_TRUE(a.try_wait());  // not consumed
}

TEST(WaitAllReceiver, TimeOutAndStopAcquireNothing) {
  auto_reset_event a{state::set};
  auto [tx, rx] = beacon::make_once<int>();
  EXPECT_FALSE(beacon::wait_all_for(5ms, a, rx));
  std::stop_source stop;
  std::thread stopper([&, &rx = rx] {
    while (queued_on_rx(rx) < 1)
      std::this_thread::yield();
    stop.request_stop();
  });
  EXPECT_FALSE(beacon::wait_all(stop.get_token(), a, rx));
  stopper.join();
  EXPECT_EQ(queued_on_rx(rx), 0u);
  EXPECT_TRUE(a.try_wait());
  a.set();
  std::move(tx).send(1);
  auto r = beacon::wait_all_for(1s, a, rx);
  ASSERT_TRUE(r);
  EXPECT_EQ(std::get<1>(*r), 1);
}

beacon_test::task all_rx_task(manual_reset_event& m, beacon::once_receiver<int>& rx,
                              int& out) {
  try {
    auto [x, v] = co_await beacon::when_all(m, rx);
    out = v;
  } catch (const beacon::disconnected&) {
    out = -1;
  }
}

TEST(WhenAllReceiver, ResumedByTheLastAndDisconnected) {
  manual_reset_event m;
  {
    auto [tx, crx] = beacon::make_once<int>();
    beacon::once_receiver<int> rx = std::move(crx);
    int got = 0;
    auto t = all_rx_task(m, rx, got);
    std::thread([&, tx = std::move(tx)]() mutable { std::move(tx).send(6); }).join();
    EXPECT_EQ(got, 0);
    m.set();
    EXPECT_EQ(got, 6);
    EXPECT_TRUE(t.finished());
  }
  m.reset();
  {
    auto [tx, crx] = beacon::make_once<int>();
    beacon::once_receiver<int> rx = std::move(crx);
    int got = 0;
    auto t = all_rx_task(m, rx, got);
    { auto drop = std::move(tx); }
    m.set();
    EXPECT_EQ(got, -1);
    EXPECT_TRUE(rx.valid());
  }
  {  // destroyed while waiting: nothing left queued, the value stays
    m.reset();
    auto [tx, crx] = beacon::make_once<int>();
    beacon::once_receiver<int> rx = std::move(crx);
    int got = 0;
    { auto t = all_rx_task(m, rx, got); }
    EXPECT_EQ(queued_on(m) + queued_on_rx(rx), 0u);
    std::move(tx).send(2);
    EXPECT_EQ(rx.receive(), 2);
  }
}

// Stress: a thread sets the event and another sends; a waiter takes both
// with wait_all, round after round: every value received exactly once, and
// each round's set consumed by exactly that round.
TEST(WaitAllReceiverStress, EveryValueOnce) {
  constexpr int rounds = 2000;
  auto_reset_event a;
  long sum = 0;
  for (int i = 0; i < rounds; ++i) {
    auto [tx, rx] = beacon::make_once<int>();
    std::thread sender([&, i, tx = std::move(tx)]() mutable { std::move(tx).send(i); });
    std::thread setter([&] { a.set(); });
    auto [x, v] = beacon::wait_all(a, rx);
    sum += v;
    sender.join();
    setter.join();
    EXPECT_FALSE(a.try_wait());
  }
  EXPECT_EQ(sum, static_cast<long>(rounds) * (rounds - 1) / 2);
}

}  // namespace
