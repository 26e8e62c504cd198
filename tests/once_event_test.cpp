// once_event: binding, send / receive in every form, disconnection, timed and
// stoppable receives, coroutines, T's lifetime, awaiter traces.
#include "beacon/once_event.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>

#include "support/test_support.hpp"
#include "support/tracked.hpp"

namespace {

using namespace std::chrono;
using namespace beacon_test;
using beacon::disconnected;
using beacon::once_event;

using once_event_values = tracked_values;

template <class E>
const void* key_of(const E& ev) {
  return static_cast<const void*>(&ev);  // the state byte is the event's first member
}

TEST(once_event, is_one_word) {
  static_assert(sizeof(once_event<int>) <= 8);
  static_assert(sizeof(once_event<char>) == 2);
  static_assert(sizeof(once_event<int>::sender_by_ref) == sizeof(void*));
  static_assert(sizeof(once_event<int>::receiver_by_ref) == sizeof(void*));
  static_assert(!std::is_move_constructible_v<once_event<int>>);
  static_assert(std::is_nothrow_move_constructible_v<once_event<int>::sender_by_ref>);
  static_assert(!std::is_copy_constructible_v<once_event<int>::receiver_by_ref>);
}

constinit once_event<int> global_event;  // constexpr constructor

TEST(once_event, constinit_global_event_works) {
  auto [tx, rx] = global_event.bind_by_ref();
  std::move(tx).send(3);
  EXPECT_EQ(rx.receive(), 3);
}

TEST(once_event, send_then_receive_in_one_thread) {
  once_event<std::string> ev;
  EXPECT_FALSE(ev.is_bound());
  auto [tx, rx] = ev.bind_by_ref();
  EXPECT_TRUE(ev.is_bound());
  EXPECT_TRUE(tx.valid());
  std::move(tx).send("hello");
  EXPECT_FALSE(tx.valid());  // NOLINT(bugprone-use-after-move): consumed
  EXPECT_EQ(rx.receive(), "hello");
  EXPECT_FALSE(rx.valid());
}

TEST(once_event, binding_twice_throws_logic_error) {
  once_event<int> ev;
  auto first = ev.bind_by_ref();
  EXPECT_THROW(ev.bind_by_ref(), std::logic_error);
  EXPECT_THROW(ev.bind_by_ptr(), std::logic_error);
  std::move(first.sender).send(1);
  EXPECT_EQ(first.receiver.receive(), 1);
  // Still bound after both ends are gone: an event is single-use.
  EXPECT_THROW(ev.bind_by_ref(), std::logic_error);
}

TEST(once_event, bind_by_ptr_binds_once) {
  once_event<int> ev;
  once_event<int>* p = &ev;
  auto [tx, rx] = p->bind_by_ptr();
  EXPECT_THROW(p->bind_by_ptr(), std::logic_error);
  std::move(tx).send(5);
  EXPECT_EQ(rx.receive(), 5);
}

TEST(once_event, bind_by_shared_keeps_the_event_alive) {
  auto sp = std::make_shared<once_event<int>>();
  std::weak_ptr<once_event<int>> w = sp;
  auto [tx, rx] = once_event<int>::bind_by_shared(sp);
  EXPECT_THROW(once_event<int>::bind_by_shared(sp), std::logic_error);
  sp.reset();
  EXPECT_FALSE(w.expired());
  std::move(tx).send(9);
  EXPECT_FALSE(w.expired());  // the receiver still holds it
  EXPECT_EQ(rx.receive(), 9);
  EXPECT_TRUE(w.expired());
  EXPECT_THROW(once_event<int>::bind_by_shared(nullptr), std::invalid_argument);
}

TEST(once_event, make_once_sends_and_receives) {
  auto [tx, rx] = beacon::make_once<std::unique_ptr<int>>();  // move-only T
  std::move(tx).send(std::make_unique<int>(7));
  std::unique_ptr<int> v = rx.receive();
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, 7);
}

