// os_event: eventfd-backed auto-reset event, across threads and processes.
#include "beacon/os_event.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stop_token>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "beacon/wait_context.hpp"
#include "os_test_support.hpp"

using namespace std::chrono_literals;
using beacon::os_event;
using beacon_test::error_of;
using beacon_test::eventually;
using beacon_test::patience;
using beacon_test::wait_child;

namespace {

// ---- exec child ---------------------------------------------------------
// The exec test re-runs this binary with BEACON_EXEC_FD_CHECK set; before
// main() (and before GoogleTest starts) it looks through its descriptors and
// exits 0 when none is an eventfd or an epoll set (it inherited none of the
// parent's), 1 otherwise.
const bool exec_child_checked = [] {
  if (std::getenv("BEACON_EXEC_FD_CHECK") == nullptr) return false;
  int found = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      char path[300], target[256] = {};
      std::snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
      if (::readlink(path, target, sizeof target - 1) < 0) continue;
      if (std::strcmp(target, "anon_inode:[eventfd]") == 0 ||
          std::strcmp(target, "anon_inode:[eventpoll]") == 0 ||
          // The pipe backend's ends: the pipes the parent listed (others
          // may be inherited from whatever runs the tests).
          (std::strncmp(target, "pipe:", 5) == 0 && std::getenv("BEACON_EXEC_PIPES") &&
           std::strstr(std::getenv("BEACON_EXEC_PIPES"), target) != nullptr)) {
        std::fprintf(stderr, "exec child inherited fd %s -> %s\n", e->d_name, target);
        ++found;
      }
    }
    ::closedir(d);
  } else {
    found = 2;
  }
  ::_exit(found == 0 ? 0 : 1);
}();

// The inherit_as test re-runs this binary with BEACON_EXEC_INHERITED set to
// the descriptor(s) it made inheritable ("n", or "r w" for a pipe); the exec
// child adopts them as an os_event, signals it and exits 0 (4: not
// adoptable, 5: signal failed).
const bool exec_child_inherited = [] {
  const char* fds = std::getenv("BEACON_EXEC_INHERITED");
  if (fds == nullptr) return false;
  try {
#if BEACON_OS_EVENT_PIPE
    int r = -1, w = -1;
    if (std::sscanf(fds, "%d %d", &r, &w) != 2) ::_exit(4);
    os_event ev = os_event::from_native_handles(r, w);
#else
    os_event ev = os_event::from_native_handle(std::atoi(fds));
#endif
    try {
      ev.signal();
    } catch (...) {
      ::_exit(5);
    }
  } catch (...) {
    ::_exit(4);
  }
  ::_exit(0);
}();

// Forks a child that re-runs this binary as the exec child above (exit code
// 3: exec failed); the parent gets its pid.
pid_t exec_checking_child() {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("BEACON_EXEC_FD_CHECK", "1", 1);
    char self[] = "/proc/self/exe";
    char* argv[] = {self, nullptr};
    ::execv(self, argv);
    ::_exit(3);  // exec failed
  }
  return pid;
}

// The POSIX backend (pipe + poll) runs this suite too; the cases about what
// only an eventfd is (its counter, its mode, /proc's name for it) skip there
// with their reason, and pipe-specific variants stand in for them.
#if BEACON_OS_EVENT_PIPE
#define SKIP_ON_PIPE_BACKEND(why) GTEST_SKIP() << "POSIX backend (pipe): " << why
#else
#define SKIP_ON_PIPE_BACKEND(why) (void)0
#endif

// The descriptors one event is made of: the eventfd, or the pipe's two ends.
std::vector<int> event_fds(const os_event& ev) {
#if BEACON_OS_EVENT_PIPE
  return {ev.native_handle(), ev.write_handle()};
#else
  return {ev.native_handle()};
#endif
}

// Makes signal()'s write fail with EAGAIN: the eventfd counter at its
// maximum, or the pipe full.
void saturate(const os_event& ev) {
#if BEACON_OS_EVENT_PIPE
  const char chunk[512] = {};
  while (::write(ev.write_handle(), chunk, sizeof chunk) > 0) {
  }
  ASSERT_EQ(errno, EAGAIN);
#else
  const std::uint64_t max = 0xfffffffffffffffeULL;  // the eventfd maximum
  ASSERT_EQ(::write(ev.native_handle(), &max, sizeof max), 8);
#endif
}

// Whether the counter is non-zero, without consuming it.
bool peek(const os_event& ev) {
  pollfd p{ev.native_handle(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

int open_fd_count() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
  }
  return n;
}

struct socket_pair {
  int fd[2] = {-1, -1};
  explicit socket_pair(int type = SOCK_STREAM) {
    if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fd) != 0) std::abort();
  }
  ~socket_pair() {
    for (int f : fd)
      if (f >= 0) ::close(f);
  }
};

// Sends one byte with `fds` as SCM_RIGHTS, by hand, as a confused or hostile
// peer would. Returns sendmsg()'s result.
ssize_t send_raw_fds(int sock, const std::vector<int>& fds) {
  constexpr std::size_t scm_max_fd = 253;  // Linux's limit per message
  if (fds.empty() || fds.size() > scm_max_fd) std::abort();
  char byte = 'x';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(scm_max_fd * sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = CMSG_SPACE(fds.size() * sizeof(int));
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
  std::memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
  return ::sendmsg(sock, &msg, 0);
}

// Whether this kernel's /proc/self/fdinfo shows an eventfd's mode (Linux 5.2
// and later): "eventfd-semaphore: 0|1".
bool fdinfo_shows_eventfd_mode() {
  os_event ev;
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(ev.native_handle()));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("eventfd-semaphore:", 0) == 0) return true;
  return false;
}

// Runs `child` in a forked process and returns its exit code (-1: it crashed,
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
  return wait_child(pid);
}

}  // namespace

// ---- basic semantics ----------------------------------------------------

TEST(os_event, starts_unsignalled) {
  os_event ev;
  EXPECT_FALSE(ev.try_wait());
  EXPECT_FALSE(ev.wait_for(0ms));
}

TEST(os_event, try_wait_consumes_the_signal) {
  os_event ev;
  ev.signal();
  EXPECT_TRUE(ev.try_wait());
  EXPECT_FALSE(ev.try_wait());
}

TEST(os_event, signals_collapse_into_one_signalled_state) {
  os_event ev;
  ev.signal();
  ev.signal();
  ev.signal();
  EXPECT_TRUE(ev.try_wait());
  EXPECT_FALSE(ev.try_wait());
}

