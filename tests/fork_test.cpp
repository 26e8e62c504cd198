// fork() and the parking lot (design.md §2.12, issue 13 item 7): the child
// inherits no entry of a thread it does not have, and no bucket lock held
// by another thread at the time of the fork. Children report by exit status
// (_exit); the parent waits for each with a time limit, so a hang fails the
// test instead of hanging it.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "beacon/auto_reset_event.hpp"
#include "beacon/parking_lot.hpp"
#include "support/test_support.hpp"

#if defined(__SANITIZE_THREAD__)
#define BEACON_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BEACON_TEST_TSAN 1
#endif
#endif
#ifdef BEACON_TEST_TSAN
// The children start threads after a fork of a multi-threaded process, which
// ThreadSanitizer refuses by default.
extern "C" const char* __tsan_default_options() { return "die_after_fork=0"; }
#endif

namespace {

using namespace beacon_test;
using namespace std::chrono_literals;
namespace lot = beacon::parking_lot;

// Forks; the child runs `body` and exits with what it returns. Returns the
// child's exit status, 128 + the signal that ended it, or -1 if it did not
// end within `limit` (it is then killed).
template <class Body>
int in_child(Body body, std::chrono::milliseconds limit) {
  const pid_t pid = fork();
  if (pid == -1) return -2;
  if (pid == 0) _exit(body());
  const auto until = std::chrono::steady_clock::now() + limit;
  int status = 0;
  for (;;) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r == -1 && errno != EINTR) return -3;
    if (std::chrono::steady_clock::now() > until) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(1ms);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// In the child: a waiter of the child's own waits on `e` (which already has
// `inherited` entries) and a set() must wake it. The waiter is a thread;
// under ThreadSanitizer, whose run-time cannot start threads in the child of
// a multi-threaded process ("dup thread"), a coroutine.
bool round_trip_in_child(beacon::auto_reset_event& e, std::size_t inherited) {
#ifdef BEACON_TEST_TSAN
  bool got = false;
  auto coroutine = [](beacon::auto_reset_event& e, bool& got) -> task {
    co_await e;
    got = true;
  };
  task c = coroutine(e, got);
  if (lot::queued(key(e)) != inherited + 1) return false;
  e.set();
  return got;
#else
  std::atomic<bool> got{false};
  std::thread t([&] { got = static_cast<bool>(e.wait_for(5s)); });
  if (eventually([&] { return lot::queued(key(e)) == inherited + 1; }, 5s)) e.set();
  t.join();
  return got;
#endif
}

// A thread of the parent is parked on an event; in the child, the child's
// own thread waits on the same event and the child's set() must wake it. A
// child that inherited the parent thread's entry hands the signal to that
// ghost, and its own waiter times out.
TEST(fork, a_set_in_the_child_wakes_the_childs_own_waiter) {
  beacon::auto_reset_event e;
  scoped_thread parent_waiter([&] { e.wait(); });
  ASSERT_TRUE(queued_eventually(key(e), 1));
  const int rc = in_child(
      [&] {
        const std::size_t inherited = lot::queued(key(e));
        if (!round_trip_in_child(e, inherited)) return 1;  // the signal went to a ghost
        if (inherited) return 2;                           // a ghost entry was inherited
        return 0;
      },
      30s);
  EXPECT_EQ(rc, 0) << "1: the child's set() woke a thread it does not have; "
                      "2: it inherited a parked thread's entry";
  e.set();  // releases the parent's waiter
}

// Coroutine entries are kept: their frames exist in the child too.
TEST(fork, the_child_keeps_suspended_coroutines) {
  beacon::auto_reset_event e;
  int resumed = 0;
  auto coroutine = [](beacon::auto_reset_event& e, int& resumed) -> task {
    co_await e;
    ++resumed;
  };
  task c = coroutine(e, resumed);
  ASSERT_EQ(lot::queued(key(e)), 1u);
  const int rc = in_child(
      [&] {
        if (lot::queued(key(e)) != 1) return 1;
        e.set();
        return resumed == 1 ? 0 : 2;
      },
      30s);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(resumed, 0);
  e.set();
  EXPECT_EQ(resumed, 1);
}

// Forks while other threads park and unpark on many addresses: in every
// child, each of those addresses is usable (no bucket lock held by a thread
// that was copied mid-section) and holds no entry, and a set/wait round trip
// on one of them works. Before the fork handler, a child now and then hung
// on a held bucket lock.
TEST(fork, forks_while_threads_park_and_unpark) {
  constexpr int n_events = 64, forks = 200;
  std::array<beacon::auto_reset_event, n_events> events;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> rounds{0};
  auto threads = start_threads(4, [&] {
    std::uint64_t x = reinterpret_cast<std::uintptr_t>(&x) | 1;
    while (!stop.load(std::memory_order_relaxed)) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      auto& e = events[x % n_events];
      if (x & 64)
        e.set();
      else
        (void)e.wait_for(50us);
      rounds.fetch_add(1, std::memory_order_relaxed);
    }
  });
  ASSERT_TRUE(eventually([&] { return rounds.load() > 1000; }));
  for (int k = 0; k < forks; ++k) {
    const int rc = in_child(
        [&] {
          for (auto& e : events)
            if (lot::queued(key(e)) != 0) return 1;  // an entry of a thread we lack
          auto& e = events[static_cast<std::size_t>(k) % n_events];
          e.reset();
          const bool got = round_trip_in_child(e, 0);
          return got ? 0 : 2;
        },
        20s);
    ASSERT_EQ(rc, 0) << "fork " << k
                     << " (-1: the child hung; 1: inherited entries; "
                        "2: the round trip failed)";
  }
  stop = true;
}

}  // namespace
