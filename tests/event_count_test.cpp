// beacon::event_count: result types, time-outs, stop tokens, FIFO order,
// notifications that must not be lost (time-out, stop, destroyed coroutine),
// coroutine waits; and the two example channels built on it.
#include "beacon/event_count.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "../examples/event_count_channel.hpp"
#include "../examples/event_count_slot_channel.hpp"
#include "support/test_support.hpp"

namespace {

using namespace std::chrono;
using namespace beacon_test;
using beacon::event_count;

// constexpr constructor: usable during static initialisation.
constinit event_count global_ec;

// A counted resource: a predicate that takes one token when there is one,
// the shape of "pop an item" without a queue.
struct tokens {
  std::atomic<int> n{0};
  bool take() {
    int v = n.load(std::memory_order_relaxed);
    while (v > 0)
      if (n.compare_exchange_weak(v, v - 1, std::memory_order_relaxed)) return true;
    return false;
  }
  void give(event_count& ec, int k = 1) {
    n.fetch_add(k, std::memory_order_relaxed);  // relaxed: notify inserts the fence
    ec.notify(static_cast<std::size_t>(k));
  }
};

TEST(event_count, is_eight_bytes_and_constinit) {
  static_assert(sizeof(event_count) == 8);
  static_assert(!std::is_copy_constructible_v<event_count>);
  static_assert(!std::is_move_constructible_v<event_count>);
  global_ec.notify_all();
  global_ec.wait([] { return true; });
  EXPECT_EQ(global_ec.waiters(), 0u);
}

TEST(event_count, result_types_follow_the_predicate) {
  event_count ec;
  auto b = [] { return true; };
  auto o = [] { return std::optional<int>(1); };
  static_assert(std::is_void_v<decltype(ec.wait(b))>);
  static_assert(std::is_same_v<decltype(ec.wait(o)), int>);
  static_assert(std::is_same_v<decltype(ec.wait_for(1ms, b)), bool>);
  static_assert(std::is_same_v<decltype(ec.wait_for(1ms, o)), std::optional<int>>);
  static_assert(std::is_same_v<decltype(ec.wait_until(steady_clock::now(), b)), bool>);
  static_assert(std::is_same_v<decltype(ec.wait_until(system_clock::now(), o)),
                               std::optional<int>>);
  static_assert(std::is_same_v<decltype(ec.wait(std::stop_token{}, b)), bool>);
  static_assert(
      std::is_same_v<decltype(ec.wait(std::stop_token{}, o)), std::optional<int>>);
  static_assert(std::is_void_v<decltype(ec.async_wait(b).await_resume())>);
  static_assert(std::is_same_v<decltype(ec.async_wait(o).await_resume()), int>);
  auto nb = []() noexcept { return true; };
  static_assert(noexcept(ec.wait(nb)));  // noexcept when the predicate is
  static_assert(!noexcept(ec.wait(b)));
  ec.wait(b);
  EXPECT_EQ(ec.wait(o), 1);
}

// Predicates may return anything boolean-testable (int, pointers, a
// bool-convertible class), treated as bool; std::optional keeps its value;
// types only explicitly convertible to bool are refused.
// (The refusal is a static_assert in every wait, on this trait.)
template <class P>
constexpr bool ec_accepts = beacon::detail::ec_valid_predicate<P>;
struct implicit_flag {
  bool v;
  operator bool() const noexcept { return v; }
};
TEST(event_count, boolean_testable_predicates_are_bool_like) {
  event_count ec;
  int n = 0;
  int target = 5;
  auto counter = [&] { return n++; };  // int
  auto pointer = [&]() -> int* { return n > 3 ? &target : nullptr; };
  auto flag = [&] { return implicit_flag{n > 6}; };  // class, implicit operator bool
  auto cref_opt = [o = std::optional<int>(4)]() -> const std::optional<int>& {
    return o;
  };
  static_assert(std::is_void_v<decltype(ec.wait(counter))>);
  static_assert(std::is_void_v<decltype(ec.wait(pointer))>);
  static_assert(std::is_same_v<decltype(ec.wait_for(1ms, counter)), bool>);
  static_assert(
      std::is_same_v<decltype(ec.wait_until(steady_clock::now(), pointer)), bool>);
  static_assert(std::is_same_v<decltype(ec.wait(std::stop_token{}, flag)), bool>);
  static_assert(std::is_void_v<decltype(ec.async_wait(pointer).await_resume())>);
  static_assert(std::is_same_v<decltype(ec.wait(cref_opt)), int>);
  static_assert(ec_accepts<bool (*)()>);
  static_assert(ec_accepts<int (*)()>);
  static_assert(ec_accepts<const char* (*)()>);
  static_assert(ec_accepts<std::optional<std::string> (*)()>);
  static_assert(!ec_accepts<std::unique_ptr<int> (*)()>, "explicit bool only: refused");
  static_assert(!ec_accepts<void (*)()>);
  static_assert(!ec_accepts<std::string (*)()>);

  EXPECT_FALSE(ec.wait_for(0s, counter));  // 0 is false
  ec.wait(counter);                        // 1 is true
  EXPECT_EQ(n, 2);
  EXPECT_FALSE(ec.wait_for(0s, pointer));  // n == 2: nullptr
  n = 4;
  EXPECT_TRUE(ec.wait_for(0s, pointer));
  std::stop_source stopped;
  stopped.request_stop();
  EXPECT_FALSE(ec.wait(stopped.get_token(), [] { return implicit_flag{false}; }));
  EXPECT_EQ(ec.wait(cref_opt), 4);

  // A thread blocked on an int predicate is released by a notify.
  std::atomic<int> items{0};
  scoped_thread t([&] {
    ASSERT_TRUE(queued_eventually(key(ec), 1));
    items.store(3, std::memory_order_relaxed);
    ec.notify_one();
  });
  ec.wait([&] { return items.load(std::memory_order_relaxed); });
  EXPECT_EQ(items.load(), 3);
}

TEST(event_count, co_await_on_a_pointer_predicate) {
  event_count ec;
  int slot = 0;
  int* ready = nullptr;
  bool done = false;
  auto coro = [&]() -> task {
    co_await ec.async_wait([&] { return ready; });
    done = true;
  };
  task t = coro();
  EXPECT_FALSE(done);
  ready = &slot;
  ec.notify_one();
  EXPECT_TRUE(done);
}

// Regression: wait(p) was noexcept whenever p() was, though it returns the
// predicate's value by moving it: a move that throws terminated the program.
struct throws_on_move {
  bool armed = false;
  explicit throws_on_move(bool a) : armed(a) {}
  throws_on_move(throws_on_move&& o) : armed(o.armed) {
    if (armed) throw std::runtime_error("move");
  }
};
TEST(event_count, wait_whose_result_move_may_throw_is_not_noexcept) {
  event_count ec;
  auto p = []() noexcept { return std::optional<throws_on_move>(std::in_place, true); };
  static_assert(!noexcept(ec.wait(p)));
  static_assert(!noexcept(ec.wait_for(1ms, p)));
  auto plain = []() noexcept { return true; };
  static_assert(noexcept(ec.wait(plain)));
  EXPECT_THROW(ec.wait(p), std::runtime_error);
}

TEST(event_count, wait_returns_at_once_when_the_predicate_holds) {
  event_count ec;
  int calls = 0;
  ec.wait([&] { return ++calls > 0; });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(ec.wait_for(1h, [&] { return std::optional<int>(++calls); }), 2);
  EXPECT_EQ(ec.waiters(), 0u);
}

TEST(event_count, optional_predicate_may_yield_a_move_only_value) {
  event_count ec;
  std::atomic<bool> ready{false};
  scoped_thread t([&] {
    ASSERT_TRUE(queued_eventually(key(ec), 1));
    ready.store(true, std::memory_order_relaxed);
    ec.notify_one();
  });
  std::unique_ptr<int> p = ec.wait([&]() -> std::optional<std::unique_ptr<int>> {
    if (!ready.load(std::memory_order_relaxed)) return std::nullopt;
    return std::make_unique<int>(7);
  });
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, 7);
}

