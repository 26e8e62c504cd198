// countdown_event: set while the count is zero; re-armable.
#include "beacon/countdown_event.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <vector>

#include "support/test_support.hpp"

namespace {

using namespace std::chrono;
using beacon::countdown_event;
using namespace beacon_test;

TEST(countdown_event, is_at_most_eight_bytes) {
  static_assert(sizeof(countdown_event) <= 8);
}

TEST(countdown_event, set_only_at_zero) {
  countdown_event c{3};
  EXPECT_EQ(c.count(), 3u);
  EXPECT_FALSE(c.try_wait());
  c.tick();
  c.tick();
  EXPECT_FALSE(c.try_wait());
  EXPECT_FALSE(c.wait_for(1ms));
  c.tick();
  EXPECT_EQ(c.count(), 0u);
  EXPECT_TRUE(c.try_wait());
  EXPECT_TRUE(c.try_wait());  // waits do not consume
  c.wait();
}

TEST(countdown_event, zero_count_starts_set) {
  countdown_event c{0};
  EXPECT_TRUE(c.try_wait());
}

// rsevents-extra kept a countdown that had reached zero set forever:
// increment() and reset(n > 0) must make it unset again.
TEST(countdown_event, regression_increment_after_zero_unsets) {
  countdown_event c{1};
  c.tick();
  ASSERT_TRUE(c.try_wait());
  c.increment();
  EXPECT_EQ(c.count(), 1u);
  EXPECT_FALSE(c.try_wait());
  EXPECT_FALSE(c.wait_for(1ms));
  c.tick();
  EXPECT_TRUE(c.try_wait());
}

TEST(countdown_event, regression_reset_after_zero_unsets) {
  countdown_event c{1};
  c.tick();
  ASSERT_TRUE(c.try_wait());
  c.reset(2);
  EXPECT_EQ(c.count(), 2u);
  EXPECT_FALSE(c.try_wait());
  c.reset(0);
  EXPECT_TRUE(c.try_wait());
}

TEST(countdown_event, reaching_zero_releases_every_waiter) {
  constexpr int n = 4;
  countdown_event c{2};
  std::atomic<int> released{0};
  auto threads = start_threads(n, [&] {
    c.wait();
    released.fetch_add(1);
  });
  ASSERT_TRUE(queued_eventually(key(c), n));
  c.tick();
  EXPECT_EQ(beacon::parking_lot::queued(key(c)), static_cast<std::size_t>(n));
  c.tick();
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(released.load(), n);
}

TEST(countdown_event, waiters_blocked_at_zero_are_released_even_if_incremented_at_once) {
  constexpr int n = 3;
  countdown_event c{1};
  std::atomic<int> released{0};
  auto threads = start_threads(n, [&] {
    if (c.wait_for(patience)) released.fetch_add(1);
  });
  ASSERT_TRUE(queued_eventually(key(c), n));
  c.tick();
  c.increment();
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(released.load(), n);
  EXPECT_FALSE(c.try_wait());
}

TEST(countdown_event, reset_to_zero_releases_waiters) {
  countdown_event c{5};
  bool ok = false;
  scoped_thread t([&] { ok = c.wait_for(patience); });
  ASSERT_TRUE(queued_eventually(key(c), 1));
  c.reset(0);
  t.join();
  EXPECT_TRUE(ok);
}

TEST(countdown_event, increment_overflow_throws_and_changes_nothing) {
  countdown_event c{countdown_event::max_count() - 1};
  EXPECT_THROW(c.increment(2), std::overflow_error);
  EXPECT_EQ(c.count(), countdown_event::max_count() - 1);
  c.increment(1);
  EXPECT_EQ(c.count(), countdown_event::max_count());
  EXPECT_THROW(c.increment(), std::overflow_error);
  EXPECT_THROW(c.increment(static_cast<std::size_t>(-1)), std::overflow_error);
}

TEST(countdown_event, counts_beyond_the_width_are_rejected) {
  EXPECT_THROW(countdown_event{countdown_event::max_count() + 1}, std::invalid_argument);
  countdown_event c{1};
  EXPECT_THROW(c.reset(static_cast<std::size_t>(-1)), std::invalid_argument);
  EXPECT_EQ(c.count(), 1u);
}

// tick() is one fetch_sub: two threads ticking race to the last tick, which
// then finds waiters parked and must wake them all (a parked one and a
// timed one), round after round.
TEST(countdown_event, contended_ticks_release_every_waiter) {
  constexpr int per = 300;
  for (int round = 0; round < 100; ++round) {
    countdown_event c{2 * per};
    std::atomic<int> released{0};
    scoped_thread w1([&] {
      c.wait();
      released.fetch_add(1);
    });
    scoped_thread w2([&] {
      if (c.wait_for(patience)) released.fetch_add(1);
    });
    {
      scoped_thread t1([&] {
        for (int i = 0; i < per; ++i)
          c.tick();
      });
      scoped_thread t2([&] {
        for (int i = 0; i < per; ++i)
          c.tick();
      });
    }
    w1.join();
    w2.join();
    ASSERT_EQ(released.load(), 2) << "round " << round;
    ASSERT_EQ(c.count(), 0u);
  }
}

#ifdef NDEBUG
TEST(countdown_event, tick_below_zero_keeps_zero_in_release_builds) {
  countdown_event c{0};
  c.tick();
  EXPECT_EQ(c.count(), 0u);
  EXPECT_TRUE(c.try_wait());
  c.tick();
  c.tick();
  EXPECT_EQ(c.count(), 0u);
  c.increment(2);  // the ticks below zero left nothing owed
  EXPECT_EQ(c.count(), 2u);
  EXPECT_FALSE(c.try_wait());
}
#else
TEST(countdown_event, tick_below_zero_asserts_in_debug_builds) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  countdown_event c{0};
  EXPECT_DEATH(c.tick(), "below zero");
}
#endif

TEST(countdown_event, co_await_resumes_when_zero) {
  countdown_event c{2};
  bool resumed = false;
  auto coro = [&]() -> task {
    co_await c;
    resumed = true;
  };
  task t = coro();
  c.tick();
  EXPECT_FALSE(resumed);
  c.tick();
  EXPECT_TRUE(resumed);
  EXPECT_TRUE(t.finished());
}

TEST(countdown_event, stop_token_and_timeouts) {
  countdown_event c{1};
  std::stop_source src;
  src.request_stop();
  EXPECT_FALSE(c.wait(src.get_token()));
  const auto start = steady_clock::now();
  EXPECT_FALSE(c.wait_for(5ms));
  EXPECT_GE(steady_clock::now() - start, 5ms);
  c.tick();
  EXPECT_TRUE(c.wait(src.get_token()));  // can succeed at once: succeeds
}

TEST(countdown_event, many_tickers_release_the_waiter_once_all_ticked) {
  constexpr int tickers = 4, per = 5'000;
  countdown_event c{tickers * per};
  std::atomic<long> ticks{0};
  std::atomic<bool> early{false};
  scoped_thread waiter([&] {
    if (!c.wait_for(patience)) return;
    if (ticks.load() != tickers * per) early = true;
  });
  auto threads = start_threads(tickers, [&] {
    for (int k = 0; k < per; ++k) {
      ticks.fetch_add(1);
      c.tick();
    }
  });
  for (auto& t : threads)
    t.join();
  waiter.join();
  EXPECT_FALSE(early.load());
  EXPECT_EQ(c.count(), 0u);
}

}  // namespace
