// Descriptor passing over a Unix-domain socket (SCM_RIGHTS), shared by the
// two POSIX os_event backends (os_event_linux.cpp sends one eventfd,
// os_event_posix.cpp the two ends of a pipe) with the small descriptor
// helpers both use. Platform-private: only src/platform/ includes it.
#pragma once

#include <cstddef>
#include <span>

namespace beacon::detail::platform {

// Throws std::system_error(err) saying `what`.
[[noreturn]] void throw_errno(int err, const char* what);

// Closes `fd` if it is one (>= 0), ignoring errors: closed even on EINTR,
// for retrying could close a descriptor another thread just opened (Linux,
// and POSIX leaves the state unspecified).
void close_quietly(int fd) noexcept;

// `fd`, or throws EBADF if it is negative: poll() ignores negative
// descriptors, so a moved-from event would wait forever instead of failing.
int checked(int fd, const char* what);

// Makes `fd` available as `target` across exec (os_event::inherit_as): the
// same number: clears its close-on-exec flag; another: dup2 (whose new
// descriptor is not close-on-exec; a descriptor open as `target` is closed
// first, dup2's rule). Returns 0 or the errno. Async-signal-safe (fcntl and
// dup2 only), for a forked child of a multithreaded process before exec.
int inherit_fd_as(int fd, int target) noexcept;

// Sends `fds` in one message of one data byte (stream sockets drop
// ancillary data sent without data), without SIGPIPE where the system
// allows; retried on EINTR (nothing was sent). Throws std::system_error.
void send_fds(int unix_socket, std::span<const int> fds, const char* what);

// Receives one message, close-on-exec from the start where the system
// allows. Every descriptor the kernel installed is accounted for: the first
// out.size() are stored in `out`, the rest closed; returns how many were
// stored (the rest of `out` is -1). Throws std::system_error, having closed
// what arrived, when the receive fails, when the ancillary data was
// truncated (EMSGSIZE: the message is not what was sent), or when no
// descriptor came (ECONNRESET at end of stream, EBADMSG otherwise).
std::size_t receive_fds(int unix_socket, std::span<int> out, const char* what);

}  // namespace beacon::detail::platform
