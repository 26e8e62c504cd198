// wait_context<Token>: epoll over os_events and other descriptors.
#include "beacon/wait_context.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>
#include <system_error>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "beacon/os_event.hpp"
#include "os_test_support.hpp"

using namespace std::chrono_literals;
using beacon::io_interest;
using beacon::os_event;
using beacon::wait_context;
using beacon_test::error_of;
using beacon_test::eventually;
using beacon_test::patience;

namespace {

struct pipe_pair {
  int rd = -1, wr = -1;
  pipe_pair() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) std::abort();
    rd = p[0];
    wr = p[1];
  }
  ~pipe_pair() {
    if (rd >= 0) ::close(rd);
    if (wr >= 0) ::close(wr);
  }
};

// A token that is not an integer: a small trivially copyable struct without a
// default constructor.
struct small_token {
  std::uint16_t kind;
  std::uint32_t index;
  small_token(std::uint16_t k, std::uint32_t i) : kind(k), index(i) {}
  bool operator==(const small_token&) const = default;
};
static_assert(std::is_trivially_copyable_v<small_token>);

// The POSIX backend (poll) runs this suite too; what only epoll has (a
// descriptor for the set, nesting, registrations shared across fork) skips
// there with its reason.
#if BEACON_OS_EVENT_PIPE
#define SKIP_ON_POLL_BACKEND(why) GTEST_SKIP() << "POSIX backend (poll): " << why
#else
#define SKIP_ON_POLL_BACKEND(why) (void)0
#endif

}  // namespace

TEST(wait_context, descriptor_is_a_close_on_exec_epoll_set) {
  SKIP_ON_POLL_BACKEND("no descriptor stands for the set (native_handle() is -1)");
  wait_context<int> ctx;
  ASSERT_GE(ctx.native_handle(), 0);
  EXPECT_TRUE(beacon_test::is_cloexec(ctx.native_handle()));
}

TEST(wait_context, times_out_with_an_empty_span_after_the_full_duration) {
  wait_context<int> ctx;
  os_event ev;
  ctx.add(ev, 1);
  EXPECT_TRUE(ctx.wait_for(0ms).empty());
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(ctx.wait_for(20ms).empty());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
  start = std::chrono::steady_clock::now();
  EXPECT_TRUE(ctx.wait_for(std::chrono::duration<double, std::milli>(0.5)).empty());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 500us);
  const auto t = std::chrono::system_clock::now() + 20ms;
  EXPECT_TRUE(ctx.wait_until(t).empty());
  EXPECT_GE(std::chrono::system_clock::now(), t);
  EXPECT_TRUE(ctx.wait_until(std::chrono::steady_clock::time_point::min()).empty());
}

TEST(wait_context, reports_a_signalled_event_with_its_token) {
  wait_context<int> ctx;
  os_event a, b;
  ctx.add(a, 10);
  ctx.add(b, 20);
  b.signal();
  const auto r = ctx.wait_for(patience);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].token, 20);
  EXPECT_TRUE(r[0].readable);
  EXPECT_FALSE(r[0].writable);
  EXPECT_FALSE(r[0].hungup);
  EXPECT_FALSE(r[0].error);
}

TEST(wait_context, wait_does_not_consume_the_events_signal) {
  wait_context<int> ctx;
  os_event ev;
  ctx.add(ev, 1);
  ev.signal();
  EXPECT_EQ(ctx.wait_for(patience).size(), 1u);
  EXPECT_EQ(ctx.wait_for(patience).size(), 1u);  // level-triggered: still there
  EXPECT_TRUE(ev.try_wait());                    // the caller consumes it
  EXPECT_TRUE(ctx.wait_for(0ms).empty());
}

TEST(wait_context, wakes_when_another_thread_signals) {
  wait_context<int> ctx;
  os_event ev;
  ctx.add(ev, 7);
  std::thread t([&] { ev.signal(); });
  const auto r = ctx.wait();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].token, 7);
  t.join();
}

