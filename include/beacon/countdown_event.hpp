// beacon/countdown_event.hpp — rsevents-extra CountdownEvent: set while a
// count is zero.
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "beacon/detail/bool_waitable.hpp"
#include "beacon/detail/parked_wait.hpp"
#include "beacon/waitable.hpp"

namespace beacon {
namespace detail {

// The countdown protocol on any atomic 64-bit word.
template <template <class> class Atom>
struct countdown_core {
  using value_type = std::uint64_t;
  static constexpr value_type parked_bit = 1;
  static constexpr value_type one = 2;  // the count lives above parked_bit
  static constexpr std::size_t max_count = std::numeric_limits<value_type>::max() >> 1;

  // (count << 1) | parked_bit. count == 0: the event is set and waits return;
  // parked_bit: waiters may be queued on &bits (never over a zero count for
  // long: whoever brings the count to zero wakes them all and clears it).
  Atom<value_type> bits;

  constexpr explicit countdown_core(std::size_t count) : bits(checked(count) * one) {}

  static constexpr value_type checked(std::size_t count) {
    if (count > max_count)
      throw std::invalid_argument("beacon::countdown_event: count too large");
    return count;
  }

  Atom<value_type>& word() noexcept { return bits; }
  static bool ready(value_type s) noexcept { return s < one; }
  // H: acquire pairs with the release RMWs in tick() / reset() (I); every
  // tick is a release RMW, so a waiter that sees zero sees all their writes.
  bool try_acquire() noexcept { return ready(bits.load(std::memory_order_acquire)); }
  std::size_t count() const noexcept {
    return static_cast<std::size_t>(bits.load(std::memory_order_relaxed) / one);
  }

  void tick() noexcept {
    value_type s = bits.load(std::memory_order_relaxed);
    for (;;) {
      // Ticking a zero countdown is a precondition violation: asserted in
      // debug builds; release builds leave the count at zero.
      assert(s >= one && "beacon::countdown_event::tick() below zero");
      if (s < one) return;
      if (s == one + parked_bit) {
        // The last tick with waiters queued: reach zero and wake them all in
        // one step under the queue lock (see transition_and_wake_all).
        transition_and_wake_all(*this,
                                [](value_type v) { return v >= one ? v - one : v; });
        return;
      }
      if (bits.compare_exchange_weak(s, s - one, std::memory_order_release,  // I
                                     std::memory_order_relaxed))
        return;
    }
  }

  void pass_on() noexcept {}  // a broadcast grants nothing exclusive

  void increment(std::size_t n) {
    value_type s = bits.load(std::memory_order_relaxed);
    do {
      if (n > max_count - s / one)
        throw std::overflow_error(
            "beacon::countdown_event::increment overflows the count");
    } while (!bits.compare_exchange_weak(s, s + n * one, std::memory_order_relaxed));
  }

  void reset(std::size_t count) {
    const value_type c = checked(count) * one;
    value_type s = bits.load(std::memory_order_relaxed);
    for (;;) {
      if (c == 0 && (s & parked_bit)) {  // releases the queued waiters
        transition_and_wake_all(*this, [](value_type) { return value_type{0}; });
        return;
      }
      if (bits.compare_exchange_weak(s, c | (s & parked_bit),
                                     std::memory_order_release,  // I
                                     std::memory_order_relaxed))
        return;
    }
  }
};

}  // namespace detail

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
///   that does with nobody waiting, is one CAS: no lock, no system call.
///
/// Memory ordering: everything a thread did before its tick() or reset() is
/// visible to a thread whose wait returns because it saw that zero.
///
/// Lifetime: not copyable or movable; destroy it once no thread is in a
/// member function and no coroutine is suspended on it.
///
/// @code
///  beacon::countdown_event done{workers};
///  for (int i = 0; i < workers; ++i) pool.submit([&] { work(); done.tick(); });
///  done.wait();   // or: co_await done;
/// @endcode
class countdown_event
    : public detail::bool_waitable<detail::countdown_core<std::atomic>> {
 public:
  /// A countdown at `count` (set if 0); throws std::invalid_argument above
  /// max_count().
  explicit countdown_event(std::size_t count) : bool_waitable(count) {}

  /// count - 1; releases every waiter when it reaches zero.
  void tick() noexcept { core_.tick(); }
  /// count + n; throws std::overflow_error (nothing changed) past max_count().
  void increment(std::size_t n = 1) { core_.increment(n); }
  /// Sets the count; throws std::invalid_argument above max_count().
  void reset(std::size_t count) { core_.reset(count); }
  /// The count now (a relaxed snapshot).
  std::size_t count() const noexcept { return core_.count(); }
  /// The largest count: 2^63 - 1 (the count shares its word with a flag).
  static constexpr std::size_t max_count() noexcept { return core_type::max_count; }

 private:
  using core_type = detail::countdown_core<std::atomic>;
};

static_assert(sizeof(countdown_event) <= 8, "a countdown_event is at most 8 bytes");
static_assert(waitable<countdown_event>);

}  // namespace beacon