TEST(event_count, notify_without_waiters_is_not_stored) {
  event_count ec;
  ec.notify_one();
  ec.notify(3);
  ec.notify_all();
  EXPECT_EQ(ec.waiters(), 0u);
  int calls = 0;
  const auto start = steady_clock::now();
  EXPECT_FALSE(ec.wait_for(20ms, [&] {
    ++calls;
    return false;
  }));
  EXPECT_GE(steady_clock::now() - start, 20ms);
  EXPECT_EQ(ec.waiters(), 0u);
}

TEST(event_count, notify_zero_wakes_nobody) {
  event_count ec;
  tokens t;
  scoped_thread w([&] { EXPECT_TRUE(ec.wait_for(patience, [&] { return t.take(); })); });
  ASSERT_TRUE(queued_eventually(key(ec), 1));
  t.n.store(1);
  ec.notify(0);
  EXPECT_EQ(beacon::parking_lot::queued(key(ec)), 1u);
  ec.notify_one();
  w.join();
  EXPECT_EQ(ec.waiters(), 0u);
}

TEST(event_count, wait_for_times_out_no_earlier_than_asked) {
  event_count ec;
  for (auto d : {1ms, 20ms}) {
    const auto start = steady_clock::now();
    EXPECT_FALSE(ec.wait_for(d, [] { return false; }));
    EXPECT_GE(steady_clock::now() - start, d);
    const auto start2 = steady_clock::now();
    EXPECT_EQ(ec.wait_for(d, [] { return std::optional<int>(); }), std::nullopt);
    EXPECT_GE(steady_clock::now() - start2, d);
  }
  const auto start = steady_clock::now();
  EXPECT_FALSE(ec.wait_for(duration<double, std::micro>(500.5), [] { return false; }));
  EXPECT_GE(steady_clock::now() - start, microseconds(500));
  EXPECT_EQ(ec.waiters(), 0u);
}

