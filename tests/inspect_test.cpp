// inspect.hpp: for_each_waiter / describe_waiters see every parked thread and
// coroutine, on every primitive, with its name, call site, kind and a growing
// wait; waiters leave the snapshot when woken, timed out, stopped or destroyed;
// snapshots are safe while other threads park and unpark.
#include "beacon/inspect.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/beacon.hpp"
#include "beacon/wait_many.hpp"
#include "support/test_support.hpp"

namespace {

using namespace beacon_test;
using beacon::waiter_info;

std::vector<waiter_info> snapshot() {
  std::vector<waiter_info> out;
  beacon::for_each_waiter([&](const waiter_info& w) { out.push_back(w); });
  return out;
}

// The waiters whose call site is line `line` of this file.
std::vector<waiter_info> at_line(unsigned line) {
  std::vector<waiter_info> out;
  for (const waiter_info& w : snapshot())
    if (w.where.line() == line && std::string_view(w.where.file_name()) == __FILE__)
      out.push_back(w);
  return out;
}

// The waiters on `address`.
std::vector<waiter_info> on(const void* address) {
  std::vector<waiter_info> out;
  for (const waiter_info& w : snapshot())
    if (w.address == address) out.push_back(w);
  return out;
}

// The waiters of primitive `name`.
std::vector<waiter_info> named(std::string_view name) {
  std::vector<waiter_info> out;
  for (const waiter_info& w : snapshot())
    if (w.primitive == name) out.push_back(w);
  return out;
}

// Polls `get` until it returns `n` waiters; returns them (fewer on time-out).
template <class Get>
std::vector<waiter_info> until_n(std::size_t n, Get get) {
  std::vector<waiter_info> v;
  eventually([&] {
    v = get();
    return v.size() == n;
  });
  return v;
}

// A thread blocks in `block(line)`, which stores the line of its blocking
// call in `line` first; the test checks the waiter the lot shows for it,
// then `wake()`s it and checks that it is gone.
template <class Block, class Wake>
void thread_case(std::string_view name, const void* address, Block block, Wake wake,
                 std::size_t entries = 1) {
  SCOPED_TRACE(std::string(name));
  std::atomic<unsigned> line{0};
  scoped_thread t([&] { block(line); });
  ASSERT_TRUE(eventually([&] { return line.load() != 0; }));
  const std::vector<waiter_info> first =
      until_n(entries, [&] { return at_line(line.load()); });
  ASSERT_EQ(first.size(), entries) << beacon::describe_waiters();
  for (const waiter_info& w : first) {
    EXPECT_EQ(w.primitive, name);
    EXPECT_FALSE(w.coroutine);
    EXPECT_EQ(w.thread, t.get_id());
    EXPECT_EQ(w.frame, nullptr);
    EXPECT_STREQ(w.where.file_name(), __FILE__);
    if (address && entries == 1) {
      EXPECT_EQ(w.address, address);
    }
    if (entries == 1) {
      EXPECT_EQ(w.group, 0u);
    } else {
      EXPECT_NE(w.group, 0u);
    }
    EXPECT_GE(w.waiting.count(), 0);
  }
  if (entries > 1) {
    EXPECT_EQ(first[0].group, first[1].group);
  }
  // Its wait grows between two snapshots.
  EXPECT_TRUE(eventually([&] {
    const auto now = at_line(line.load());
    return !now.empty() && now[0].waiting > first[0].waiting;
  }));
  wake();
  t.join();
  EXPECT_TRUE(at_line(line.load()).empty()) << beacon::describe_waiters();
}

TEST(inspect, nobody_waits_at_first) {
  EXPECT_TRUE(snapshot().empty());
  EXPECT_EQ(beacon::describe_waiters(), "");
}

TEST(inspect, auto_reset_event_thread_waits) {
  beacon::auto_reset_event e;
  thread_case(
      "auto_reset_event", key(e),
      [&](std::atomic<unsigned>& line) {
        line = __LINE__ + 1;
        e.wait();
      },
      [&] { e.set(); });
  thread_case(
      "auto_reset_event", key(e),
      [&](std::atomic<unsigned>& line) {
        line = __LINE__ + 1;
        EXPECT_TRUE(e.wait_for(patience));
      },
      [&] { e.set(); });
  thread_case(
      "auto_reset_event", key(e),
      [&](std::atomic<unsigned>& line) {
        line = __LINE__ + 1;
        EXPECT_TRUE(e.wait_until(std::chrono::steady_clock::now() + patience));
      },
      [&] { e.set(); });
  std::stop_source stop;
  thread_case(
      "auto_reset_event", key(e),
      [&](std::atomic<unsigned>& line) {
        line = __LINE__ + 1;
        EXPECT_FALSE(e.wait(stop.get_token()));
      },
      [&] { stop.request_stop(); });
}

TEST(inspect, a_timed_out_wait_leaves) {
  beacon::auto_reset_event e;
  const unsigned line = __LINE__ + 1;
  EXPECT_FALSE(e.wait_for(20ms));
  EXPECT_TRUE(at_line(line).empty());
  EXPECT_TRUE(on(key(e)).empty());
  // And seen while it waits, from another thread, until its time is up.
  std::atomic<bool> done{false};
  scoped_thread t([&] {
    EXPECT_FALSE(e.wait_for(300ms));
    done = true;
  });
  bool seen = false;
  while (!done.load()) {
    seen = seen || !on(key(e)).empty();
    std::this_thread::yield();
  }
  t.join();
  EXPECT_TRUE(on(key(e)).empty());
  (void)seen;  // usually true; not asserted: a loaded machine may not run us in time
}

TEST(inspect, manual_reset_and_countdown_thread_waits) {
  beacon::manual_reset_event m;
  thread_case(
      "manual_reset_event", key(m),
      [&](std::atomic<unsigned>& line) {
        line = __LINE__ + 1;
        m.wait();
      },
      [&] { m.set(); });
  beacon::countdown_event c{1};
  thread_case(
      "countdown_event", key(c),
      [&](std::atomic<unsigned>& line) {
        line = __LINE__ + 1;
        EXPECT_TRUE(c.wait_for(patience));
      },
      [&] { c.tick(); });
}

TEST(inspect, semaphore_thread_waits) {
  beacon::semaphore s{0, 1};
  thread_case(
      "semaphore", key(s),
      [&](std::atomic<unsigned>& line) {
        line = __LINE__ + 1;
        auto g = s.wait();
        g.forget();
      },
      [&] { s.release(1); });
  std::stop_source stop;
  thread_case(
      "semaphore", key(s),
      [&](std::atomic<unsigned>& line) {
        line = __LINE__ + 1;
        EXPECT_FALSE(s.wait(stop.get_token()).has_value());
      },
      [&] { stop.request_stop(); });
}

TEST(inspect, event_count_thread_waits) {
  beacon::event_count ec;
  std::atomic<bool> ready{false};
  thread_case(
      "event_count", key(ec),
      [&](std::atomic<unsigned>& line) {
        line = __LINE__ + 1;
        ec.wait([&] { return ready.load(); });
      },
      [&] {
        ready = true;
        ec.notify_all();
      });
  ready = false;
  thread_case(
      "event_count", key(ec),
      [&](std::atomic<unsigned>& line) {
        line = __LINE__ + 1;
        EXPECT_TRUE(ec.wait_for(patience, [&] { return ready.load(); }));
      },
      [&] {
        ready = true;
        ec.notify_all();
      });
}

TEST(inspect, once_event_receiver_waits) {
  beacon::once_event<int> ev;
  auto tx_rx = ev.bind_by_ref();  // no structured bindings: clang 14 cannot capture them
  auto& tx = tx_rx.sender;
  auto& rx = tx_rx.receiver;
  thread_case(
      "once_event", nullptr,
      [&](std::atomic<unsigned>& line) {
        line = __LINE__ + 1;
        EXPECT_EQ(rx.receive(), 7);
      },
      [&] { std::move(tx).send(7); });
  beacon::once_event<int> ev2;
  // No structured bindings: clang 14 cannot capture them in a lambda.
  auto tx2_rx2 = ev2.bind_by_ref();
  auto& tx2 = tx2_rx2.sender;
  auto& rx2 = tx2_rx2.receiver;
  thread_case(
      "once_event", nullptr,
      [&](std::atomic<unsigned>& line) {
        line = __LINE__ + 1;
        EXPECT_EQ(rx2.receive_for(patience), 8);
      },
      [&] { std::move(tx2).send(8); });
}

TEST(inspect, wait_any_span_names_its_call_site_and_group) {
  beacon::auto_reset_event a, b;
  std::vector<beacon::wait_ref> objs{a, b};
  thread_case(
      "wait_any", nullptr,
      [&](std::atomic<unsigned>& line) {
        line = __LINE__ + 1;
        EXPECT_EQ(beacon::wait_any(std::span<const beacon::wait_ref>(objs)), 1u);
      },
      [&] { b.set(); }, 2);
}

// A blocked wait_all queues one observer entry, on the object it found
// unavailable, under its call site (span forms) and its group.
TEST(inspect, wait_all_span_names_its_call_site_on_the_blocker) {
  beacon::manual_reset_event a{beacon::state::set};
  beacon::auto_reset_event b;
  std::vector<beacon::wait_ref> objs{a, b};
  std::atomic<unsigned> line{0};
  scoped_thread t([&] {
    line = __LINE__ + 1;
    EXPECT_TRUE(beacon::wait_all_for(patience, std::span<const beacon::wait_ref>(objs)));
  });
  ASSERT_TRUE(eventually([&] { return line.load() != 0; }));
  const auto first = until_n(1, [&] { return at_line(line.load()); });
  ASSERT_EQ(first.size(), 1u) << beacon::describe_waiters();
  EXPECT_EQ(first[0].primitive, "wait_all");
  EXPECT_EQ(first[0].address, key(b));
  EXPECT_EQ(first[0].thread, t.get_id());
  EXPECT_NE(first[0].group, 0u);
  EXPECT_STREQ(first[0].where.file_name(), __FILE__);
  b.set();
  t.join();
  EXPECT_TRUE(at_line(line.load()).empty()) << beacon::describe_waiters();
}

TEST(inspect, variadic_wait_any_shows_its_group_without_a_call_site) {
  beacon::auto_reset_event a;
  beacon::manual_reset_event b;
  scoped_thread t([&] { EXPECT_EQ(beacon::wait_any(a, b), 0u); });
  ASSERT_TRUE(queued_eventually(key(a), 1));
  ASSERT_TRUE(queued_eventually(key(b), 1));
  const auto on_a = on(key(a)), on_b = on(key(b));
  ASSERT_EQ(on_a.size(), 1u);
  ASSERT_EQ(on_b.size(), 1u);
  EXPECT_EQ(on_a[0].primitive, "wait_any");
  EXPECT_EQ(on_a[0].where.line(), 0u);
  EXPECT_NE(on_a[0].group, 0u);
  EXPECT_EQ(on_a[0].group, on_b[0].group);
  EXPECT_EQ(on_a[0].thread, t.get_id());
  a.set();
  t.join();
  EXPECT_TRUE(on(key(a)).empty());
  EXPECT_TRUE(on(key(b)).empty());
}

// Coroutines: the frame, no call site; gone when resumed or destroyed.
template <class Await>
void coroutine_case(std::string_view name, const void* address, Await make, auto wake) {
  SCOPED_TRACE(std::string(name));
  auto get = [&] { return address ? on(address) : named(name); };
  task woken = make();
  task destroyed = make();
  const auto first = until_n(2, get);
  ASSERT_EQ(first.size(), 2u) << beacon::describe_waiters();
  for (const waiter_info& w : first) {
    EXPECT_EQ(w.primitive, name);
    EXPECT_TRUE(w.coroutine);
    EXPECT_NE(w.frame, nullptr);
    EXPECT_EQ(w.thread, std::thread::id());
    EXPECT_EQ(w.where.line(), 0u);
  }
  EXPECT_NE(first[0].frame, first[1].frame);
  EXPECT_TRUE(eventually([&] {
    const auto now = get();
    return !now.empty() && now[0].waiting > first[0].waiting;
  }));
  destroyed.destroy();
  EXPECT_EQ(get().size(), 1u);
  wake();
  EXPECT_TRUE(woken.finished());
  EXPECT_TRUE(get().empty()) << beacon::describe_waiters();
}

TEST(inspect, coroutines_on_every_primitive) {
  beacon::auto_reset_event a;
  coroutine_case(
      "auto_reset_event", key(a), [&]() -> task { co_await a; }, [&] { a.set(); });
  beacon::manual_reset_event m;
  coroutine_case(
      "manual_reset_event", key(m), [&]() -> task { co_await m; }, [&] { m.set(); });
  beacon::countdown_event c{1};
  coroutine_case(
      "countdown_event", key(c), [&]() -> task { co_await c; }, [&] { c.tick(); });
  beacon::semaphore s{0, 2};
  coroutine_case(
      "semaphore", key(s),
      [&]() -> task {
        auto g = co_await s;
        g.forget();
      },
      [&] { s.release(1); });
  beacon::event_count ec;
  bool ready = false;
  coroutine_case(
      "event_count", key(ec),
      [&]() -> task { co_await ec.async_wait([&] { return ready; }); },
      [&] {
        ready = true;
        ec.notify_all();
      });
  beacon::once_event<int> e1, e2;
  // No structured bindings: clang 14 cannot capture them in a lambda.
  auto tx1_rx1 = e1.bind_by_ref();
  auto& tx1 = tx1_rx1.sender;
  auto& rx1 = tx1_rx1.receiver;
  // No structured bindings: clang 14 cannot capture them in a lambda.
  auto tx2_rx2 = e2.bind_by_ref();
  auto& rx2 = tx2_rx2.receiver;  // its sender is never used
  std::vector<beacon::once_event<int>::receiver_by_ref> rxs;
  rxs.push_back(std::move(rx1));
  rxs.push_back(std::move(rx2));
  std::size_t next = 0;
  coroutine_case(
      "once_event", nullptr,
      [&]() -> task {
        auto& rx = rxs[next];
        ++next;
        (void)co_await std::move(rx);
      },
      [&] { std::move(tx1).send(1); });
}

TEST(inspect, when_any_coroutine_entries_share_a_group) {
  beacon::auto_reset_event a, b;
  auto body = [&]() -> task { (void)co_await beacon::when_any(a, b); };
  task t = body();
  ASSERT_TRUE(queued_eventually(key(a), 1));
  const auto on_a = on(key(a)), on_b = on(key(b));
  ASSERT_EQ(on_a.size(), 1u);
  ASSERT_EQ(on_b.size(), 1u);
  EXPECT_TRUE(on_a[0].coroutine);
  EXPECT_EQ(on_a[0].primitive, "wait_any");
  EXPECT_NE(on_a[0].group, 0u);
  EXPECT_EQ(on_a[0].group, on_b[0].group);
  EXPECT_EQ(on_a[0].frame, on_b[0].frame);
  b.set();
  EXPECT_TRUE(t.finished());
  EXPECT_TRUE(on(key(a)).empty());
  EXPECT_TRUE(on(key(b)).empty());
}

// A primitive built on the public lot names itself through wait_site.
TEST(inspect, user_primitives_name_themselves) {
  std::atomic<std::uint8_t> word{0};
  std::atomic<unsigned> line{0};
  scoped_thread t([&] {
    const auto here = beacon::source_location::current();
    line = here.line();
    beacon::parking_lot::park(
        &word, [&] { return word.load() == 0; }, [] {}, [](bool) {},
        beacon::parking_lot::default_token, beacon::deadline::never(), nullptr,
        beacon::parking_lot::wait_site{"my_gate", here});
  });
  ASSERT_TRUE(queued_eventually(&word, 1));
  auto w = on(&word);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].primitive, "my_gate");
  EXPECT_EQ(w[0].where.line(), line.load());
  EXPECT_FALSE(w[0].coroutine);
  word = 1;
  beacon::parking_lot::unpark_all(&word);
  t.join();

  // A coroutine entry: the site is set on the entry before park_async.
  struct awaiter {
    std::atomic<std::uint8_t>& word;
    beacon::parking_lot::waiter entry;
    bool await_ready() noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      entry.set_site({"my_async_gate", beacon::source_location::current()});
      return beacon::parking_lot::park_async(
          &word, [&] { return true; }, entry, h);
    }
    void await_resume() noexcept {}
  };
  auto body = [&]() -> task { co_await awaiter{word, {}}; };
  task c = body();
  w = on(&word);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].primitive, "my_async_gate");
  EXPECT_TRUE(w[0].coroutine);
  EXPECT_NE(w[0].where.line(), 0u);
  beacon::parking_lot::unpark_all(&word);
  EXPECT_TRUE(c.finished());
  EXPECT_TRUE(on(&word).empty());
}

