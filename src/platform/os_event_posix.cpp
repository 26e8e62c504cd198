// os_event on POSIX systems without eventfd (macOS, the BSDs; forced on
// Linux with -DBEACON_OS_EVENT_BACKEND=posix): a pipe, both ends non-blocking
// and close-on-exec. See include/beacon/os_event.hpp ("POSIX backend").
//
// The pipe's content is the event's state: empty is unsignalled, any byte in
// it is signalled. signal() adds a byte unless one is there already, a
// consuming wait reads the pipe empty, so any number of signals not yet
// consumed collapse into one signalled state, as eventfd's counter does.
//
// Why no waiter hangs and each consumption releases one waiter: as in the
// eventfd backend, only poll() blocks; every read is non-blocking. A waiter
// polls for readability, then reads; the read that gets at least one byte
// is the consumption (it keeps reading until EAGAIN, so bytes that several
// signallers raced to write are consumed with it). A waiter whose read gets
// EAGAIN lost the race to another waiter and polls again. A byte written
// after a consumer's last read stays in the pipe: it is a later signal, and
// it wakes the next poll.
#include "beacon/os_event.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
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

// A pipe, both ends close-on-exec and non-blocking. pipe2 sets the flags
// atomically; where it is missing a concurrent fork+exec may inherit the
// ends in the instant before fcntl (the best plain POSIX allows).
int make_pipe(int (&fds)[2]) noexcept {
#if defined(__linux__) || defined(__FreeBSD__) || defined(__NetBSD__) || \
    defined(__OpenBSD__) || defined(__DragonFly__)
  return ::pipe2(fds, O_CLOEXEC | O_NONBLOCK);
#else
  if (::pipe(fds) != 0) return -1;
  for (int fd : fds) {
    if (::fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
      const int err = errno;
      close_quietly(fds[0]);
      close_quietly(fds[1]);
      errno = err;
      return -1;
    }
  }
  return 0;
#endif
}

// Adds a byte to the pipe of `write_fd` unless `read_fd` is readable already
// (signalled). Async-signal-safe: poll() and write() only. Two signallers may
// both find it empty and both write: two bytes, one signal, as the reader
// drains them together. EAGAIN: the pipe is full, so signalled.
void signal_pipe(int read_fd, int write_fd, const char* what) {
  pollfd p{read_fd, POLLIN, 0};
  int r;
  do {
    r = fault::interruptible([&] { return ::poll(&p, 1, 0); });
  } while (r < 0 && errno == EINTR);
  if (r < 0) throw_errno(errno, what);
  if (r == 1 && (p.revents & POLLIN)) return;  // signalled already
  if (p.revents & POLLNVAL) throw_errno(EBADF, what);
  const char byte = 1;
  for (;;) {
    const ssize_t n = fault::interruptible([&] { return ::write(write_fd, &byte, 1); });
    if (n == 1) return;
    if (n >= 0) throw_errno(EIO, what);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;  // full: signalled
    throw_errno(errno, what);
  }
}

// 0 if `read_fd` and `write_fd` are the read and write ends of a pipe (one
// pipe, where the system lets us tell), else the errno value saying why not.
int pipe_check(int read_fd, int write_fd) {
  if (read_fd < 0 || write_fd < 0 || ::fcntl(read_fd, F_GETFD) < 0 ||
      ::fcntl(write_fd, F_GETFD) < 0)
    return EBADF;
  struct stat rs {
  }, ws{};
  if (::fstat(read_fd, &rs) != 0 || ::fstat(write_fd, &ws) != 0) return errno;
  if (!S_ISFIFO(rs.st_mode) || !S_ISFIFO(ws.st_mode)) return EINVAL;
#ifdef __linux__
  // Linux: both ends of one pipe are one inode of pipefs.
  if (rs.st_dev != ws.st_dev || rs.st_ino != ws.st_ino) return EINVAL;
#endif
  const int rfl = ::fcntl(read_fd, F_GETFL), wfl = ::fcntl(write_fd, F_GETFL);
  if (rfl < 0 || wfl < 0) return errno;
  if ((rfl & O_ACCMODE) != O_RDONLY || (wfl & O_ACCMODE) != O_WRONLY) return EINVAL;
  return 0;
}