TEST_F(once_event_values, try_receive_is_empty_until_sent_then_yields_once) {
  once_event<tracked> ev;
  auto [tx, rx] = ev.bind_by_ref();
  EXPECT_FALSE(rx.try_receive().has_value());
  EXPECT_FALSE(rx.try_receive().has_value());
  std::move(tx).send(tracked{4});
  auto v = rx.try_receive();
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->v, 4);
  EXPECT_THROW(rx.try_receive(), std::logic_error);
  EXPECT_THROW(rx.receive(), std::logic_error);
  EXPECT_THROW(rx.receive_for(1ms), std::logic_error);
}

TEST(once_event, receiving_twice_or_sending_from_a_moved_sender_throws) {
  once_event<int> ev;
  auto [tx, rx] = ev.bind_by_ref();
  auto tx2 = std::move(tx);
  EXPECT_THROW(std::move(tx).send(1), std::logic_error);  // NOLINT: moved from
  std::move(tx2).send(2);
  EXPECT_THROW(std::move(tx2).send(3), std::logic_error);  // NOLINT: consumed
  auto rx2 = std::move(rx);
  EXPECT_THROW(rx.receive(), std::logic_error);  // NOLINT: moved from
  EXPECT_EQ(rx2.receive(), 2);
  EXPECT_THROW(rx2.receive(), std::logic_error);
}

TEST(once_event, dropped_sender_disconnects_every_receive_form) {
  once_event<int> ev;
  auto [tx, rx] = ev.bind_by_ref();
  { auto gone = std::move(tx); }
  EXPECT_THROW(rx.receive(), disconnected);
  EXPECT_THROW(rx.try_receive(), disconnected);  // again: still disconnected
  EXPECT_THROW(rx.receive_for(1s), disconnected);
  EXPECT_THROW(rx.receive_until(steady_clock::now() + 1s), disconnected);
  EXPECT_THROW(rx.receive_until(system_clock::now() + 1s), disconnected);
  std::stop_source stop;
  EXPECT_THROW(rx.receive(stop.get_token()), disconnected);
  EXPECT_TRUE(rx.valid());
  // disconnected is a std::exception.
  try {
    rx.receive();
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("disconnected"), std::string::npos);
  }
}

TEST(once_event, sender_move_assignment_disconnects_the_overwritten_sender) {
  auto a = beacon::make_once<int>();
  auto b = beacon::make_once<int>();
  a.sender = std::move(b.sender);  // a's original sender is destroyed unsent
  EXPECT_THROW(a.receiver.receive(), disconnected);
  std::move(a.sender).send(8);
  EXPECT_EQ(b.receiver.receive(), 8);
}

TEST(once_event, dropped_sender_wakes_a_blocked_receiver_with_disconnected) {
  once_event<int> ev;
  auto [tx, rx] = ev.bind_by_ref();
  std::atomic<bool> threw{false};
  scoped_thread t([&, rx = std::move(rx)]() mutable {
    try {
      rx.receive();
    } catch (const disconnected&) {
      threw = true;
    }
  });
  // The receiver's thread parks on the event; wait until it is really queued.
  ASSERT_TRUE(queued_eventually(key_of(ev), 1));
  { auto gone = std::move(tx); }
  t.join();
  EXPECT_TRUE(threw);
}

TEST(once_event, receive_blocks_until_another_thread_sends) {
  once_event<std::string> ev;
  auto [tx, rx] = ev.bind_by_ref();
  std::string got;
  scoped_thread t([&, rx = std::move(rx)]() mutable { got = rx.receive(); });
  ASSERT_TRUE(queued_eventually(key_of(ev), 1));
  std::move(tx).send("across");
  t.join();
  EXPECT_EQ(got, "across");
  EXPECT_EQ(beacon::parking_lot::queued(key_of(ev)), 0u);
}

