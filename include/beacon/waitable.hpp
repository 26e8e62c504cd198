// beacon/waitable.hpp — what every beacon primitive can be waited with: the
// `waitable` concept, `state`, and deadlines (beacon::deadline, declared in
// beacon/deadline.hpp and included here).
#pragma once

#include <chrono>

#include "beacon/deadline.hpp"

namespace beacon {

/// A `waitable` blocks in wait(), never blocks in try_wait(), and has timed
/// waits that accept a duration or a deadline of any clock. Each result is
/// contextually convertible to bool: true means the wait succeeded (for most
/// primitives it is `bool`; a semaphore returns `std::optional<guard>`).
///
/// Shared rules:
/// * Zero or negative durations and past deadlines mean "try once".
///   `duration::max()`, `duration<double>::max()`, deadlines centuries ahead
///   and `time_point::min()` neither overflow nor misbehave.
/// * Timed waits measure against the steady clock and never return false
///   before the requested time has passed (conversions round up). A deadline
///   on another clock is re-checked against that clock after a time-out, so a
///   clock that jumps cannot end a wait early.
/// * No spurious wake-up reaches the caller: wait() returns only when the
///   condition holds; a timed wait returns false only when time is up.
/// * Every waitable also has `wait(std::stop_token)` (false when a stop was
///   requested before the wait succeeded; a wait that can succeed at once
///   succeeds even if a stop was already requested). The in-process
///   primitives are also awaitable: `co_await w` suspends the coroutine
///   until the wait succeeds (os_event is the exception: its signaller may
///   be another process, so coroutines await it through a wait_context or
///   an executor's reactor, see os_event.hpp). The
///   coroutine is resumed on the thread that made it ready, after beacon
///   released its internal locks, before that thread's outermost beacon call
///   returns; resumptions never recurse (see parking_lot.hpp).
///
/// Memory ordering: each primitive's contract says what a successful wait
/// synchronizes with (the set(), tick(), release() or notify that let it
/// through); a wait that fails (time-out, stop, try_wait() false) promises
/// no ordering.
template <class W>
concept waitable = requires(W& w) {
  w.wait();
  static_cast<bool>(w.try_wait());
  static_cast<bool>(w.wait_for(std::chrono::milliseconds{1}));
  static_cast<bool>(w.wait_until(std::chrono::steady_clock::now()));
};

/// The state of an event, as in rsevents' EventState.
enum class state : bool { unset = false, set = true };

}  // namespace beacon
