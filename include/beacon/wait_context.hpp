// wait_context<Token>: waits on many descriptors at once (os_events, sockets,
// pipes, other wait_contexts) and reports which are ready, each with the
// caller's token. A thin layer over Linux epoll, after crosvm's
// base::WaitContext, with an idempotent remove and a result buffer that grows
// with the number of registered descriptors.
//
// Backends (as os_event's, os_event.hpp): epoll on Linux
// (src/platform/wait_context_linux.cpp), poll() where os_event is a pipe
// (src/platform/wait_context_posix.cpp), WaitForMultipleObjects on Windows
// (src/platform/wait_context_win32.cpp); see "Other backends" below.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <type_traits>
#include <vector>

#include "beacon/detail/deadline.hpp"
#include "beacon/detail/wait_set.hpp"
#include "beacon/os_event.hpp"

namespace beacon {

/// An epoll set: register descriptors with a token each, then wait for some of
/// them to become ready.
///
/// Contract:
///  * `Token` is any trivially copyable type of at most 8 bytes (an index, an
///    enum, a pointer, a small struct); it is stored in the epoll entry.
///  * Level-triggered: wait() reports every ready descriptor and consumes
///    nothing. In particular it does not consume an os_event's signal: after
///    wait() reports an os_event readable, call its try_wait() (not wait():
///    another thread or process may have consumed the signal meanwhile, and
///    try_wait() then says false instead of blocking). An unconsumed
///    signalled os_event is reported again by the next wait().
///  * add() of a descriptor already registered, of a bad descriptor (-1,
///    closed, or of a kind epoll cannot watch) throws std::system_error;
///    modify() of one not registered throws; remove() of one not registered
///    (never added, removed already, closed) does nothing.
///  * wait(), wait_for(d), wait_until(t) return the ready descriptors as a
///    span that stays valid until the next wait or the context's destruction;
///    empty on time-out. Timed waits follow beacon's deadline rules (any
///    clock, no overflow, round up, EINTR retried against an absolute
///    deadline). The internal buffer grows with the number registered, so one
///    wait reports every ready descriptor (up to 2^20 at once; more are
///    reported by the following waits).
///  * Thread safety: add/modify/remove may be called from any thread, also
///    while another thread waits (the waiter sees the change in its current
///    wait or the next one). Call the wait members from one thread at a time:
///    they share the result buffer.
///  * native_handle() is the epoll descriptor (close-on-exec). It is readable
///    while some registered descriptor is ready, so a context can be
///    registered in another wait_context or in any event loop.
///
/// fork(): a forked child's copy of a wait_context is the parent's epoll
/// set, not a copy of it: epoll keeps its registrations in the open file
/// description, which fork shares. add(), modify() and remove() in either
/// process change what both processes' waits report (a child's remove()
/// takes the entry away from the parent too), and both see the same
/// readiness. A child that needs a set of its own assigns a new one
/// (`ctx = wait_context<Token>{}`: this closes only the child's inherited
/// descriptor) and adds what it wants; a child that only waits, changing
/// nothing, may use the shared one. The library does not detect fork: it
/// keeps no list of registrations from which it could rebuild the set.
///
/// Memory ordering: a signal() on a registered os_event happens-before the
/// wait() that reports it (through the kernel's locks), and so before the
/// try_wait() that then consumes it.
///
/// Lifetime: a descriptor must be removed before it is closed if it may be
/// added again or if the caller needs remove() to keep an exact count; epoll
/// itself drops an entry once every descriptor of its open file description is
/// closed. Destroying the context closes the epoll descriptor; registered
/// descriptors stay open and the caller's. A moved-from context has
/// native_handle() == -1 and its other members throw std::system_error(EBADF).
///
/// Other backends:
///  * POSIX (BEACON_OS_EVENT_PIPE): the registrations live in the process
///    (a list handed to poll(), with a private pipe that wakes a waiting
///    poll when the list changes). The contract above holds, except that
///    there is no descriptor to nest: native_handle() is -1 (register the
///    inner descriptors in the outer context instead); add() accepts any
///    open descriptor poll() accepts (regular files are always ready); a
///    descriptor closed without remove() is dropped at the next wait (poll
///    says POLLNVAL), as epoll drops it. A forked child gets a copy of the
///    list: its changes and the parent's are independent (unlike epoll).
///  * Windows (BEACON_OS_EVENT_WIN32): a context waits on os_events and on
///    any waitable HANDLE (process, thread, waitable timer, mutex,
///    semaphore, event) with WaitForMultipleObjects: `add(handle, token)`,
///    `modify(handle, token)`, `remove(handle)`; no io_interest, and
///    `triggered::readable` means signalled (the other flags stay false but
///    `error`, set for an abandoned mutex). At most 63 handles per context
///    (WaitForMultipleObjects' 64, less the context's own wake-up event):
///    add() beyond throws std::length_error. A wait does not consume an
///    os_event's signal (it sets the event again after WaitForMultipleObjects
///    took it, so a concurrent try_wait elsewhere may miss it in that
///    instant), but it does what any Win32 wait does to other handles: it
///    takes an auto-reset event's signal, a semaphore's count, a mutex.
///    There is no native handle (no nesting). A handle must be removed
///    before it is closed (a closed one fails the wait with
///    ERROR_INVALID_HANDLE). Errors are std::system_error with
///    GetLastError() values.
///
/// Example:
/// @code
///  enum class source : std::uint8_t { stop, job };
///  beacon::wait_context<source> ctx;
///  ctx.add(stop_event, source::stop);
///  ctx.add(job_event, source::job);
///  for (;;)
///    for (const auto& t : ctx.wait()) {
///      if (t.token == source::stop) return;
///      if (job_event.try_wait()) run_jobs();
///    }
/// @endcode
template <class Token>
class wait_context {
  static_assert(std::is_trivially_copyable_v<Token>,
                "wait_context<Token>: Token must be trivially copyable");
  static_assert(sizeof(Token) <= sizeof(std::uint64_t),
                "wait_context<Token>: Token must fit in 8 bytes (epoll_data)");

