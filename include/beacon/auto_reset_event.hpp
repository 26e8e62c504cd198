// beacon/auto_reset_event.hpp — Win32 / rsevents auto-reset event, one byte.
#pragma once

#include <atomic>
#include <cstdint>

#include "beacon/detail/bool_waitable.hpp"
#include "beacon/parking_lot.hpp"
#include "beacon/waitable.hpp"

namespace beacon {
namespace detail {

// The auto-reset protocol on any atomic byte (Atom = std::atomic in the
// library; a deterministic scheduler's atomic in the verification tests).
template <template <class> class Atom>
struct auto_reset_core {
  using value_type = std::uint8_t;
  static constexpr value_type set_bit = 1;
  static constexpr value_type parked_bit = 2;

  // 0          unset, nobody parked
  // set_bit    set, nobody parked
  // parked_bit unset, waiters may be queued on &bits
  // Never both: a set() that finds parked_bit hands its signal to a waiter
  // instead of setting the bit, and a waiter only parks while unset.
  Atom<value_type> bits;

  constexpr explicit auto_reset_core(beacon::state initial) noexcept
      : bits(initial == beacon::state::set ? set_bit : value_type{0}) {}

  Atom<value_type>& word() noexcept { return bits; }
  static bool ready(value_type s) noexcept { return (s & set_bit) != 0; }

  bool try_acquire() noexcept {
    value_type s = bits.load(std::memory_order_relaxed);
    if (!(s & set_bit)) return false;  // unset: one load, no branch taken out of line
    while (s & set_bit) {
      // Acquire pairs with the release in set() (E).
      if (bits.compare_exchange_weak(s, static_cast<value_type>(s & ~set_bit),
                                     std::memory_order_acquire,
                                     std::memory_order_relaxed))
        return true;
    }
    return false;
  }

  void set() noexcept {
    value_type s = bits.load(std::memory_order_relaxed);
    while (!(s & parked_bit)) {
      // E: release pairs with try_acquire's acquire. Already set: the CAS
      // rewrites the same value, so it still publishes this thread's writes.
      if (bits.compare_exchange_weak(s, static_cast<value_type>(s | set_bit),
                                     std::memory_order_release,
                                     std::memory_order_relaxed))
        return;
    }
    // Someone is parked: hand the signal to the longest waiter, so no thread
    // arriving meanwhile can steal it. Under the queue lock, so no waiter can
    // join or leave while we decide.
    parking_lot::unpark_one(&bits, [this](parking_lot::unpark_result r) {
      if (r.unparked == 0)  // every waiter timed out first: keep the signal
        bits.fetch_or(set_bit, std::memory_order_release);
      else if (!r.have_more)
        bits.fetch_and(static_cast<value_type>(~parked_bit), std::memory_order_relaxed);
      return parking_lot::default_token;
    });
  }

  // A coroutine that was handed the signal was destroyed before it ran:
  // the signal goes to the next waiter, or the event stays set.
  void pass_on() noexcept { set(); }

  void reset() noexcept {
    if (bits.load(std::memory_order_relaxed) & set_bit)
      bits.fetch_and(static_cast<value_type>(~set_bit), std::memory_order_relaxed);
  }
};

}  // namespace detail

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
/// * Threads that wait spin briefly before sleeping, but only when they may
///   use more than one CPU; set() with nobody waiting is one CAS and never a
///   system call.
///
/// Memory ordering: everything a thread did before set() is visible to the
/// thread whose wait consumes that set state (set is a release, a successful
/// wait an acquire). reset() orders nothing.
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
class auto_reset_event
    : public detail::basic_event<detail::auto_reset_core<std::atomic>> {
 public:
  /// An event in state `initial` (unset by default); constexpr, so it can be
  /// constinit.
  constexpr explicit auto_reset_event(state initial = state::unset) noexcept
      : basic_event(initial) {}
};

static_assert(sizeof(auto_reset_event) == 1, "an auto_reset_event is one byte");
static_assert(waitable<auto_reset_event>);

}  // namespace beacon
