// beacon/auto_reset_event.hpp — Win32 / rsevents auto-reset event, one byte.
#pragma once

#include <concepts>

#include "beacon/detail/basic_waitable.hpp"
#include "beacon/detail/event_cores.hpp"
#include "beacon/waitable.hpp"

namespace beacon {

/// An event that releases one waiter per set(), then resets itself.
///
/// Contract (Win32 SetEvent on an auto-reset event, rsevents AutoResetEvent):
/// * set() releases exactly one waiter if any is blocked, handing the signal
///   to it directly (no other thread can take it in between); with nobody
///   waiting the event becomes set, and several set() calls collapse into
///   that one set state.
/// * wait(), try_wait() and the timed waits consume the set state: of any
///   number of concurrent waiters, one set() lets exactly one through.
/// * reset() makes the event unset; it never affects waiters.
/// * Waiters are released in FIFO order. No spurious wake-up ever returns.
/// * try_wait() and reset() may wait briefly (spins, then yields) while a
///   wait_all (wait_many.hpp) holds the event for its atomic acquisition;
///   they never fail or succeed because of that hold.
/// * Threads that wait spin briefly before sleeping, but only when they may
///   use more than one CPU; set() with nobody waiting is one CAS and never a
///   system call.
///
/// Memory ordering: everything a thread did before set() is visible to the
/// thread whose wait consumes that set state (set is a release, a successful
/// wait an acquire). reset() orders nothing.
///
/// Signal handlers: set() is not async-signal-safe: it may take a
/// parking-lot bucket lock, and a handler that interrupts its own thread
/// while that thread holds the lock spins forever. From a handler, call
/// os_event::signal() (os_event.hpp) and let a thread waiting on it act.
///
/// Lifetime: not copyable or movable (the address is its identity). It may be
/// destroyed once no thread is inside a member function and no coroutine is
/// suspended on it; in particular a thread may destroy it right after its
/// wait() returned, even while the set() that released it is still returning.
///
/// @code
///  beacon::auto_reset_event work_ready;
///  std::thread worker([&] { for (;;) { work_ready.wait(); process(); } });
///  enqueue(job); work_ready.set();   // wakes the worker once
/// @endcode
class auto_reset_event : public detail::basic_event<detail::auto_reset_core> {
 public:
  /// An unset event (constexpr, constinit-able, not explicit), or one in
  /// state `initial` (explicit).
  using basic_event::basic_event;
};

static_assert(sizeof(auto_reset_event) == 1, "an auto_reset_event is one byte");
static_assert(waitable<auto_reset_event>);
static_assert(std::default_initializable<auto_reset_event>);

}  // namespace beacon