TEST(event_count, wait_until_any_clock_times_out_no_earlier_than_asked) {
  event_count ec;
  const auto sys_deadline = system_clock::now() + 20ms;
  EXPECT_FALSE(ec.wait_until(sys_deadline, [] { return false; }));
  EXPECT_GE(system_clock::now(), sys_deadline);
  const auto steady_deadline = steady_clock::now() + 5ms;
  EXPECT_FALSE(ec.wait_until(steady_deadline, [] { return false; }));
  EXPECT_GE(steady_clock::now(), steady_deadline);
}

TEST(event_count, zero_negative_and_past_mean_try_once) {
  event_count ec;
  int calls = 0;
  auto no = [&] {
    ++calls;
    return false;
  };
  EXPECT_FALSE(ec.wait_for(0s, no));
  EXPECT_FALSE(ec.wait_for(-1s, no));
  EXPECT_FALSE(ec.wait_for(duration<double>(-1e300), no));
  EXPECT_FALSE(ec.wait_until(steady_clock::now() - 1s, no));
  EXPECT_FALSE(ec.wait_until(steady_clock::time_point::min(), no));
  EXPECT_FALSE(ec.wait_until(system_clock::time_point::min(), no));
  EXPECT_EQ(calls, 6);
  EXPECT_TRUE(ec.wait_for(0s, [] { return true; }));
  EXPECT_EQ(ec.wait_for(-1s, [] { return std::optional<int>(3); }), 3);
  EXPECT_EQ(ec.waiters(), 0u);
}

TEST(event_count, huge_durations_and_far_deadlines_do_not_overflow) {
  event_count ec;
  tokens t;
  const auto run = [&](auto wait) {
    scoped_thread w([&] { EXPECT_TRUE(wait()); });
    ASSERT_TRUE(queued_eventually(key(ec), 1));
    t.give(ec);
  };
  auto take = [&] { return t.take(); };
  run([&] { return ec.wait_for(duration<double>::max(), take); });
  run([&] { return ec.wait_for(hours::max(), take); });
  run([&] { return ec.wait_for(nanoseconds::max(), take); });
  run([&] { return ec.wait_until(time_point<system_clock, hours>::max(), take); });
  run([&] { return ec.wait_until(steady_clock::time_point::max(), take); });
  EXPECT_EQ(ec.waiters(), 0u);
}

TEST(event_count, notify_one_wakes_a_waiter_whose_predicate_now_holds) {
  event_count ec;
  std::atomic<int> value{0};
  scoped_thread w([&] {
    EXPECT_EQ(ec.wait_for(patience,
                          [&]() -> std::optional<int> {
                            const int v = value.load(std::memory_order_relaxed);
                            if (v == 0) return std::nullopt;
                            return v;
                          }),
              42);
  });
  ASSERT_TRUE(queued_eventually(key(ec), 1));
  value.store(42, std::memory_order_relaxed);  // relaxed: notify inserts the fence
  ec.notify_one();
  w.join();
  EXPECT_EQ(ec.waiters(), 0u);
}

// Waiters blocked on `ec` until a flag that is never consumed is set (any
// waiter that looks succeeds): a notify wakes exactly as many as it names.
struct flag_waiters {
  event_count ec;
  std::atomic<bool> flag{false};
  std::atomic<int> returned{0};
  std::vector<scoped_thread> ws;