TEST(os_event, signal_on_saturated_counter_succeeds) {
  os_event ev;
  saturate(ev);
  EXPECT_NO_THROW(ev.signal());  // the write fails with EAGAIN: still signalled
  EXPECT_NO_THROW(ev.signal());
  EXPECT_TRUE(ev.try_wait());
  EXPECT_FALSE(ev.try_wait());
}

TEST(os_event, wait_returns_once_another_thread_signals) {
  os_event ev;
  std::thread t([&] { ev.signal(); });
  EXPECT_TRUE(ev.wait_for(patience));
  t.join();
  EXPECT_FALSE(ev.try_wait());
}

TEST(os_event, wait_consumes_a_pending_signal_at_once) {
  os_event ev;
  ev.signal();
  ev.wait();
  EXPECT_FALSE(ev.try_wait());
}

TEST(os_event, reset_clears_a_pending_signal) {
  os_event ev;
  ev.reset();  // unsignalled: no effect
  ev.signal();
  ev.reset();
  EXPECT_FALSE(ev.try_wait());
}

TEST(os_event, descriptor_is_close_on_exec_and_non_blocking) {
  os_event ev;
  EXPECT_TRUE(beacon_test::is_cloexec(ev.native_handle()));
  EXPECT_TRUE(beacon_test::is_nonblocking(ev.native_handle()));
}

// ---- time ---------------------------------------------------------------

TEST(os_event, wait_for_times_out_after_the_full_duration) {
  os_event ev;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(ev.wait_for(20ms));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
}

