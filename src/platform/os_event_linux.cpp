// os_event on Linux: an eventfd in counter mode, close-on-exec and
// non-blocking. See include/beacon/os_event.hpp for the contract.
//
// Why non-blocking with poll(): with a blocking descriptor the usual
// "poll, then read" pattern hangs a waiter whose poll saw a signal that
// another waiter then consumed. Here every read is non-blocking; a waiter
// that loses the race gets EAGAIN and polls again, so only poll() ever
// blocks, and poll() returns as soon as the counter is non-zero for anyone.
#include "beacon/os_event.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stop_token>
#include <system_error>

#include "fault.hpp"
#include "fd_passing.hpp"
#include "os_event_fd.hpp"

namespace beacon {
// The platform layer's services: fault injection, the descriptor helpers
// (fd_passing.hpp) and what this backend supplies (os_event_fd.hpp).
using namespace detail::platform;

namespace {

// Whether the eventfd `fd` is in semaphore mode (EFD_SEMAPHORE: each read
// takes 1 instead of zeroing the counter, so signals would not collapse and
// reset() would leave it signalled). 0: counter mode, or this kernel does not
// say (fdinfo shows "eventfd-semaphore:" since Linux 5.2; older kernels
// cannot be asked at all, see os_event.hpp); EINVAL: semaphore mode; another
// errno value when fdinfo cannot be read.
int eventfd_mode_check(int fd) {
  char path[48];
  std::snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  const int info = ::open(path, O_RDONLY | O_CLOEXEC);
  if (info < 0) return errno == ENOENT ? ENOTSUP : errno;  // fd is open: /proc is missing
  // An eventfd's fdinfo is a few short lines (pos, flags, mnt_id, ino,
  // eventfd-count, eventfd-id, eventfd-semaphore): 512 bytes hold it all.
  char text[512];
  std::size_t size = 0;
  while (size < sizeof text - 1) {
    const ssize_t n = ::read(info, text + size, sizeof text - 1 - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      (void)::close(info);
      return err;
    }
    if (n == 0) break;
    size += static_cast<std::size_t>(n);
  }
  (void)::close(info);
  text[size] = '\0';
  static constexpr char key[] = "\neventfd-semaphore:";
  const char* at = std::strstr(text, key);
  if (at == nullptr) return 0;  // an older kernel: cannot tell (documented)
  at += sizeof key - 1;
  while (*at == ' ' || *at == '\t')
    ++at;
  return *at == '0' ? 0 : EINVAL;
}

// 0 if `fd` is an open eventfd in counter mode, else the errno value that
// says why not. /proc/self/fd/N links to "anon_inode:[eventfd]" for an
// eventfd; no system call short of /proc tells eventfd from timerfd,
// signalfd or epoll, nor counter mode from semaphore mode.
int eventfd_check(int fd) {
  if (fd < 0 || ::fcntl(fd, F_GETFD) < 0) return EBADF;
  char path[48];
  std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  char target[64];
  const ssize_t n = ::readlink(path, target, sizeof target - 1);
  if (n < 0) return errno == ENOENT ? ENOTSUP : errno;  // fd is open: /proc is missing
  static constexpr char expected[] = "anon_inode:[eventfd]";
  if (static_cast<std::size_t>(n) != sizeof expected - 1 ||
      std::memcmp(target, expected, sizeof expected - 1) != 0)
    return EINVAL;
  return eventfd_mode_check(fd);
}

}  // namespace

os_event::os_event() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (fd_ < 0) throw_errno(errno, "beacon::os_event: eventfd");
}

os_event::~os_event() { close_quietly(fd_); }