  // Starts `n` waiters, each queued before the next starts, then sets the
  // flag (no notify yet).
  void start(int n) {
    for (int i = 0; i < n; ++i) {
      ws.emplace_back([this] {
        EXPECT_TRUE(
            ec.wait_for(patience, [&] { return flag.load(std::memory_order_relaxed); }));
        returned.fetch_add(1);
      });
      ASSERT_TRUE(queued_eventually(key(ec), static_cast<std::size_t>(i + 1)));
    }
    flag.store(true, std::memory_order_relaxed);
  }
};

TEST(event_count, notify_one_wakes_exactly_one) {
  flag_waiters f;
  ASSERT_NO_FATAL_FAILURE(f.start(3));
  f.ec.notify_one();
  ASSERT_TRUE(eventually([&] { return f.returned.load() == 1; }));
  std::this_thread::sleep_for(20ms);  // give a wrongly woken second waiter time to show
  EXPECT_EQ(f.returned.load(), 1);
  EXPECT_EQ(beacon::parking_lot::queued(key(f.ec)), 2u);
  EXPECT_EQ(f.ec.waiters(), 2u);
  f.ec.notify_one();
  ASSERT_TRUE(eventually([&] { return f.returned.load() == 2; }));
  f.ec.notify_one();
  for (auto& w : f.ws)
    w.join();
  EXPECT_EQ(f.ec.waiters(), 0u);
}

TEST(event_count, notify_n_wakes_n_and_notify_all_wakes_all) {
  flag_waiters f;
  ASSERT_NO_FATAL_FAILURE(f.start(5));
  f.ec.notify(2);
  ASSERT_TRUE(eventually([&] { return f.returned.load() == 2; }));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(f.returned.load(), 2);
  EXPECT_EQ(beacon::parking_lot::queued(key(f.ec)), 3u);
  f.ec.notify_all();
  for (auto& w : f.ws)
    w.join();
  EXPECT_EQ(f.returned.load(), 5);
  EXPECT_EQ(f.ec.waiters(), 0u);
}

TEST(event_count, notifications_reach_waiters_in_fifo_order) {
  event_count ec;
  tokens t;
  std::mutex m;
  std::vector<int> order;
  std::vector<scoped_thread> ws;
  constexpr int n = 5;
  for (int i = 0; i < n; ++i) {
    ws.emplace_back([&, i] {
      EXPECT_TRUE(ec.wait_for(patience, [&] { return t.take(); }));
      std::lock_guard g(m);
      order.push_back(i);
    });
    ASSERT_TRUE(queued_eventually(key(ec), static_cast<std::size_t>(i + 1)));
  }
  for (int i = 0; i < n; ++i) {
    t.give(ec);
    ASSERT_TRUE(eventually([&] {
      std::lock_guard g(m);
      return order.size() == static_cast<std::size_t>(i + 1);
    }));
  }
  for (auto& w : ws)
    w.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(ec.waiters(), 0u);
}

TEST(event_count, woken_waiter_whose_predicate_fails_waits_again) {
  event_count ec;
  std::atomic<int> calls{0};
  std::atomic<bool> flag{false};
  scoped_thread w([&] {
    EXPECT_TRUE(ec.wait_for(patience, [&] {
      calls.fetch_add(1);
      return flag.load(std::memory_order_relaxed);
    }));
  });
  ASSERT_TRUE(queued_eventually(key(ec), 1));
  const int before = calls.load();
  ec.notify_one();  // a notification, but the predicate still fails
  ASSERT_TRUE(eventually([&] { return calls.load() > before; }));
  ASSERT_TRUE(queued_eventually(key(ec), 1));  // back in the queue, not returned
  flag.store(true, std::memory_order_relaxed);
  ec.notify_one();
  w.join();
  EXPECT_EQ(ec.waiters(), 0u);
}

TEST(event_count, timed_wait_woken_before_its_deadline_succeeds) {
  event_count ec;
  tokens t;
  scoped_thread w([&] { EXPECT_TRUE(ec.wait_for(patience, [&] { return t.take(); })); });
  ASSERT_TRUE(queued_eventually(key(ec), 1));
  const auto start = steady_clock::now();
  t.give(ec);
  w.join();
  EXPECT_LT(steady_clock::now() - start, patience / 2);
}

