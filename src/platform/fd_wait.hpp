// The wait loops of the two POSIX os_event backends (os_event_linux.cpp: an
// eventfd, os_event_posix.cpp: a pipe). Each backend gives its consuming
// read and its poll; the loops are the same.
//
// Why no waiter hangs and each consumption releases one waiter: only the
// poll blocks; every read is non-blocking. A waiter polls for readability,
// then makes its consuming read; a read that finds nothing lost the race to
// another waiter, and the waiter polls again. A signal that lands after a
// consumption stays for the next poll.
#pragma once

#include <poll.h>

#include <cerrno>

#include "beacon/deadline.hpp"
#include "fault.hpp"
#include "fd_passing.hpp"

namespace beacon::detail::platform {

// Waits until `consume(fd, what)` (the backend's non-blocking consuming
// read: false when nothing was there) succeeds, or `d` passes: then one last
// look. `poll(p, n, d)` polls n descriptors, bounded by `d` (never: none).
template <class Consume, class Poll>
bool wait_consume(int fd, deadline d, const char* what, Consume consume, Poll poll) {
  for (;;) {
    // Recomputed from the absolute deadline on every round, so EINTR and
    // lost races never extend the wait.
    if (!d.is_never() && d.remaining_ns() == 0) return consume(fd, what);  // last look
    pollfd p{fd, POLLIN, 0};
    const int r = fault::interruptible([&] { return poll(&p, 1, d); });
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, what);
    }
    // r == 0: the kernel's timer expired; the loop re-checks our clock, so a
    // timer that fires a little early cannot make us return false early.
    if (r == 0) continue;
    if (p.revents & POLLNVAL) throw_errno(EBADF, what);
    if (consume(fd, what)) return true;
    // Nothing: another waiter consumed the signal between our poll and read.
  }
}

// As wait_consume with no deadline, but false once `wake_fd` (a private
// descriptor that only a stop callback makes readable) is readable.
template <class Consume, class Poll>
bool wait_consume_or_wake(int fd, int wake_fd, const char* what, Consume consume,
                          Poll poll) {
  pollfd p[2] = {{fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
  for (;;) {
    const int r = fault::interruptible([&] { return poll(p, 2, deadline::never()); });
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, what);
    }
    if (p[0].revents & POLLNVAL) throw_errno(EBADF, what);
    // Our event first: when the signal and the stop are both there, the wait
    // can succeed, so it does. Giving up never consumes, so a signal that
    // lands after this look stays for the next wait.
    if (p[0].revents != 0 && consume(fd, what)) return true;
    if (p[1].revents != 0) return false;
    // Nothing: another waiter consumed the signal between our poll and read.
  }
}

}  // namespace beacon::detail::platform
