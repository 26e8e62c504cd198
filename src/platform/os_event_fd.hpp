// What the two descriptor backends of os_event (os_event_linux.cpp: an
// eventfd; os_event_posix.cpp: a pipe) each supply, so that its waits are
// written once (os_event_fd.cpp): try_wait(), reset(), the timed wait and
// the wait with a stop token. One of the two backends is built.
//
// Why no waiter hangs and each consumption releases one waiter: only the
// poll blocks; every read is non-blocking. A waiter polls for readability,
// then makes its consuming read; a read that finds nothing lost the race to
// another waiter, and the waiter polls again. A signal that lands after a
// consumption stays for the next poll.
#pragma once

#include <poll.h>

#include "beacon/deadline.hpp"

namespace beacon::detail::platform {

// The consuming read of the event whose read descriptor is `fd`, never
// blocking: true if the event was signalled (now consumed), false if not
// (unsignalled, or another waiter consumed it first). Throws
// std::system_error saying `what`.
bool try_consume(int fd, const char* what);

// poll() of `n` descriptors bounded by `d` (never: no bound), never timing
// out before `d`; returns as poll() does.
int poll_until(pollfd* p, nfds_t n, deadline d);

// A private wake-up for one wait(std::stop_token): read_fd() becomes
// readable once signal() was called. signal() is called from the stop
// callback, on any thread; it cannot fail. The destructor closes it.
class stop_wake {
 public:
  explicit stop_wake(const char* what);  // throws std::system_error
  ~stop_wake();
  stop_wake(const stop_wake&) = delete;
  stop_wake& operator=(const stop_wake&) = delete;

  int read_fd() const noexcept { return rd_; }
  void signal() const noexcept;

 private:
  int rd_ = -1, wr_ = -1;  // the same eventfd, or a pipe's two ends
};

}  // namespace beacon::detail::platform