TEST(inspect, describe_groups_by_object_oldest_first) {
  beacon::auto_reset_event first, second;
  // Each parks once the previous one's wait shows on the (coarse) clock, so
  // that their times differ.
  auto wait_shows = [](const void* address) {
    return eventually([&] {
      const auto v = on(address);
      return !v.empty() && v.back().waiting.count() > 0;
    });
  };
  // Timed waits: if an assertion below fails, the threads still end.
  scoped_thread t1([&] { (void)first.wait_for(patience); });
  ASSERT_TRUE(queued_eventually(key(first), 1));
  ASSERT_TRUE(wait_shows(key(first)));
  scoped_thread t2([&] { (void)second.wait_for(patience); });
  ASSERT_TRUE(queued_eventually(key(second), 1));
  ASSERT_TRUE(wait_shows(key(second)));
  scoped_thread t3([&] { (void)first.wait_for(patience); });
  ASSERT_TRUE(queued_eventually(key(first), 2));
  const std::string text = beacon::describe_waiters();
  std::ostringstream a1, a2, id1, id3;
  a1 << "0x" << std::hex
     << reinterpret_cast<std::uintptr_t>(key(first));  // as describe prints it
  a2 << "0x" << std::hex << reinterpret_cast<std::uintptr_t>(key(second));
  id1 << "thread " << t1.get_id();
  id3 << "thread " << t3.get_id();
  const auto p_first = text.find(a1.str() + ": auto_reset_event, 2 waiters");
  const auto p_second = text.find(a2.str() + ": auto_reset_event, 1 waiter");
  ASSERT_NE(p_first, std::string::npos) << text;
  ASSERT_NE(p_second, std::string::npos) << text;
  EXPECT_LT(p_first, p_second) << text;  // the object with the oldest waiter first
  const auto p1 = text.find(id1.str()), p3 = text.find(id3.str());
  ASSERT_NE(p1, std::string::npos) << text;
  ASSERT_NE(p3, std::string::npos) << text;
  EXPECT_LT(p1, p3) << text;        // oldest first within the object
  EXPECT_LT(p3, p_second) << text;  // grouped: both before the next object
  EXPECT_NE(text.find(std::string(__FILE__) + ":"), std::string::npos) << text;
  beacon_print_waiters();  // the debugger's entry point (writes the same to stderr)
  first.set();
  first.set();
  second.set();
}

