// wait_context on Windows: os_events and other waitable handles, through
// WaitForMultipleObjects. Runs under Wine in CI.
#include <windows.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "beacon/wait_context.hpp"
#include "support/test_support.hpp"

using namespace std::chrono_literals;
using beacon::os_event;
using beacon::wait_context;
using beacon_test::error_of;
using beacon_test::patience;

namespace {

template <class T>
std::vector<T> tokens_of(std::span<const beacon::triggered<T>> r) {
  std::vector<T> v;
  for (const auto& t : r)
    v.push_back(t.token);
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST(wait_context, times_out_empty_after_the_full_duration) {
  wait_context<int> ctx;
  os_event ev;
  ctx.add(ev, 1);
  EXPECT_TRUE(ctx.wait_for(0ms).empty());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(ctx.wait_for(20ms).empty());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
  const auto until = std::chrono::system_clock::now() + 10ms;
  EXPECT_TRUE(ctx.wait_until(until).empty());
  EXPECT_GE(std::chrono::system_clock::now(), until);
}

TEST(wait_context, reports_every_signalled_event_without_consuming) {
  wait_context<int> ctx;
  os_event a, b, c;
  ctx.add(a, 1);
  ctx.add(b, 2);
  ctx.add(c, 3);
  a.signal();
  c.signal();
  const auto r = ctx.wait_for(patience);
  EXPECT_EQ(tokens_of(r), (std::vector<int>{1, 3}));
  for (const auto& t : r) {
    EXPECT_TRUE(t.readable);
    EXPECT_FALSE(t.writable || t.hungup || t.error);
  }
  EXPECT_EQ(tokens_of(ctx.wait_for(0ms)), (std::vector<int>{1, 3}));  // level-triggered
  EXPECT_TRUE(a.try_wait());
  EXPECT_FALSE(b.try_wait());
  EXPECT_TRUE(c.try_wait());
  EXPECT_TRUE(ctx.wait_for(0ms).empty());
}

TEST(wait_context, waits_on_threads_and_other_handles) {
  wait_context<char> ctx;
  HANDLE manual = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  // A thread handle is signalled when the thread ends.
  HANDLE dup = ::CreateThread(
      nullptr, 0,
      [](void*) -> DWORD {
        ::Sleep(10);
        return 0;
      },
      nullptr, 0, nullptr);
  ASSERT_NE(dup, nullptr);
  ctx.add(dup, 't');
  ctx.add(manual, 'm');
  const auto r = ctx.wait_for(patience);  // the thread ends
  EXPECT_EQ(tokens_of(r), std::vector<char>{'t'});
  ::SetEvent(manual);
  EXPECT_EQ(tokens_of(ctx.wait_for(patience)), (std::vector<char>{'m', 't'}));
  ctx.modify(manual, 'M');
  ctx.remove(dup);
  ctx.remove(dup);  // idempotent
  EXPECT_EQ(tokens_of(ctx.wait_for(patience)), std::vector<char>{'M'});
  ctx.remove(manual);
  ::CloseHandle(dup);
  ::CloseHandle(manual);
}

TEST(wait_context, wakes_when_another_thread_signals_or_adds) {
  wait_context<int> ctx;
  os_event ev, late;
  ctx.add(ev, 1);
  std::thread t([&] {
    std::this_thread::sleep_for(10ms);
    late.signal();
    ctx.add(late, 2);  // seen by the wait in progress
  });
  EXPECT_EQ(tokens_of(ctx.wait_for(patience)), std::vector<int>{2});
  t.join();
}

TEST(wait_context, bad_duplicate_and_too_many_handles_throw) {
  wait_context<int> ctx;
  os_event ev;
  ctx.add(ev, 1);
  EXPECT_EQ(error_of([&] { ctx.add(ev, 2); }), ERROR_ALREADY_EXISTS);
  EXPECT_EQ(error_of([&] { ctx.add(nullptr, 3); }), ERROR_INVALID_HANDLE);
  EXPECT_EQ(error_of([&] { ctx.modify(nullptr, 3); }), ERROR_NOT_FOUND);
  os_event moved;
  os_event keeper(std::move(moved));
  EXPECT_EQ(error_of([&] { ctx.add(moved, 4); }),
            ERROR_INVALID_HANDLE);  // NOLINT(bugprone-use-after-move)
  std::vector<os_event> many(70);
  int added = 1;
  for (auto& e : many) {
    if (added == 63) {
      EXPECT_THROW(ctx.add(e, added), std::length_error);
      break;
    }
    ctx.add(e, added++);
  }
  EXPECT_EQ(added, 63);
  many[10].signal();
  EXPECT_EQ(tokens_of(ctx.wait_for(patience)), std::vector<int>{11});
}

TEST(wait_context, moved_from_context_throws) {
  wait_context<int> a;
  wait_context<int> b(std::move(a));
  os_event ev;
  EXPECT_EQ(error_of([&] { a.add(ev, 1); }), ERROR_INVALID_HANDLE);  // NOLINT
  EXPECT_EQ(error_of([&] { (void)a.wait_for(0ms); }), ERROR_INVALID_HANDLE);
  b.add(ev, 1);
  ev.signal();
  EXPECT_EQ(b.wait_for(patience).size(), 1u);
}
