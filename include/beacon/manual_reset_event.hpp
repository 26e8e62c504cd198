// beacon/manual_reset_event.hpp — Win32 / rsevents manual-reset event, one byte.
#pragma once

#include <concepts>

#include "beacon/detail/basic_waitable.hpp"
#include "beacon/detail/event_cores.hpp"
#include "beacon/waitable.hpp"

namespace beacon {

/// An event that, once set, lets every waiter through until it is reset.
///
/// Contract (Win32 SetEvent on a manual-reset event, rsevents ManualResetEvent):
/// * set() releases every waiter blocked at that moment, even if reset()
///   follows at once, and keeps the event set until reset().
/// * Waits do not consume: on a set event every wait returns at once (one load).
/// * No spurious wake-up ever returns. set() with nobody waiting is one
///   atomic RMW and never a system call.
/// * reset() may wait briefly (spins, then yields) while a wait_all
///   (wait_many.hpp) holds the set event for its atomic acquisition, so that
///   the event is set at the instant the wait_all takes everything.
///
/// Memory ordering: everything a thread did before set() is visible to every
/// thread whose wait (or is_set() returning true) observes that set state.
///
/// Signal handlers: set() is not async-signal-safe: it may take a
/// parking-lot bucket lock, and a handler that interrupts its own thread
/// while that thread holds the lock spins forever. From a handler, call
/// os_event::signal() (os_event.hpp) and let a thread waiting on it act.
///
/// Lifetime: not copyable or movable. It may be destroyed once no thread is
/// inside a member function and no coroutine is suspended on it, e.g. right
/// after the last waiter returned, even if set() is still returning.
///
/// @code
///  beacon::manual_reset_event ready;
///  // many threads:  ready.wait();  use(config);
///  config = load(); ready.set();   // releases all of them, now and later
/// @endcode
class manual_reset_event : public detail::basic_event<detail::manual_reset_core> {
 public:
  /// An unset event (constexpr, constinit-able, not explicit), or one in
  /// state `initial` (explicit).
  using basic_event::basic_event;

  /// Whether the event is set now (an acquire load).
  bool is_set() const noexcept { return core_.is_set(); }
};

static_assert(sizeof(manual_reset_event) == 1, "a manual_reset_event is one byte");
static_assert(waitable<manual_reset_event>);
static_assert(std::default_initializable<manual_reset_event>);

}  // namespace beacon