// The frames of the trace of each waiter on `address`, copied during the
// walk (waiter_info::trace is valid only inside f), in snapshot order.
std::vector<std::vector<void*>> traces_at(const void* address) {
  std::vector<std::vector<void*>> out;
  beacon::for_each_waiter([&](const waiter_info& w) {
    if (w.address == address) out.emplace_back(w.trace.begin(), w.trace.end());
  });
  return out;
}

// What inspect_awaiter shows for the receiver of `ev`.
template <class E>
std::vector<void*> awaiter_frames(const E& ev) {
  std::vector<void*> out;
  ev.inspect_awaiter([&](beacon::awaiter_trace t) { out.assign(t.begin(), t.end()); });
  return out;
}

// A once_event receiver records where it waits (debug builds): a blocked
// thread and an awaiting coroutine show the trace that inspect_awaiter shows,
// and describe_waiters prints it under the waiter's line.
TEST(inspect, once_receivers_show_their_trace) {
  if (!beacon::awaiter_traces_enabled) GTEST_SKIP() << "built without awaiter traces";
  beacon::once_event<int> ev;
  // No structured bindings: clang 14 cannot capture them in a lambda.
  auto tx_rx = ev.bind_by_ref();
  auto& tx = tx_rx.sender;
  auto& rx = tx_rx.receiver;
  scoped_thread t([&] { EXPECT_EQ(rx.receive_for(patience), 3); });
  ASSERT_TRUE(queued_eventually(key(ev), 1));
  const auto thread_traces = traces_at(key(ev));
  ASSERT_EQ(thread_traces.size(), 1u);
  EXPECT_FALSE(thread_traces[0].empty());
  EXPECT_EQ(thread_traces[0], awaiter_frames(ev));
  // describe_waiters: one indented line per frame, as describe_trace prints
  // them, right after the waiter's line.
  const std::string text = beacon::describe_waiters();
  std::ostringstream id;
  id << "thread " << t.get_id();
  const auto line = text.find(id.str());
  ASSERT_NE(line, std::string::npos) << text;
  const std::string names = beacon::describe_trace(thread_traces[0]);
  const std::string first_frame = names.substr(0, names.find('\n'));
  ASSERT_FALSE(first_frame.empty());
  const auto frame_line = text.find("\n      " + first_frame + "\n", line);
  ASSERT_NE(frame_line, std::string::npos) << text;
  EXPECT_EQ(text.find('\n', line), frame_line) << text;  // right under it
  std::size_t lines = 0;
  for (auto at = frame_line; text.compare(at, 7, "\n      ") == 0;
       at = text.find('\n', at + 1))
    ++lines;
  EXPECT_EQ(lines, thread_traces[0].size()) << text;
  std::move(tx).send(3);
  t.join();
  EXPECT_TRUE(traces_at(key(ev)).empty());

  beacon::once_event<int> ev2;
  // No structured bindings: clang 14 cannot capture them in a lambda.
  auto tx2_rx2 = ev2.bind_by_ref();
  auto& tx2 = tx2_rx2.sender;
  auto& rx2 = tx2_rx2.receiver;
  int got = 0;
  // The lambda outlives the coroutine: its body reads the captures through it.
  auto body = [&]() -> task { got = co_await std::move(rx2); };
  task c = body();
  const auto coroutine_traces = traces_at(key(ev2));
  ASSERT_EQ(coroutine_traces.size(), 1u);
  EXPECT_FALSE(coroutine_traces[0].empty());
  EXPECT_EQ(coroutine_traces[0], awaiter_frames(ev2));
  bool seen = false;
  beacon::for_each_waiter([&](const waiter_info& w) {
    if (w.address != key(ev2)) return;
    seen = true;
    EXPECT_TRUE(w.coroutine);
    EXPECT_NE(w.frame, nullptr);
  });
  EXPECT_TRUE(seen);
  std::move(tx2).send(4);
  EXPECT_TRUE(c.finished());
  EXPECT_EQ(got, 4);
}

