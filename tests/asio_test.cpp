// beacon/asio.hpp: completion through the handler's executor (never inline,
// never on the setter's thread), every token kind, cancellation without
// losing or doubling a grant, and shutdown with waits pending.
#include "beacon/asio.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

// The same tests for standalone Asio and for Boost.Asio (BEACON_ASIO_USE_BOOST,
// the asio_boost_test target): `asio` names whichever is in use.
#if defined(BEACON_ASIO_USE_BOOST)
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/deferred.hpp>
namespace asio = boost::asio;
using error_code = boost::system::error_code;
#else
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/experimental/deferred.hpp>
using error_code = std::error_code;
#endif

namespace {

using namespace std::chrono_literals;

// Runs `io` on `n` threads until it runs out of work; returns their ids.
std::vector<std::thread::id> run_on(asio::io_context& io, int n) {
  std::vector<std::thread> ts;
  std::vector<std::thread::id> ids(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    ts.emplace_back([&, i] {
      ids[static_cast<std::size_t>(i)] = std::this_thread::get_id();
      io.run();
    });
  for (auto& t : ts)
    t.join();
  return ids;
}

template <class W>
void expect_ready_posted(W& w) {
  asio::io_context io;
  bool ran = false;
  beacon::async_wait(w, asio::bind_executor(io, [&](error_code ec, auto&&...) {
                       EXPECT_FALSE(ec);
                       ran = true;
                     }));
  EXPECT_FALSE(ran) << "completed inside the initiating call";
  io.run();
  EXPECT_TRUE(ran);
}

TEST(Asio, ReadyObjectsCompleteThroughTheExecutorNotInline) {
  beacon::auto_reset_event a{beacon::state::set};
  beacon::manual_reset_event m{beacon::state::set};
  beacon::countdown_event c{0};
  beacon::semaphore s{1, 1};
  expect_ready_posted(a);
  EXPECT_FALSE(a.try_wait());  // consumed by the wait
  expect_ready_posted(m);
  expect_ready_posted(c);
  expect_ready_posted(s);
  EXPECT_EQ(s.count(), 1u);  // the guard went back
}

TEST(Asio, HandlerRunsOnTheIoThreadNotTheSetter) {
  asio::io_context io;
  beacon::auto_reset_event ev;
  std::thread::id ran_on, setter;
  bool returned = false;
  beacon::async_wait(ev, asio::bind_executor(io, [&](error_code ec) {
                       EXPECT_FALSE(ec);
                       EXPECT_TRUE(returned);
                       ran_on = std::this_thread::get_id();
                     }));
  returned = true;
  std::thread t([&] {
    setter = std::this_thread::get_id();
    while (!beacon::parking_lot::queued(&ev))
      std::this_thread::yield();
    ev.set();
  });
  auto ids = run_on(io, 1);  // the pending wait keeps run() going
  t.join();
  EXPECT_EQ(ran_on, ids[0]);
  EXPECT_NE(ran_on, setter);
}

TEST(Asio, FourRunThreadsManyWaiters) {
  asio::io_context io;
  beacon::semaphore sem{0, 8};
  beacon::manual_reset_event go;
  std::atomic<int> done{0}, granted{0};
  constexpr int n = 200;
  for (int i = 0; i < n; ++i) {
    beacon::async_wait(
        sem, asio::bind_executor(io, [&](error_code ec, beacon::semaphore_guard g) {
          EXPECT_FALSE(ec);
          granted += g ? 1 : 0;
          ++done;
        }));  // guard released at scope exit: the next waiter goes
    beacon::async_wait(go, asio::bind_executor(io, [&](error_code ec) {
                         EXPECT_FALSE(ec);
                         ++done;
                       }));
  }
  std::thread t([&] {
    sem.release(4);
    go.set();
  });
  run_on(io, 4);
  t.join();
  EXPECT_EQ(done, 2 * n);
  EXPECT_EQ(granted, n);
  EXPECT_EQ(sem.count(), 4u);
}

TEST(Asio, CancellationWithdrawsAndKeepsTheSignal) {
  asio::io_context io;
  beacon::auto_reset_event ev;
  asio::cancellation_signal sig;
  error_code got;
  beacon::async_wait(
      ev, asio::bind_cancellation_slot(
              sig.slot(), asio::bind_executor(io, [&](error_code ec) { got = ec; })));
  EXPECT_EQ(beacon::parking_lot::queued(&ev), 1u);
  sig.emit(asio::cancellation_type::terminal);
  EXPECT_EQ(beacon::parking_lot::queued(&ev), 0u);
  io.run();
  EXPECT_EQ(got, asio::error::operation_aborted);
  ev.set();
  EXPECT_TRUE(ev.try_wait());  // nobody took it
}

// set() / release() on one thread races the cancellation on another: each
// grant is either delivered or left in the primitive, never both, never lost.
TEST(Asio, CancellationRacingReleaseLosesNoGrant) {
  for (int round = 0; round < 300; ++round) {
    asio::io_context io;
    beacon::auto_reset_event ev;
    beacon::semaphore sem{0, 1};
    asio::cancellation_signal s1, s2;
    int ev_ok = 0, sem_ok = 0, handled = 0;
    beacon::async_wait(ev, asio::bind_cancellation_slot(
                               s1.slot(), asio::bind_executor(io, [&](error_code ec) {
                                 ev_ok += !ec;
                                 ++handled;
                               })));
    beacon::async_wait(
        sem, asio::bind_cancellation_slot(
                 s2.slot(),
                 asio::bind_executor(io, [&](error_code ec, beacon::semaphore_guard g) {
                   sem_ok += (!ec && g);
                   ++handled;
                 })));
    std::thread t([&] {
      ev.set();
      sem.release();
    });
    s1.emit(asio::cancellation_type::terminal);
    s2.emit(asio::cancellation_type::terminal);
    t.join();
    io.run();
    EXPECT_EQ(handled, 2);
    EXPECT_EQ(ev_ok + (ev.try_wait() ? 1 : 0), 1) << round;
    EXPECT_EQ(sem.count(), 1u) << round;  // the permit is back either way
    (void)sem_ok;
  }
}

TEST(Asio, UseFuture) {
  asio::io_context io;
  beacon::semaphore sem{0, 1};
  auto f = beacon::async_wait(sem, asio::bind_executor(io, asio::use_future));
  std::thread runner([&] { io.run(); });
  sem.release();
  beacon::semaphore_guard g = f.get();
  EXPECT_TRUE(g);
  runner.join();
}

TEST(Asio, Deferred) {
  asio::io_context io;
  beacon::countdown_event done{1};
  auto op = beacon::async_wait(done, asio::experimental::deferred);
  bool ran = false;
  std::move(op)(asio::bind_executor(io, [&](error_code ec) { ran = !ec; }));
  done.tick();
  io.run();
  EXPECT_TRUE(ran);
}

TEST(Asio, AwaitableOrRacesTwoWaits) {
  asio::io_context io;
  beacon::manual_reset_event never;
  beacon::semaphore sem{0, 1};
  int index = -1;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        auto r = co_await (beacon::async_wait(never, asio::use_awaitable) ||
                           beacon::async_wait(sem, asio::use_awaitable));
        index = static_cast<int>(r.index());
      },
      asio::detached);
  std::thread t([&] {
    while (!beacon::parking_lot::queued(&sem))
      std::this_thread::yield();
    sem.release();
  });
  io.run();
  t.join();
  EXPECT_EQ(index, 1);
  EXPECT_EQ(beacon::parking_lot::queued(&never), 0u);  // the loser was withdrawn
  EXPECT_EQ(sem.count(), 1u);                          // the guard went back
}

