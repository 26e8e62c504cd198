// auto_reset_event: one waiter per set(), hand-off, collapse, FIFO.
#include "beacon/auto_reset_event.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "support/test_support.hpp"

namespace {

using namespace std::chrono;
using beacon::auto_reset_event;
using beacon::state;
using namespace beacon_test;

TEST(auto_reset_event, wait_consumes_the_set_state) {
  auto_reset_event e{state::set};
  EXPECT_TRUE(e.try_wait());
  EXPECT_FALSE(e.try_wait());
  e.set();
  e.wait();
  EXPECT_FALSE(e.try_wait());
  e.set();
  EXPECT_TRUE(e.wait_for(1s));
  EXPECT_FALSE(e.wait_for(0s));
}

TEST(auto_reset_event, sets_without_waiters_collapse_into_one) {
  auto_reset_event e;
  e.set();
  e.set();
  e.set();
  EXPECT_TRUE(e.try_wait());
  EXPECT_FALSE(e.try_wait());
}

TEST(auto_reset_event, set_hands_the_signal_to_the_parked_waiter) {
  auto_reset_event e;
  std::atomic<bool> released{false};
  scoped_thread t([&] {
    e.wait();
    released = true;
  });
  ASSERT_TRUE(queued_eventually(key(e), 1));
  e.set();
  // The signal went to the waiter, not into the event: nobody can steal it.
  EXPECT_FALSE(e.try_wait());
  t.join();
  EXPECT_TRUE(released);
}

TEST(auto_reset_event, set_releases_exactly_one_of_many_waiters) {
  constexpr int n = 4;
  auto_reset_event e;
  std::atomic<int> released{0};
  auto threads = start_threads(n, [&] {
    e.wait();
    released.fetch_add(1);
  });
  ASSERT_TRUE(queued_eventually(key(e), n));
  for (int k = 1; k <= n; ++k) {
    e.set();
    // One waiter left the queue for this set; the others are still parked.
    ASSERT_TRUE(queued_eventually(key(e), static_cast<std::size_t>(n - k)));
    ASSERT_TRUE(eventually([&] { return released.load() == k; }));
    EXPECT_EQ(beacon::parking_lot::queued(key(e)), static_cast<std::size_t>(n - k));
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(released.load(), n);
  EXPECT_FALSE(e.try_wait());
}

TEST(auto_reset_event, waiters_are_released_in_fifo_order) {
  constexpr int n = 5;
  auto_reset_event e;
  std::mutex m;
  std::vector<int> order;
  std::vector<scoped_thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      e.wait();
      std::lock_guard g(m);
      order.push_back(i);
    });
    ASSERT_TRUE(queued_eventually(key(e), static_cast<std::size_t>(i + 1)));
  }
  for (int k = 0; k < n; ++k) {
    e.set();
    ASSERT_TRUE(eventually([&] {
      std::lock_guard g(m);
      return order.size() == static_cast<std::size_t>(k + 1);
    }));
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(auto_reset_event, set_after_waiter_timed_out_stays_set) {
  auto_reset_event e;
  EXPECT_FALSE(e.wait_for(1ms));
  e.set();
  EXPECT_TRUE(e.try_wait());
}

TEST(auto_reset_event, stopped_waiter_does_not_take_a_later_signal) {
  auto_reset_event e;
  std::stop_source src;
  scoped_thread t([&] { EXPECT_FALSE(e.wait(src.get_token())); });
  ASSERT_TRUE(queued_eventually(key(e), 1));
  src.request_stop();
  t.join();
  e.set();
  EXPECT_TRUE(e.try_wait());  // the signal was not handed to the departed waiter
}

TEST(auto_reset_event, each_set_resumes_one_coroutine) {
  auto_reset_event e;
  std::vector<task> tasks;
  int resumed = 0;
  auto coro = [&]() -> task {
    co_await e;
    ++resumed;
  };
  for (int i = 0; i < 3; ++i)
    tasks.push_back(coro());
  EXPECT_EQ(beacon::parking_lot::queued(key(e)), 3u);
  e.set();
  EXPECT_EQ(resumed, 1);
  EXPECT_FALSE(e.try_wait());
  e.set();
  e.set();
  EXPECT_EQ(resumed, 3);
  e.set();  // nobody left: the event is set
  EXPECT_TRUE(e.try_wait());
}

}  // namespace