// Other waits record no trace: the other primitives' threads and coroutines
// (a coroutine shows its frame only), and a receiver in a multi-wait.
TEST(inspect, other_waits_show_no_trace) {
  beacon::auto_reset_event a, b;
  scoped_thread t([&] { EXPECT_TRUE(a.wait_for(patience)); });
  ASSERT_TRUE(queued_eventually(key(a), 1));
  auto body = [&]() -> task { co_await b; };  // outlives the coroutine
  task c = body();
  ASSERT_TRUE(queued_eventually(key(b), 1));
  beacon::once_event<int> ev;
  // No structured bindings: clang 14 cannot capture them in a lambda.
  auto tx_rx = ev.bind_by_ref();
  auto& tx = tx_rx.sender;
  auto& rx = tx_rx.receiver;
  beacon::manual_reset_event never;
  scoped_thread m([&] { EXPECT_TRUE(beacon::wait_any_for(patience, rx, never)); });
  ASSERT_TRUE(queued_eventually(key(ev), 1));
  for (const void* address : {key(a), key(b), key(ev)}) {
    const auto traces = traces_at(address);
    ASSERT_EQ(traces.size(), 1u);
    EXPECT_TRUE(traces[0].empty());
  }
  EXPECT_TRUE(awaiter_frames(ev).empty());
  a.set();
  b.set();
  EXPECT_TRUE(c.finished());
  std::move(tx).send(5);
}