TEST(Asio, EventCountValueAndCancellation) {
  asio::io_context io;
  beacon::event_count ec;
  std::atomic<int> items{0};
  std::optional<int> got;
  beacon::async_wait(
      ec,
      [&]() -> std::optional<int> {
        int n = items.load();
        if (n > 0 && items.compare_exchange_strong(n, n - 1)) return n;
        return std::nullopt;
      },
      asio::bind_executor(io, [&](error_code e, int v) {
        EXPECT_FALSE(e);
        got = v;
      }));
  asio::cancellation_signal sig;
  error_code cancelled;
  beacon::async_wait(
      ec, [] { return false; },
      asio::bind_cancellation_slot(
          sig.slot(), asio::bind_executor(io, [&](error_code e) { cancelled = e; })));
  std::thread t([&] {
    items = 1;
    ec.notify_all();
  });
  t.join();
  sig.emit(asio::cancellation_type::terminal);
  io.run();
  EXPECT_EQ(got, 1);
  EXPECT_EQ(cancelled, asio::error::operation_aborted);
  EXPECT_EQ(ec.waiters(), 0u);
}

TEST(Asio, OsEventThroughTheReactor) {
  asio::io_context io;
  beacon::os_event ev;
  int ok = 0;
  asio::cancellation_signal sig;
  error_code cancelled;
  beacon::async_wait(ev, asio::bind_executor(io, [&](error_code e) { ok += !e; }));
  io.poll();
  EXPECT_EQ(ok, 0);
  ev.signal();
  io.run();
  io.restart();
  EXPECT_EQ(ok, 1);
  EXPECT_FALSE(ev.try_wait());  // consumed
  beacon::async_wait(
      ev, asio::bind_cancellation_slot(
              sig.slot(), asio::bind_executor(io, [&](error_code e) { cancelled = e; })));
  io.poll();
  sig.emit(asio::cancellation_type::terminal);
  io.run();
  EXPECT_EQ(cancelled, asio::error::operation_aborted);
}