TEST(event_count, stop_request_ends_the_wait) {
  event_count ec;
  std::stop_source src;
  scoped_thread w([&] {
    EXPECT_FALSE(ec.wait(src.get_token(), [] { return false; }));
    EXPECT_EQ(ec.wait(src.get_token(), [] { return std::optional<int>(); }),
              std::nullopt);
  });
  ASSERT_TRUE(queued_eventually(key(ec), 1));
  src.request_stop();
  w.join();
  EXPECT_EQ(ec.waiters(), 0u);
}

TEST(event_count, stop_requested_before_the_wait) {
  event_count ec;
  std::stop_source src;
  src.request_stop();
  int calls = 0;
  EXPECT_TRUE(ec.wait(src.get_token(), [&] { return ++calls > 0; }));  // succeeds at once
  EXPECT_EQ(ec.wait(src.get_token(), [] { return std::optional<int>(5); }), 5);
  EXPECT_FALSE(ec.wait(src.get_token(), [&] {
    ++calls;
    return false;
  }));
  EXPECT_EQ(calls, 2);  // tried once, did not block
  EXPECT_EQ(ec.waiters(), 0u);
}

TEST(event_count, stoppable_wait_woken_by_notify_succeeds) {
  event_count ec;
  tokens t;
  std::stop_source src;
  scoped_thread w(
      [&] { EXPECT_TRUE(ec.wait(src.get_token(), [&] { return t.take(); })); });
  ASSERT_TRUE(queued_eventually(key(ec), 1));
  t.give(ec);
  w.join();
}

// W1 times out at about the moment the only token arrives; W2 waits behind
// it. Whoever the notification reaches, the token is taken by exactly one of
// them, and W2 never sleeps while the token lies there.
TEST(event_count, notification_to_a_waiter_timing_out_reaches_another) {
  for (int round = 0; round < 60; ++round) {
    event_count ec;
    tokens t;
    std::atomic<int> w1{-1};
    std::atomic<bool> w2_done{false};
    const auto timeout = 2ms;
    scoped_thread a(
        [&] { w1.store(ec.wait_for(timeout, [&] { return t.take(); }) ? 1 : 0); });
    // Queued, or (on a slow machine) already timed out.
    ASSERT_TRUE(eventually(
        [&] { return beacon::parking_lot::queued(key(ec)) == 1 || w1.load() >= 0; }));
    const auto queued_at = steady_clock::now();
    scoped_thread b([&] {
      EXPECT_TRUE(ec.wait_for(patience, [&] { return t.take(); }));
      w2_done.store(true);
    });
    ASSERT_TRUE(eventually([&] { return ec.waiters() == 2 || w1.load() >= 0; }));
    // Aim at W1's deadline, from 300 us before to 300 us after it.
    const auto aim = queued_at + timeout + microseconds((round % 13) * 50 - 300);
    while (steady_clock::now() < aim) {
    }
    t.give(ec);
    ASSERT_TRUE(eventually([&] { return w1.load() >= 0; }));
    if (w1.load() == 0) {
      ASSERT_TRUE(eventually([&] { return w2_done.load(); })) << "round " << round;
    } else {
      t.give(ec);  // W1 took the first token; release W2 with another
    }
    a.join();
    b.join();
    EXPECT_EQ(t.n.load(), 0);
    EXPECT_EQ(ec.waiters(), 0u);
  }
}

TEST(event_count, notification_to_a_waiter_being_stopped_reaches_another) {
  for (int round = 0; round < 60; ++round) {
    event_count ec;
    tokens t;
    std::stop_source src;
    std::atomic<int> w1{-1};
    std::atomic<bool> w2_done{false};
    scoped_thread a(
        [&] { w1.store(ec.wait(src.get_token(), [&] { return t.take(); }) ? 1 : 0); });
    ASSERT_TRUE(queued_eventually(key(ec), 1));
    scoped_thread b([&] {
      EXPECT_TRUE(ec.wait_for(patience, [&] { return t.take(); }));
      w2_done.store(true);
    });
    ASSERT_TRUE(queued_eventually(key(ec), 2));
    std::atomic<bool> go{false};
    scoped_thread stopper([&] {
      while (!go.load()) {
      }
      src.request_stop();
    });
    go.store(true);
    if (round % 2) std::this_thread::yield();
    t.give(ec);
    stopper.join();
    ASSERT_TRUE(eventually([&] { return w1.load() >= 0; }));
    if (w1.load() == 0) {
      ASSERT_TRUE(eventually([&] { return w2_done.load(); })) << "round " << round;
    } else {
      t.give(ec);
    }
    a.join();
    b.join();
    EXPECT_EQ(t.n.load(), 0);
    EXPECT_EQ(ec.waiters(), 0u);
  }
}

