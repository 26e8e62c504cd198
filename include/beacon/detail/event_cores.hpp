// The protocol cores of the primitives whose state word carries a "someone is
// parked" bit: auto_reset_event, manual_reset_event, countdown_event and
// semaphore. Each core holds the primitive's only state, one atomic word, and
// its fast paths; parked_wait.hpp blocks on it and basic_waitable.hpp turns it
// into the wait members. The public headers give each primitive's contract.
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "beacon/detail/parked_wait.hpp"
#include "beacon/detail/wake_n.hpp"
#include "beacon/parking_lot.hpp"
#include "beacon/waitable.hpp"

namespace beacon::detail {

// auto_reset_event: set() releases one waiter, handing it the signal.
struct auto_reset_core {
  using value_type = std::uint8_t;
  static constexpr value_type set_bit = 1;
  static constexpr value_type parked_bit = 2;

  // 0          unset, nobody parked
  // set_bit    set, nobody parked
  // parked_bit unset, waiters may be queued on &bits
  // Never both: a set() that finds parked_bit hands its signal to a waiter
  // instead of setting the bit, and a waiter only parks while unset.
  std::atomic<value_type> bits;

  constexpr explicit auto_reset_core(beacon::state initial) noexcept
      : bits(initial == beacon::state::set ? set_bit : value_type{0}) {}

  std::atomic<value_type>& word() noexcept { return bits; }
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

// manual_reset_event: set() releases every waiter and stays set.
struct manual_reset_core {
  using value_type = std::uint8_t;
  static constexpr value_type set_bit = 1;
  static constexpr value_type parked_bit = 2;

  // set_bit: the event is set. parked_bit: waiters may be queued on &bits.
  // Never both: set() publishes set_bit together with the broadcast that
  // clears parked_bit, under the queue lock, and a waiter only parks while
  // the event is unset.
  std::atomic<value_type> bits;

  constexpr explicit manual_reset_core(beacon::state initial) noexcept
      : bits(initial == beacon::state::set ? set_bit : value_type{0}) {}

  std::atomic<value_type>& word() noexcept { return bits; }
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

// countdown_event: set while the count is zero; reaching zero is a broadcast.
struct countdown_core {
  using value_type = std::uint64_t;
  static constexpr value_type parked_bit = 1;
  static constexpr value_type one = 2;  // the count lives above parked_bit
  static constexpr std::size_t max_count = std::numeric_limits<value_type>::max() >> 1;

  // (count << 1) | parked_bit. count == 0: the event is set and waits return;
  // parked_bit: waiters may be queued on &bits (never over a zero count for
  // long: whoever brings the count to zero wakes them all and clears it).
  std::atomic<value_type> bits;

  constexpr explicit countdown_core(std::size_t count) : bits(checked(count) * one) {}

  static constexpr value_type checked(std::size_t count) {
    if (count > max_count)
      throw std::invalid_argument("beacon::countdown_event: count too large");
    return count;
  }

  std::atomic<value_type>& word() noexcept { return bits; }
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

// semaphore: the permits available now, handed directly to the longest
// waiter while any is queued.
struct semaphore_core {
  using value_type = std::uint64_t;
  static constexpr value_type parked_bit = 1;
  static constexpr value_type one = 2;  // permits live above parked_bit

  // (available << 1) | parked_bit. While parked_bit is set, released permits
  // bypass `available` and go to queued waiters (hand-off), so a thread that
  // polls try_acquire cannot overtake one that sleeps. A waiter only parks
  // while available == 0, and the releaser that empties the queue clears
  // parked_bit under the queue lock.
  std::atomic<value_type> bits;

  constexpr explicit semaphore_core(std::size_t initial) noexcept : bits(initial * one) {}

  std::atomic<value_type>& word() noexcept { return bits; }
  static bool ready(value_type s) noexcept { return s >= one; }
  std::size_t available() const noexcept {
    return static_cast<std::size_t>(bits.load(std::memory_order_relaxed) / one);
  }

  bool try_acquire() noexcept {
    value_type s = bits.load(std::memory_order_relaxed);
    while (s >= one) {
      // J: acquire pairs with K in release().
      if (bits.compare_exchange_weak(s, s - one, std::memory_order_acquire,
                                     std::memory_order_relaxed))
        return true;
    }
    return false;
  }

  // A coroutine handed a permit was destroyed before it ran: give it back.
  void pass_on() noexcept { release(1); }

  // Makes n permits available: the first to queued waiters in FIFO order
  // (each unparked waiter owns its permit), the rest into the count.
  void release(std::size_t n) noexcept {
    value_type s = bits.load(std::memory_order_relaxed);
    while (!(s & parked_bit)) {
      // K: release pairs with J.
      if (bits.compare_exchange_weak(s, s + n * one, std::memory_order_release,
                                     std::memory_order_relaxed))
        return;
    }
    wake_n wake(n);
    parking_lot::unpark_filter(&bits, wake, [&](parking_lot::unpark_result r) {
      // Under the queue lock: no waiter can join or leave meanwhile. The
      // permits the queue was short of go into the count.
      value_type add = static_cast<value_type>(wake.left()) * one;
      value_type s2 = bits.load(std::memory_order_relaxed);
      value_type next;
      do {
        next = (s2 + add) & (r.have_more ? ~value_type{0} : ~parked_bit);
      } while (!bits.compare_exchange_weak(s2, next, std::memory_order_release,  // K
                                           std::memory_order_relaxed));
      return parking_lot::default_token;
    });
  }
};

}  // namespace beacon::detail
