// os_event: an auto-reset event that lives in the kernel (a Linux eventfd), so
// threads of different processes can signal and wait on it, and a
// wait_context (wait_context.hpp) can wait on many of them with other
// descriptors at once. After crosvm's base::Event, with what crosvm leaves
// undefined made defined: any number of waiters, close-on-exec everywhere,
// EINTR-proof deadlines, and adoption that checks what it adopts.
//
// Linux only. The system calls live in src/platform/os_event_linux.cpp.
#pragma once

#include <chrono>
#include <stop_token>

#include "beacon/detail/deadline.hpp"

namespace beacon {

/// A move-only owner of one eventfd descriptor (counter mode, close-on-exec,
/// non-blocking). The descriptor refers to a kernel counter; a clone
/// (`try_clone`), a copy sent over a Unix socket (`send_os_event`), or a copy
/// inherited by fork() refers to the same counter, so a signal through any of
/// them is seen through all.
///
/// Contract:
///  * Auto-reset: `signal()` makes the event signalled; signals not yet
///    consumed collapse into that one state. A successful `wait*()` or
///    `try_wait()` consumes it, leaving the event unsignalled.
///  * Any number of signallers and of waiters, threads or processes, at once.
///    Each consumption releases exactly one waiter, so k quick signals release
///    between 1 and k waiters; a waiter never hangs on a signal another waiter
///    consumed (waits block in poll(), then read without blocking, and poll
///    again if someone else was faster; the descriptor is never read blocking).
///  * `signal()` on a saturated counter succeeds: the event is signalled.
///  * Timed waits accept any duration or time point of any clock, never
///    overflow, and never return false before the time has passed (rounding
///    is up; EINTR is retried against an absolute CLOCK_MONOTONIC deadline; a
///    wait_until on a non-steady clock re-checks that clock after timing out).
///  * Every member except the destructor, moves, `native_handle()` and
///    `release()` reports OS errors as std::system_error carrying errno.
///  * Members are const where they act on the kernel object, not the handle:
///    const members may be called concurrently on one os_event.
///
/// Memory ordering: a `signal()` happens-before the wait that consumes it
/// (whichever thread or process that is): the kernel orders the counter's
/// update and read under its lock. Actions taken before `signal()` are
/// visible after the consuming wait returns true (for memory shared between
/// processes: with the usual shared-memory rules; the syscalls are full
/// barriers).
///
/// Coroutines: an os_event is not awaitable itself (`co_await ev` does not
/// compile, unlike the in-process primitives), because its signaller may be
/// another process, which cannot resume a coroutine of this one. A coroutine
/// awaits an os_event through whatever watches descriptors for it: a
/// wait_context on a thread of its own that resumes the coroutine, or an
/// executor's reactor (e.g. Asio's `posix::stream_descriptor::async_wait` on
/// `native_handle()` for readability), followed by `try_wait()` to consume
/// the signal (false: another waiter was faster; wait again).
///
/// Moved-from state: `native_handle()` is -1, the destructor and `release()`
/// do nothing (`release()` returns -1), every other member throws
/// std::system_error(EBADF). Assigning a new event makes it usable again.
///
/// Lifetime: destroying an os_event closes its descriptor only; clones and
/// copies in other processes keep the counter alive. Destroying it while
/// another thread of this process waits on it is undefined (as for any
/// object); signal a clone instead. A signal is never lost by a waiter giving
/// up: only a successful wait consumes.
///
/// Signal handlers: `signal()` is async-signal-safe, and it is beacon's way
/// to wake a waiter from a signal handler: it makes one write(2), takes no
/// lock, allocates nothing, and leaves errno as it found it. Signal an
/// os_event in the handler and let a thread (or a wait_context) wait on it
/// and do the rest. The in-process primitives' `set()` / `release()` /
/// `notify*()` are not async-signal-safe (a handler can interrupt its own
/// thread inside the parking lot and spin forever on a lock it holds). The
/// other os_event members are not async-signal-safe either (they may throw
/// or block). `signal()` throws only when it fails (a moved-from event, a
/// closed descriptor), which a handler must rule out beforehand.
///
/// fork(): the child inherits the descriptor and may use its copy of the
/// os_event normally (signal, wait, clone, send, destroy): parent and child
/// share the counter, and destroying the child's copy closes only the child's
/// descriptor. The flags O_NONBLOCK (which os_event relies on) belong to the
/// shared open file description: do not clear it in any process. exec(): the
/// descriptor is close-on-exec, so an exec'd program inherits nothing; to pass
/// an event to one, dup2() it to a descriptor of its choice in the child
/// before exec (dup2 clears close-on-exec) and adopt it there with
/// `from_native_handle`.
///
/// Example:
/// @code
///  beacon::os_event ready;
///  if (fork() == 0) {          // the child shares the counter
///    do_work();
///    ready.signal();
///    _exit(0);
///  }
///  if (!ready.wait_for(std::chrono::seconds(5))) report_stuck_child();
/// @endcode
class os_event {
 public:
  /// A new, unsignalled event. Throws std::system_error (EMFILE, ENFILE, ...).
  os_event();
  /// Closes the descriptor (nothing when moved-from).
  ~os_event();
  /// Takes over `other`'s descriptor; `other` is left moved-from.
  os_event(os_event&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  /// Closes this event's descriptor, then takes over `other`'s.
  os_event& operator=(os_event&& other) noexcept;
  os_event(const os_event&) = delete;
  os_event& operator=(const os_event&) = delete;

  /// Makes the event signalled (wakes at least one waiter if any). Never
  /// blocks; succeeds also when the counter is saturated. Async-signal-safe:
  /// may be called from a signal handler (see the class comment).
  void signal() const;

  /// Blocks until the event is signalled and consumes the signal.
  void wait() const { (void)wait_deadline(deadline::never()); }

  /// Blocks until the event is signalled and consumes the signal (true), or
  /// until a stop is requested through `stop` (false; nothing consumed, so a
  /// signal that comes with the stop stays for the next wait). If the event
  /// is signalled already, the wait succeeds even when a stop was requested
  /// before the call. A token that can never be stopped makes it a plain
  /// wait(). A wait that has to block with a stoppable token opens a private
  /// eventfd for its duration (the stop callback signals it, waking only this
  /// wait), so it can fail with std::system_error (EMFILE...).
  bool wait(std::stop_token stop) const;

  /// Consumes the signal if the event is signalled; never blocks.
  bool try_wait() const;

  /// Waits at most `d` (zero or negative: try once). True if a signal was
  /// consumed; false only after `d` has passed.
  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& d) const {
    return wait_deadline(deadline::after(d));
  }