TEST(event_count, predicate_exception_propagates_and_leaves_no_registration) {
  event_count ec;
  int calls = 0;
  // Throws on the check made after registering.
  EXPECT_THROW(ec.wait([&]() -> bool {
    if (++calls == 2) throw std::runtime_error("boom");
    return false;
  }),
               std::runtime_error);
  EXPECT_EQ(ec.waiters(), 0u);
  // Throws on the check made after a notification.
  std::atomic<bool> armed{false};
  scoped_thread w([&] {
    EXPECT_THROW(ec.wait_for(patience,
                             [&]() -> bool {
                               if (armed.load()) throw std::runtime_error("boom");
                               return false;
                             }),
                 std::runtime_error);
  });
  ASSERT_TRUE(queued_eventually(key(ec), 1));
  armed.store(true);
  ec.notify_one();
  w.join();
  EXPECT_EQ(ec.waiters(), 0u);
}

// ---------------------------------------------------------------------------
// Coroutines

TEST(event_count, co_await_does_not_suspend_when_the_predicate_holds) {
  event_count ec;
  int got = 0;
  auto coro = [&]() -> task {
    co_await ec.async_wait([] { return true; });
    got = co_await ec.async_wait([] { return std::optional<int>(9); });
  };
  task t = coro();
  EXPECT_TRUE(t.finished());
  EXPECT_EQ(got, 9);
  EXPECT_EQ(ec.waiters(), 0u);
}

TEST(event_count, coroutine_is_resumed_inline_on_the_notifying_thread) {
  event_count ec;
  std::atomic<int> value{0};
  std::thread::id resumed_on;
  int got = 0;
  auto coro = [&]() -> task {
    got = co_await ec.async_wait([&]() -> std::optional<int> {
      const int v = value.load(std::memory_order_relaxed);
      if (v == 0) return std::nullopt;
      return v;
    });
    resumed_on = std::this_thread::get_id();
  };
  task t = coro();
  EXPECT_FALSE(t.finished());
  EXPECT_EQ(beacon::parking_lot::queued(key(ec)), 1u);
  std::thread::id notifier;
  bool finished_when_notify_returned = false;
  scoped_thread n([&] {
    notifier = std::this_thread::get_id();
    value.store(11, std::memory_order_relaxed);
    ec.notify_one();
    finished_when_notify_returned = t.finished();
  });
  n.join();
  EXPECT_TRUE(finished_when_notify_returned);
  EXPECT_EQ(resumed_on, notifier);
  EXPECT_EQ(got, 11);
  EXPECT_EQ(ec.waiters(), 0u);
}

TEST(event_count, coroutine_whose_predicate_fails_stays_suspended) {
  event_count ec;
  std::atomic<bool> flag{false};
  int calls = 0;
  auto coro = [&]() -> task {
    co_await ec.async_wait([&] {
      ++calls;
      return flag.load(std::memory_order_relaxed);
    });
  };
  task t = coro();
  const int before = calls;
  ec.notify_one();  // re-checked on this thread, fails: suspended and queued again
  EXPECT_GT(calls, before);
  EXPECT_FALSE(t.finished());
  EXPECT_EQ(beacon::parking_lot::queued(key(ec)), 1u);
  EXPECT_EQ(ec.waiters(), 1u);
  flag.store(true, std::memory_order_relaxed);
  ec.notify_all();
  EXPECT_TRUE(t.finished());
  EXPECT_EQ(ec.waiters(), 0u);
}

TEST(event_count, destroyed_coroutine_passes_its_notification_on) {
  event_count ec;
  tokens tk;
  auto coro = [&]() -> task { co_await ec.async_wait([&] { return tk.take(); }); };
  task first = coro();
  task second = coro();
  EXPECT_EQ(beacon::parking_lot::queued(key(ec)), 2u);
  first.destroy();  // leaves the queue
  EXPECT_EQ(beacon::parking_lot::queued(key(ec)), 1u);
  EXPECT_EQ(ec.waiters(), 1u);
  tk.give(ec);
  EXPECT_TRUE(second.finished());
  EXPECT_EQ(tk.n.load(), 0);
  EXPECT_EQ(ec.waiters(), 0u);
}

