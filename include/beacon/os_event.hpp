// os_event: an auto-reset event that lives in the kernel (a Linux eventfd), so
// threads of different processes can signal and wait on it, and a
// wait_context (wait_context.hpp) can wait on many of them with other
// descriptors at once. After crosvm's base::Event, with what crosvm leaves
// undefined made defined: any number of waiters, close-on-exec everywhere,
// EINTR-proof deadlines, and adoption that checks what it adopts.
//
// Three backends, chosen when beacon is built:
//  * eventfd (Linux): src/platform/os_event_linux.cpp (with the waits it shares with the
//    pipe backend, os_event_fd.cpp), described below;
//  * pipe (macOS, the BSDs, and Linux with -DBEACON_OS_EVENT_BACKEND=posix):
//    src/platform/os_event_posix.cpp, see "POSIX backend" below;
//  * Win32 (Windows): src/platform/os_event_win32.cpp, see "Windows" below.
#pragma once

#include <chrono>
#include <stop_token>
#include <system_error>

#include "beacon/detail/deadline.hpp"

// Which backend this build of beacon uses (one of the three is 1). The pipe
// backend is forced on Linux by CMake, which then defines BEACON_OS_EVENT_POSIX
// for beacon and every target linking it.
#if defined(_WIN32)
#define BEACON_OS_EVENT_WIN32 1
#elif defined(BEACON_OS_EVENT_POSIX) || !defined(__linux__)
#define BEACON_OS_EVENT_PIPE 1
#else
#define BEACON_OS_EVENT_EVENTFD 1
#endif

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
///  * Every member except the destructor, moves, `native_handle()`,
///    `release()` and `inherit_as()` (which returns an error_code) reports
///    OS errors as std::system_error carrying errno.
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
/// an event to one, call `inherit_as(n)` in the child before exec (it makes
/// the event available as descriptor n, whether or not it already is n) and
/// adopt it there with `from_native_handle(n)`. (A bare dup2() fails silently
/// when the descriptor already is n: dup2(n, n) keeps close-on-exec.)
///
/// POSIX backend (BEACON_OS_EVENT_PIPE): the event is a pipe, both ends
/// non-blocking and close-on-exec (pipe2 where it exists, else pipe + fcntl).
/// `signal()` writes one byte unless the pipe is readable already (a poll()
/// with zero timeout, then a write(), both async-signal-safe; a full pipe is
/// signalled); a consuming wait reads the pipe empty, so signals collapse as
/// with eventfd and each consumption releases one waiter. `native_handle()` is
/// the read end (readable = signalled, for poll or an event loop);
/// `write_handle()` the write end. `try_clone` duplicates both ends,
/// `send_os_event` sends both in one SCM_RIGHTS message and
/// `receive_os_event` expects two; `inherit_as(read_target, write_target)`
/// places both ends. `from_native_handle(fd)` cannot adopt a
/// pipe from one end and throws std::system_error(EINVAL), leaving `fd`
/// untouched; `from_native_handles(read_fd, write_fd)` adopts both ends of a
/// pipe. `release()` returns the read end and closes the write end (a
/// wait-only descriptor); `release_handles()` gives up both.
///
/// Windows (BEACON_OS_EVENT_WIN32): the event is a Win32 auto-reset event
/// (CreateEventW), and `native_handle_type` is HANDLE (void*; nullptr when
/// moved-from, where the other backends say -1). Its handle is not
/// inheritable unless made with `os_event(os_event::inheritable)`; clones are
/// never inheritable. `duplicate_to(process)` gives another process its own
/// handle to the event (DuplicateHandle) in place of SCM_RIGHTS; that process
/// adopts it with `from_native_handle`, which accepts only auto-reset events
/// (NtQueryEvent tells the kind; a manual-reset event would not consume).
/// Errors are std::system_error carrying GetLastError() values
/// (ERROR_INVALID_HANDLE where the POSIX backends say EBADF). `signal()` is
/// SetEvent; the collapse of signals and "one consumption releases one
/// waiter" are the auto-reset event's own rules.
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
///
///  // An exec'd program: the event becomes its descriptor 3 (eventfd backend).
///  if (fork() == 0) {
///    if (ready.inherit_as(3)) _exit(127);  // async-signal-safe, no throw
///    execl("./worker", "worker", "--event-fd=3", nullptr);
///    _exit(127);
///  }
///  // in ./worker: auto ev = beacon::os_event::from_native_handle(3); ev.signal();
/// @endcode
class os_event {
 public:
#if BEACON_OS_EVENT_WIN32
  /// A Win32 HANDLE.
  using native_handle_type = void*;
  /// What `native_handle()` says when moved-from.
  static constexpr native_handle_type invalid_handle = nullptr;
  /// Tag: `os_event(os_event::inheritable)` makes an inheritable handle.
  struct inheritable_t {
    explicit inheritable_t() = default;
  };
  static constexpr inheritable_t inheritable{};
  /// A new, unsignalled event whose handle child processes created with
  /// bInheritHandles inherit. Throws std::system_error.
  explicit os_event(inheritable_t);
#else
  /// A file descriptor.
  using native_handle_type = int;
  /// What `native_handle()` says when moved-from.
  static constexpr native_handle_type invalid_handle = -1;
#endif

  /// A new, unsignalled event. Throws std::system_error (EMFILE, ENFILE, ...).
  os_event();
  /// Closes the descriptor (nothing when moved-from).
  ~os_event();
  /// Takes over `other`'s descriptor; `other` is left moved-from.
  os_event(os_event&& other) noexcept : fd_(other.fd_) {
    other.fd_ = invalid_handle;
#if BEACON_OS_EVENT_PIPE
    write_fd_ = other.write_fd_;
    other.write_fd_ = -1;
#endif
  }
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
  native_handle_type native_handle() const noexcept { return fd_; }

#if BEACON_OS_EVENT_PIPE
  /// Gives up ownership: returns the pipe's read end (-1 when moved-from),
  /// closes its write end, and leaves *this moved-from. The caller closes the
  /// read end.
  [[nodiscard]] int release() noexcept;