TEST(os_event, sub_millisecond_wait_is_not_a_mere_try) {
  os_event ev;
  for (auto d : {std::chrono::nanoseconds(1), std::chrono::nanoseconds(500'000)}) {
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(ev.wait_for(d));
    EXPECT_GE(std::chrono::steady_clock::now() - start, d);
  }
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(ev.wait_for(std::chrono::duration<double, std::milli>(0.5)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 500us);
}

TEST(os_event, zero_and_negative_timeouts_try_once) {
  os_event ev;
  EXPECT_FALSE(ev.wait_for(-5s));
  EXPECT_FALSE(ev.wait_for(0ns));
  EXPECT_FALSE(ev.wait_until(std::chrono::steady_clock::now() - 1h));
  ev.signal();
  EXPECT_TRUE(ev.wait_for(-5s));
  ev.signal();
  EXPECT_TRUE(ev.wait_for(0ns));
  ev.signal();
  EXPECT_TRUE(ev.wait_until(std::chrono::system_clock::now() - 1h));
}

TEST(os_event, extreme_durations_and_time_points_do_not_overflow) {
  os_event ev;
  using sys_hours =
      std::chrono::time_point<std::chrono::system_clock, std::chrono::hours>;
  const auto centuries =
      std::chrono::time_point_cast<std::chrono::hours>(std::chrono::system_clock::now()) +
      std::chrono::hours(24 * 365 * 500);
  // Signalled: each wait must succeed (not throw, not report a time-out).
  ev.signal();
  EXPECT_TRUE(ev.wait_for(std::chrono::duration<double>::max()));
  ev.signal();
  EXPECT_TRUE(ev.wait_for(std::chrono::nanoseconds::max()));
  ev.signal();
  EXPECT_TRUE(ev.wait_for(std::chrono::hours::max()));
  ev.signal();
  EXPECT_TRUE(ev.wait_until(std::chrono::steady_clock::time_point::max()));
  ev.signal();
  EXPECT_TRUE(ev.wait_until(sys_hours::max()));
  ev.signal();
  EXPECT_TRUE(ev.wait_until(centuries));
  // Minimum time points and durations: a try, false at once.
  EXPECT_FALSE(ev.wait_until(std::chrono::steady_clock::time_point::min()));
  EXPECT_FALSE(ev.wait_until(sys_hours::min()));
  EXPECT_FALSE(ev.wait_for(std::chrono::duration<double>::min()));
  EXPECT_FALSE(ev.wait_for(std::chrono::nanoseconds::min()));
  // Unsignalled with a huge limit: blocks until the signal comes.
  std::thread t([&] { ev.signal(); });
  EXPECT_TRUE(ev.wait_for(std::chrono::duration<double>::max()));
  t.join();
}

TEST(os_event, wait_until_system_clock_lasts_until_that_time) {
  os_event ev;
  const auto t = std::chrono::system_clock::now() + 30ms;
  EXPECT_FALSE(ev.wait_until(t));
  EXPECT_GE(std::chrono::system_clock::now(), t);
}

namespace {
// A clock that runs at half speed: a wait_until on it must re-check the clock
// after the steady-clock deadline it first computed has passed.
struct half_speed_clock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<half_speed_clock>;
  static constexpr bool is_steady = false;
  static time_point now() noexcept {
    return time_point(std::chrono::steady_clock::now().time_since_epoch() / 2);
  }
};
static_assert(std::chrono::is_clock_v<half_speed_clock> && !half_speed_clock::is_steady);
}  // namespace

TEST(os_event, wait_until_other_clock_rechecks_that_clock) {
  os_event ev;
  const auto real_start = std::chrono::steady_clock::now();
  const auto t = half_speed_clock::now() + 10ms;
  EXPECT_FALSE(ev.wait_until(t));
  EXPECT_GE(half_speed_clock::now(), t);
  EXPECT_GE(std::chrono::steady_clock::now() - real_start, 20ms);
}

// ---- wait(std::stop_token) ----------------------------------------------

// Issue 13, item 11: os_event satisfies `waitable`, whose contract says every
// waitable has wait(std::stop_token); it had none.
template <class E>
concept stop_token_waitable = requires(const E& e, std::stop_token s) {
  { e.wait(s) } -> std::same_as<bool>;
};
static_assert(stop_token_waitable<os_event>);

TEST(os_event, wait_with_stop_token_ends_with_false_when_another_thread_requests_stop) {
  os_event ev;
  std::stop_source src;
  std::atomic<int> result{-1};
  std::thread waiter([&] { result.store(ev.wait(src.get_token()) ? 1 : 0); });
  // The waiter must still be blocked a while later (nothing signalled it).
  EXPECT_FALSE(eventually([&] { return result.load() != -1; }, 30ms));
  src.request_stop();
  EXPECT_TRUE(eventually([&] { return result.load() != -1; }));
  if (result.load() == -1) ev.signal();  // do not hang the test on a bug
  waiter.join();
  EXPECT_EQ(result.load(), 0);
  // Giving up consumed nothing: a later signal is there for the next wait.
  ev.signal();
  EXPECT_TRUE(ev.try_wait());
}

TEST(os_event, wait_with_stop_token_returns_true_when_signalled) {
  os_event ev;
  std::stop_source src;
  std::thread t([&] { ev.signal(); });
  EXPECT_TRUE(ev.wait(src.get_token()));
  t.join();
  EXPECT_FALSE(ev.try_wait());
  // A token without a stop state can never be stopped: a plain wait.
  std::thread u([&] { ev.signal(); });
  EXPECT_TRUE(ev.wait(std::stop_token{}));
  u.join();
}

// Design §2.7: if the wait can succeed at once it succeeds, even when stop
// was already requested; otherwise the stop ends it with false at once.
TEST(os_event, wait_with_stop_token_succeeds_when_signalled_even_if_stop_was_requested) {
  os_event ev;
  std::stop_source src;
  src.request_stop();
  ev.signal();
  EXPECT_TRUE(ev.wait(src.get_token()));  // consumed
  EXPECT_FALSE(ev.try_wait());
  EXPECT_FALSE(ev.wait(src.get_token()));  // nothing there: false, no blocking
}

// A signal and a stop arriving together: the wait either takes the signal
// (true) or leaves it for the next wait (false); it never loses it.
TEST(os_event, wait_with_stop_token_racing_a_signal_never_loses_it) {
  for (int i = 0; i < 200; ++i) {
    os_event ev;
    std::stop_source src;
    std::atomic<int> result{-1};
    std::thread waiter([&] { result.store(ev.wait(src.get_token()) ? 1 : 0); });
    std::thread stopper([&] { src.request_stop(); });
    ev.signal();
    stopper.join();
    waiter.join();
    if (result.load() == 0)
      EXPECT_TRUE(ev.try_wait()) << "round " << i << ": the signal was lost";
    else
      EXPECT_FALSE(ev.try_wait()) << "round " << i;
  }
}

TEST(os_event, wait_with_stop_token_interrupted_by_signals_keeps_waiting) {
  beacon_test::install_eintr_handler();
  os_event ev;
  std::stop_source src;
  std::atomic<int> result{-1};
  std::thread waiter([&] {
    beacon_test::interrupter irq(::pthread_self());
    result.store(ev.wait(src.get_token()) ? 1 : 0);
  });
  EXPECT_FALSE(eventually([&] { return result.load() != -1; }, 50ms));
  ev.signal();
  EXPECT_TRUE(eventually([&] { return result.load() != -1; }));
  if (result.load() == -1) src.request_stop();
  waiter.join();
  EXPECT_EQ(result.load(), 1);
}

TEST(os_event, wait_with_stop_token_leaks_no_descriptor) {
  os_event ev;
  const int before = open_fd_count();
  for (int i = 0; i < 20; ++i) {
    std::stop_source src;
    std::thread stopper([&] { src.request_stop(); });
    (void)ev.wait(src.get_token());  // stopped before or during the wait
    stopper.join();
    std::stop_source other;
    ev.signal();
    EXPECT_TRUE(ev.wait(other.get_token()));
  }
  EXPECT_EQ(open_fd_count(), before);
}

TEST(os_event, wait_with_stop_token_on_a_moved_from_event_throws_ebadf) {
  os_event a;
  os_event b(std::move(a));
  std::stop_source src;
  EXPECT_EQ(error_of([&] { (void)a.wait(src.get_token()); }), EBADF);  // NOLINT
  EXPECT_EQ(error_of([&] { (void)a.wait(std::stop_token{}); }), EBADF);
}

// ---- EINTR --------------------------------------------------------------

TEST(os_event, timed_wait_interrupted_by_signals_lasts_its_full_timeout) {
  beacon_test::install_eintr_handler();
  os_event ev;
  const int before = beacon_test::signals_handled.load();
  const auto start = std::chrono::steady_clock::now();
  bool result;
  {
    beacon_test::interrupter irq(::pthread_self());
    result = ev.wait_for(100ms);
  }
  EXPECT_FALSE(result);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
  EXPECT_GT(beacon_test::signals_handled.load(), before);
}

TEST(os_event, wait_interrupted_by_signals_returns_only_when_signalled) {
  beacon_test::install_eintr_handler();
  os_event ev, go;
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    beacon_test::interrupter irq(::pthread_self());
    go.signal();
    ev.wait();  // interrupted many times; must not return until signalled
    done.store(true);
  });
  ASSERT_TRUE(go.wait_for(patience));
  // The waiter keeps being interrupted; it must still be waiting a while later.
  EXPECT_FALSE(eventually([&] { return done.load(); }, 50ms));
  ev.signal();
  EXPECT_TRUE(eventually([&] { return done.load(); }));
  if (!done.load()) ev.signal();
  waiter.join();
}

// ---- signal handlers ----------------------------------------------------

namespace {

// The event a SIGUSR2 handler signals (null: none), and how many times
// signal() left errno changed inside the handler. Lock-free atomics are
// async-signal-safe.
std::atomic<const os_event*> handler_event{nullptr};
std::atomic<int> handler_errno_changes{0};

// Installs a SIGUSR2 handler that calls handler_event->signal(). It stays
// installed for the rest of the process (see install_eintr_handler).
void install_signalling_handler() {
  struct sigaction sa {};
  sa.sa_handler = [](int) {
    const int saved = errno;
    if (const os_event* ev = handler_event.load()) ev->signal();
    if (errno != saved) handler_errno_changes.fetch_add(1);
    errno = saved;  // the handler itself must not change it either
  };
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: the interrupted wait sees EINTR
  ::sigaction(SIGUSR2, &sa, nullptr);
}

}  // namespace

// Issue 13, item 8: os_event::signal() is the documented way to signal from a
// signal handler. The handler runs on the waiting thread, interrupting its
// poll; the wait must then see the signal and return.
TEST(os_event, signal_from_a_signal_handler_wakes_the_thread_it_interrupted) {
  install_signalling_handler();
  os_event ev;
  handler_event.store(&ev);
  const pthread_t self = ::pthread_self();
  // Sent whether or not the wait has begun: a signal before it is consumed
  // by it just the same.
  std::thread t([self] { ::pthread_kill(self, SIGUSR2); });
  EXPECT_TRUE(ev.wait_for(patience));
  t.join();
  handler_event.store(nullptr);
  EXPECT_FALSE(ev.try_wait());
  EXPECT_EQ(handler_errno_changes.load(), 0);
}

