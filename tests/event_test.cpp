// Behaviour common to both events (typed over auto- and manual-reset): the
// waitable members, time-outs, stop tokens and co_await.
#include <gtest/gtest.h>
#ifndef _WIN32
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <csignal>
#include <cstdlib>

#include <chrono>
#include <concepts>
#include <memory>
#include <optional>
#include <stop_token>
#include <thread>
#include <type_traits>
#include <vector>

#include "beacon/auto_reset_event.hpp"
#include "beacon/manual_reset_event.hpp"
#include "support/test_support.hpp"

namespace {

using namespace std::chrono;
using beacon::state;
using namespace beacon_test;

// constinit globals: the constructors are constexpr, so these need no
// dynamic initialisation and are usable from any static initialiser.
constinit beacon::auto_reset_event global_auto{state::set};
constinit beacon::manual_reset_event global_manual;

template <class E>
class event : public ::testing::Test {};
using event_types =
    ::testing::Types<beacon::auto_reset_event, beacon::manual_reset_event>;
TYPED_TEST_SUITE(event, event_types);

TYPED_TEST(event, is_one_byte) { static_assert(sizeof(TypeParam) == 1); }

TEST(event, constinit_globals_work) {
  EXPECT_TRUE(global_auto.try_wait());
  EXPECT_FALSE(global_auto.try_wait());
  EXPECT_FALSE(global_manual.try_wait());
  global_manual.set();
  EXPECT_TRUE(global_manual.try_wait());
  global_manual.reset();
}

TYPED_TEST(event, starts_unset_by_default) {
  TypeParam e;
  EXPECT_FALSE(e.try_wait());
}

// P0935: the default constructor is not explicit, so aggregates of events
// value-initialise with `= {}` and are default_initializable; the state
// constructor stays explicit (a state is not an event).
struct events_aggregate {
  beacon::auto_reset_event ready;
  beacon::manual_reset_event stop;
};
static_assert(std::default_initializable<beacon::auto_reset_event>);
static_assert(std::default_initializable<beacon::manual_reset_event>);
static_assert(std::default_initializable<events_aggregate>);
static_assert(std::is_aggregate_v<events_aggregate>);
static_assert(!std::is_convertible_v<state, beacon::auto_reset_event>);
static_assert(!std::is_convertible_v<state, beacon::manual_reset_event>);
static_assert(std::is_nothrow_default_constructible_v<beacon::auto_reset_event>);
static_assert(std::is_nothrow_default_constructible_v<beacon::manual_reset_event>);

TEST(event, aggregate_of_events_copy_list_initialises_unset) {
  events_aggregate s = {};
  EXPECT_FALSE(s.ready.try_wait());
  EXPECT_FALSE(s.stop.is_set());
  beacon::auto_reset_event e = {};  // copy-list-init uses the default constructor
  EXPECT_FALSE(e.try_wait());
  s.ready.set();
  EXPECT_TRUE(s.ready.try_wait());
}

TYPED_TEST(event, starts_set_when_asked) {
  TypeParam e{state::set};
  EXPECT_TRUE(e.try_wait());
}

TYPED_TEST(event, reset_makes_it_unset) {
  TypeParam e{state::set};
  e.reset();
  EXPECT_FALSE(e.try_wait());
  e.reset();  // resetting an unset event changes nothing
  EXPECT_FALSE(e.try_wait());
}

TYPED_TEST(event, wait_returns_at_once_when_set) {
  TypeParam e{state::set};
  e.wait();
  SUCCEED();
}

TYPED_TEST(event, wait_for_times_out_no_earlier_than_asked) {
  TypeParam e;
  for (auto d : {1ms, 20ms}) {
    const auto start = steady_clock::now();
    EXPECT_FALSE(e.wait_for(d));
    EXPECT_GE(steady_clock::now() - start, d);
  }
}

TYPED_TEST(event, wait_for_sub_millisecond_is_not_a_try) {
  TypeParam e;
  const auto start = steady_clock::now();
  EXPECT_FALSE(e.wait_for(duration<double, std::micro>(500.5)));
  EXPECT_GE(steady_clock::now() - start, microseconds(500));
}

TYPED_TEST(event, wait_for_zero_or_negative_tries_once) {
  TypeParam e;
  EXPECT_FALSE(e.wait_for(0s));
  EXPECT_FALSE(e.wait_for(-1h));
  EXPECT_FALSE(e.wait_for(hours::min()));
  e.set();
  EXPECT_TRUE(e.wait_for(0s));
  e.set();
  EXPECT_TRUE(e.wait_for(-1h));
}

TYPED_TEST(event, wait_for_huge_durations_does_not_overflow) {
  TypeParam e{state::set};
  EXPECT_TRUE(e.wait_for(hours::max()));
  e.set();
  EXPECT_TRUE(e.wait_for(duration<double>::max()));
  e.set();
  EXPECT_TRUE(e.wait_for(nanoseconds::max()));
}

TYPED_TEST(event, wait_for_max_is_released_by_set) {
  TypeParam e;
  bool ok = false;
  scoped_thread t([&] { ok = e.wait_for(duration<double>::max()); });
  ASSERT_TRUE(queued_eventually(key(e), 1));
  e.set();
  t.join();
  EXPECT_TRUE(ok);
}

TYPED_TEST(event, wait_until_any_clock) {
  TypeParam e;
  EXPECT_FALSE(e.wait_until(steady_clock::now()));
  EXPECT_FALSE(e.wait_until(system_clock::now() - 1h));
  EXPECT_FALSE(e.wait_until(steady_clock::time_point::min()));
  EXPECT_FALSE(e.wait_until(time_point<system_clock, hours>::min()));
  const auto until = system_clock::now() + 15ms;
  EXPECT_FALSE(e.wait_until(until));
  EXPECT_GE(system_clock::now(), until);
  const auto until2 = steady_clock::now() + 15ms;
  EXPECT_FALSE(e.wait_until(until2));
  EXPECT_GE(steady_clock::now(), until2);
  e.set();
  EXPECT_TRUE(e.wait_until(time_point<system_clock, hours>::max()));
  e.set();
  EXPECT_TRUE(e.wait_until(steady_clock::time_point::min()));  // set: succeeds at once
}

TYPED_TEST(event, wait_until_far_future_is_released_by_set) {
  TypeParam e;
  bool ok = false;
  const time_point<system_clock, hours> far{hours(24 * 365 * 500)};
  scoped_thread t([&] { ok = e.wait_until(far); });
  ASSERT_TRUE(queued_eventually(key(e), 1));
  e.set();
  t.join();
  EXPECT_TRUE(ok);
}

TYPED_TEST(event, timed_out_waiter_leaves_the_queue) {
  TypeParam e;
  EXPECT_FALSE(e.wait_for(2ms));
  EXPECT_EQ(beacon::parking_lot::queued(key(e)), 0u);
  e.set();  // nobody parked: the event is simply set
  EXPECT_TRUE(e.try_wait());
}

TYPED_TEST(event, stop_token_wait_succeeds_when_set_even_if_stopped) {
  TypeParam e{state::set};
  std::stop_source src;
  src.request_stop();
  EXPECT_TRUE(e.wait(src.get_token()));
}

TYPED_TEST(event, stop_token_wait_fails_when_already_stopped) {
  TypeParam e;
  std::stop_source src;
  src.request_stop();
  EXPECT_FALSE(e.wait(src.get_token()));
}

TYPED_TEST(event, stop_request_ends_a_blocked_wait) {
  TypeParam e;
  std::stop_source src;
  int result = -1;
  scoped_thread t([&] { result = e.wait(src.get_token()) ? 1 : 0; });
  ASSERT_TRUE(queued_eventually(key(e), 1));
  src.request_stop();
  t.join();
  EXPECT_EQ(result, 0);
  EXPECT_EQ(beacon::parking_lot::queued(key(e)), 0u);
  e.set();  // the event still works afterwards
  EXPECT_TRUE(e.try_wait());
}

TYPED_TEST(event, stop_token_wait_is_released_by_set) {
  TypeParam e;
  std::stop_source src;
  int result = -1;
  scoped_thread t([&] { result = e.wait(src.get_token()) ? 1 : 0; });
  ASSERT_TRUE(queued_eventually(key(e), 1));
  e.set();
  t.join();
  EXPECT_EQ(result, 1);
}

TYPED_TEST(event, co_await_on_set_event_does_not_suspend) {
  TypeParam e{state::set};
  bool after = false;
  auto coro = [&]() -> task {
    co_await e;
    after = true;
  };
  task t = coro();
  EXPECT_TRUE(after);
  EXPECT_TRUE(t.finished());
}

TYPED_TEST(event, co_await_resumes_on_the_setting_thread) {
  TypeParam e;
  std::thread::id resumed_on;
  auto coro = [&]() -> task {
    co_await e;
    resumed_on = std::this_thread::get_id();
  };
  task t = coro();
  EXPECT_FALSE(t.finished());
  EXPECT_EQ(beacon::parking_lot::queued(key(e)), 1u);
  std::thread::id setter;
  scoped_thread s([&] {
    setter = std::this_thread::get_id();
    e.set();  // resumes the coroutine inline, before returning
  });
  s.join();
  EXPECT_TRUE(t.finished());
  EXPECT_EQ(resumed_on, setter);
}

TYPED_TEST(event, destroyed_coroutine_leaves_the_queue) {
  TypeParam e;
  auto coro = [&]() -> task { co_await e; };
  task t = coro();
  ASSERT_EQ(beacon::parking_lot::queued(key(e)), 1u);
  t.destroy();
  EXPECT_EQ(beacon::parking_lot::queued(key(e)), 0u);
  e.set();  // nobody is waiting: the signal stays
  EXPECT_TRUE(e.try_wait());
}

TYPED_TEST(event, coroutines_and_threads_share_one_queue) {
  TypeParam e;
  auto coro = [&]() -> task { co_await e; };
  task t = coro();
  bool thread_done = false;
  scoped_thread th([&] {
    e.wait();
    thread_done = true;
  });
  ASSERT_TRUE(queued_eventually(key(e), 2));
  e.set();  // auto-reset: releases the coroutine (queued first) ...
  e.set();  // ... then the thread; manual-reset: the first released both
  th.join();
  EXPECT_TRUE(t.finished());
  EXPECT_TRUE(thread_done);
}

// Regression: a coroutine woken by an unpark but destroyed by a sibling
// resumed just before it (as when_any does) was resumed after its frame was
// freed. Now its wake is withdrawn, and an exclusive grant is passed on.
TYPED_TEST(event, coroutine_destroyed_after_wake_before_resume_is_not_resumed) {
  TypeParam first, second;
  std::optional<task> victim;
  bool victim_ran = false;
  auto killer = [&]() -> task {
    co_await first;
    second.set();       // wakes the victim: its resumption is now pending here
    victim->destroy();  // ... and withdrawn
  };
  auto target = [&]() -> task {
    co_await second;
    victim_ran = true;
  };
  task k = killer();
  victim.emplace(target());
  first.set();
  EXPECT_TRUE(k.finished());
  EXPECT_FALSE(victim_ran);
  // Auto-reset: the signal handed to the victim went back into the event.
  // Manual-reset: the event is simply still set.
  EXPECT_TRUE(second.try_wait());
  EXPECT_EQ(beacon::parking_lot::queued(key(second)), 0u);
}

// The lifetime rule: a waiter may destroy the event right after its wait()
// returned, while the set() that released it may still be returning.
TYPED_TEST(event, can_be_destroyed_right_after_wait_returns) {
  for (int i = 0; i < 200; ++i) {
    auto* e = new TypeParam;
    scoped_thread setter([e] { e->set(); });
    e->wait();
    delete e;  // ASan reports a use after free if set() touches it now
    setter.join();
  }
}

// The lifetime rule "destroy it once your wait returned, even while set()
// is still returning", exercised where a timed-out waiter's last look sees
// the signal while the setter is still on its way to the queue lock.
TYPED_TEST(event, can_be_destroyed_right_after_a_timed_wait_succeeds) {
  for (int i = 0; i < 300; ++i) {
    auto* e = new TypeParam;
    scoped_thread setter([e] { e->set(); });
    while (!e->wait_for(microseconds(i % 7))) {
    }
    delete e;  // ASan reports a use after free if set() touches it now
    setter.join();
  }
}

// Regression: the portable backend destroyed its condition variables at
// exit while a detached thread was still parked, and exit() hung.
TYPED_TEST(event, process_exits_with_a_parked_detached_thread) {
#ifdef _WIN32
  GTEST_SKIP() << "Windows has no fork(); the parked-thread exit is the portable "
                  "backend's concern";
#else
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    static TypeParam never_set;
    std::thread([] { never_set.wait(); }).detach();
    while (beacon::parking_lot::queued(&never_set) == 0)
      std::this_thread::yield();
    std::exit(0);  // NOLINT(concurrency-mt-unsafe): runs static destructors with the
                   // thread still parked
  }
  int status = -1;
  const bool exited = eventually([&] { return waitpid(pid, &status, WNOHANG) == pid; });
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  EXPECT_TRUE(exited) << "exit() hung with a parked thread";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
#endif
}

// A chain of coroutines, each setting the next event when resumed: without
// the parking lot's trampoline this would recurse 100 000 deep.
TYPED_TEST(event, chained_resumption_does_not_recurse) {
  constexpr int n = 100'000;
  auto events = std::make_unique<TypeParam[]>(n + 1);
  std::vector<task> tasks;
  tasks.reserve(n);
  auto link = [&](int i) -> task {
    co_await events[i];
    events[i + 1].set();
  };
  for (int i = 0; i < n; ++i)
    tasks.push_back(link(i));
  events[0].set();
  EXPECT_TRUE(events[n].try_wait());
  for (auto& t : tasks)
    EXPECT_TRUE(t.finished());
}

}  // namespace