TEST(once_event, everything_before_send_is_visible_after_receive) {
  for (int round = 0; round < 200; ++round) {
    int plain[16] = {};  // non-atomic data published by send()
    auto [tx, rx] = beacon::make_once<int>();
    scoped_thread t([&, tx = std::move(tx)]() mutable {
      for (int& x : plain)
        x = round + 1;
      std::move(tx).send(round);
    });
    EXPECT_EQ(rx.receive(), round);
    for (int x : plain)
      EXPECT_EQ(x, round + 1);
  }
}

TEST_F(once_event_values, timed_receive_times_out_no_earlier_and_stays_usable) {
  once_event<tracked> ev;
  auto [tx, rx] = ev.bind_by_ref();
  const auto start = steady_clock::now();
  EXPECT_FALSE(rx.receive_for(20ms).has_value());
  EXPECT_GE(steady_clock::now() - start, 20ms);
  EXPECT_FALSE(rx.receive_for(0s).has_value());
  EXPECT_FALSE(rx.receive_for(-5s).has_value());
  EXPECT_FALSE(rx.receive_until(steady_clock::now() - 1h).has_value());
  const auto t0 = system_clock::now();
  EXPECT_FALSE(rx.receive_until(t0 + 15ms).has_value());
  EXPECT_GE(system_clock::now(), t0 + 15ms);
  EXPECT_EQ(beacon::parking_lot::queued(key_of(ev)), 0u);
  std::move(tx).send(tracked{11});
  auto v = rx.receive_for(0s);  // "try once" still finds a sent value
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->v, 11);
}

TEST(once_event, huge_timeouts_do_not_overflow) {
  for (int i = 0; i < 4; ++i) {
    auto [tx, rx] = beacon::make_once<int>();
    scoped_thread t([tx = std::move(tx)]() mutable {
      std::this_thread::sleep_for(2ms);
      std::move(tx).send(1);
    });
    std::optional<int> v;
    switch (i) {
      case 0:
        v = rx.receive_for(duration<double>::max());
        break;
      case 1:
        v = rx.receive_for(nanoseconds::max());
        break;
      case 2:
        v = rx.receive_until(time_point<system_clock, hours>::max());
        break;
      case 3:
        v = rx.receive_until(steady_clock::time_point::max());
        break;
    }
    EXPECT_EQ(v, 1) << i;
  }
  auto [tx, rx] = beacon::make_once<int>();
  EXPECT_FALSE(rx.receive_until(steady_clock::time_point::min()).has_value());
  EXPECT_FALSE(rx.receive_for(duration<double>::min()).has_value());
}

TEST(once_event, a_timed_out_receiver_receives_a_later_send) {
  once_event<int> ev;
  auto [tx, rx] = ev.bind_by_ref();
  scoped_thread t([&, rx = std::move(rx)]() mutable {
    while (!rx.receive_for(100us)) {
    }
  });
  std::this_thread::sleep_for(3ms);
  std::move(tx).send(1);
  t.join();
}

TEST(once_event, stop_ends_a_blocked_receive_with_nullopt) {
  once_event<int> ev;
  auto [tx, rx] = ev.bind_by_ref();
  std::stop_source src;
  std::optional<int> got = 0;
  scoped_thread t([&, &rx = rx] { got = rx.receive(src.get_token()); });
  ASSERT_TRUE(queued_eventually(key_of(ev), 1));
  src.request_stop();
  t.join();
  EXPECT_FALSE(got.has_value());
  EXPECT_EQ(beacon::parking_lot::queued(key_of(ev)), 0u);
  // Usable afterwards; a value already there wins over a requested stop.
  std::move(tx).send(6);
  EXPECT_EQ(rx.receive(src.get_token()), 6);
}

TEST_F(once_event_values, value_sent_to_a_dead_receiver_is_destroyed_once) {
  once_event<tracked> ev;
  auto [tx, rx] = ev.bind_by_ref();
  { auto gone = std::move(rx); }
  tracked v{1};
  std::move(tx).send(std::move(v));
  EXPECT_EQ(tracked::live.load(), 1);  // only `v` itself: nothing stored in the event
}