// Makes `fds` close-on-exec and non-blocking; on failure puts back what it
// changed and returns the errno value.
int adopt_flags(const int* fds, int count) {
  int fd_flags[2], fl_flags[2];
  for (int i = 0; i < count; ++i) {
    fd_flags[i] = ::fcntl(fds[i], F_GETFD);
    fl_flags[i] = ::fcntl(fds[i], F_GETFL);
    if (fd_flags[i] < 0 || fl_flags[i] < 0) return errno;
  }
  for (int i = 0; i < count; ++i) {
    if (::fcntl(fds[i], F_SETFD, fd_flags[i] | FD_CLOEXEC) < 0 ||
        ::fcntl(fds[i], F_SETFL, fl_flags[i] | O_NONBLOCK) < 0) {
      const int err = errno;
      for (int j = 0; j <= i; ++j) {
        (void)::fcntl(fds[j], F_SETFD, fd_flags[j]);
        (void)::fcntl(fds[j], F_SETFL, fl_flags[j]);
      }
      return err;
    }
  }
  return 0;
}

}  // namespace

os_event::os_event() : fd_(-1) {
  int fds[2];
  if (make_pipe(fds) != 0) throw_errno(errno, "beacon::os_event: pipe");
  fd_ = fds[0];
  write_fd_ = fds[1];
}

os_event::~os_event() {
  close_quietly(fd_);
  close_quietly(write_fd_);
}

os_event& os_event::operator=(os_event&& other) noexcept {
  if (this != &other) {
    close_quietly(fd_);
    close_quietly(write_fd_);
    fd_ = other.fd_;
    write_fd_ = other.write_fd_;
    other.fd_ = other.write_fd_ = -1;
  }
  return *this;
}