 public:
  wait_context() = default;  ///< creates the epoll descriptor; may throw
  /// Takes over the epoll descriptor; the source is left moved-from.
  wait_context(wait_context&&) noexcept = default;
  /// Closes this context's epoll descriptor, then takes over the source's.
  wait_context& operator=(wait_context&&) noexcept = default;
  wait_context(const wait_context&) = delete;
  wait_context& operator=(const wait_context&) = delete;

#if BEACON_OS_EVENT_WIN32
  /// Registers `event`: reported readable while signalled (not consumed).
  /// Throws std::length_error past 63 handles, std::system_error if it is
  /// registered already or moved-from.
  void add(const os_event& event, Token token) {
    set_.add(event.native_handle(), true, bits(token));
  }
  /// Registers any waitable HANDLE `handle` (see "Other backends").
  void add(os_event::native_handle_type handle, Token token) {
    set_.add(handle, false, bits(token));
  }
  /// Changes the token of the registered `handle`; throws std::system_error
  /// if it is not registered.
  void modify(os_event::native_handle_type handle, Token token) {
    set_.modify(handle, bits(token));
  }
  /// Unregisters `handle`; does nothing if it is not registered.
  void remove(os_event::native_handle_type handle) { set_.remove(handle); }
  /// Unregisters `event`; does nothing if it is not registered.
  void remove(const os_event& event) { set_.remove(event.native_handle()); }
#else
  /// Registers `event` for readability (= signalled).
  void add(const os_event& event, Token token);  // defined after io_interest
  /// Registers descriptor `fd` for `interest`. Throws std::system_error if it
  /// is registered already or is bad (-1, closed, a kind epoll cannot watch).
  void add(int fd, io_interest interest, Token token) {
    set_.add(fd, interest, bits(token));
  }
  /// Changes the interest and token of the registered `fd`; throws
  /// std::system_error if it is not registered.
  void modify(int fd, io_interest interest, Token token) {
    set_.modify(fd, interest, bits(token));
  }
  /// Unregisters `fd`; does nothing if it is not registered.
  void remove(int fd) { set_.remove(fd); }
  /// Unregisters `event`; does nothing if it is not registered.
  void remove(const os_event& event) { set_.remove(event.native_handle()); }
#endif