TEST_F(once_event_values, value_never_received_is_destroyed_by_the_last_end) {
  {
    auto [tx, rx] = beacon::make_once<tracked>();
    std::move(tx).send(tracked{2});
    EXPECT_EQ(tracked::live.load(), 1);  // stored in the event
  }                                      // the receiver goes last: it destroys the value
  EXPECT_EQ(tracked::live.load(), 0);
  {
    once_event<tracked> ev;
    auto [tx, rx] = ev.bind_by_ref();
    std::move(tx).emplace(3);
    { auto gone = std::move(rx); }
    EXPECT_EQ(tracked::live.load(), 0);
  }
}

struct throws_on_copy {
  int v;
  explicit throws_on_copy(int x) : v(x) {}
  throws_on_copy(const throws_on_copy& o) : v(o.v) {
    if (v < 0) throw std::runtime_error("copy");
  }
  throws_on_copy(throws_on_copy&&) noexcept = default;
};

TEST(once_event, a_throwing_constructor_leaves_the_sender_unsent) {
  once_event<throws_on_copy> ev;
  auto [tx, rx] = ev.bind_by_ref();
  const throws_on_copy bad{-1}, good{5};
  EXPECT_THROW(std::move(tx).send(bad), std::runtime_error);
  EXPECT_TRUE(tx.valid());  // NOLINT: not consumed
  EXPECT_FALSE(rx.try_receive().has_value());
  std::move(tx).send(good);
  EXPECT_EQ(rx.receive().v, 5);
}

// ---------------------------------------------------------------------------
// Coroutines.

template <class Rx>
task await_into(Rx rx, std::optional<int>& out, bool& disc) {
  try {
    out = co_await std::move(rx);
  } catch (const disconnected&) {
    disc = true;
  }
}

TEST(once_event, co_await_on_a_sent_value_does_not_suspend) {
  auto [tx, rx] = beacon::make_once<int>();
  std::move(tx).send(12);
  std::optional<int> out;
  bool disc = false;
  task t = await_into(std::move(rx), out, disc);
  EXPECT_TRUE(t.finished());
  EXPECT_EQ(out, 12);
}

TEST(once_event, send_resumes_the_awaiting_coroutine_before_it_returns) {
  once_event<int> ev;
  auto [tx, rx] = ev.bind_by_ref();
  std::optional<int> out;
  bool disc = false;
  task t = await_into(std::move(rx), out, disc);
  EXPECT_FALSE(t.finished());
  EXPECT_EQ(beacon::parking_lot::queued(key_of(ev)), 1u);
  std::move(tx).send(13);
  EXPECT_TRUE(t.finished());  // resumed inline, on this thread
  EXPECT_EQ(out, 13);
}

TEST(once_event, send_from_another_thread_resumes_the_coroutine_there) {
  auto [tx, rx] = beacon::make_once<int>();
  std::optional<int> out;
  bool disc = false;
  std::thread::id resumed_on;
  auto body = [&](auto r) -> task {
    out = co_await std::move(r);
    resumed_on = std::this_thread::get_id();
  };
  task t = body(std::move(rx));
  scoped_thread s([tx = std::move(tx)]() mutable { std::move(tx).send(14); });
  const auto sender_id = s.get_id();
  s.join();
  EXPECT_TRUE(t.finished());
  EXPECT_EQ(out, 14);
  EXPECT_EQ(resumed_on, sender_id);
  (void)disc;
}

TEST(once_event, dropped_sender_resumes_the_coroutine_with_disconnected) {
  auto [tx, rx] = beacon::make_once<int>();
  std::optional<int> out;
  bool disc = false;
  task t = await_into(std::move(rx), out, disc);
  { auto gone = std::move(tx); }
  EXPECT_TRUE(t.finished());
  EXPECT_TRUE(disc);
  EXPECT_FALSE(out.has_value());
}