TEST(wait_context, tokens_of_any_small_trivially_copyable_type_round_trip) {
  os_event ev;
  ev.signal();
  {
    wait_context<small_token> ctx;
    ctx.add(ev, small_token{3, 0xdeadbeef});
    const auto r = ctx.wait_for(patience);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].token, (small_token{3, 0xdeadbeef}));
  }
  {
    enum class source : std::uint8_t { a = 200 };
    wait_context<source> ctx;
    ctx.add(ev, source::a);
    EXPECT_EQ(ctx.wait_for(patience)[0].token, source::a);
  }
  {
    wait_context<const os_event*> ctx;
    ctx.add(ev, &ev);
    EXPECT_EQ(ctx.wait_for(patience)[0].token, &ev);
  }
  {
    wait_context<std::uint64_t> ctx;
    ctx.add(ev, ~std::uint64_t{0});
    EXPECT_EQ(ctx.wait_for(patience)[0].token, ~std::uint64_t{0});
  }
}

TEST(wait_context, reports_readable_writable_and_hangup_of_a_pipe) {
  pipe_pair p;
  wait_context<char> ctx;
  ctx.add(p.rd, io_interest::read, 'r');
  ctx.add(p.wr, io_interest::write, 'w');
  auto r = ctx.wait_for(patience);
  ASSERT_EQ(r.size(), 1u);  // empty pipe: only the write end is ready
  EXPECT_EQ(r[0].token, 'w');
  EXPECT_TRUE(r[0].writable);
  ASSERT_EQ(::write(p.wr, "x", 1), 1);
  ctx.remove(p.wr);
  r = ctx.wait_for(patience);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].token, 'r');
  EXPECT_TRUE(r[0].readable);
  EXPECT_FALSE(r[0].hungup);
  ::close(p.wr);
  p.wr = -1;
  r = ctx.wait_for(patience);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].hungup);
}

TEST(wait_context, interest_none_reports_only_hangup) {
  pipe_pair p;
  wait_context<int> ctx;
  ctx.add(p.rd, io_interest::none, 1);
  ASSERT_EQ(::write(p.wr, "x", 1), 1);
  EXPECT_TRUE(ctx.wait_for(0ms).empty());  // readable, but not asked for
  ::close(p.wr);
  p.wr = -1;
  const auto r = ctx.wait_for(patience);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].hungup);
  EXPECT_FALSE(r[0].readable);
}

TEST(wait_context, reports_error_on_a_socket_whose_peer_reset) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  wait_context<int> ctx;
  ctx.add(sv[0], io_interest::read_write, 5);
  ::close(sv[1]);
  const auto r = ctx.wait_for(patience);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].hungup);
  EXPECT_TRUE(r[0].readable);  // EOF is readable
  ::close(sv[0]);
}

TEST(wait_context, modify_changes_interest_and_token) {
  pipe_pair p;
  wait_context<int> ctx;
  ctx.add(p.wr, io_interest::none, 1);
  EXPECT_TRUE(ctx.wait_for(0ms).empty());
  ctx.modify(p.wr, io_interest::write, 2);
  const auto r = ctx.wait_for(patience);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].token, 2);
  EXPECT_TRUE(r[0].writable);
  EXPECT_NE(error_of([&] { ctx.modify(p.rd, io_interest::read, 3); }), 0);  // not added
}

TEST(wait_context, remove_is_idempotent_and_ignores_descriptors_never_added) {
  wait_context<int> ctx;
  os_event ev;
  ctx.add(ev, 1);
  ev.signal();
  ctx.remove(ev);
  EXPECT_TRUE(ctx.wait_for(0ms).empty());
  EXPECT_NO_THROW(ctx.remove(ev));                  // removed already
  EXPECT_NO_THROW(ctx.remove(ev.native_handle()));  // by descriptor
  pipe_pair p;
  EXPECT_NO_THROW(ctx.remove(p.rd));                 // never added
  EXPECT_NO_THROW(ctx.remove(-1));                   // no descriptor
  EXPECT_NO_THROW(ctx.remove(ctx.native_handle()));  // itself
  const int closed = ::dup(p.rd);
  ::close(closed);
  EXPECT_NO_THROW(ctx.remove(closed));  // not open
  ctx.add(ev, 2);                       // and it can be added again
  EXPECT_EQ(ctx.wait_for(patience).size(), 1u);
}

