// manual_reset_event: broadcast, no consumption, set-then-reset releases all.
#include "beacon/manual_reset_event.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

#include "support/test_support.hpp"

namespace {

using namespace std::chrono;
using beacon::manual_reset_event;
using beacon::state;
using namespace beacon_test;

TEST(manual_reset_event, waits_do_not_consume) {
  manual_reset_event e{state::set};
  EXPECT_TRUE(e.is_set());
  EXPECT_TRUE(e.try_wait());
  EXPECT_TRUE(e.try_wait());
  e.wait();
  EXPECT_TRUE(e.wait_for(0s));
  EXPECT_TRUE(e.is_set());
  e.reset();
  EXPECT_FALSE(e.is_set());
  EXPECT_FALSE(e.try_wait());
}

TEST(manual_reset_event, set_releases_every_waiter) {
  constexpr int n = 6;
  manual_reset_event e;
  std::atomic<int> released{0};
  auto threads = start_threads(n, [&] {
    e.wait();
    released.fetch_add(1);
  });
  ASSERT_TRUE(queued_eventually(key(e), n));
  e.set();
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(released.load(), n);
  EXPECT_TRUE(e.is_set());
}

TEST(manual_reset_event, set_then_reset_still_releases_the_blocked_waiters) {
  constexpr int n = 4;
  manual_reset_event e;
  std::atomic<int> released{0};
  auto threads = start_threads(n, [&] {
    if (e.wait_for(patience)) released.fetch_add(1);
  });
  ASSERT_TRUE(queued_eventually(key(e), n));
  e.set();
  e.reset();
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(released.load(), n);
  EXPECT_FALSE(e.is_set());
}

TEST(manual_reset_event, set_resumes_every_coroutine) {
  manual_reset_event e;
  int resumed = 0;
  auto coro = [&]() -> task {
    co_await e;
    ++resumed;
  };
  std::vector<task> tasks;
  for (int i = 0; i < 5; ++i)
    tasks.push_back(coro());
  EXPECT_EQ(resumed, 0);
  e.set();
  EXPECT_EQ(resumed, 5);
  tasks.push_back(coro());  // already set: no suspension
  EXPECT_EQ(resumed, 6);
}

TEST(manual_reset_event, reset_after_set_does_not_strand_later_waiters) {
  manual_reset_event e;
  e.set();
  e.reset();
  std::atomic<bool> released{false};
  scoped_thread t([&] {
    e.wait();
    released = true;
  });
  ASSERT_TRUE(queued_eventually(key(e), 1));
  EXPECT_FALSE(released);
  e.set();
  t.join();
  EXPECT_TRUE(released);
}

}  // namespace