// Regression: a coroutine that a notify had chosen, destroyed before it
// ran (when_any style: notify(2) picks A and B, A's body destroys B),
// swallowed its notification; a thread queued behind them never woke.
TEST(event_count, coroutine_destroyed_after_a_notify_chose_it_passes_it_on) {
  event_count ec;
  tokens tk;
  task second;
  auto first_body = [&]() -> task {
    co_await ec.async_wait([&] { return tk.take(); });
    second.destroy();  // chosen by the same notify, not resumed yet
  };
  auto second_body = [&]() -> task { co_await ec.async_wait([&] { return tk.take(); }); };
  task first = first_body();
  second = second_body();
  std::atomic<bool> thread_woke{false};
  steady_clock::duration waited{};
  scoped_thread behind([&] {
    const auto start = steady_clock::now();
    thread_woke = ec.wait_for(patience, [&] { return tk.take(); });
    waited = steady_clock::now() - start;
  });
  ASSERT_TRUE(queued_eventually(key(ec), 3));
  tk.give(ec, 2);  // notify(2): the two coroutines
  EXPECT_TRUE(first.finished());
  behind.join();
  EXPECT_TRUE(thread_woke.load());
  // Notified, not rescued by the final look of a timed-out wait (the token
  // is still there after `patience`, so only the time tells them apart).
  EXPECT_LT(waited, patience / 2);
  EXPECT_EQ(tk.n.load(), 0);
  EXPECT_EQ(ec.waiters(), 0u);
}

TEST(event_count, threads_and_coroutines_share_one_fifo_queue) {
  event_count ec;
  tokens tk;
  std::mutex m;
  std::vector<int> order;
  auto record = [&](int i) {
    std::lock_guard g(m);
    order.push_back(i);
  };
  scoped_thread t0([&] {
    EXPECT_TRUE(ec.wait_for(patience, [&] { return tk.take(); }));
    record(0);
  });
  ASSERT_TRUE(queued_eventually(key(ec), 1));
  auto coro = [&]() -> task {
    co_await ec.async_wait([&] { return tk.take(); });
    record(1);
  };
  task c = coro();
  ASSERT_TRUE(queued_eventually(key(ec), 2));
  scoped_thread t2([&] {
    EXPECT_TRUE(ec.wait_for(patience, [&] { return tk.take(); }));
    record(2);
  });
  ASSERT_TRUE(queued_eventually(key(ec), 3));
  for (std::size_t i = 1; i <= 3; ++i) {
    tk.give(ec);
    ASSERT_TRUE(eventually([&] {
      std::lock_guard g(m);
      return order.size() == i;
    }));
  }
  t0.join();
  t2.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(ec.waiters(), 0u);
}

TEST(event_count, coroutine_chain_of_notifications_does_not_recurse) {
  event_count ec;
  tokens tk;
  constexpr int n = 20'000;
  int done = 0;
  std::vector<task> tasks;
  tasks.reserve(n);
  auto link = [&]() -> task {
    co_await ec.async_wait([&] { return tk.take(); });
    ++done;
    tk.give(ec);  // wakes the next one: queued on this thread, not nested
  };
  for (int i = 0; i < n; ++i)
    tasks.push_back(link());
  EXPECT_EQ(ec.waiters(), static_cast<std::size_t>(n));
  tk.give(ec);
  EXPECT_EQ(done, n);  // all ran before give() returned
  for (auto& t : tasks)
    EXPECT_TRUE(t.finished());
  EXPECT_EQ(tk.n.load(), 1);
  EXPECT_EQ(ec.waiters(), 0u);
}

TEST(event_count, coroutine_predicate_exception_is_rethrown_from_co_await) {
  event_count ec;
  std::atomic<bool> armed{false};
  bool caught = false;
  auto coro = [&]() -> task {
    try {
      co_await ec.async_wait([&]() -> bool {
        if (armed.load()) throw std::runtime_error("boom");
        return false;
      });
    } catch (const std::runtime_error&) {
      caught = true;
    }
  };
  task t = coro();
  EXPECT_FALSE(t.finished());
  armed.store(true);
  ec.notify_one();
  EXPECT_TRUE(t.finished());
  EXPECT_TRUE(caught);
  EXPECT_EQ(ec.waiters(), 0u);
}

// ---------------------------------------------------------------------------
// The example channels

TEST(event_count_channel, capacity_must_be_a_power_of_two) {
  EXPECT_THROW(example::bounded_channel<int>(0), std::invalid_argument);
  EXPECT_THROW(example::bounded_channel<int>(3), std::invalid_argument);
  example::bounded_channel<int> ch(4);
  EXPECT_EQ(ch.capacity(), 4u);
}