TEST(wait_context, adding_a_bad_or_duplicate_descriptor_throws) {
  wait_context<int> ctx;
  EXPECT_EQ(error_of([&] { ctx.add(-1, io_interest::read, 1); }), EBADF);
  pipe_pair p;
  const int closed = ::dup(p.rd);
  ::close(closed);
  EXPECT_EQ(error_of([&] { ctx.add(closed, io_interest::read, 1); }), EBADF);
  os_event moved;
  os_event keeper(std::move(moved));
  EXPECT_EQ(error_of([&] { ctx.add(moved, 1); }),
            EBADF);  // NOLINT(bugprone-use-after-move)
  ctx.add(keeper, 1);
  EXPECT_EQ(error_of([&] { ctx.add(keeper, 2); }), EEXIST);
  SKIP_ON_POLL_BACKEND(
      "poll() watches any open descriptor, and there is no set descriptor");
  EXPECT_EQ(error_of([&] { ctx.add(ctx.native_handle(), io_interest::read, 3); }),
            EINVAL);
  const int file = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (file >= 0) {  // a file epoll cannot watch
    EXPECT_EQ(error_of([&] { ctx.add(file, io_interest::read, 4); }), EPERM);
    ::close(file);
  }
}

TEST(wait_context, one_wait_reports_every_ready_descriptor_as_the_set_grows) {
  // Enough descriptors to need more than the default limit on many systems.
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  const rlim_t want = 2100;
  if (lim.rlim_cur < want && lim.rlim_max >= want) {
    lim.rlim_cur = want;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  ::getrlimit(RLIMIT_NOFILE, &lim);
  const int n = static_cast<int>(std::min<rlim_t>(2000, lim.rlim_cur - 64));
  wait_context<int> ctx;
  std::vector<os_event> events(static_cast<std::size_t>(n));
  for (int round = 0; round < 2; ++round) {
    // Round 0 registers half and signals them all; round 1 all of them.
    const int registered = round == 0 ? n / 2 : n;
    for (int i = round == 0 ? 0 : n / 2; i < registered; ++i) {
      ctx.add(events[static_cast<std::size_t>(i)], i);
    }
    for (auto& e : events)
      e.signal();
    const auto r = ctx.wait_for(patience);
    ASSERT_EQ(static_cast<int>(r.size()), registered);
    std::vector<bool> seen(static_cast<std::size_t>(n));
    for (const auto& t : r) {
      ASSERT_TRUE(t.readable);
      seen[static_cast<std::size_t>(t.token)] = true;
    }
    EXPECT_EQ(std::count(seen.begin(), seen.end(), true), registered);
  }
}

TEST(wait_context, contexts_nest_through_the_native_handle) {
  SKIP_ON_POLL_BACKEND("no descriptor stands for the set, so contexts do not nest");
  wait_context<int> inner;
  wait_context<char> outer;
  os_event ev;
  inner.add(ev, 42);
  outer.add(inner.native_handle(), io_interest::read, 'i');
  EXPECT_TRUE(outer.wait_for(0ms).empty());
  ev.signal();
  const auto o = outer.wait_for(patience);
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(o[0].token, 'i');
  const auto i = inner.wait_for(0ms);
  ASSERT_EQ(i.size(), 1u);
  EXPECT_EQ(i[0].token, 42);
  EXPECT_TRUE(ev.try_wait());
  EXPECT_TRUE(outer.wait_for(0ms).empty());
}

TEST(wait_context, add_and_remove_from_another_thread_while_one_waits) {
  constexpr int count = 200;
  wait_context<int> ctx;
  os_event stop;
  ctx.add(stop, -1);
  std::vector<os_event> events(count);
  std::atomic<int> seen{0};
  std::thread waiter([&] {
    for (;;) {
      const auto r = ctx.wait_for(patience);
      if (r.empty()) return;  // a bug: the test below fails on `seen`
      for (const auto& t : r) {
        if (t.token == -1) return;
        if (events[static_cast<std::size_t>(t.token)].try_wait()) seen.fetch_add(1);
      }
    }
  });
  for (int i = 0; i < count; ++i) {
    auto& e = events[static_cast<std::size_t>(i)];
    ctx.add(e, i);  // while the waiter is (most likely) blocked in wait
    e.signal();
    ASSERT_TRUE(eventually([&] { return seen.load() == i + 1; })) << "event " << i;
    ctx.remove(e);
  }
  // Removed while the waiter waits: a signal no longer reaches it.
  events[0].signal();
  EXPECT_FALSE(eventually([&] { return seen.load() > count; }, 20ms));
  stop.signal();
  waiter.join();
  EXPECT_EQ(seen.load(), count);
  EXPECT_TRUE(events[0].try_wait());
}

TEST(wait_context, timed_wait_interrupted_by_signals_lasts_its_full_timeout) {
  beacon_test::install_eintr_handler();
  wait_context<int> ctx;
  os_event ev;
  ctx.add(ev, 1);
  const int before = beacon_test::signals_handled.load();
  const auto start = std::chrono::steady_clock::now();
  bool empty;
  {
    beacon_test::interrupter irq(::pthread_self());
    empty = ctx.wait_for(100ms).empty();
  }
  EXPECT_TRUE(empty);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
  EXPECT_GT(beacon_test::signals_handled.load(), before);
}

TEST(wait_context, moved_from_context_has_no_handle_and_throws_ebadf) {
  wait_context<int> a;
  os_event ev;
  a.add(ev, 1);
  wait_context<int> b(std::move(a));
  EXPECT_EQ(a.native_handle(), -1);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(error_of([&] { a.add(ev, 2); }), EBADF);
  EXPECT_EQ(error_of([&] { a.remove(ev); }), EBADF);
  EXPECT_EQ(error_of([&] { (void)a.wait_for(0ms); }), EBADF);
  ev.signal();
  EXPECT_EQ(b.wait_for(patience).size(), 1u);  // the registration moved along
  a = std::move(b);
  EXPECT_EQ(a.wait_for(patience).size(), 1u);
}

// ---- fork ---------------------------------------------------------------

namespace {

// Runs `child` in a forked process; returns its exit code (-1: it crashed,
// threw, or ran past `patience`).
template <class F>
int in_child(F child) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    int code = 99;
    try {
      code = child();
    } catch (...) {
      code = 98;
    }
    ::_exit(code);
  }
  if (pid < 0) return -2;
  return beacon_test::wait_child(pid);
}