// Destroying the context frees the pending handlers unrun and keeps every
// grant: a signal that arrives later is still there, permits come back.
TEST(Asio, DestroyingTheContextWithPendingWaits) {
  beacon::auto_reset_event ev;
  beacon::semaphore sem{0, 2};
  beacon::event_count ec;
  auto alive = std::make_shared<int>(0);
  {
    asio::io_context io;
    for (int i = 0; i < 3; ++i) {
      beacon::async_wait(ev, asio::bind_executor(io, [a = alive](error_code) {
                           ADD_FAILURE() << "ran";
                         }));
      beacon::async_wait(
          sem, asio::bind_executor(io, [a = alive](error_code, beacon::semaphore_guard) {
            ADD_FAILURE() << "ran";
          }));
      beacon::async_wait(
          ec, [] { return false; },
          asio::bind_executor(io, [a = alive](error_code) { ADD_FAILURE() << "ran"; }));
    }
    sem.release();  // granted to a wait whose completion is posted, never run
    ev.set();
  }
  EXPECT_EQ(alive.use_count(), 1);  // every handler destroyed
  EXPECT_EQ(beacon::parking_lot::queued(&ev), 0u);
  EXPECT_EQ(ec.waiters(), 0u);
  EXPECT_TRUE(ev.try_wait());  // the posted grant was passed on
  EXPECT_EQ(sem.count(), 1u);
  sem.release();
  EXPECT_EQ(sem.count(), 2u);
}

// once_event receivers: void(error_code, T); disconnected / exception_sent
// as beacon::errc; cancellation withdraws the entry and leaves the value.

template <class R>
std::size_t queued_on_rx(const R& rx) {
  return beacon::parking_lot::queued(beacon::detail::once_access::wait_word(rx));
}

TEST(AsioReceiver, ReadyValuePostedNotInline) {
  asio::io_context io;
  auto [tx, rx] = beacon::make_once<std::string>();
  std::move(tx).send("hi");
  std::string got;
  beacon::async_wait(rx, asio::bind_executor(io, [&](error_code ec, std::string v) {
                       EXPECT_FALSE(ec);
                       got = std::move(v);
                     }));
  EXPECT_EQ(got, "");       // not inside the initiating call
  EXPECT_TRUE(rx.valid());  // taken only when the handler runs
  io.run();
  EXPECT_EQ(got, "hi");
  EXPECT_FALSE(rx.valid());
}