TEST(os_event, signal_from_a_signal_handler_on_another_thread_wakes_a_waiter) {
  install_signalling_handler();
  os_event ev;
  handler_event.store(&ev);
  std::thread t([] { ::raise(SIGUSR2); });  // the handler runs on t, at once
  EXPECT_TRUE(ev.wait_for(patience));
  t.join();
  handler_event.store(nullptr);
  EXPECT_EQ(handler_errno_changes.load(), 0);
}

// A handler must leave errno as it found it for the code it interrupted;
// signal() on a saturated counter gets EAGAIN from write() (and, under fault
// injection, EINTR) and must not let it escape.
TEST(os_event, signal_in_a_signal_handler_leaves_errno_unchanged) {
  install_signalling_handler();
  os_event ev;
  saturate(ev);  // write() fails with EAGAIN
  handler_event.store(&ev);
  const int before = handler_errno_changes.load();
  for (int i = 0; i < 20; ++i)
    ::raise(SIGUSR2);  // synchronous: the handler has run when raise returns
  handler_event.store(nullptr);
  EXPECT_EQ(handler_errno_changes.load(), before);
  errno = 0;
  ev.signal();  // outside a handler too
  EXPECT_EQ(errno, 0);
  EXPECT_TRUE(ev.try_wait());
}

// ---- ownership ----------------------------------------------------------

TEST(os_event, moved_from_event_has_no_handle_and_throws_ebadf) {
  os_event a;
  os_event b(std::move(a));
  EXPECT_EQ(a.native_handle(), -1);  // NOLINT(bugprone-use-after-move)
  EXPECT_GE(b.native_handle(), 0);
  EXPECT_EQ(error_of([&] { a.signal(); }), EBADF);
  EXPECT_EQ(error_of([&] { a.wait(); }), EBADF);
  EXPECT_EQ(error_of([&] { (void)a.try_wait(); }), EBADF);
  EXPECT_EQ(error_of([&] { (void)a.wait_for(1s); }), EBADF);
  EXPECT_EQ(error_of([&] { a.reset(); }), EBADF);
  EXPECT_EQ(error_of([&] { (void)a.try_clone(); }), EBADF);
  EXPECT_EQ(a.release(), -1);
  // Assigning makes it usable again; the old descriptor of the target closes.
  os_event c;
  const int c_fd = c.native_handle();
  c = std::move(b);
  EXPECT_FALSE(beacon_test::is_open(c_fd));
  a = std::move(c);
  a.signal();
  EXPECT_TRUE(a.try_wait());
}

TEST(os_event, release_hands_the_descriptor_to_the_caller) {
#if BEACON_OS_EVENT_PIPE
  {
    os_event ev;
    const os_event::pipe_handles h = ev.release_handles();
    EXPECT_EQ(ev.native_handle(), -1);
    EXPECT_EQ(ev.write_handle(), -1);
    ASSERT_TRUE(beacon_test::is_open(h.read));
    ASSERT_TRUE(beacon_test::is_open(h.write));
    os_event back = os_event::from_native_handles(h.read, h.write);
    EXPECT_EQ(back.native_handle(), h.read);
    EXPECT_EQ(back.write_handle(), h.write);
    back.signal();
    EXPECT_TRUE(back.try_wait());
    // release(): the read end only; the write end is closed.
    const int w = back.write_handle();
    const int r = back.release();
    EXPECT_EQ(r, h.read);
    EXPECT_FALSE(beacon_test::is_open(w));
    ::close(r);
  }
  return;  // the eventfd variant below does not apply
#endif
  os_event ev;
  const int fd = ev.release();
  EXPECT_EQ(ev.native_handle(), -1);
  ASSERT_TRUE(beacon_test::is_open(fd));
  os_event back = os_event::from_native_handle(fd);
  EXPECT_EQ(back.native_handle(), fd);
}

TEST(os_event, try_clone_shares_the_counter_on_a_new_cloexec_descriptor) {
  os_event ev;
  os_event clone = ev.try_clone();
  EXPECT_NE(clone.native_handle(), ev.native_handle());
  EXPECT_TRUE(beacon_test::is_cloexec(clone.native_handle()));
  ev.signal();
  EXPECT_TRUE(clone.try_wait());
  EXPECT_FALSE(ev.try_wait());
  clone.signal();
  ev.wait();
  {
    os_event gone = clone.try_clone();  // destroying a clone closes only it
  }
  clone.signal();
  EXPECT_TRUE(ev.try_wait());
}

#if BEACON_OS_EVENT_PIPE
TEST(os_event, from_native_handles_adopts_a_pipe_and_makes_it_cloexec_nonblocking) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);  // blocking, inherited across exec
  os_event ev = os_event::from_native_handles(p[0], p[1]);
  EXPECT_EQ(ev.native_handle(), p[0]);
  EXPECT_EQ(ev.write_handle(), p[1]);
  for (int fd : p) {
    EXPECT_TRUE(beacon_test::is_cloexec(fd));
    EXPECT_TRUE(beacon_test::is_nonblocking(fd));
  }
  EXPECT_FALSE(ev.try_wait());  // would block forever were it still blocking
  ev.signal();
  ev.signal();  // collapses: one byte at most
  char buf[8];
  EXPECT_EQ(::read(p[0], buf, sizeof buf), 1);
}

TEST(os_event, from_native_handles_rejects_what_is_no_pipe_and_leaves_it_untouched) {
  int p[2], q[2];
  ASSERT_EQ(::pipe(p), 0);
  ASSERT_EQ(::pipe(q), 0);
  const int efd = ::eventfd(0, 0);
  ASSERT_GE(efd, 0);
  const std::pair<int, int> bad[] = {
      {p[1], p[0]},  // swapped ends
      {p[0], q[1]},  // two pipes
      {efd, p[1]},   // not a pipe
      {p[0], efd},
  };
  for (auto [r, w] : bad) {
    EXPECT_EQ(error_of([&] { (void)os_event::from_native_handles(r, w); }), EINVAL);
    for (int fd : {r, w}) {
      EXPECT_TRUE(beacon_test::is_open(fd));
      EXPECT_FALSE(beacon_test::is_cloexec(fd));
      EXPECT_FALSE(beacon_test::is_nonblocking(fd));
    }
  }
  // One descriptor cannot be a pipe event: refused, untouched.
  EXPECT_EQ(error_of([&] { (void)os_event::from_native_handle(p[0]); }), EINVAL);
  EXPECT_EQ(error_of([&] { (void)os_event::from_native_handle(-1); }), EBADF);
  EXPECT_TRUE(beacon_test::is_open(p[0]));
  for (int fd : {p[0], p[1], q[0], q[1], efd})
    ::close(fd);
  EXPECT_EQ(error_of([&] { (void)os_event::from_native_handles(p[0], p[1]); }),
            EBADF);  // closed
}
#endif