  /// Waits until `t` of any clock. True if a signal was consumed; false only
  /// once `Clock::now() >= t`.
  template <class Clock, class Duration>
  bool wait_until(const std::chrono::time_point<Clock, Duration>& t) const {
    return detail::wait_until_clock(t, [this](deadline d) { return wait_deadline(d); });
  }

  /// Makes the event unsignalled (consumes a pending signal, if any).
  void reset() const;

  /// A new os_event for the same kernel counter, on a new close-on-exec
  /// descriptor (F_DUPFD_CLOEXEC).
  os_event try_clone() const;

  /// The eventfd descriptor (-1 when moved-from), for poll/epoll/io_uring or
  /// to pass to another process. It stays owned by *this: do not close it.
  int native_handle() const noexcept { return fd_; }

  /// Gives up ownership: returns the descriptor (-1 when moved-from) and
  /// leaves *this moved-from. The caller closes it.
  [[nodiscard]] int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

  /// Adopts `fd` if it is an eventfd in counter mode (checked through
  /// /proc/self/fd and /proc/self/fdinfo) and makes it close-on-exec and
  /// non-blocking (O_NONBLOCK is shared with every other descriptor of the
  /// same open file description). On failure throws std::system_error
  /// (EBADF: not open; EINVAL: not an eventfd, or a semaphore-mode one;
  /// another errno if /proc cannot tell) and leaves `fd` untouched and the
  /// caller's.
  ///
  /// A semaphore-mode eventfd (EFD_SEMAPHORE) is refused because each read
  /// takes only 1 from it: signals would not collapse and reset() would leave
  /// it signalled. Limitation: fdinfo shows the mode ("eventfd-semaphore:")
  /// only since Linux 5.2; on older kernels nothing short of reading the
  /// counter tells the modes apart, and such a descriptor is accepted.
  static os_event from_native_handle(int fd);

 private:
  struct adopt_t {};
  os_event(adopt_t, int fd) noexcept : fd_(fd) {}
  // Waits until consumed (true) or `d` passed (false). Non-template, so the
  // system calls stay in src/platform.
  bool wait_deadline(deadline d) const;

  // The owned eventfd; -1 when moved-from or released.
  int fd_;

  friend os_event receive_os_event(int unix_socket);
};

/// Sends a copy of `event`'s descriptor over the connected Unix-domain socket
/// `unix_socket` (SCM_RIGHTS, with one byte of data so stream sockets carry
/// it; MSG_NOSIGNAL, so a closed peer gives EPIPE rather than SIGPIPE).
/// Blocks if the socket is blocking and full. Throws std::system_error.
void send_os_event(int unix_socket, const os_event& event);

/// Receives one event sent by send_os_event. The new descriptor is
/// close-on-exec from the moment it exists (MSG_CMSG_CLOEXEC) and is checked
/// as `from_native_handle` checks (an eventfd in counter mode). The peer is
/// not trusted: a message carrying several descriptors yields the first, and
/// every other one is closed; no descriptor a message brings stays open
/// unless it is in the returned event. Throws std::system_error, having
/// closed every received descriptor: ECONNRESET when the peer closed the
/// socket, EBADMSG when a message came without a descriptor, EINVAL when the
/// descriptor is no eventfd or a semaphore-mode one, EMSGSIZE when the
/// ancillary data came truncated (MSG_CTRUNC: other control messages beside
/// the descriptors, such as credentials on a socket with SO_PASSCRED, or no
/// room left in this process's descriptor table), other errno values from
/// recvmsg().
os_event receive_os_event(int unix_socket);

}  // namespace beacon
