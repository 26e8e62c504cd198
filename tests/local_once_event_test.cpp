// local_once_event: the single-thread twin: binding, try_receive, co_await,
// disconnection, T's lifetime, coroutine chains that do not recurse, traces.
#include "beacon/local_once_event.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/test_support.hpp"
#include "support/tracked.hpp"

namespace {

using namespace beacon_test;
using beacon::disconnected;
using beacon::local_once_event;

using local_once_values = tracked_values;

TEST(local_once_event, layout) {
  static_assert(sizeof(local_once_event<int>) <= 2 * sizeof(void*));
  static_assert(sizeof(local_once_event<int>::sender_by_ref) == sizeof(void*));
  static_assert(sizeof(local_once_event<int>::receiver_by_ref) == sizeof(void*));
  static_assert(!std::is_move_constructible_v<local_once_event<int>>);
}

constinit local_once_event<int> global_local_event;

TEST(local_once_event, send_then_try_receive) {
  auto [tx, rx] = global_local_event.bind_by_ref();
  EXPECT_FALSE(rx.try_receive().has_value());
  std::move(tx).send(42);
  EXPECT_EQ(rx.try_receive(), 42);
  EXPECT_THROW(rx.try_receive(), std::logic_error);  // received once
}

TEST(local_once_event, binding_twice_throws_logic_error) {
  local_once_event<int> ev;
  auto first = ev.bind_by_ptr();
  EXPECT_THROW(ev.bind_by_ref(), std::logic_error);
  EXPECT_THROW(ev.bind_by_ptr(), std::logic_error);
  auto sp = std::make_shared<local_once_event<int>>();
  auto b = local_once_event<int>::bind_by_shared(sp);
  EXPECT_THROW(local_once_event<int>::bind_by_shared(sp), std::logic_error);
  EXPECT_THROW(local_once_event<int>::bind_by_shared(nullptr), std::invalid_argument);
}

TEST(local_once_event, make_local_once_with_a_move_only_value) {
  auto [tx, rx] = beacon::make_local_once<std::unique_ptr<std::string>>();
  std::move(tx).send(std::make_unique<std::string>("x"));
  auto v = rx.try_receive();
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(**v, "x");
}

TEST(local_once_event, bind_by_shared_keeps_the_event_alive) {
  auto sp = std::make_shared<local_once_event<int>>();
  std::weak_ptr<local_once_event<int>> w = sp;
  auto [tx, rx] = local_once_event<int>::bind_by_shared(std::move(sp));
  std::move(tx).send(1);
  EXPECT_FALSE(w.expired());
  EXPECT_EQ(rx.try_receive(), 1);
  EXPECT_TRUE(w.expired());
}

TEST(local_once_event, dropped_sender_disconnects) {
  local_once_event<int> ev;
  auto [tx, rx] = ev.bind_by_ref();
  { auto gone = std::move(tx); }
  EXPECT_THROW(rx.try_receive(), disconnected);
  EXPECT_THROW(rx.try_receive(), disconnected);
}

TEST(local_once_event, moved_from_ends_throw_logic_error) {
  local_once_event<int> ev;
  auto [tx, rx] = ev.bind_by_ref();
  auto tx2 = std::move(tx);
  auto rx2 = std::move(rx);
  EXPECT_THROW(std::move(tx).send(1), std::logic_error);  // NOLINT: moved from
  EXPECT_THROW(rx.try_receive(), std::logic_error);       // NOLINT: moved from
  std::move(tx2).send(2);
  EXPECT_EQ(rx2.try_receive(), 2);
}

TEST_F(local_once_values, a_value_is_destroyed_exactly_once_on_every_path) {
  {  // received
    auto [tx, rx] = beacon::make_local_once<tracked>();
    std::move(tx).send(tracked{1});
    EXPECT_EQ(tracked::live.load(), 1);
    EXPECT_EQ(rx.try_receive()->v, 1);
    EXPECT_EQ(tracked::live.load(), 0);
  }
  {  // never received: the receiver goes last
    auto [tx, rx] = beacon::make_local_once<tracked>();
    std::move(tx).emplace(2);
    EXPECT_EQ(tracked::live.load(), 1);
  }
  EXPECT_EQ(tracked::live.load(), 0);
  {  // sent to a dead receiver: never stored
    local_once_event<tracked> ev;
    auto [tx, rx] = ev.bind_by_ref();
    { auto gone = std::move(rx); }
    std::move(tx).emplace(3);
    EXPECT_EQ(tracked::live.load(), 0);
  }
}

template <class Rx>
task await_into(Rx rx, std::optional<int>& out, bool& disc) {
  try {
    out = co_await std::move(rx);
  } catch (const disconnected&) {
    disc = true;
  }
}

TEST(local_once_event, co_await_ready_and_suspended) {
  {
    auto [tx, rx] = beacon::make_local_once<int>();
    std::move(tx).send(1);
    std::optional<int> out;
    bool disc = false;
    task t = await_into(std::move(rx), out, disc);
    EXPECT_TRUE(t.finished());
    EXPECT_EQ(out, 1);
  }
  {
    local_once_event<int> ev;
    auto [tx, rx] = ev.bind_by_ref();
    std::optional<int> out;
    bool disc = false;
    task t = await_into(std::move(rx), out, disc);
    EXPECT_FALSE(t.finished());
    std::move(tx).send(2);
    EXPECT_TRUE(t.finished());  // resumed before send() returned
    EXPECT_EQ(out, 2);
  }
}

TEST(local_once_event, dropped_sender_resumes_the_coroutine_with_disconnected) {
  auto [tx, rx] = beacon::make_local_once<int>();
  std::optional<int> out;
  bool disc = false;
  task t = await_into(std::move(rx), out, disc);
  { auto gone = std::move(tx); }
  EXPECT_TRUE(t.finished());
  EXPECT_TRUE(disc);
}

TEST_F(local_once_values, destroying_a_suspended_coroutine_unregisters_it) {
  local_once_event<tracked> ev;
  auto [tx, rx] = ev.bind_by_ref();
  auto body = [](auto r) -> task { (void)co_await std::move(r); };
  {
    task t = body(std::move(rx));
    t.destroy();
  }
  std::move(tx).send(tracked{5});  // the receiver is gone: destroyed at once
  EXPECT_EQ(tracked::live.load(), 0);
}

// A coroutine that awaits a chain of events and, when resumed by one,
// sends on the next: send() resumes the chain through a trampoline, so a
// long chain does not recurse (it would overflow the stack otherwise).
TEST(local_once_event, a_chain_of_hand_offs_does_not_recurse) {
  constexpr int n = 100'000;
  using E = local_once_event<int>;
  std::vector<std::unique_ptr<E>> evs;
  evs.reserve(n + 1);
  for (int i = 0; i < n + 1; ++i)
    evs.push_back(std::make_unique<E>());
  std::vector<E::sender_by_ref> senders;
  std::vector<task> tasks;
  int last = -1;
  senders.reserve(n + 1);
  std::vector<E::receiver_by_ref> receivers;
  receivers.reserve(n + 1);
  for (int i = 0; i < n + 1; ++i) {
    auto [tx, rx] = evs[i]->bind_by_ref();
    senders.push_back(std::move(tx));
    receivers.push_back(std::move(rx));
  }
  auto link = [](E::receiver_by_ref rx, E::sender_by_ref next, int& last) -> task {
    const int v = co_await std::move(rx);
    last = v;
    std::move(next).send(v + 1);
  };
  tasks.reserve(n);
  for (int i = 0; i < n; ++i)
    tasks.push_back(link(std::move(receivers[i]), std::move(senders[i + 1]), last));
  std::move(senders[0]).send(0);
  EXPECT_EQ(last, n - 1);
  EXPECT_EQ(receivers[n].try_receive(), n);
  for (auto& t : tasks)
    EXPECT_TRUE(t.finished());
}

// A coroutine made ready by send() but destroyed before it ran (by a
// coroutine resumed ahead of it in the same drain) is taken off the queue.
TEST(local_once_event, a_made_ready_coroutine_destroyed_before_it_ran_is_skipped) {
  using E = local_once_event<int>;
  E a, b;
  auto [txa, rxa] = a.bind_by_ref();
  auto [txb, rxb] = b.bind_by_ref();
  std::optional<task> victim;
  bool victim_ran = false;
  auto killer = [&](E::receiver_by_ref rx, E::sender_by_ref txb) -> task {
    (void)co_await std::move(rx);
    std::move(txb).send(1);  // queues the victim behind us...
    victim->destroy();       // ...and we destroy it before it runs
  };
  auto victim_body = [&](E::receiver_by_ref rx) -> task {
    (void)co_await std::move(rx);
    victim_ran = true;
  };
  victim.emplace(victim_body(std::move(rxb)));
  task k = killer(std::move(rxa), std::move(txb));
  std::move(txa).send(0);
  EXPECT_TRUE(k.finished());
  EXPECT_FALSE(victim_ran);
}

TEST(local_once_event, inspect_awaiter_shows_where_a_coroutine_awaits) {
  local_once_event<int> ev;
  auto [tx, rx] = ev.bind_by_ref();
  std::size_t frames = 99;
  ev.inspect_awaiter([&](beacon::awaiter_trace t) { frames = t.size(); });
  EXPECT_EQ(frames, 0u);
  std::optional<int> out;
  bool disc = false;
  task t = await_into(std::move(rx), out, disc);
  ev.inspect_awaiter([&](beacon::awaiter_trace tr) { frames = tr.size(); });
  EXPECT_EQ(frames > 0, beacon::awaiter_traces_enabled);
  std::move(tx).send(3);
  ev.inspect_awaiter([&](beacon::awaiter_trace tr) { frames = tr.size(); });
  EXPECT_EQ(frames, 0u);
}

}  // namespace
