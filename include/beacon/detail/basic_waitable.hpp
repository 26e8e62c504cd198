// The wait members shared by every primitive built on a parked-bit core
// (auto-reset, manual-reset, countdown, semaphore): each forwards to the
// core through parked_wait, so the wait surface is written once.
#pragma once

#include <chrono>
#include <optional>
#include <stop_token>
#include <type_traits>
#include "beacon/source_location.hpp"

#include "beacon/detail/parked_wait.hpp"
#include "beacon/waitable.hpp"

namespace beacon::detail {

// What the waits return. Grant void (the events): wait() returns void and the
// waits that may fail return bool. Otherwise wait() returns the Grant and the
// others std::optional<Grant>.
template <class Grant>
struct wait_results {
  using wait = Grant;
  using maybe = std::optional<Grant>;
};
template <>
struct wait_results<void> {
  using wait = void;
  using maybe = bool;
};

// The waits shared by auto_reset_event, manual_reset_event, countdown_event
// and semaphore.
//
// Core: a protocol core as described in parked_wait.hpp. Grant: what a
// successful wait yields, void for the events; otherwise Owner, the derived
// class, makes it in a member `Grant grant() noexcept` that this base may
// call (the semaphore's guard). The derived class adds its releasing
// operations; the waits are the same for all of them.
struct waitable_access;  // below: wait_many.hpp's and asio.hpp's view of the core

template <class Core, class Grant = void, class Owner = void>
class basic_waitable {
  friend struct waitable_access;
  using wait_result = typename wait_results<Grant>::wait;
  using maybe_result = typename wait_results<Grant>::maybe;

 public:
  basic_waitable(const basic_waitable&) = delete;
  basic_waitable& operator=(const basic_waitable&) = delete;

  /// Blocks until the wait succeeds (see the primitive's contract for what it
  /// consumes).
  /// `loc`, the call site, is what beacon::for_each_waiter shows while it blocks.
  wait_result wait(
      beacon::source_location loc = beacon::source_location::current()) noexcept {
    if (!core_.try_acquire()) parked_wait(core_, deadline::never(), nullptr, loc);
    return granted();
  }
  /// Succeeds only if it can without blocking (rsevents' wait0).
  maybe_result try_wait() noexcept { return outcome(core_.try_acquire()); }
  /// Blocks for at most `d` (rounded up); zero or negative: try once.
  template <class Rep, class Period>
  maybe_result wait_for(
      const std::chrono::duration<Rep, Period>& d,
      beacon::source_location loc = beacon::source_location::current()) noexcept {
    return outcome(wait_for_impl(core_, deadline::after(d), loc));
  }
  /// Blocks until `t` on its clock; a past time: try once.
  template <class Clock, class Duration>
  maybe_result wait_until(
      const std::chrono::time_point<Clock, Duration>& t,
      beacon::source_location loc = beacon::source_location::current()) noexcept {
    return outcome(wait_until_impl(core_, t, loc));
  }
  /// Blocks until the wait succeeds or a stop is requested (false / nullopt).
  maybe_result wait(
      const std::stop_token& stop,
      beacon::source_location loc = beacon::source_location::current()) noexcept {
    return outcome(wait_stop_impl(core_, stop, loc));
  }

  // The awaiter of `co_await w`: it yields what wait() returns. (Plain
  // comments on detail classes keep them out of the API reference; see
  // docs/Doxyfile.)
  class granting_awaiter : public parked_awaiter<Core> {
   public:
    /// The awaiter of `co_await w`.
    explicit granting_awaiter(basic_waitable& w) noexcept
        : parked_awaiter<Core>(w.core_), w_(w) {}
    /// What the wait obtained.
    wait_result await_resume() const noexcept { return w_.granted(); }

   private:
    basic_waitable& w_;
  };
  /// The type of `co_await w` (the events: parked_awaiter, which yields void).
  using awaiter =
      std::conditional_t<std::is_void_v<Grant>, parked_awaiter<Core>, granting_awaiter>;
  /// `co_await w` suspends the coroutine until the wait succeeds.
  awaiter operator co_await() noexcept {
    if constexpr (std::is_void_v<Grant>)
      return awaiter(core_);
    else
      return awaiter(*this);
  }

 protected:
  /// Constructs the core from the derived primitive's arguments.
  template <class... Init>
  constexpr explicit basic_waitable(Init... init) noexcept(
      std::is_nothrow_constructible_v<Core, Init...>)
      : core_(init...) {}
  /// Protected: a primitive is not deleted through its base.
  ~basic_waitable() = default;

  /// The protocol core: the primitive's state word.
  Core core_;

 private:
  friend struct waitable_access;
  // What a successful wait yields (nothing, or the Owner's grant).
  wait_result granted() noexcept {
    if constexpr (!std::is_void_v<Grant>) return static_cast<Owner&>(*this).grant();
  }
  // What a wait that may fail yields: bool, or the grant if it succeeded.
  maybe_result outcome(bool ok) noexcept {
    if constexpr (std::is_void_v<Grant>) {
      return ok;
    } else {
      if (ok) return granted();
      return std::nullopt;
    }
  }
};

// The two Win32-style events add construction from a beacon::state, set()
// and reset() (each event's comment gives their contract).
template <class Core>
class basic_event : public basic_waitable<Core> {
 public:
  /// Makes the event set, or releases waiters (the event's contract says which).
  void set() noexcept { this->core_.set(); }
  /// Makes the event unset; never affects waiters.
  void reset() noexcept { this->core_.reset(); }

  // The events inherit these (`using basic_event::basic_event`); public so
  // that inherited they are public.
  /// An unset event; constexpr, so it can be constinit. Not explicit
  /// (P0935), so an aggregate holding events can be `S s = {};` and is
  /// std::default_initializable.
  constexpr basic_event() noexcept : basic_waitable<Core>(state::unset) {}
  /// An event in state `initial`; explicit, so a state does not convert to
  /// an event.
  constexpr explicit basic_event(state initial) noexcept
      : basic_waitable<Core>(initial) {}

 protected:
  /// Protected: an event is not deleted through its base.
  ~basic_event() = default;
};

// What beacon's other waiters (wait_many.hpp's multi-waits, asio.hpp's
// operations) need of a primitive built on basic_waitable: its protocol core
// (to park their own entries on it) and the grant of a successful wait.
struct waitable_access {
  template <class W>
  static auto core(W& w) noexcept -> decltype((w.core_)) {
    return w.core_;
  }
  // Trailing return types, not decltype(auto): SFINAE-friendly, so that
  // wait_any's variadic overload drops out for a stop_token or a span.
  template <class W>
  static auto granted(W& w) noexcept -> decltype(w.granted()) {
    return w.granted();
  }
  template <class W>
  static auto grant(W& w) noexcept -> decltype(w.granted()) {
    return w.granted();
  }
};

}  // namespace beacon::detail