TEST(os_event, from_native_handle_adopts_an_eventfd_and_makes_it_cloexec_nonblocking) {
  SKIP_ON_PIPE_BACKEND("an os_event is a pipe, not an eventfd (see from_native_handles)");
  const int fd = ::eventfd(0, 0);  // blocking, inherited across exec
  ASSERT_GE(fd, 0);
  os_event ev = os_event::from_native_handle(fd);
  EXPECT_EQ(ev.native_handle(), fd);
  EXPECT_TRUE(beacon_test::is_cloexec(fd));
  EXPECT_TRUE(beacon_test::is_nonblocking(fd));
  EXPECT_FALSE(ev.try_wait());  // would block forever were it still blocking
  ev.signal();
  std::uint64_t v = 0;
  EXPECT_EQ(::read(fd, &v, sizeof v), 8);
  EXPECT_EQ(v, 1u);
}

TEST(os_event, from_native_handle_rejects_other_descriptors_and_leaves_them_untouched) {
  SKIP_ON_PIPE_BACKEND(
      "from_native_handle refuses every descriptor (see from_native_handles)");
  int p[2];
  ASSERT_EQ(::pipe(p), 0);  // not close-on-exec: must stay so after the failure
  const int tfd = ::timerfd_create(CLOCK_MONOTONIC, 0);
  const int efd = ::epoll_create1(0);
  for (int fd : {p[0], p[1], tfd, efd}) {
    ASSERT_GE(fd, 0);
    EXPECT_EQ(error_of([&] { (void)os_event::from_native_handle(fd); }), EINVAL);
    EXPECT_TRUE(beacon_test::is_open(fd));
    EXPECT_FALSE(beacon_test::is_cloexec(fd));
    EXPECT_FALSE(beacon_test::is_nonblocking(fd));
    ::close(fd);
  }
  EXPECT_EQ(error_of([] { (void)os_event::from_native_handle(-1); }), EBADF);
  EXPECT_EQ(error_of([&] { (void)os_event::from_native_handle(p[0]); }),
            EBADF);  // closed
}

// ---- passing over a Unix socket -----------------------------------------

TEST(os_event, send_and_receive_share_the_counter_on_stream_and_seqpacket_sockets) {
  for (int type : {SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM}) {
    socket_pair sp(type);
    os_event ev;
    beacon::send_os_event(sp.fd[0], ev);
    os_event got = beacon::receive_os_event(sp.fd[1]);
    EXPECT_NE(got.native_handle(), ev.native_handle());
    EXPECT_TRUE(beacon_test::is_cloexec(got.native_handle()));
    ev.signal();
    EXPECT_TRUE(got.try_wait());
    got.signal();
    EXPECT_TRUE(ev.try_wait());
  }
}

TEST(os_event, several_events_sent_back_to_back_arrive_in_order) {
  socket_pair sp;
  os_event a, b;
  beacon::send_os_event(sp.fd[0], a);
  beacon::send_os_event(sp.fd[0], b);
  os_event ra = beacon::receive_os_event(sp.fd[1]);
  os_event rb = beacon::receive_os_event(sp.fd[1]);
  b.signal();
  EXPECT_FALSE(ra.try_wait());
  EXPECT_TRUE(rb.try_wait());
}

TEST(os_event, receive_rejects_a_descriptor_that_is_no_eventfd_and_closes_it) {
  socket_pair sp;
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  // Send a pipe end by hand, as a confused or hostile peer would.
  char byte = 'x';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &p[0], sizeof(int));
  ASSERT_EQ(::sendmsg(sp.fd[0], &msg, 0), 1);
  const int before = open_fd_count();
  EXPECT_EQ(error_of([&] { (void)beacon::receive_os_event(sp.fd[1]); }), EINVAL);
  EXPECT_EQ(open_fd_count(), before);  // the received copy was closed
  ::close(p[0]);
  ::close(p[1]);
}

TEST(os_event, receive_reports_a_message_without_descriptor_and_a_closed_peer) {
  socket_pair sp;
  ASSERT_EQ(::write(sp.fd[0], "x", 1), 1);
  EXPECT_EQ(error_of([&] { (void)beacon::receive_os_event(sp.fd[1]); }), EBADMSG);
  ::close(sp.fd[0]);
  sp.fd[0] = -1;
  EXPECT_EQ(error_of([&] { (void)beacon::receive_os_event(sp.fd[1]); }), ECONNRESET);
}

// Regression (issue 13, item 5): the control buffer held one descriptor's
// CMSG_SPACE, which also fits two; a message carrying two or three installed
// the second in the receiver and leaked it. Every extra one must be closed.
TEST(os_event, receive_closes_every_extra_descriptor_a_message_carries) {
  for (int type : {SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM}) {
    for (std::size_t count : {2u, 3u, 8u}) {
      socket_pair sp(type);
      os_event ev;
      int p[2];
      ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
      std::vector<int> fds = event_fds(ev);
      const int kept = static_cast<int>(fds.size());
      if (fds.size() >= count) continue;  // the pipe backend's event is 2 already
      while (fds.size() < count)
        fds.push_back(fds.size() % 2 ? p[0] : ev.native_handle());
      ASSERT_EQ(send_raw_fds(sp.fd[0], fds), 1);
      const int before = open_fd_count();
      {
        os_event got = beacon::receive_os_event(sp.fd[1]);
        EXPECT_EQ(open_fd_count(), before + kept) << "type " << type << ", " << count;
        ev.signal();
        EXPECT_TRUE(got.try_wait());  // the first descriptor is the one kept
      }
      EXPECT_EQ(open_fd_count(), before);
      ::close(p[0]);
      ::close(p[1]);
    }
  }
}