  /// The pipe's write end (-1 when moved-from); owned by *this.
  int write_handle() const noexcept { return write_fd_; }
  /// Both ends of the pipe.
  struct pipe_handles {
    int read;   ///< the read end
    int write;  ///< the write end
  };
  /// Gives up ownership of both ends (-1, -1 when moved-from) and leaves
  /// *this moved-from. The caller closes them.
  [[nodiscard]] pipe_handles release_handles() noexcept {
    const pipe_handles h{fd_, write_fd_};
    fd_ = write_fd_ = -1;
    return h;
  }
  /// Adopts the two ends of a pipe (both must be FIFOs, `read_fd` open for
  /// reading, `write_fd` for writing; on Linux also checked to be one pipe)
  /// and makes both close-on-exec and non-blocking. On failure throws
  /// std::system_error (EBADF, EINVAL) and leaves both untouched and the
  /// caller's.
  static os_event from_native_handles(int read_fd, int write_fd);
#else
  /// Gives up ownership: returns the descriptor (-1 when moved-from) and
  /// leaves *this moved-from. The caller closes it.
  [[nodiscard]] native_handle_type release() noexcept {
    const native_handle_type fd = fd_;
    fd_ = invalid_handle;
    return fd;
  }
#endif

#if !BEACON_OS_EVENT_WIN32
#if BEACON_OS_EVENT_PIPE
  /// Makes the pipe's read end available as `read_target` and its write end
  /// as `write_target` in a program this process execs; as the eventfd
  /// form below, per end. The targets must differ (EINVAL). They may be the
  /// ends' own numbers in any arrangement (swapped, or one end's target the
  /// other end's number); where a target replaced one of the event's own
  /// descriptors, that descriptor now holds the other end, so the event is
  /// then only good for the exec that follows (destroying it would close a
  /// target). If the second end fails, the first target stays made (the
  /// caller's to close).
  [[nodiscard]] std::error_code inherit_as(int read_target,
                                           int write_target) const noexcept;
#else
  /// Makes the event available as descriptor `target_fd` in a program this
  /// process execs (the exec'd program adopts it with
  /// `from_native_handle(target_fd)`): if the event's descriptor already is
  /// `target_fd`, clears its close-on-exec flag; otherwise dup2()s it to
  /// `target_fd` (a descriptor open there is closed first, as dup2 does), and
  /// the new descriptor is not close-on-exec. Returns the errno as an
  /// error_code (EBADF: moved-from, or a negative or too large `target_fd`;
  /// 0 on success) rather than throwing: it is async-signal-safe (fcntl and
  /// dup2 only), for a forked child of a multithreaded process, between
  /// fork and exec, where little else is allowed.
  ///
  /// Lifetime: a new `target_fd` belongs to the caller (it is inherited by
  /// every exec of this process until closed; the exec replaces the process,
  /// so usually nothing needs closing). The os_event still owns its own
  /// descriptor and closes it when destroyed: in the same-number case that is
  /// `target_fd` itself, which must then stay alive until the exec.
  [[nodiscard]] std::error_code inherit_as(int target_fd) const noexcept;
#endif
#endif

#if BEACON_OS_EVENT_WIN32
  /// Duplicates the event's handle into `process` (a process handle with
  /// PROCESS_DUP_HANDLE access) and returns the handle value valid in that
  /// process (meaningless in this one): the Windows way to hand an event to
  /// another process, which adopts it with `from_native_handle`. Not
  /// inheritable unless `inheritable_in_target`. Throws std::system_error.
  native_handle_type duplicate_to(native_handle_type process,
                                  bool inheritable_in_target = false) const;
#endif

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
  ///
  /// Windows: adopts `fd` (a HANDLE) if it is an auto-reset event with
  /// EVENT_QUERY_STATE, SYNCHRONIZE and EVENT_MODIFY_STATE access; the handle
  /// keeps its inheritability. Otherwise throws std::system_error
  /// (ERROR_INVALID_HANDLE: not a handle; ERROR_INVALID_PARAMETER: not an
  /// event, or a manual-reset one) and leaves it untouched.
  ///
  /// POSIX backend: throws std::system_error(EINVAL) (a pipe cannot be
  /// adopted from one end; see from_native_handles), EBADF for -1.
  static os_event from_native_handle(native_handle_type fd);

 private:
  struct adopt_t {};
  os_event(adopt_t, native_handle_type fd) noexcept : fd_(fd) {}
#if BEACON_OS_EVENT_PIPE
  os_event(adopt_t, int read_fd, int write_fd) noexcept
      : fd_(read_fd), write_fd_(write_fd) {}
#endif
  // Waits until consumed (true) or `d` passed (false). Non-template, so the
  // system calls stay in src/platform.
  bool wait_deadline(deadline d) const;

  // The owned eventfd, the pipe's read end, or the event HANDLE;
  // invalid_handle when moved-from or released.
  native_handle_type fd_;
#if BEACON_OS_EVENT_PIPE
  // The pipe's write end; -1 when moved-from or released.
  int write_fd_ = -1;
#endif

#if !BEACON_OS_EVENT_WIN32
  friend os_event receive_os_event(int unix_socket);
#endif
};

#if !BEACON_OS_EVENT_WIN32
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
#endif

}  // namespace beacon
