// beacon/manual_reset_event.hpp — Win32 / rsevents manual-reset event, one byte.
#pragma once

#include <atomic>
#include <cstdint>

#include "beacon/detail/bool_waitable.hpp"
#include "beacon/parking_lot.hpp"
#include "beacon/waitable.hpp"

namespace beacon {
namespace detail {

// The manual-reset protocol on any atomic byte.
template <template <class> class Atom>
struct manual_reset_core {
  using value_type = std::uint8_t;
  static constexpr value_type set_bit = 1;
  static constexpr value_type parked_bit = 2;

  // set_bit: the event is set. parked_bit: waiters may be queued on &bits.
  // Never both: set() publishes set_bit together with the broadcast that
  // clears parked_bit, under the queue lock, and a waiter only parks while
  // the event is unset.
  Atom<value_type> bits;

  constexpr explicit manual_reset_core(beacon::state initial) noexcept
      : bits(initial == beacon::state::set ? set_bit : value_type{0}) {}

  Atom<value_type>& word() noexcept { return bits; }
  static bool ready(value_type s) noexcept { return (s & set_bit) != 0; }

  // F: acquire pairs with the release in set() (G).
  bool try_acquire() noexcept {
    return (bits.load(std::memory_order_acquire) & set_bit) != 0;
  }

  void set() noexcept {
    value_type s = bits.load(std::memory_order_relaxed);
    while (!(s & parked_bit)) {
      // G: release pairs with F. Already set: the CAS rewrites the same
      // value, so this caller's writes are published too.
      if (bits.compare_exchange_weak(s, static_cast<value_type>(s | set_bit),
                                     std::memory_order_release,
                                     std::memory_order_relaxed))
        return;
    }
    // Waiters are queued: set the bit and wake them all in one step under
    // the queue lock (G again), so a reset() + wait() in between cannot be
    // released by this set().
    transition_and_wake_all(
        *this, [](value_type v) { return static_cast<value_type>(v | set_bit); });
  }

  void pass_on() noexcept {}  // a broadcast grants nothing exclusive

  void reset() noexcept {
    if (bits.load(std::memory_order_relaxed) & set_bit)
      bits.fetch_and(static_cast<value_type>(~set_bit), std::memory_order_relaxed);
  }

  bool is_set() const noexcept {
    return (bits.load(std::memory_order_acquire) & set_bit) != 0;
  }
};

}  // namespace detail

/// An event that, once set, lets every waiter through until it is reset.
///
/// Contract (Win32 SetEvent on a manual-reset event, rsevents ManualResetEvent):
/// * set() releases every waiter blocked at that moment, even if reset()
///   follows at once, and keeps the event set until reset().
/// * Waits do not consume: on a set event every wait returns at once (one load).
/// * No spurious wake-up ever returns. set() with nobody waiting is one
///   atomic RMW and never a system call.
///
/// Memory ordering: everything a thread did before set() is visible to every
/// thread whose wait (or is_set() returning true) observes that set state.
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
class manual_reset_event
    : public detail::basic_event<detail::manual_reset_core<std::atomic>> {
 public:
  /// An event in state `initial` (unset by default); constexpr, so it can be
  /// constinit.
  constexpr explicit manual_reset_event(state initial = state::unset) noexcept
      : basic_event(initial) {}

  /// Whether the event is set now (an acquire load).
  bool is_set() const noexcept { return core_.is_set(); }
};

static_assert(sizeof(manual_reset_event) == 1, "a manual_reset_event is one byte");
static_assert(waitable<manual_reset_event>);

}  // namespace beacon
