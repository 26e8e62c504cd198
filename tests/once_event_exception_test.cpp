// send_exception: an exception sent instead of a value is rethrown by every
// receive form and by co_await, once, on every binding (by reference, shared,
// managed, pooled; once_event and local_once_event), whether it fits the
// value's slot (a large T) or goes to the side table (a T smaller than a
// pointer); and it is destroyed exactly once on every path.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>

#include "beacon/local_once_event.hpp"
#include "beacon/once_event.hpp"
#include "support/test_support.hpp"

namespace {

using namespace std::chrono;
using namespace beacon_test;

// An exception that counts its live copies (std::make_exception_ptr copies).
struct counted_error : std::runtime_error {
  static inline std::atomic<int> live{0};
  explicit counted_error(const char* w) : std::runtime_error(w) { ++live; }
  counted_error(const counted_error& o) : std::runtime_error(o) { ++live; }
  ~counted_error() override { --live; }
};

std::exception_ptr error(const char* what = "boom") {
  return std::make_exception_ptr(counted_error(what));
}

// Every exception a test sent is gone by its end.
class exceptions : public ::testing::Test {
 protected:
  void SetUp() override { counted_error::live = 0; }
  void TearDown() override {
    EXPECT_EQ(counted_error::live.load(), 0) << "an exception leaked";
  }
};

// The message of the counted_error that `f()` throws; "" if none.
template <class F>
std::string thrown_by(F&& f) {
  try {
    f();
  } catch (const counted_error& e) {
    return e.what();
  }
  return "";
}

// A large T (the exception lives in the value's slot) and a small one (it
// goes to the side table): every test runs with both.
template <class T>
class once_exception : public exceptions {};
using value_types = ::testing::Types<std::string, int, char>;
TYPED_TEST_SUITE(once_exception, value_types);

TYPED_TEST(once_exception, sizes_are_unchanged) {
  static_assert(sizeof(beacon::once_event<int>) <= 8);
  static_assert(sizeof(beacon::once_event<char>) == 2);
  static_assert(sizeof(beacon::local_once_event<int>) <= 2 * sizeof(void*));
}

TYPED_TEST(once_exception, receive_rethrows_once_then_the_receiver_is_consumed) {
  beacon::once_event<TypeParam> ev;
  auto [tx, rx_end] = ev.bind_by_ref();
  auto& rx = rx_end;
  std::move(tx).send_exception(error("first"));
  EXPECT_FALSE(tx.valid());  // NOLINT(bugprone-use-after-move): consumed
  EXPECT_EQ(thrown_by([&] { (void)rx.receive(); }), "first");
  EXPECT_FALSE(rx.valid());
  EXPECT_THROW((void)rx.receive(), std::logic_error);
}

TYPED_TEST(once_exception, every_receive_form_rethrows) {
  using E = beacon::once_event<TypeParam>;
  auto check = [](auto receive) {
    E ev;
    auto [tx, rx_end] = ev.bind_by_ref();
    auto& rx = rx_end;
    std::move(tx).send_exception(error("x"));
    EXPECT_EQ(thrown_by([&] { receive(rx); }), "x");
    EXPECT_FALSE(rx.valid());
  };
  check([](auto& rx) { (void)rx.try_receive(); });
  check([](auto& rx) { (void)rx.receive_for(0ms); });
  check([](auto& rx) { (void)rx.receive_for(1h); });
  check([](auto& rx) { (void)rx.receive_until(steady_clock::now() + 1h); });
  check([](auto& rx) {
    std::stop_source stop;
    (void)rx.receive(stop.get_token());
  });
}

TYPED_TEST(once_exception, wakes_a_blocked_receiver_on_another_thread) {
  beacon::once_event<TypeParam> ev;
  auto [tx, rx_end] = ev.bind_by_ref();
  auto& rx = rx_end;
  std::string got;
  scoped_thread r([&, rx = std::move(rx)]() mutable {
    got = thrown_by([&] { (void)rx.receive(); });
  });
  ASSERT_TRUE(queued_eventually(key(ev), 1));
  std::move(tx).send_exception(error("woken"));
  r.join();
  EXPECT_EQ(got, "woken");
}

TYPED_TEST(once_exception, wakes_a_timed_receiver_on_another_thread) {
  beacon::once_event<TypeParam> ev;
  auto [tx, rx_end] = ev.bind_by_ref();
  auto& rx = rx_end;
  std::string got;
  scoped_thread r([&, rx = std::move(rx)]() mutable {
    got = thrown_by([&] { (void)rx.receive_for(1h); });
  });
  ASSERT_TRUE(queued_eventually(key(ev), 1));
  std::move(tx).send_exception(error("timed"));
  r.join();
  EXPECT_EQ(got, "timed");
}

TYPED_TEST(once_exception, a_timed_out_receiver_then_gets_the_exception) {
  auto [tx, rx_end] = beacon::make_once<TypeParam>();
  auto& rx = rx_end;
  EXPECT_EQ(rx.receive_for(1ms), std::nullopt);
  std::move(tx).send_exception(error("late"));
  EXPECT_EQ(thrown_by([&] { (void)rx.receive(); }), "late");
}

template <class Rx>
task await_error(Rx rx, std::string& out) {
  try {
    (void)co_await std::move(rx);
  } catch (const counted_error& e) {
    out = e.what();
  }
}

TYPED_TEST(once_exception, co_await_rethrows_ready_and_suspended) {
  {  // sent before: no suspension
    auto [tx, rx_end] = beacon::make_once<TypeParam>();
    auto& rx = rx_end;
    std::move(tx).send_exception(error("ready"));
    std::string out;
    task t = await_error(std::move(rx), out);
    EXPECT_TRUE(t.finished());
    EXPECT_EQ(out, "ready");
  }
  {  // suspended: resumed by send_exception, inline
    beacon::once_event<TypeParam> ev;
    auto [tx, rx_end] = ev.bind_by_ref();
    auto& rx = rx_end;
    std::string out;
    task t = await_error(std::move(rx), out);
    EXPECT_FALSE(t.finished());
    std::move(tx).send_exception(error("suspended"));
    EXPECT_TRUE(t.finished());
    EXPECT_EQ(out, "suspended");
  }
  {  // resumed from another thread
    auto [tx, rx_end] = beacon::make_once<TypeParam>();
    auto& rx = rx_end;
    std::string out;
    task t = await_error(std::move(rx), out);
    scoped_thread s(
        [tx = std::move(tx)]() mutable { std::move(tx).send_exception(error("far")); });
    s.join();
    EXPECT_TRUE(t.finished());
    EXPECT_EQ(out, "far");
  }
}

TYPED_TEST(once_exception, local_event_rethrows_from_try_receive_and_co_await) {
  {
    beacon::local_once_event<TypeParam> ev;
    auto [tx, rx_end] = ev.bind_by_ref();
    auto& rx = rx_end;
    std::move(tx).send_exception(error("local"));
    EXPECT_EQ(thrown_by([&] { (void)rx.try_receive(); }), "local");
    EXPECT_FALSE(rx.valid());
  }
  {
    auto [tx, rx_end] = beacon::make_local_once<TypeParam>();
    auto& rx = rx_end;
    std::string out;
    task t = await_error(std::move(rx), out);
    EXPECT_FALSE(t.finished());
    std::move(tx).send_exception(error("local await"));
    EXPECT_TRUE(t.finished());
    EXPECT_EQ(out, "local await");
  }
  {
    auto ev = std::make_shared<beacon::local_once_event<TypeParam>>();
    auto [tx, rx_end] = beacon::local_once_event<TypeParam>::bind_by_shared(ev);
    auto& rx = rx_end;
    std::move(tx).send_exception(error("shared"));
    EXPECT_EQ(thrown_by([&] { (void)rx.try_receive(); }), "shared");
  }
}

TYPED_TEST(once_exception, shared_and_pooled_bindings_rethrow_and_recycle) {
  {
    auto ev = std::make_shared<beacon::once_event<TypeParam>>();
    auto [tx, rx_end] = beacon::once_event<TypeParam>::bind_by_shared(ev);
    auto& rx = rx_end;
    std::move(tx).send_exception(error("shared"));
    EXPECT_EQ(thrown_by([&] { (void)rx.receive(); }), "shared");
  }
  beacon::once_event_pool<TypeParam> pool;
  for (int i = 0; i < 3; ++i) {  // the same slot, reused
    auto [tx, rx_end] = pool.bind_by_ref();
    auto& rx = rx_end;
    std::string out;
    task t = await_error(std::move(rx), out);
    std::move(tx).send_exception(error("pooled"));
    EXPECT_EQ(out, "pooled");
  }
  {  // a value after an exception in the same slot
    auto [tx, rx_end] = pool.bind_by_ref();
    auto& rx = rx_end;
    std::move(tx).send(TypeParam{});
    EXPECT_EQ(rx.receive(), TypeParam{});
  }
  EXPECT_EQ(pool.size(), 0u);
  auto lpool = std::make_shared<beacon::local_once_event_pool<TypeParam>>();
  for (int i = 0; i < 3; ++i) {
    auto [tx, rx_end] = beacon::local_once_event_pool<TypeParam>::bind_by_shared(lpool);
    auto& rx = rx_end;
    std::move(tx).send_exception(error("local pooled"));
    EXPECT_EQ(thrown_by([&] { (void)rx.try_receive(); }), "local pooled");
  }
  EXPECT_EQ(lpool->size(), 0u);
}

TYPED_TEST(once_exception, an_exception_nobody_receives_is_destroyed_by_the_last_end) {
  {  // the receiver goes first: nothing is stored
    beacon::once_event<TypeParam> ev;
    auto [tx, rx_end] = ev.bind_by_ref();
    auto& rx = rx_end;
    { auto gone = std::move(rx); }
    std::move(tx).send_exception(error());
    EXPECT_EQ(counted_error::live.load(), 0);
  }
  {  // the sender goes first: the receiver's destructor drops it
    beacon::once_event_pool<TypeParam> pool;
    auto [tx, rx_end] = pool.bind_by_ref();
    auto& rx = rx_end;
    std::move(tx).send_exception(error());
    EXPECT_EQ(counted_error::live.load(), 1);
    { auto gone = std::move(rx); }
    EXPECT_EQ(counted_error::live.load(), 0);
    EXPECT_EQ(pool.size(), 0u);
  }
  {  // managed and local alike
    auto [tx, rx_end] = beacon::make_local_once<TypeParam>();
    auto& rx = rx_end;
    std::move(tx).send_exception(error());
    { auto gone = std::move(rx); }
    EXPECT_EQ(counted_error::live.load(), 0);
  }
  {  // a suspended coroutine destroyed, then the exception sent
    auto [tx, rx_end] = beacon::make_once<TypeParam>();
    auto& rx = rx_end;
    std::string out;
    { task t = await_error(std::move(rx), out); }
    std::move(tx).send_exception(error());
    EXPECT_EQ(counted_error::live.load(), 0);
  }
}

TYPED_TEST(once_exception, many_events_hold_exceptions_at_once) {
  beacon::once_event_pool<TypeParam> pool;
  std::vector<typename beacon::once_event_pool<TypeParam>::receiver_by_ref> rxs;
  for (int i = 0; i < 100; ++i) {
    auto [tx, rx_end] = pool.bind_by_ref();
    auto& rx = rx_end;
    std::move(tx).send_exception(error(std::to_string(i).c_str()));
    rxs.push_back(std::move(rx));
  }
  EXPECT_EQ(counted_error::live.load(), 100);
  for (int i = 99; i >= 0; i -= 2)  // out of order: each event finds its own
    EXPECT_EQ(thrown_by([&] { (void)rxs[static_cast<std::size_t>(i)].receive(); }),
              std::to_string(i));
  rxs.clear();
  EXPECT_EQ(counted_error::live.load(), 0);
}

TYPED_TEST(once_exception, threads_send_exceptions_concurrently) {
  auto pool = std::make_shared<beacon::once_event_pool<TypeParam>>();
  constexpr int per_thread = 300;
  auto threads = start_threads(2, [&] {
    for (int i = 0; i < per_thread; ++i) {
      auto [tx, rx_end] = beacon::once_event_pool<TypeParam>::bind_by_shared(pool);
      auto& rx = rx_end;
      scoped_thread s([tx = std::move(tx), i]() mutable {
        if (i % 2)
          std::move(tx).send_exception(error("odd"));
        else
          std::move(tx).send(TypeParam{});
      });
      if (i % 2)
        EXPECT_EQ(thrown_by([&] { (void)rx.receive(); }), "odd");
      else
        EXPECT_EQ(rx.receive(), TypeParam{});
    }
  });
  threads.clear();
  EXPECT_EQ(pool->size(), 0u);
}

TEST_F(exceptions, a_null_exception_or_a_consumed_sender_throws_and_sends_nothing) {
  beacon::once_event<int> ev;
  auto [tx, rx_end] = ev.bind_by_ref();
  auto& rx = rx_end;
  EXPECT_THROW(std::move(tx).send_exception(nullptr), std::invalid_argument);
  EXPECT_TRUE(tx.valid());  // NOLINT(bugprone-use-after-move): unchanged
  EXPECT_EQ(rx.try_receive(), std::nullopt);
  std::move(tx).send(5);
  EXPECT_THROW(std::move(tx).send_exception(error()), std::logic_error);  // NOLINT
  EXPECT_EQ(rx.receive(), 5);
}

TEST_F(exceptions, any_exception_type_is_rethrown_as_itself) {
  auto [tx, rx_end] = beacon::make_once<int>();
  auto& rx = rx_end;
  std::move(tx).send_exception(std::make_exception_ptr(42));
  try {
    (void)rx.receive();
    ADD_FAILURE() << "nothing thrown";
  } catch (int v) {
    EXPECT_EQ(v, 42);
  }
}

}  // namespace