os_event& os_event::operator=(os_event&& other) noexcept {
  if (this != &other) {
    close_quietly(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

// Async-signal-safe (documented in os_event.hpp): on success it makes one
// system call that POSIX lists as safe, write(2), touches no lock, no
// allocation and no thread-local state (but the fault-injection stream of
// test builds), and gives errno back as it found it, because a handler that
// changes errno corrupts the code it interrupted. Only failures (a
// moved-from event, EBADF...) throw, which a handler must not let happen.
void os_event::signal() const {
  const int fd = checked(fd_, "beacon::os_event::signal");
  const int saved_errno = errno;
  const std::uint64_t one = 1;
  for (;;) {
    const ssize_t n = fault::interruptible([&] { return ::write(fd, &one, sizeof one); });
    if (n == static_cast<ssize_t>(sizeof one)) break;
    if (n >= 0) throw_errno(EIO, "beacon::os_event::signal");
    if (errno == EINTR) continue;
    // EAGAIN: adding 1 would pass the counter's maximum, so it is non-zero,
    // i.e. the event is already signalled: the signal has its effect.
    if (errno == EAGAIN) break;
    throw_errno(errno, "beacon::os_event::signal");
  }
  errno = saved_errno;
}

os_event os_event::try_clone() const {
  const int fd = checked(fd_, "beacon::os_event::try_clone");
  const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) throw_errno(errno, "beacon::os_event::try_clone");
  return os_event(adopt_t{}, copy);
}

std::error_code os_event::inherit_as(int target_fd) const noexcept {
  return {inherit_fd_as(fd_, target_fd), std::system_category()};
}

os_event os_event::from_native_handle(int fd) {
  static constexpr const char* what = "beacon::os_event::from_native_handle";
  if (const int err = eventfd_check(fd)) throw_errno(err, what);
  // Read both flag sets before changing either, so a failure leaves `fd`
  // as it was.
  const int fd_flags = ::fcntl(fd, F_GETFD);
  const int fl_flags = fd_flags < 0 ? -1 : ::fcntl(fd, F_GETFL);
  if (fd_flags < 0 || fl_flags < 0) throw_errno(errno, what);
  if (!(fd_flags & FD_CLOEXEC) && ::fcntl(fd, F_SETFD, fd_flags | FD_CLOEXEC) < 0)
    throw_errno(errno, what);
  if (!(fl_flags & O_NONBLOCK) && ::fcntl(fd, F_SETFL, fl_flags | O_NONBLOCK) < 0) {
    const int err = errno;
    (void)::fcntl(fd, F_SETFD, fd_flags);  // put close-on-exec back as it was
    throw_errno(err, what);
  }
  return os_event(adopt_t{}, fd);
}

void send_os_event(int unix_socket, const os_event& event) {
  static constexpr const char* what = "beacon::send_os_event";
  const int fd = checked(event.native_handle(), what);
  detail::platform::send_fds(unix_socket, {&fd, 1}, what);
}

os_event receive_os_event(int unix_socket) {
  static constexpr const char* what = "beacon::receive_os_event";
  // The first descriptor is the event; receive_fds closes any others.
  int fd;
  detail::platform::receive_fds(unix_socket, {&fd, 1}, what);
  if (const int err = eventfd_check(fd)) {
    close_quietly(fd);  // ours now, and useless: do not leak it
    throw_errno(err, what);
  }
  // Our own events are already non-blocking; a foreign eventfd is made so.
  const int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0 || (!(fl & O_NONBLOCK) && ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)) {
    const int err = errno;
    close_quietly(fd);
    throw_errno(err, what);
  }
  return os_event(os_event::adopt_t{}, fd);
}

namespace detail::platform {

// Reads (and so zeroes) the counter: true if it was non-zero, false if it was
// zero (EAGAIN).
bool try_consume(int fd, const char* what) {
  std::uint64_t value;
  for (;;) {
    const ssize_t n =
        fault::interruptible([&] { return ::read(fd, &value, sizeof value); });
    if (n == static_cast<ssize_t>(sizeof value)) return true;
    if (n >= 0) throw_errno(EIO, what);  // an eventfd always reads 8 bytes
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return false;
    throw_errno(errno, what);
  }
}

// ppoll: a nanosecond time-out (poll's is in milliseconds).
int poll_until(pollfd* p, nfds_t n, deadline d) {
  timespec ts{};
  const timespec* timeout = nullptr;  // null: no time limit
  if (!d.is_never()) {
    const std::int64_t left = d.remaining_ns();
    ts.tv_sec = static_cast<time_t>(left / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(left % 1'000'000'000);
    timeout = &ts;
  }
  return ::ppoll(p, n, timeout, nullptr);
}

// An eventfd: read_fd() and the descriptor signal() writes are the same.
stop_wake::stop_wake(const char* what)
    : rd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)), wr_(rd_) {
  if (rd_ < 0) throw_errno(errno, what);
}

stop_wake::~stop_wake() { close_quietly(rd_); }

void stop_wake::signal() const noexcept {
  const std::uint64_t one = 1;
  // Cannot fail: the eventfd is open, and a write to it only fails when the
  // counter is saturated, which one write per wait cannot reach.
  (void)::write(wr_, &one, sizeof one);
}

}  // namespace detail::platform

}  // namespace beacon