TEST_F(once_event_values, destroying_a_suspended_coroutine_cancels_its_wait) {
  once_event<tracked> ev;
  auto [tx, rx] = ev.bind_by_ref();
  auto body = [](auto r) -> task { (void)co_await std::move(r); };
  {
    task t = body(std::move(rx));
    EXPECT_EQ(beacon::parking_lot::queued(key_of(ev)), 1u);
    t.destroy();
  }
  EXPECT_EQ(beacon::parking_lot::queued(key_of(ev)), 0u);
  std::move(tx).send(tracked{1});  // the receiver is gone: destroyed at once
  EXPECT_EQ(tracked::live.load(), 0);
}

// A coroutine that a send() made ready, destroyed by a sibling resumed ahead
// of it in the same wake-up (as when_any does): its entry leaves the
// resume queue, and the value it never received is destroyed exactly once.
TEST_F(once_event_values, a_made_ready_coroutine_destroyed_before_it_ran) {
  using E = once_event<tracked>;
  E a, b;
  auto [txa, rxa] = a.bind_by_ref();
  auto [txb, rxb] = b.bind_by_ref();
  std::optional<task> victim;
  bool victim_ran = false;
  auto killer = [&](E::receiver_by_ref rx, E::sender_by_ref next) -> task {
    (void)co_await std::move(rx);
    std::move(next).emplace(2);  // the victim is made ready, queued behind us
    victim.reset();              // and destroyed before it runs
  };
  auto victim_body = [&](E::receiver_by_ref rx) -> task {
    (void)co_await std::move(rx);
    victim_ran = true;
  };
  victim.emplace(victim_body(std::move(rxb)));
  task k = killer(std::move(rxa), std::move(txb));
  std::move(txa).emplace(1);
  EXPECT_TRUE(k.finished());
  EXPECT_FALSE(victim_ran);
  EXPECT_EQ(beacon::parking_lot::queued(key_of(b)), 0u);
}

TEST(once_event, co_await_a_shared_binding) {
  auto sp = std::make_shared<once_event<int>>();
  auto [tx, rx] = once_event<int>::bind_by_shared(sp);
  std::optional<int> out;
  bool disc = false;
  task t = await_into(std::move(rx), out, disc);
  sp.reset();
  std::move(tx).send(15);
  EXPECT_EQ(out, 15);
}

// ---------------------------------------------------------------------------
// Awaiter traces.

TEST(once_event, inspect_awaiter_shows_where_the_receiver_waits) {
  once_event<int> ev;
  auto [tx, rx] = ev.bind_by_ref();
  std::size_t frames = 99;
  ev.inspect_awaiter([&](beacon::awaiter_trace t) { frames = t.size(); });
  EXPECT_EQ(frames, 0u);  // nobody waits

  scoped_thread th([&rx = rx] { EXPECT_EQ(rx.receive(), 1); });
  ASSERT_TRUE(queued_eventually(key_of(ev), 1));
  std::string text;
  ev.inspect_awaiter([&](beacon::awaiter_trace t) {
    frames = t.size();
    text = beacon::describe_trace(t);
  });
  if (beacon::awaiter_traces_enabled) {
    EXPECT_GT(frames, 0u);
    EXPECT_FALSE(text.empty());
  } else {
    EXPECT_EQ(frames, 0u);
  }
  std::move(tx).send(1);
  th.join();
  ev.inspect_awaiter([&](beacon::awaiter_trace t) { frames = t.size(); });
  EXPECT_EQ(frames, 0u);
}

TEST(once_event, inspect_awaiter_shows_where_a_coroutine_awaits) {
  once_event<int> ev;
  auto [tx, rx] = ev.bind_by_ref();
  std::optional<int> out;
  bool disc = false;
  task t = await_into(std::move(rx), out, disc);
  std::size_t frames = 0;
  ev.inspect_awaiter([&](beacon::awaiter_trace tr) { frames = tr.size(); });
  EXPECT_EQ(frames > 0, beacon::awaiter_traces_enabled);
  std::move(tx).send(2);
  EXPECT_EQ(out, 2);
}

}  // namespace