TEST(event_count_channel, try_forms_report_full_and_empty) {
  example::bounded_channel<int> ch(2);
  EXPECT_EQ(ch.try_recv(), std::nullopt);
  EXPECT_TRUE(ch.try_send(1));
  EXPECT_TRUE(ch.try_send(2));
  EXPECT_FALSE(ch.try_send(3));
  EXPECT_EQ(ch.try_recv(), 1);
  EXPECT_TRUE(ch.try_send(3));
  EXPECT_EQ(ch.try_recv(), 2);
  EXPECT_EQ(ch.try_recv(), 3);
  EXPECT_EQ(ch.try_recv(), std::nullopt);
}

TEST(event_count_channel, failed_try_send_keeps_a_move_only_value) {
  example::bounded_channel<std::unique_ptr<int>> ch(1);
  EXPECT_TRUE(ch.try_send(std::make_unique<int>(1)));
  auto v = std::make_unique<int>(2);
  EXPECT_FALSE(ch.try_send(std::move(v)));
  ASSERT_TRUE(v);  // not moved from
  EXPECT_FALSE(ch.send_for(1ms, std::move(v)));
  ASSERT_TRUE(v);
  EXPECT_EQ(**ch.try_recv(), 1);
  EXPECT_TRUE(ch.send_for(1ms, std::move(v)));
  EXPECT_EQ(**ch.recv_for(1ms), 2);
}

TEST(event_count_channel, timed_forms_time_out_no_earlier_than_asked) {
  example::bounded_channel<int> ch(1);
  auto start = steady_clock::now();
  EXPECT_EQ(ch.recv_for(10ms), std::nullopt);
  EXPECT_GE(steady_clock::now() - start, 10ms);
  ch.send(1);
  start = steady_clock::now();
  EXPECT_FALSE(ch.send_until(steady_clock::now() + 10ms, 2));
  EXPECT_GE(steady_clock::now() - start, 10ms);
  EXPECT_EQ(ch.recv_until(system_clock::now() + 10ms), 1);
}

TEST(event_count_channel, blocked_sender_and_receiver_are_released) {
  example::bounded_channel<int> ch(1);
  scoped_thread r([&] { EXPECT_EQ(ch.recv_for(patience), 5); });
  ASSERT_TRUE(eventually([&] { return ch.waiting_receivers() == 1; }));
  ch.send(5);
  r.join();
  ch.send(6);
  scoped_thread s([&] { EXPECT_TRUE(ch.send_for(patience, 7)); });
  ASSERT_TRUE(eventually([&] { return ch.waiting_senders() == 1; }));
  EXPECT_EQ(ch.recv(), 6);
  s.join();
  EXPECT_EQ(ch.recv(), 7);
}

TEST(event_count_channel, coroutines_send_and_receive) {
  example::bounded_channel<int> ch(1);
  std::vector<int> got;
  auto receiver = [&]() -> task {
    for (int i = 0; i < 3; ++i)
      got.push_back(co_await ch.async_recv());
  };
  auto sender = [&]() -> task {
    for (int i = 1; i <= 3; ++i)
      co_await ch.async_send(i * 10);
  };
  task r = receiver();
  EXPECT_FALSE(r.finished());
  task s = sender();  // each send resumes the receiver inline, which frees the cell
  EXPECT_TRUE(s.finished());
  EXPECT_TRUE(r.finished());
  EXPECT_EQ(got, (std::vector<int>{10, 20, 30}));
  EXPECT_EQ(ch.waiting_senders() + ch.waiting_receivers(), 0u);
}

TEST(event_count_slot_channel, sends_and_receives_non_zero_values) {
  example::slot_channel<std::uint32_t> ch;
  EXPECT_EQ(ch.try_recv(), std::nullopt);
  EXPECT_TRUE(ch.try_send(3));
  EXPECT_FALSE(ch.try_send(4));
  EXPECT_FALSE(ch.send_for(1ms, 4));
  EXPECT_EQ(ch.recv(), 3u);
  EXPECT_EQ(ch.recv_for(1ms), std::nullopt);
  scoped_thread t([&] { ch.send(8); });
  EXPECT_EQ(ch.recv_for(patience), 8u);
  int got = 0;
  auto coro = [&]() -> task { got = static_cast<int>(co_await ch.async_recv()); };
  task c = coro();
  auto sender = [&]() -> task { co_await ch.async_send(12); };
  task s = sender();
  EXPECT_TRUE(c.finished());
  EXPECT_TRUE(s.finished());
  EXPECT_EQ(got, 12);
}

}  // namespace
