// beacon/countdown_event.hpp — rsevents-extra CountdownEvent: set while a
// count is zero.
#pragma once

#include <cstddef>

#include "beacon/detail/basic_waitable.hpp"
#include "beacon/detail/event_cores.hpp"
#include "beacon/waitable.hpp"

namespace beacon {

/// A countdown: set while its count is zero. Waits return once the count is
/// zero and do not consume anything, like a std::latch that can be re-armed.
///
/// Contract (rsevents-extra CountdownEvent, fixed where it fell short):
/// * tick() decrements the count; reaching zero releases every waiter.
///   Ticking a zero count is a precondition violation: it asserts in debug
///   builds and leaves the count at zero in release builds.
/// * increment(n) adds n; on a zero count the event becomes unset again
///   (rsevents-extra kept it set). Overflow throws std::overflow_error and
///   changes nothing.
/// * reset(count) sets the count; reset(0) releases every waiter, reset(n > 0)
///   makes a set event unset again. A count above max_count() throws
///   std::invalid_argument (also from the constructor).
/// * Waiters blocked when the count reaches zero are all released, even if
///   increment() follows at once. tick() that does not reach zero, and one
///   that does with nobody waiting, is one atomic decrement (fetch_sub, no
///   retry loop under contention): no lock, no system call.
/// * increment() and reset() may wait briefly (spins, then yields) while a
///   wait_all (wait_many.hpp) holds the zero count for its atomic
///   acquisition; tick() never waits for it.
///
/// Memory ordering: everything a thread did before its tick() or reset() is
/// visible to a thread whose wait returns because it saw that zero.
///
/// Signal handlers: tick() and increment() is not async-signal-safe: it may take a
/// parking-lot bucket lock, and a handler that interrupts its own thread
/// while that thread holds the lock spins forever. From a handler, call
/// os_event::signal() (os_event.hpp) and let a thread waiting on it act.
///
/// Lifetime: not copyable or movable; destroy it once no thread is in a
/// member function and no coroutine is suspended on it.
///
/// @code
///  beacon::countdown_event done{workers};
///  for (int i = 0; i < workers; ++i) pool.submit([&] { work(); done.tick(); });
///  done.wait();   // or: co_await done;
/// @endcode
class countdown_event : public detail::basic_waitable<detail::countdown_core> {
 public:
  /// A countdown at `count` (set if 0); throws std::invalid_argument above
  /// max_count().
  explicit countdown_event(std::size_t count) : basic_waitable(count) {}

  /// count - 1; releases every waiter when it reaches zero.
  void tick() noexcept { core_.tick(); }
  /// count + n; throws std::overflow_error (nothing changed) past max_count().
  void increment(std::size_t n = 1) { core_.increment(n); }
  /// Sets the count; throws std::invalid_argument above max_count().
  void reset(std::size_t count) { core_.reset(count); }
  /// The count now (a relaxed snapshot).
  std::size_t count() const noexcept { return core_.count(); }
  /// The largest count: 2^62 - 1 (the count shares its word with a flag, and
  /// its top bit catches a tick below zero racing another tick).
  static constexpr std::size_t max_count() noexcept { return core_type::max_count; }

 private:
  using core_type = detail::countdown_core;
};

static_assert(sizeof(countdown_event) <= 8, "a countdown_event is at most 8 bytes");
static_assert(waitable<countdown_event>);

}  // namespace beacon