  /// Blocks until a registered descriptor is ready; returns every ready one
  /// (valid until the next wait or the context's destruction).
  std::span<const triggered<Token>> wait() {
    return convert(set_.wait(deadline::never()));
  }
  /// As wait(), for at most `d` (rounded up); empty on time-out.
  template <class Rep, class Period>
  std::span<const triggered<Token>> wait_for(
      const std::chrono::duration<Rep, Period>& d) {
    return convert(set_.wait(deadline::after(d)));
  }
  /// As wait(), until `t` on its clock; empty on time-out.
  template <class Clock, class Duration>
  std::span<const triggered<Token>> wait_until(
      const std::chrono::time_point<Clock, Duration>& t) {
    // beacon's shared deadline code: another clock may have jumped relative
    // to the steady one, so a time-out counts only once that clock says `t`
    // has passed, compared without overflow (detail::wait_until_clock).
    struct batch {  // a wait's result; true (the wait is over) when not empty
      std::span<const detail::wait_ready> ready;
      explicit operator bool() const noexcept { return !ready.empty(); }
    };
    return convert(detail::wait_until_clock(t, [this](deadline d) {
                     return batch{set_.wait(d)};
                   }).ready);
  }

#if !BEACON_OS_EVENT_WIN32
  /// The epoll descriptor (close-on-exec), readable while a registered
  /// descriptor is ready; -1 when moved-from, and always -1 on the POSIX
  /// backend (no nesting there).
  int native_handle() const noexcept { return set_.native_handle(); }
#endif

 private:
  static std::uint64_t bits(const Token& token) noexcept {
    std::uint64_t b = 0;
    std::memcpy(&b, &token, sizeof token);
    return b;
  }

  static Token token_of(std::uint64_t b) noexcept {
    // Token need not be default-constructible: memcpy into raw storage
    // creates it (trivially copyable types are implicit-lifetime types).
    alignas(Token) unsigned char raw[sizeof(Token)];
    std::memcpy(raw, &b, sizeof(Token));
    return *std::launder(reinterpret_cast<Token*>(raw));
  }

  std::span<const triggered<Token>> convert(std::span<const detail::wait_ready> r) {
    out_.clear();  // keeps the capacity: allocates only past every earlier count
    for (const auto& e : r)
      out_.push_back({token_of(e.token), e.readable, e.writable, e.hungup, e.error});
    return {out_.data(), out_.size()};
  }

  detail::wait_set set_;
  std::vector<triggered<Token>> out_;  // the span returned by the last wait
};

/// What to wait for on a descriptor. Hang-up and error are always reported,
/// also for `none`.
enum class io_interest { none, read, write, read_write };

/// One ready descriptor, as reported by wait_context<Token>::wait().
template <class Token>
struct triggered {
  Token token;    ///< as given to add() / modify()
  bool readable;  ///< EPOLLIN: data, EOF, or a signalled os_event
  bool writable;  ///< EPOLLOUT
  bool hungup;    ///< EPOLLHUP or EPOLLRDHUP: the peer closed (its side)
  bool error;     ///< EPOLLERR
};

#if !BEACON_OS_EVENT_WIN32
template <class Token>
void wait_context<Token>::add(const os_event& event, Token token) {
  set_.add(event.native_handle(), io_interest::read, bits(token));
}
#endif

}  // namespace beacon
