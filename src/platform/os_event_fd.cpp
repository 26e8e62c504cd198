// The os_event members that the eventfd and pipe backends share; each
// backend gives its consuming read, its poll and its stop wake-up
// (os_event_fd.hpp, where the argument that no wake-up is lost is).
#include "os_event_fd.hpp"

#include <cerrno>
#include <stop_token>

#include "beacon/os_event.hpp"
#include "fault.hpp"
#include "fd_passing.hpp"

namespace beacon {
namespace platform = detail::platform;
namespace fault = platform::fault;
using platform::checked;
using platform::throw_errno;
using platform::try_consume;

bool os_event::try_wait() const {
  static constexpr const char* what = "beacon::os_event::try_wait";
  return try_consume(checked(fd_, what), what);
}

void os_event::reset() const {
  static constexpr const char* what = "beacon::os_event::reset";
  (void)try_consume(checked(fd_, what), what);
}

bool os_event::wait_deadline(deadline d) const {
  static constexpr const char* what = "beacon::os_event::wait";
  const int fd = checked(fd_, what);
  for (;;) {
    // Recomputed from the absolute deadline on every round, so EINTR and
    // lost races never extend the wait.
    if (!d.is_never() && d.remaining_ns() == 0)
      return try_consume(fd, what);  // last look
    pollfd p{fd, POLLIN, 0};
    const int r = fault::interruptible([&] { return platform::poll_until(&p, 1, d); });
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, what);
    }
    // r == 0: the kernel's timer expired; the loop re-checks our clock, so a
    // timer that fires a little early cannot make us return false early.
    if (r == 0) continue;
    if (p.revents & POLLNVAL) throw_errno(EBADF, what);
    if (try_consume(fd, what)) return true;
    // Nothing: another waiter consumed the signal between our poll and read.
  }
}

bool os_event::wait(std::stop_token stop) const {
  static constexpr const char* what = "beacon::os_event::wait";
  const int fd = checked(fd_, what);
  if (!stop.stop_possible()) return wait_deadline(deadline::never());
  // A wait that can succeed at once succeeds, stop or not (waitable.hpp).
  if (try_consume(fd, what)) return true;
  if (stop.stop_requested()) return false;
  // A private wake-up that the stop callback signals, polled beside ours: a
  // stop request wakes this wait and no other (signalling our own event
  // would hand a stop to another waiter as if it were a signal).
  const platform::stop_wake wake(what);
  // Declared after `wake`, so destroyed before it: ~stop_callback waits for
  // a callback already running on another thread, so no signal can reach
  // `wake` after it is closed. If stop was requested since the check above,
  // the callback runs here, at once, and the poll below returns at once.
  const std::stop_callback on_stop(std::move(stop),
                                   [&wake]() noexcept { wake.signal(); });
  pollfd p[2] = {{fd, POLLIN, 0}, {wake.read_fd(), POLLIN, 0}};
  for (;;) {
    const int r = fault::interruptible(
        [&] { return platform::poll_until(p, 2, deadline::never()); });
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, what);
    }
    if (p[0].revents & POLLNVAL) throw_errno(EBADF, what);
    // Our event first: when the signal and the stop are both there, the wait
    // can succeed, so it does. Giving up never consumes, so a signal that
    // lands after this look stays for the next wait.
    if (p[0].revents != 0 && try_consume(fd, what)) return true;
    if (p[1].revents != 0) return false;  // only the stop callback signals `wake`
    // Nothing: another waiter consumed the signal between our poll and read.
  }
}

}  // namespace beacon
