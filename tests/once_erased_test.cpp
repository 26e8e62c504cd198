// The type-erased ends once_sender<T> and once_receiver<T>: every binding's
// end converts to them (once_event and local_once_event, by reference,
// shared, managed, pooled); they store it inline (no allocation), keep its
// contract (send, send_exception, disconnection, every receive form,
// co_await), and fit standard containers.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "beacon/local_once_event.hpp"
#include "beacon/once_event.hpp"
#include "support/counting_new.hpp"
#include "support/test_support.hpp"
#include "support/tracked.hpp"

namespace beacon_test {
std::atomic<long> allocations{0};
void count_allocation() noexcept { allocations.fetch_add(1, std::memory_order_relaxed); }
}  // namespace beacon_test

namespace {

using namespace std::chrono;
using namespace beacon_test;
using beacon::disconnected;
using beacon::once_receiver;
using beacon::once_sender;

using erased_values = tracked_values;

TEST(once_erased, layout) {
  static_assert(sizeof(once_sender<int>) == 4 * sizeof(void*));
  static_assert(sizeof(once_receiver<int>) == 4 * sizeof(void*));
  static_assert(std::is_nothrow_move_constructible_v<once_sender<std::string>>);
  static_assert(std::is_nothrow_move_assignable_v<once_receiver<std::string>>);
  static_assert(!std::is_copy_constructible_v<once_sender<int>>);
  static_assert(!std::is_copy_constructible_v<once_receiver<int>>);
  // Implicit from every binding of the same T, not from another T.
  static_assert(
      std::is_convertible_v<beacon::once_event<int>::sender_by_ref, once_sender<int>>);
  static_assert(std::is_convertible_v<beacon::once_event_pool<int>::receiver_by_shared,
                                      once_receiver<int>>);
  static_assert(std::is_convertible_v<beacon::local_once_event<int>::managed_sender,
                                      once_sender<int>>);
  static_assert(
      !std::is_convertible_v<beacon::once_event<long>::sender_by_ref, once_sender<int>>);
  static_assert(
      !std::is_convertible_v<beacon::once_event<int>::sender_by_ref&, once_sender<int>>);
}

// Senders of every origin, in one vector.
struct mixed {
  beacon::once_event<std::string> ev;
  std::shared_ptr<beacon::once_event_pool<std::string>> pool =
      std::make_shared<beacon::once_event_pool<std::string>>();
  beacon::local_once_event<std::string> lev;
  std::vector<once_sender<std::string>> senders;
  std::deque<once_receiver<std::string>> receivers;