// An async_wait's entry parks with its operation id as its token and records
// no trace: inspect_awaiter reads the trace through the entry's wait_site (a
// trace pointer), never the token, so it shows an empty one.
TEST(AsioReceiver, InspectAwaiterShowsNoTraceForAnAsyncWait) {
  asio::io_context io;
  beacon::once_event<int> ev;
  auto [tx, rx] = ev.bind_by_ref();
  int got = 0;
  beacon::async_wait(rx, asio::bind_executor(io, [&](error_code ec, int v) {
                       EXPECT_FALSE(ec);
                       got = v;
                     }));
  EXPECT_EQ(beacon::parking_lot::queued(&ev), 1u);
  std::size_t frames = 99;
  ev.inspect_awaiter([&](beacon::awaiter_trace t) { frames = t.size(); });
  EXPECT_EQ(frames, 0u);
  std::move(tx).send(6);
  io.run();
  EXPECT_EQ(got, 6);
}

TEST(AsioReceiver, SentFromAnotherThreadRunsOnTheIoThread) {
  for (int threads : {1, 4}) {
    asio::io_context io;
    auto [tx, rx] = beacon::make_once<int>();
    std::thread::id ran_on;
    int got = 0;
    beacon::async_wait(rx, asio::bind_executor(io, [&](error_code ec, int v) {
                         EXPECT_FALSE(ec);
                         got = v;
                         ran_on = std::this_thread::get_id();
                       }));
    EXPECT_EQ(queued_on_rx(rx), 1u);
    std::thread::id sender_id;
    std::thread t([&, tx = std::move(tx)]() mutable {
      sender_id = std::this_thread::get_id();
      std::move(tx).send(5);
    });
    const auto ids = run_on(io, threads);
    t.join();
    EXPECT_EQ(got, 5);
    EXPECT_NE(ran_on, sender_id);
    EXPECT_NE(std::find(ids.begin(), ids.end(), ran_on), ids.end());
  }
}

TEST(AsioReceiver, DisconnectedAndExceptionAreBeaconErrors) {
  asio::io_context io;
  auto [tx1, rx1] = beacon::make_once<int>();
  auto [tx2, rx2] = beacon::make_once<int>();
  error_code e1, e2;
  beacon::async_wait(rx1, asio::bind_executor(io, [&](error_code ec, int) { e1 = ec; }));
  beacon::async_wait(rx2, asio::bind_executor(io, [&](error_code ec, int) { e2 = ec; }));
  { auto drop = std::move(tx1); }
  std::move(tx2).send_exception(std::make_exception_ptr(std::runtime_error("x")));
  io.run();
  EXPECT_EQ(e1, beacon::errc::disconnected);
  EXPECT_EQ(e2, beacon::errc::exception_sent);
  // Boost.System wraps a std::error_code's category (its own category()
  // reports "std:unknown"); the std::error_code it converts back to is ours.
  EXPECT_STREQ(std::error_code(e1).category().name(), "beacon");
  EXPECT_EQ(std::error_code(e1).message(),
            std::error_code(beacon::errc::disconnected).message());
  EXPECT_TRUE(rx1.valid());  // as receive(): left as it was
  EXPECT_THROW((void)rx1.try_receive(), beacon::disconnected);
  EXPECT_THROW((void)rx2.try_receive(), std::runtime_error);  // the exception stayed
  EXPECT_FALSE(rx2.valid());
}

TEST(AsioReceiver, CancellationWithdrawsAndKeepsTheValue) {
  asio::io_context io;
  beacon::once_event<int> ev;
  auto [tx, crx] = ev.bind_by_ref();
  beacon::once_receiver<int> rx = std::move(crx);  // type-erased
  asio::cancellation_signal sig;
  error_code got;
  beacon::async_wait(rx, asio::bind_cancellation_slot(
                             sig.slot(), asio::bind_executor(
                                             io, [&](error_code ec, int) { got = ec; })));
  EXPECT_EQ(queued_on_rx(rx), 1u);
  std::thread([&] { sig.emit(asio::cancellation_type::terminal); }).join();
  EXPECT_EQ(queued_on_rx(rx), 0u);
  io.run();
  EXPECT_EQ(got, asio::error::operation_aborted);
  std::move(tx).send(3);
  EXPECT_EQ(rx.receive(), 3);  // nobody took it
}