// The first descriptor decides; extra ones are closed also when it is
// refused.
TEST(os_event, receive_closes_extra_descriptors_when_the_first_is_refused) {
  socket_pair sp;
  os_event ev;
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  ASSERT_EQ(send_raw_fds(sp.fd[0], {p[0], ev.native_handle(), ev.native_handle()}), 1);
  const int before = open_fd_count();
  EXPECT_EQ(error_of([&] { (void)beacon::receive_os_event(sp.fd[1]); }), EINVAL);
  EXPECT_EQ(open_fd_count(), before);
  ::close(p[0]);
  ::close(p[1]);
}

// Ancillary data that does not fit (here: credentials, which SO_PASSCRED
// adds, beside the most descriptors one message may carry) arrives truncated
// (MSG_CTRUNC): the message is refused with EMSGSIZE and every descriptor
// that did arrive is closed.
TEST(os_event, receive_refuses_truncated_ancillary_data_and_closes_what_arrived) {
  constexpr std::size_t scm_max_fd = 253;  // Linux's limit per message
  for (int type : {SOCK_STREAM, SOCK_DGRAM}) {
    socket_pair sp(type);
    const int on = 1;
    ASSERT_EQ(::setsockopt(sp.fd[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on), 0);
    os_event ev;
    ASSERT_EQ(send_raw_fds(sp.fd[0], std::vector<int>(scm_max_fd, ev.native_handle())),
              1);
    const int before = open_fd_count();
    EXPECT_EQ(error_of([&] { (void)beacon::receive_os_event(sp.fd[1]); }), EMSGSIZE)
        << "type " << type;
    EXPECT_EQ(open_fd_count(), before);
  }
}

// Regression (issue 13, item 6): a semaphore-mode eventfd was adopted; each
// read then takes 1, so signals no longer collapse and reset() leaves it
// signalled. /proc/self/fdinfo shows the mode on Linux 5.2 and later.
TEST(os_event,
     from_native_handle_refuses_a_semaphore_mode_eventfd_and_leaves_it_untouched) {
  SKIP_ON_PIPE_BACKEND("semaphore-mode eventfds are the eventfd backend's concern");
  if (!fdinfo_shows_eventfd_mode())
    GTEST_SKIP() << "this kernel's fdinfo does not show the eventfd mode (Linux < 5.2)";
  const int fd = ::eventfd(0, EFD_SEMAPHORE);  // blocking, inheritable
  ASSERT_GE(fd, 0);
  EXPECT_EQ(error_of([&] { (void)os_event::from_native_handle(fd); }), EINVAL);
  EXPECT_TRUE(beacon_test::is_open(fd));
  EXPECT_FALSE(beacon_test::is_cloexec(fd));
  EXPECT_FALSE(beacon_test::is_nonblocking(fd));
  ::close(fd);
}

TEST(os_event, receive_refuses_a_semaphore_mode_eventfd_and_closes_it) {
  SKIP_ON_PIPE_BACKEND("semaphore-mode eventfds are the eventfd backend's concern");
  if (!fdinfo_shows_eventfd_mode())
    GTEST_SKIP() << "this kernel's fdinfo does not show the eventfd mode (Linux < 5.2)";
  socket_pair sp;
  const int fd = ::eventfd(0, EFD_SEMAPHORE | EFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(send_raw_fds(sp.fd[0], {fd}), 1);
  const int before = open_fd_count();
  EXPECT_EQ(error_of([&] { (void)beacon::receive_os_event(sp.fd[1]); }), EINVAL);
  EXPECT_EQ(open_fd_count(), before);  // the received copy was closed
  ::close(fd);
}

TEST(os_event, send_to_a_closed_peer_throws_epipe_without_sigpipe) {
  socket_pair sp;
  ::close(sp.fd[1]);
  sp.fd[1] = -1;
  os_event ev;
  EXPECT_EQ(error_of([&] { beacon::send_os_event(sp.fd[0], ev); }), EPIPE);
  os_event moved(std::move(ev));
  EXPECT_EQ(error_of([&] { beacon::send_os_event(sp.fd[0], ev); }), EBADF);
}

// ---- several waiters ----------------------------------------------------

// The reference's poll-then-blocking-read would hang here: all waiters'
// polls see the one signal, one read takes it, the others block in read.
TEST(os_event, each_signal_releases_exactly_one_of_many_blocked_waiters) {
  constexpr int waiters = 6;
  os_event ev;
  std::atomic<int> released{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < waiters; ++i)
    threads.emplace_back([&] {
      ev.wait();
      released.fetch_add(1);
    });
  for (int i = 1; i <= waiters; ++i) {
    ev.signal();
    ASSERT_TRUE(eventually([&] { return released.load() >= i; })) << "signal " << i;
    EXPECT_EQ(released.load(), i);  // never more than one per signal
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(released.load(), waiters);
  EXPECT_FALSE(ev.try_wait());
}

namespace {

// Threads that take the signals of `ev` with short timed waits and count
// them, until stop(); joined on destruction too (after a failed ASSERT).
class timed_waiters {
 public:
  timed_waiters(os_event& ev, int n) {
    for (int i = 0; i < n; ++i)
      threads_.emplace_back([this, &ev] {
        while (!stop_.load())
          if (ev.wait_for(5ms)) released.fetch_add(1);
      });
  }
  ~timed_waiters() { stop(); }
  void stop() {
    stop_.store(true);
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

  std::atomic<int> released{0};

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

}  // namespace

TEST(os_event, many_timed_waiters_consume_every_signal_once) {
  constexpr int waiters = 8, signals = 300;
  os_event ev;
  timed_waiters w(ev, waiters);
  std::atomic<int>& released = w.released;
  for (int i = 1; i <= signals; ++i) {
    ev.signal();
    ASSERT_TRUE(eventually([&] { return released.load() >= i; })) << "signal " << i;
  }
  w.stop();
  EXPECT_EQ(released.load(), signals);
  EXPECT_FALSE(ev.try_wait());
}

TEST(os_event, burst_of_signals_releases_between_one_and_that_many_waiters) {
  constexpr int waiters = 4, burst = 3;
  os_event ev;
  timed_waiters w(ev, waiters);
  std::atomic<int>& released = w.released;
  for (int i = 0; i < burst; ++i)
    ev.signal();
  // Every signal is consumed or collapsed: wait until one waiter got it and
  // nothing is pending any more.
  EXPECT_TRUE(eventually([&] { return released.load() >= 1 && !peek(ev); }));
  w.stop();
  EXPECT_GE(released.load(), 1);
  EXPECT_LE(released.load(), burst);
  EXPECT_FALSE(ev.try_wait());
}

// ---- processes ----------------------------------------------------------

TEST(os_event, forked_child_signals_the_parent_through_the_inherited_event) {
  os_event ev;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ev.signal();
    ::_exit(0);
  }
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(ev.wait_for(patience));
  EXPECT_EQ(wait_child(pid), 0);
}

TEST(os_event, parent_signal_releases_a_child_waiting_on_the_inherited_event) {
  os_event ev;
  os_event child_ready;
  const pid_t pid = ::fork();
  if (pid == 0) {
    child_ready.signal();
    ::_exit(ev.wait_for(patience) ? 0 : 1);
  }
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(child_ready.wait_for(patience));
  ev.signal();
  EXPECT_EQ(wait_child(pid), 0);
  EXPECT_FALSE(ev.try_wait());  // the child consumed it
}

TEST(os_event, two_processes_waiting_on_one_event_are_released_one_per_signal) {
  os_event go, ack;
  std::vector<pid_t> children;
  for (int i = 0; i < 2; ++i) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      if (!go.wait_for(patience)) ::_exit(1);
      ack.signal();
      ::_exit(0);
    }
    ASSERT_GT(pid, 0);
    children.push_back(pid);
  }
  for (int i = 0; i < 2; ++i) {
    go.signal();
    EXPECT_TRUE(ack.wait_for(patience)) << "signal " << i;
  }
  for (pid_t pid : children)
    EXPECT_EQ(wait_child(pid), 0);
  EXPECT_FALSE(go.try_wait());
}

TEST(os_event, event_sent_to_another_process_over_a_socket_signals_both_ways) {
  socket_pair sp;
  // The child gets nothing by inheritance worth using: it makes its own
  // event, sends it, and waits on it; the parent signals it, and the child
  // then signals back through a second event it received.
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(sp.fd[0]);
    const int code = [&] {
      try {
        os_event mine;
        beacon::send_os_event(sp.fd[1], mine);
        if (!mine.wait_for(patience)) return 1;
        os_event theirs = beacon::receive_os_event(sp.fd[1]);
        theirs.signal();
        return 0;
      } catch (...) {
        return 2;
      }
    }();
    ::_exit(code);
  }
  ASSERT_GT(pid, 0);
  ::close(sp.fd[1]);
  sp.fd[1] = -1;
  os_event childs = beacon::receive_os_event(sp.fd[0]);
  EXPECT_TRUE(beacon_test::is_cloexec(childs.native_handle()));
  os_event back;
  childs.signal();
  beacon::send_os_event(sp.fd[0], back);
  EXPECT_TRUE(back.wait_for(patience));
  EXPECT_EQ(wait_child(pid), 0);
}

TEST(os_event, exec_child_inherits_none_of_our_descriptors) {
  // Every way of getting a descriptor: created, cloned, received, adopted
  // (from a blocking, inheritable eventfd), and a wait_context's epoll set.
  os_event created;
  os_event cloned = created.try_clone();
  socket_pair sp;
  beacon::send_os_event(sp.fd[0], created);
  os_event received = beacon::receive_os_event(sp.fd[1]);
#if BEACON_OS_EVENT_PIPE
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  os_event adopted = os_event::from_native_handles(p[0], p[1]);
#else
  os_event adopted = os_event::from_native_handle(::eventfd(0, 0));
#endif
  beacon::wait_context<int> ctx;
  ctx.add(created, 1);
#if BEACON_OS_EVENT_PIPE
  // The exec child cannot tell our pipes from others by their kind: list them.
  std::string pipes;
  for (const os_event* ev : {&created, &cloned, &received, &adopted})
    for (int fd : event_fds(*ev)) {
      char path[64], target[256] = {};
      std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
      ASSERT_GT(::readlink(path, target, sizeof target - 1), 0);
      pipes += target;
      pipes += ' ';
    }
  ::setenv("BEACON_EXEC_PIPES", pipes.c_str(), 1);
#endif
  const pid_t pid = exec_checking_child();
  ASSERT_GT(pid, 0);
  EXPECT_EQ(wait_child(pid), 0) << "1: the child found an inherited eventfd/epoll "
                                   "descriptor; 3: exec failed";
  (void)exec_child_checked;
}

// Control for the test above: the same check does see a descriptor that is
// not close-on-exec, so its passing means something.
TEST(os_event, exec_check_detects_an_inheritable_eventfd) {
  const int leaky = ::eventfd(0, 0);
  ASSERT_GE(leaky, 0);
  const pid_t pid = exec_checking_child();
  ASSERT_GT(pid, 0);
  EXPECT_EQ(wait_child(pid), 1);
  ::close(leaky);
}

// ---- inherit_as ---------------------------------------------------------

namespace {

// inherit_as with the backend's arguments: the eventfd at `target`, or the
// pipe's ends at `target` and `target + 1` (`same`: where they already are).
std::error_code inherit(const os_event& ev, int target, bool same = false) {
#if BEACON_OS_EVENT_PIPE
  return same ? ev.inherit_as(ev.native_handle(), ev.write_handle())
              : ev.inherit_as(target, target + 1);
#else
  return ev.inherit_as(same ? ev.native_handle() : target);
#endif
}

// A free descriptor number above the ones in use (and the next one, for the
// pipe backend), left closed.
int free_fd_number() {
  const int probe = ::fcntl(0, F_DUPFD, 200);
  if (probe < 0) std::abort();
  ::close(probe);
  return probe;
}

// Whether `a` and `b` are one open file description (the same event).
bool same_description(int a, int b) {
  struct stat sa {
  }, sb{};
  return ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 && sa.st_ino == sb.st_ino &&
         sa.st_dev == sb.st_dev;
}

}  // namespace

TEST(os_event, inherit_as_its_own_number_clears_close_on_exec) {
  os_event ev;
  const std::vector<int> fds = event_fds(ev);
  for (int fd : fds)
    ASSERT_TRUE(beacon_test::is_cloexec(fd));
  EXPECT_FALSE(inherit(ev, -1, /*same=*/true));
  EXPECT_EQ(event_fds(ev), fds);  // still its own descriptors, now inheritable
  for (int fd : fds) {
    EXPECT_FALSE(beacon_test::is_cloexec(fd));
    EXPECT_TRUE(beacon_test::is_nonblocking(fd));
  }
  ev.signal();  // and still the event
  EXPECT_TRUE(ev.try_wait());
}

TEST(os_event, inherit_as_another_number_dup2s_and_keeps_its_own_descriptor) {
  os_event ev;
  const std::vector<int> fds = event_fds(ev);
  const int target = free_fd_number();
  // Something open at the target is replaced (dup2's rule).
  const int placeholder = ::fcntl(0, F_DUPFD_CLOEXEC, target);
  ASSERT_EQ(placeholder, target);
  EXPECT_FALSE(inherit(ev, target));
  EXPECT_EQ(event_fds(ev), fds);
  for (int fd : fds)
    EXPECT_TRUE(beacon_test::is_cloexec(fd));  // the event's own: unchanged
  for (std::size_t i = 0; i < fds.size(); ++i) {
    const int t = target + static_cast<int>(i);
    EXPECT_FALSE(beacon_test::is_cloexec(t));
    EXPECT_TRUE(same_description(t, fds[i]));
  }
  ev.signal();
  pollfd p{target, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 1);  // the target sees the event's signal
  EXPECT_TRUE(ev.try_wait());
  for (std::size_t i = 0; i < fds.size(); ++i)
    ::close(target + static_cast<int>(i));  // the targets are the caller's
  ev.signal();                              // the event's own descriptors are untouched
  EXPECT_TRUE(ev.try_wait());
}

TEST(os_event, inherit_as_reports_errors_as_an_error_code) {
  os_event ev;
  EXPECT_EQ(inherit(ev, -5).value(), EBADF);
  os_event gone = std::move(ev);
  EXPECT_EQ(inherit(ev, free_fd_number()).value(), EBADF);  // NOLINT: moved-from
#if BEACON_OS_EVENT_PIPE
  const int t = free_fd_number();
  EXPECT_EQ(gone.inherit_as(t, t).value(), EINVAL);
  EXPECT_FALSE(beacon_test::is_open(t));
#endif
  gone.signal();
  EXPECT_TRUE(gone.try_wait());
}

#if BEACON_OS_EVENT_PIPE
// The agreed numbers are fixed, where the pipe's ends landed is not: the
// targets may be the ends' own numbers in any arrangement.
TEST(os_event, inherit_as_places_both_pipe_ends_whatever_numbers_they_had) {
  enum arrangement { swapped, read_to_write, write_to_read };
  for (arrangement a : {swapped, read_to_write, write_to_read}) {
    SCOPED_TRACE(a);
    os_event ev;
    const int r = ev.native_handle(), w = ev.write_handle();
    struct stat st {};
    ASSERT_EQ(::fstat(r, &st), 0);
    const int t = free_fd_number();
    const int rt = a == swapped ? w : a == read_to_write ? w : t;
    const int wt = a == swapped ? r : a == read_to_write ? t : r;
    EXPECT_FALSE(ev.inherit_as(rt, wt));
    // The event's own numbers may now hold the other end: it is only good
    // for an exec now. Take the descriptors back and check the targets.
    (void)ev.release_handles();
    struct stat rst {
    }, wst{};
    ASSERT_EQ(::fstat(rt, &rst), 0);
    ASSERT_EQ(::fstat(wt, &wst), 0);
    EXPECT_EQ(rst.st_ino, st.st_ino);
    EXPECT_EQ(wst.st_ino, st.st_ino);
    EXPECT_EQ(::fcntl(rt, F_GETFL) & O_ACCMODE, O_RDONLY);
    EXPECT_EQ(::fcntl(wt, F_GETFL) & O_ACCMODE, O_WRONLY);
    EXPECT_FALSE(beacon_test::is_cloexec(rt));
    EXPECT_FALSE(beacon_test::is_cloexec(wt));
    ASSERT_EQ(::write(wt, "x", 1), 1);
    pollfd p{rt, POLLIN, 0};
    EXPECT_EQ(::poll(&p, 1, 0), 1);
    for (int fd : {r, w, t})  // the targets and whatever of the old ends is left
      ::close(fd);
  }
}
#endif

// The exec'd program adopts what inherit_as made, in both cases, and signals
// the parent through it.
TEST(os_event, exec_child_adopts_the_event_inherit_as_made) {
  for (bool same : {false, true}) {
    SCOPED_TRACE(same ? "its own number" : "another number");
    os_event ev;
    const int target = free_fd_number();
    std::string arg;
    for (std::size_t i = 0; i < event_fds(ev).size(); ++i)
      arg += std::to_string(same ? event_fds(ev)[i] : target + static_cast<int>(i)) + " ";
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      if (inherit(ev, target, same)) ::_exit(6);
      ::setenv("BEACON_EXEC_INHERITED", arg.c_str(), 1);
      char self[] = "/proc/self/exe";
      char* argv[] = {self, nullptr};
      ::execv(self, argv);
      ::_exit(3);  // exec failed
    }
    EXPECT_TRUE(ev.wait_for(patience));
    EXPECT_EQ(wait_child(pid), 0)
        << "3: exec failed; 4: the exec'd program could not "
           "adopt the event; 5: its signal failed; 6: inherit_as";
  }
  (void)exec_child_inherited;
}

// Control for the test above: without inherit_as the exec'd program finds
// nothing to adopt (its descriptor was close-on-exec), so the test's passing
// means something.
TEST(os_event, exec_child_adopts_nothing_without_inherit_as) {
  os_event ev;
  std::string arg;
  for (int fd : event_fds(ev))
    arg += std::to_string(fd) + " ";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::setenv("BEACON_EXEC_INHERITED", arg.c_str(), 1);
    char self[] = "/proc/self/exe";
    char* argv[] = {self, nullptr};
    ::execv(self, argv);
    ::_exit(3);
  }
  EXPECT_EQ(wait_child(pid), 4);
  EXPECT_FALSE(ev.try_wait());
}

TEST(os_event, child_may_clone_and_destroy_its_copy_without_affecting_the_parent) {
  os_event ev;
  EXPECT_EQ(in_child([&] {
              os_event c = ev.try_clone();
              c.signal();
              os_event dropped(std::move(ev));  // closes the child's descriptor
              return 0;
            }),
            0);
  EXPECT_TRUE(ev.try_wait());  // signalled by the child's clone
  ev.signal();
  EXPECT_TRUE(ev.try_wait());  // the parent's descriptor still works
}
