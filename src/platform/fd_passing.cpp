// Descriptor passing over a Unix-domain socket; see fd_passing.hpp.
#include "fd_passing.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "fault.hpp"

namespace beacon::detail::platform {

void throw_errno(int err, const char* what) {
  throw std::system_error(err, std::system_category(), what);
}

void close_quietly(int fd) noexcept {
  if (fd >= 0) (void)::close(fd);
}

int checked(int fd, const char* what) {
  if (fd < 0) throw_errno(EBADF, what);
  return fd;
}

// errno is left as found: a forked child may be between other calls that
// read it.
int inherit_fd_as(int fd, int target) noexcept {
  if (fd < 0 || target < 0) return EBADF;
  const int saved_errno = errno;
  int err = 0;
  if (fd == target) {
    // dup2(fd, fd) would do nothing, and leave close-on-exec set.
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0 || ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0) err = errno;
  } else {
    int r;
    while ((r = ::dup2(fd, target)) < 0 && errno == EINTR) {
    }
    if (r < 0) err = errno;
  }
  errno = saved_errno;
  return err;
}

namespace {

// Most descriptors one message can carry (Linux's SCM_MAX_FD): the receive
// buffer has room for them all, so whatever a peer sends arrives whole and
// every descriptor can be accounted for. A buffer of one descriptor's
// CMSG_SPACE also fits a second one, which would leak.
constexpr std::size_t max_fds = 253;

}  // namespace

void send_fds(int unix_socket, std::span<const int> fds, const char* what) {
  if (fds.empty() || fds.size() > 2) throw_errno(EINVAL, what);
  char byte = 'e';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = CMSG_SPACE(fds.size_bytes());
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(fds.size_bytes());
  std::memcpy(CMSG_DATA(c), fds.data(), fds.size_bytes());
#ifdef MSG_NOSIGNAL
  constexpr int flags = MSG_NOSIGNAL;
#else
  constexpr int flags = 0;  // macOS: SO_NOSIGPIPE on the socket is the caller's
#endif
  for (;;) {
    const ssize_t n =
        fault::interruptible([&] { return ::sendmsg(unix_socket, &msg, flags); });
    if (n == 1) return;
    if (n < 0 && errno == EINTR) continue;  // nothing was sent: send again
    throw_errno(n < 0 ? errno : EIO, what);
  }
}

std::size_t receive_fds(int unix_socket, std::span<int> out, const char* what) {
  for (int& fd : out)
    fd = -1;
  char byte;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(max_fds * sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
#ifdef MSG_CMSG_CLOEXEC
  // Close-on-exec from the moment it is installed, so a concurrent
  // fork+exec elsewhere cannot leak it.
  constexpr int flags = MSG_CMSG_CLOEXEC;
#else
  constexpr int flags = 0;  // the caller makes them close-on-exec
#endif
  ssize_t n;
  do {
    n = fault::interruptible([&] { return ::recvmsg(unix_socket, &msg, flags); });
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw_errno(errno, what);
  // Every descriptor the kernel installed in this process is ours from here
  // on: keep the first ones, close the rest, whatever happens next.
  std::size_t got = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count =
        c->cmsg_len < CMSG_LEN(0) ? 0 : (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int received;
      std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof received);
      if (got < out.size())
        out[got++] = received;
      else
        close_quietly(received);  // an extra one: a confused or hostile peer
    }
  }
  const auto fail = [&](int err) {
    for (int fd : out)
      close_quietly(fd);
    throw_errno(err, what);
  };
  // MSG_CTRUNC: ancillary data did not fit (credentials or security labels
  // beside the descriptors) or a descriptor could not be installed (the
  // table is full). The kernel dropped the rest; the message is not what was
  // sent, so refuse it, closing what did arrive.
  if (msg.msg_flags & MSG_CTRUNC) fail(EMSGSIZE);
  if (got == 0) fail(n == 0 ? ECONNRESET : EBADMSG);
  return got;
}

}  // namespace beacon::detail::platform