int os_event::release() noexcept {
  close_quietly(write_fd_);
  write_fd_ = -1;
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

// Async-signal-safe (os_event.hpp): poll() and write() are on POSIX's list;
// no lock, no allocation, errno given back as it was found.
void os_event::signal() const {
  static constexpr const char* what = "beacon::os_event::signal";
  const int rd = checked(fd_, what);
  const int wr = checked(write_fd_, what);
  const int saved_errno = errno;
  signal_pipe(rd, wr, what);
  errno = saved_errno;
}

os_event os_event::try_clone() const {
  static constexpr const char* what = "beacon::os_event::try_clone";
  const int rd = checked(fd_, what);
  const int wr = checked(write_fd_, what);
  const int rcopy = ::fcntl(rd, F_DUPFD_CLOEXEC, 0);
  if (rcopy < 0) throw_errno(errno, what);
  const int wcopy = ::fcntl(wr, F_DUPFD_CLOEXEC, 0);
  if (wcopy < 0) {
    const int err = errno;
    close_quietly(rcopy);
    throw_errno(err, what);
  }
  return os_event(adopt_t{}, rcopy, wcopy);
}

// Async-signal-safe: fcntl, dup2 and close only; errno left as found.
std::error_code os_event::inherit_as(int read_target, int write_target) const noexcept {
  const auto code = [](int e) { return std::error_code(e, std::system_category()); };
  if (fd_ < 0 || write_fd_ < 0 || read_target < 0 || write_target < 0) return code(EBADF);
  if (read_target == write_target) return code(EINVAL);
  const int saved_errno = errno;
  // The targets may be the ends' own numbers in any arrangement (the agreed
  // numbers are fixed; where the pipe landed is not). The read end goes
  // first; if the write end sits on its target, it is first copied aside,
  // so that dup2 closing it there loses nothing. The write end's target may
  // then be the read end's old number: that copy is no longer needed.
  int write_src = write_fd_;
  int aside = -1;
  if (write_src == read_target && fd_ != read_target) {
    aside = ::fcntl(write_src, F_DUPFD_CLOEXEC, 0);
    if (aside < 0) {
      const int err = errno;
      errno = saved_errno;
      return code(err);
    }
    write_src = aside;
  }
  int err = inherit_fd_as(fd_, read_target);
  if (!err) err = inherit_fd_as(write_src, write_target);
  close_quietly(aside);
  errno = saved_errno;
  return code(err);
}

os_event os_event::from_native_handle(int fd) {
  // One end of a pipe is not an event: the read end cannot signal, the
  // write end cannot wait. Documented in os_event.hpp.
  throw_errno(fd < 0 ? EBADF : EINVAL, "beacon::os_event::from_native_handle");
}

os_event os_event::from_native_handles(int read_fd, int write_fd) {
  static constexpr const char* what = "beacon::os_event::from_native_handles";
  if (const int err = pipe_check(read_fd, write_fd)) throw_errno(err, what);
  const int fds[2] = {read_fd, write_fd};
  if (const int err = adopt_flags(fds, 2)) throw_errno(err, what);
  return os_event(adopt_t{}, read_fd, write_fd);
}

void send_os_event(int unix_socket, const os_event& event) {
  static constexpr const char* what = "beacon::send_os_event";
  const int fds[2] = {checked(event.native_handle(), what),
                      checked(event.write_handle(), what)};
  detail::platform::send_fds(unix_socket, fds, what);
}

os_event receive_os_event(int unix_socket) {
  static constexpr const char* what = "beacon::receive_os_event";
  // The first two descriptors are the event; receive_fds closes any others.
  int fds[2];
  const std::size_t got = detail::platform::receive_fds(unix_socket, fds, what);
  const auto fail = [&](int err) {
    close_quietly(fds[0]);
    close_quietly(fds[1]);
    throw_errno(err, what);
  };
  if (got == 1) fail(EINVAL);  // one end of a pipe (or an eventfd): no event here
  if (const int err = pipe_check(fds[0], fds[1])) fail(err);
  if (const int err = adopt_flags(fds, 2)) fail(err);
  return os_event(os_event::adopt_t{}, fds[0], fds[1]);
}

namespace detail::platform {

// poll() bounded by `d`: no limit for never, else the time left rounded up
// to milliseconds, so poll never times out before the deadline.
int poll_until(pollfd* p, nfds_t n, deadline d) {
  if (d.is_never()) return ::poll(p, n, -1);
  const std::int64_t left = d.remaining_ns();
  return ::poll(
      p, n,
      static_cast<int>(std::min<std::int64_t>((left + 999'999) / 1'000'000, INT_MAX)));
}

// Reads the pipe empty without blocking. True if at least one byte was there
// (the signal is consumed), false if it was empty (unsignalled, or another
// waiter consumed it first).
bool try_consume(int fd, const char* what) {
  bool consumed = false;
  char buf[64];
  for (;;) {
    const ssize_t n = fault::interruptible([&] { return ::read(fd, buf, sizeof buf); });
    if (n > 0) {
      consumed = true;
      continue;  // more bytes: signals that raced, collapsed into this one
    }
    if (n == 0) throw_errno(EPIPE, what);  // every write end is closed
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return consumed;
    throw_errno(errno, what);
  }
}

// A private pipe: signal() writes a byte, read_fd() is its read end.
stop_wake::stop_wake(const char* what) {
  int fds[2];
  if (make_pipe(fds) != 0) throw_errno(errno, what);
  rd_ = fds[0];
  wr_ = fds[1];
}

stop_wake::~stop_wake() {
  close_quietly(rd_);
  close_quietly(wr_);
}

void stop_wake::signal() const noexcept {
  const char byte = 1;
  (void)::write(wr_, &byte, 1);  // one byte into an empty pipe: cannot fail
}

}  // namespace detail::platform

}  // namespace beacon