std::vector<int> tokens_of(std::span<const beacon::triggered<int>> ready) {
  std::vector<int> t;
  for (const auto& r : ready)
    t.push_back(r.token);
  std::sort(t.begin(), t.end());
  return t;
}

}  // namespace

// Issue 13, item 9, as documented in wait_context.hpp: a forked child's
// wait_context is the parent's epoll set (epoll registrations belong to the
// open file description, which fork shares), so the child's remove() and
// add() change what the parent's wait reports.
TEST(wait_context, forked_child_shares_the_parents_epoll_set) {
  SKIP_ON_POLL_BACKEND(
      "the registrations are in-process: a forked child has its own copy");
  wait_context<int> ctx;
  os_event first, second;  // both created before fork: same files in both
  ctx.add(first, 1);
  EXPECT_EQ(in_child([&] {
              ctx.remove(first);
              ctx.add(second, 2);
              return 0;
            }),
            0);
  first.signal();
  second.signal();
  // The child is gone, its changes stay: `first` is no longer reported,
  // `second` is, with the child's token.
  EXPECT_EQ(tokens_of(ctx.wait_for(patience)), std::vector<int>{2});
  ctx.add(first, 1);  // the parent's own entry was the one removed
  EXPECT_EQ(tokens_of(ctx.wait_for(patience)), (std::vector<int>{1, 2}));
}

// The documented way out: a child that needs its own set makes a new
// wait_context (assigning it closes only the child's inherited descriptor).
TEST(wait_context, forked_child_with_a_new_context_leaves_the_parents_alone) {
  wait_context<int> ctx;
  os_event ev;
  ctx.add(ev, 1);
  EXPECT_EQ(in_child([&] {
              ctx = wait_context<int>{};
              ctx.add(ev, 7);
              ev.signal();
              const bool own = tokens_of(ctx.wait_for(patience)) == std::vector<int>{7};
              ctx.remove(ev);
              return own ? 0 : 1;
            }),
            0);
  EXPECT_EQ(tokens_of(ctx.wait_for(patience)), std::vector<int>{1});
  EXPECT_TRUE(ev.try_wait());
}
