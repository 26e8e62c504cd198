// The waitable members shared by the boolean events (auto-reset, manual-reset,
// countdown): all of them forward to one protocol core through parked_wait.
#pragma once

#include <chrono>
#include <stop_token>
#include <type_traits>

#include "beacon/detail/parked_wait.hpp"
#include "beacon/waitable.hpp"

namespace beacon::detail {

/// The waits shared by auto_reset_event, manual_reset_event and countdown_event.
///
/// Core: a protocol core as described in parked_wait.hpp. The derived event
/// adds its releasing operations; the waits are the same for all of them.
template <class Core>
class bool_waitable {
 public:
  bool_waitable(const bool_waitable&) = delete;
  bool_waitable& operator=(const bool_waitable&) = delete;

  /// Blocks until the wait succeeds (see the event's contract for what it consumes).
  void wait() noexcept {
    if (!core_.try_acquire()) parked_wait(core_, deadline::never());
  }
  /// Succeeds only if it can without blocking (rsevents' wait0).
  bool try_wait() noexcept { return core_.try_acquire(); }
  /// Blocks for at most `d` (rounded up); zero or negative: try once.
  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& d) noexcept {
    return wait_for_impl(core_, deadline::after(d));
  }
  /// Blocks until `t` on its clock; a past time: try once.
  template <class Clock, class Duration>
  bool wait_until(const std::chrono::time_point<Clock, Duration>& t) noexcept {
    return wait_until_impl(core_, t);
  }
  /// Blocks until the wait succeeds (true) or a stop is requested (false).
  bool wait(const std::stop_token& stop) noexcept { return wait_stop_impl(core_, stop); }
  /// `co_await ev` suspends the coroutine until the wait succeeds.
  parked_awaiter<Core> operator co_await() noexcept {
    return parked_awaiter<Core>(core_);
  }

 protected:
  /// Constructs the core from the derived event's arguments.
  template <class... Init>
  constexpr explicit bool_waitable(Init... init) noexcept(
      std::is_nothrow_constructible_v<Core, Init...>)
      : core_(init...) {}
  /// Protected: an event is not deleted through its base.
  ~bool_waitable() = default;

  /// The protocol core: the event's state word.
  Core core_;
};

/// The two Win32-style events add construction from a beacon::state, set()
/// and reset() (each event's comment gives their contract).
template <class Core>
class basic_event : public bool_waitable<Core> {
 public:
  /// Makes the event set, or releases waiters (the event's contract says which).
  void set() noexcept { this->core_.set(); }
  /// Makes the event unset; never affects waiters.
  void reset() noexcept { this->core_.reset(); }

 protected:
  /// An event in state `initial`.
  constexpr explicit basic_event(state initial) noexcept : bool_waitable<Core>(initial) {}
  /// Protected: an event is not deleted through its base.
  ~basic_event() = default;
};

}  // namespace beacon::detail