  mixed() {
    auto add = [&](auto ch) {
      senders.emplace_back(std::move(ch.sender));
      receivers.emplace_back(std::move(ch.receiver));
    };
    add(ev.bind_by_ref());
    add(beacon::once_event<std::string>::bind_by_shared(
        std::make_shared<beacon::once_event<std::string>>()));
    add(beacon::make_once<std::string>());
    add(pool->bind_by_ref());
    add(beacon::once_event_pool<std::string>::bind_by_shared(pool));
    add(lev.bind_by_ref());
    add(beacon::make_local_once<std::string>());
  }
};

TEST(once_erased, a_vector_of_mixed_origin_senders_sends_to_each) {
  mixed m;
  for (std::size_t i = 0; i < m.senders.size(); ++i) {
    EXPECT_TRUE(m.senders[i].valid());
    std::move(m.senders[i]).send("v" + std::to_string(i));
    EXPECT_FALSE(m.senders[i].valid());
  }
  for (std::size_t i = 0; i < m.receivers.size(); ++i) {
    auto& rx = m.receivers[i];
    EXPECT_EQ(rx.can_block(), i < 5);  // the last two are local
    EXPECT_EQ(rx.try_receive(), "v" + std::to_string(i));
    EXPECT_FALSE(rx.valid());
    EXPECT_THROW((void)rx.try_receive(), std::logic_error);
  }
  m.receivers.clear();
  EXPECT_EQ(m.pool->size(), 0u);
}

TEST(once_erased, no_allocation_to_erase_move_send_or_receive) {
  beacon::once_event_pool<int> pool;
  pool.reserve(4);
  std::vector<once_sender<int>> senders;
  std::vector<once_receiver<int>> receivers;
  senders.reserve(4);
  receivers.reserve(4);
  const long before = allocations.load();
  for (int i = 0; i < 4; ++i) {
    auto [tx, rx] = pool.bind_by_ref();
    senders.emplace_back(std::move(tx));
    receivers.emplace_back(std::move(rx));
  }
  once_sender<int> moved = std::move(senders[0]);
  std::move(moved).send(7);
  for (int i = 1; i < 4; ++i)
    std::move(senders[static_cast<std::size_t>(i)]).send(i);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(receivers[static_cast<std::size_t>(i)].receive(), i == 0 ? 7 : i);
  EXPECT_EQ(allocations.load() - before, 0);
}

TEST(once_erased, blocking_timed_and_stoppable_receives_through_the_erased_receiver) {
  {  // blocked, then woken from another thread through an erased sender
    beacon::once_event<int> ev;
    auto ch = ev.bind_by_ref();
    once_receiver<int> rx = std::move(ch.receiver);
    once_sender<int> tx = std::move(ch.sender);
    scoped_thread s([&] {
      ASSERT_TRUE(queued_eventually(key(ev), 1));
      std::move(tx).send(42);
    });
    EXPECT_EQ(rx.receive(), 42);
  }
  {  // timed: out, still usable, then the value
    auto ch = beacon::make_once<int>();
    once_receiver<int> rx = std::move(ch.receiver);
    const auto start = steady_clock::now();
    EXPECT_EQ(rx.receive_for(20ms), std::nullopt);
    EXPECT_GE(steady_clock::now() - start, 20ms);
    EXPECT_EQ(rx.receive_until(system_clock::now() + 1ms), std::nullopt);
    EXPECT_TRUE(rx.valid());
    std::move(ch.sender).send(3);
    EXPECT_EQ(rx.receive_until(steady_clock::now() + 1h), 3);
  }
  {  // stop
    beacon::once_event<int> ev;
    auto ch = ev.bind_by_ref();
    once_receiver<int> rx = std::move(ch.receiver);
    std::stop_source stop;
    scoped_thread s([&] {
      ASSERT_TRUE(queued_eventually(key(ev), 1));
      stop.request_stop();
    });
    EXPECT_EQ(rx.receive(stop.get_token()), std::nullopt);
    s.join();
    std::move(ch.sender).send(4);
    EXPECT_EQ(rx.receive(stop.get_token()), 4);  // a value there wins over the stop
  }
}

TEST(once_erased, disconnection_and_exceptions_pass_through) {
  {  // an erased sender dropped unsent disconnects, every time
    auto ch = beacon::make_once<int>();
    once_receiver<int> rx = std::move(ch.receiver);
    { once_sender<int> gone = std::move(ch.sender); }
    EXPECT_THROW((void)rx.receive(), disconnected);
    EXPECT_THROW((void)rx.try_receive(), disconnected);
  }
  {  // assigning over an erased sender finishes it first
    auto a = beacon::make_once<int>();
    auto b = beacon::make_once<int>();
    once_sender<int> tx = std::move(a.sender);
    tx = std::move(b.sender);
    EXPECT_THROW((void)a.receiver.try_receive(), disconnected);
    std::move(tx).send(9);
    EXPECT_EQ(b.receiver.receive(), 9);
  }
  {  // send_exception through an erased sender, to an erased receiver
    beacon::local_once_event<int> lev;
    auto ch = lev.bind_by_ref();
    once_sender<int> tx = std::move(ch.sender);
    once_receiver<int> rx = std::move(ch.receiver);
    std::move(tx).send_exception(std::make_exception_ptr(std::runtime_error("erased")));
    EXPECT_THROW((void)rx.try_receive(), std::runtime_error);
  }
}

TEST(once_erased, empty_ends_and_local_blocking_forms_throw_logic_error) {
  once_sender<int> tx;
  once_receiver<int> rx;
  EXPECT_FALSE(tx.valid());
  EXPECT_FALSE(rx.valid());
  EXPECT_FALSE(rx.can_block());
  EXPECT_THROW(std::move(tx).send(1), std::logic_error);
  EXPECT_THROW(std::move(tx).send_exception(std::make_exception_ptr(1)),
               std::logic_error);
  EXPECT_THROW((void)rx.receive(), std::logic_error);
  EXPECT_THROW((void)rx.try_receive(), std::logic_error);

  auto ch = beacon::make_local_once<int>();
  once_receiver<int> local = std::move(ch.receiver);
  EXPECT_FALSE(local.can_block());
  EXPECT_THROW((void)local.receive(), std::logic_error);
  EXPECT_THROW((void)local.receive_for(1ms), std::logic_error);
  EXPECT_THROW((void)local.receive(std::stop_token{}), std::logic_error);
  EXPECT_TRUE(local.valid());  // nothing happened to it
  std::move(ch.sender).send(5);
  EXPECT_EQ(local.try_receive(), 5);
}

template <class Rx>
task await_into(Rx rx, std::optional<int>& out, std::string& error) {
  try {
    out = co_await std::move(rx);
  } catch (const std::exception& e) {
    error = e.what();
  }
}

TEST(once_erased, co_await_through_the_erased_receiver_once_and_local) {
  {  // once_event: suspended, resumed by an erased sender
    beacon::once_event<int> ev;
    auto ch = ev.bind_by_ref();
    std::optional<int> out;
    std::string error;
    task t = await_into(once_receiver<int>(std::move(ch.receiver)), out, error);
    EXPECT_FALSE(t.finished());
    EXPECT_EQ(beacon::parking_lot::queued(key(ev)), 1u);
    once_sender<int> tx = std::move(ch.sender);
    std::move(tx).send(11);
    EXPECT_TRUE(t.finished());
    EXPECT_EQ(out, 11);
  }
  {  // local_once_event: suspended, then disconnected
    auto ch = beacon::make_local_once<int>();
    std::optional<int> out;
    std::string error;
    task t = await_into(once_receiver<int>(std::move(ch.receiver)), out, error);
    EXPECT_FALSE(t.finished());
    { auto gone = std::move(ch.sender); }
    EXPECT_TRUE(t.finished());
    EXPECT_EQ(error, disconnected().what());
  }
  {  // ready at once, from a pool
    beacon::once_event_pool<int> pool;
    auto ch = pool.bind_by_ref();
    std::move(ch.sender).send(12);
    std::optional<int> out;
    std::string error;
    task t = await_into(once_receiver<int>(std::move(ch.receiver)), out, error);
    EXPECT_TRUE(t.finished());
    EXPECT_EQ(out, 12);
  }
  {  // an empty erased receiver: the await throws logic_error
    std::optional<int> out;
    std::string error;
    task t = await_into(once_receiver<int>(), out, error);
    EXPECT_TRUE(t.finished());
    EXPECT_FALSE(error.empty());
  }
}

TEST_F(erased_values, values_are_destroyed_once_on_every_erased_path) {
  {  // never received: the erased receiver's destructor destroys it
    auto ch = beacon::make_once<tracked>();
    once_receiver<tracked> rx = std::move(ch.receiver);
    once_sender<tracked> tx = std::move(ch.sender);
    std::move(tx).send(tracked(1));
  }
  {  // a suspended coroutine awaiting an erased receiver destroyed
    beacon::once_event<tracked> ev;
    auto ch = ev.bind_by_ref();
    auto body = [](once_receiver<tracked> r) -> task { (void)co_await std::move(r); };
    {
      task t = body(std::move(ch.receiver));
      EXPECT_EQ(beacon::parking_lot::queued(key(ev)), 1u);
    }
    EXPECT_EQ(beacon::parking_lot::queued(key(ev)), 0u);
    std::move(ch.sender).send(tracked(2));  // to a receiver that is gone
  }
  {  // local: the same
    auto ch = beacon::make_local_once<tracked>();
    auto body = [](once_receiver<tracked> r) -> task { (void)co_await std::move(r); };
    { task t = body(std::move(ch.receiver)); }
    once_sender<tracked> tx = std::move(ch.sender);
    std::move(tx).send(tracked(3));
  }
}

TEST(once_erased, threads_send_through_a_queue_of_erased_senders) {
  auto pool = std::make_shared<beacon::once_event_pool<int>>();
  constexpr int n = 500;
  std::vector<once_sender<int>> senders;
  std::vector<once_receiver<int>> receivers;
  for (int i = 0; i < n; ++i) {
    if (i % 2) {
      auto ch = beacon::once_event_pool<int>::bind_by_shared(pool);
      senders.emplace_back(std::move(ch.sender));
      receivers.emplace_back(std::move(ch.receiver));
    } else {
      auto ch = beacon::make_once<int>();
      senders.emplace_back(std::move(ch.sender));
      receivers.emplace_back(std::move(ch.receiver));
    }
  }
  scoped_thread s([&] {
    for (int i = 0; i < n; ++i)
      std::move(senders[static_cast<std::size_t>(i)]).send(i);
  });
  for (int i = 0; i < n; ++i)
    EXPECT_EQ(receivers[static_cast<std::size_t>(i)].receive(), i);
  s.join();
  receivers.clear();
  EXPECT_EQ(pool->size(), 0u);
}

}  // namespace