// Snapshots while other threads park and unpark continuously (run under
// TSan in the tsan preset); a rehash in the middle makes the walk restart.
TEST(inspect, snapshots_are_safe_while_threads_park_and_unpark) {
  constexpr int pairs = 3;
  constexpr int rounds = 2000;
  std::vector<beacon::auto_reset_event> ping(pairs), pong(pairs);
  std::set<const void*> addresses;
  for (int i = 0; i < pairs; ++i) {
    addresses.insert(key(ping[static_cast<std::size_t>(i)]));
    addresses.insert(key(pong[static_cast<std::size_t>(i)]));
  }
  std::atomic<int> finished{0};
  std::vector<scoped_thread> threads;
  for (int i = 0; i < pairs; ++i) {
    auto& a = ping[static_cast<std::size_t>(i)];
    auto& b = pong[static_cast<std::size_t>(i)];
    threads.emplace_back([&] {
      for (int r = 0; r < rounds; ++r) {
        a.set();
        b.wait();
      }
      finished.fetch_add(1);
    });
    threads.emplace_back([&] {
      for (int r = 0; r < rounds; ++r) {
        a.wait();
        b.set();
      }
      finished.fetch_add(1);
    });
  }
  std::size_t seen = 0, snapshots = 0;
  bool rehashed = false;
  while (finished.load() < 2 * pairs) {
    for (const waiter_info& w : snapshot()) {
      ++seen;
      EXPECT_EQ(addresses.count(w.address), 1u);
      EXPECT_EQ(w.primitive, "auto_reset_event");
      EXPECT_FALSE(w.coroutine);
      EXPECT_GE(w.waiting.count(), 0);
      EXPECT_STREQ(w.where.file_name(), __FILE__);
    }
    (void)beacon::describe_waiters();
    if (++snapshots == 50 && !rehashed) {
      beacon::parking_lot::detail::rehash_for_testing(
          2 * beacon::parking_lot::detail::bucket_count_for_testing());
      rehashed = true;
    }
  }
  threads.clear();
  EXPECT_TRUE(snapshot().empty());
  RecordProperty("snapshots", static_cast<int>(snapshots));
  RecordProperty("waiters_seen", static_cast<int>(seen));
}

}  // namespace