// send() on one thread races the cancellation on another: the value is
// either delivered or left in the receiver, never both, never lost.
TEST(AsioReceiver, CancellationRacingSendLosesNothing) {
  for (int round = 0; round < 300; ++round) {
    asio::io_context io;
    auto [tx, rx] = beacon::make_once<int>();
    asio::cancellation_signal sig;
    int delivered = -1;
    int handled = 0;
    beacon::async_wait(rx,
                       asio::bind_cancellation_slot(
                           sig.slot(), asio::bind_executor(io, [&](error_code ec, int v) {
                             if (!ec) delivered = v;
                             ++handled;
                           })));
    std::thread t([&, tx = std::move(tx)]() mutable { std::move(tx).send(round); });
    sig.emit(asio::cancellation_type::terminal);
    t.join();
    io.run();
    EXPECT_EQ(handled, 1);
    if (delivered == round)
      EXPECT_FALSE(rx.valid());
    else
      EXPECT_EQ(rx.receive(), round) << round;
    EXPECT_EQ(queued_on_rx(rx), 0u);
  }
}

TEST(AsioReceiver, FourRunThreadsEveryValueOnce) {
  asio::io_context io;
  constexpr int n = 200;
  using channel = decltype(beacon::make_once<int>());
  std::vector<decltype(std::declval<channel>().receiver)> rxs;
  std::vector<decltype(std::declval<channel>().sender)> txs;
  for (int i = 0; i < n; ++i) {
    auto [tx, rx] = beacon::make_once<int>();
    txs.push_back(std::move(tx));
    rxs.push_back(std::move(rx));
  }
  std::vector<std::atomic<int>> seen(n);
  for (auto& rx : rxs)
    beacon::async_wait(rx, asio::bind_executor(io, [&](error_code ec, int v) {
                         ASSERT_FALSE(ec);
                         seen[static_cast<std::size_t>(v)]++;
                       }));
  std::thread t([&] {
    for (int i = 0; i < n; ++i)
      std::move(txs[static_cast<std::size_t>(i)]).send(i);
  });
  run_on(io, 4);
  t.join();
  for (auto& x : seen)
    EXPECT_EQ(x.load(), 1);
}

TEST(AsioReceiver, AwaitableOrAndDestroyedContext) {
  asio::io_context io;
  beacon::manual_reset_event never;
  auto [tx, rx] = beacon::make_once<int>();
  int got = 0;
  asio::co_spawn(
      io,
      [&, &rx = rx]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        auto r = co_await (beacon::async_wait(never, asio::use_awaitable) ||
                           beacon::async_wait(rx, asio::use_awaitable));
        got = std::get<1>(r);
      },
      asio::detached);
  std::thread t([&, &rx = rx, tx = std::move(tx)]() mutable {
    while (!queued_on_rx(rx))
      std::this_thread::yield();
    std::move(tx).send(8);
  });
  io.run();
  t.join();
  EXPECT_EQ(got, 8);
  EXPECT_EQ(beacon::parking_lot::queued(&never), 0u);
  // A context destroyed with one wait pending and one completion posted:
  // both handlers destroyed unrun, both values stay in their receivers.
  auto alive = std::make_shared<int>(0);
  auto [tx1, rx1] = beacon::make_once<int>();
  auto [tx2, rx2] = beacon::make_once<int>();
  {
    asio::io_context io2;
    for (auto* r : {&rx1, &rx2})
      beacon::async_wait(*r, asio::bind_executor(io2, [a = alive](error_code, int) {
        ADD_FAILURE() << "ran";
      }));
    std::move(tx2).send(2);  // its completion is posted, never run
  }
  EXPECT_EQ(alive.use_count(), 1);
  EXPECT_EQ(queued_on_rx(rx1), 0u);
  std::move(tx1).send(1);
  EXPECT_EQ(rx1.receive(), 1);
  EXPECT_EQ(rx2.receive(), 2);
}

}  // namespace
