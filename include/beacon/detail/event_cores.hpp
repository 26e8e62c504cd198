// The protocol cores of the primitives whose state word carries a "someone is
// parked" bit: auto_reset_event, manual_reset_event, countdown_event and
// semaphore. Each core holds the primitive's only state, one atomic word, and
// its fast paths; parked_wait.hpp blocks on it and basic_waitable.hpp turns it
// into the wait members. The public headers give each primitive's contract.
#pragma once

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "beacon/detail/parked_wait.hpp"
#include "beacon/detail/platform.hpp"
#include "beacon/detail/wake_n.hpp"
#include "beacon/parking_lot.hpp"
#include "beacon/waitable.hpp"

namespace beacon::detail {

// wait_all's holds (wait_many.hpp, src/wait_many.cpp). An atomic wait_all
// takes its objects one by one in address order, each with one CAS from
// "available, not held" to "held" (try_hold), and only when it holds them
// all does it consume the consumables and drop the holds (commit_hold); if
// one is unavailable it drops the holds it took (release_hold), which
// restores exactly the state before them. A held object is available and
// frozen: nobody may consume it or make it unavailable until the hold ends,
// so the instant the last hold is taken is one at which every object was
// available at once (the wait_all's linearization point), and nobody can
// observe a partial acquisition:
// * operations that would consume a held object or make it unavailable
//   (try_acquire of an auto-reset event or a semaphore, reset(),
//   increment()) wait for the hold to end (hold_pause), then act on the
//   state it left: they are linearized after the wait_all, or after the
//   roll-back, never in between. They never fail because of a hold (a
//   try_wait that failed on a hold that is then rolled back would not be
//   linearizable).
// * operations that only add (set, release) or only look (a manual-reset
//   or countdown try_acquire: the state is set while held) go ahead; they
//   are read-modify-writes, and commit_hold / release_hold are
//   read-modify-writes that touch only what the hold owns, so nothing is
//   lost.
// * callbacks under a queue lock (validate, unpark callbacks) never wait for
//   a hold: a held object is ready, so validate declines to park, and
//   unpark callbacks only add. A wait_all takes no lock while it holds, so
//   nobody waits for a hold while holding something its holder waits for;
//   two wait_alls wait for each other's holds only in address order (no
//   cycle).
// A hold lasts a handful of atomic operations (plus, in address order, the
// holds of other wait_alls it waits for), never a park.
enum class hold_result : std::uint8_t {
  held,         // taken: the object is available and now held
  unavailable,  // not available now: nothing taken
  busy,         // held by another wait_all, or in a brief transition: retry
};

// The pause of a thread that waits for a hold to end: a few CPU pauses, then
// yields (the holder may have been preempted; in the interleaving checker a
// yield switches threads).
inline void hold_pause(unsigned spins) noexcept {
  if (spins < 64 && platform::multi_cpu())
    platform::cpu_relax();
  else
    platform::yield();
}

// Waits until `word` no longer has `held` set (by the mask); its value then.
template <class T>
T wait_unheld(const std::atomic<T>& word, T held) noexcept {
  for (unsigned spins = 0;; ++spins) {
    const T s = word.load(std::memory_order_relaxed);
    if (!(s & held)) return s;
    hold_pause(spins);
  }
}

// The word of the two events: set_bit says set, parked_bit that waiters may
// be queued on &bits. Never both (each core says how it keeps them apart);
// the fast paths every event shares are here.
struct event_word {
  using value_type = std::uint8_t;
  static constexpr value_type set_bit = 1;
  static constexpr value_type parked_bit = 2;
  // held_bit: a wait_all holds the event (see hold_result); only with
  // set_bit.
  static constexpr value_type held_bit = 4;

  std::atomic<value_type> bits;

  constexpr explicit event_word(beacon::state initial) noexcept
      : bits(initial == beacon::state::set ? set_bit : value_type{0}) {}

  std::atomic<value_type>& word() noexcept { return bits; }
  static bool ready(value_type s) noexcept { return (s & set_bit) != 0; }

  // set() with nobody parked: sets set_bit and returns true. Returns false,
  // having changed nothing, once it sees parked_bit: the caller then wakes
  // the waiters under the queue lock.
  bool set_unparked() noexcept {
    // The first CAS guesses "unset, nobody parked" instead of loading: on a
    // word another core just touched (a ping-pong) a load and then a CAS are
    // two cache-line transfers, the CAS alone is one. A wrong guess costs
    // nothing more: the failed CAS loads the value.
    value_type s = 0;
    while (!(s & parked_bit)) {
      // cores_E: release pairs with the waits' acquire (cores_F). Already
      // set: the CAS rewrites the same value, so it still publishes this
      // thread's writes.
      if (bits.compare_exchange_weak(s, static_cast<value_type>(s | set_bit),
                                     std::memory_order_release,
                                     std::memory_order_relaxed))
        return true;
    }
    return false;
  }

  // A held event is reset only once the hold ended (see hold_result).
  void reset() noexcept {
    value_type s = bits.load(std::memory_order_relaxed);
    while (s & set_bit) {
      if (s & held_bit) {
        s = wait_unheld(bits, held_bit);
        continue;
      }
      if (bits.compare_exchange_weak(s, static_cast<value_type>(s & ~set_bit),
                                     std::memory_order_relaxed))
        return;
    }
  }

  // wait_all (see hold_result): set and not held -> held. parked_bit may be
  // set too (an auto-reset event keeps a signal while only skipped
  // multi-waiter entries are queued): the hold leaves it alone.
  hold_result try_hold() noexcept {
    value_type s = bits.load(std::memory_order_relaxed);
    for (;;) {
      if (!(s & set_bit)) return hold_result::unavailable;
      if (s & held_bit) return hold_result::busy;
      // Acquire: as the waits' cores_F, pairs with set()'s release.
      if (bits.compare_exchange_weak(s, static_cast<value_type>(s | held_bit),
                                     std::memory_order_acquire,
                                     std::memory_order_relaxed))
        return hold_result::held;
    }
  }
  // Ends a hold, changing nothing else (a roll-back). Release: whoever waits
  // for the hold and then takes the event reads this value, which continues
  // the setter's release sequence.
  void release_hold() noexcept {
    bits.fetch_and(static_cast<value_type>(~held_bit), std::memory_order_release);
  }
};

// auto_reset_event: set() releases one waiter, handing it the signal.
//   0          unset, nobody parked
//   set_bit    set, nobody parked
//   parked_bit unset, waiters may be queued on &bits
//   set_bit | held_bit  set, held by a wait_all (see hold_result)
// Set and parked together only while the queue holds nothing but entries
// that unparks skip (multi-waiters that gave up or only observe): a set()
// that finds parked_bit hands its signal to a waiter instead of setting the
// bit, unless it finds none, and a waiter only parks while unset.
struct auto_reset_core : event_word {
  static constexpr const char* name = "auto_reset_event";  // inspect.hpp
  using event_word::event_word;

  bool try_acquire() noexcept {
    value_type s = bits.load(std::memory_order_relaxed);
    if (!(s & set_bit)) return false;  // unset: one load, no branch taken out of line
    while (s & set_bit) {
      if (s & held_bit) {  // a wait_all holds it: take it only if it rolls back
        s = wait_unheld(bits, held_bit);
        continue;
      }
      // cores_F: acquire pairs with the release in set() (cores_E).
      if (bits.compare_exchange_weak(s, static_cast<value_type>(s & ~set_bit),
                                     std::memory_order_acquire,
                                     std::memory_order_relaxed))
        return true;
    }
    return false;
  }

  void set() noexcept {
    if (set_unparked()) return;
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

  // wait_all's commit: consumes the held signal and ends the hold in one
  // step (see hold_result).
  void commit_hold() noexcept {
    bits.fetch_and(static_cast<value_type>(~(set_bit | held_bit)),
                   std::memory_order_release);
  }
};

// manual_reset_event: set() releases every waiter and stays set.
// set_bit: the event is set. parked_bit: waiters may be queued on &bits.
// held_bit (with set_bit only): a wait_all holds it, so reset() waits.
// Never set and parked: set() publishes set_bit together with the broadcast that
// clears parked_bit, under the queue lock, and a waiter only parks while
// the event is unset.
struct manual_reset_core : event_word {
  static constexpr const char* name = "manual_reset_event";  // inspect.hpp
  using event_word::event_word;

  // cores_F: acquire pairs with the release in set() (cores_E).
  bool try_acquire() noexcept { return is_set(); }

  void set() noexcept {
    if (set_unparked()) return;
    // Waiters are queued: set the bit and wake them all in one step under
    // the queue lock (a release, as cores_E), so a reset() + wait() in
    // between cannot be released by this set().
    transition_and_wake_all(
        *this, [](value_type v) { return static_cast<value_type>(v | set_bit); });
  }

  void pass_on() noexcept {}  // a broadcast grants nothing exclusive

  // wait_all's commit: the event was observed set; the hold just ends.
  void commit_hold() noexcept { release_hold(); }

  bool is_set() const noexcept {
    return (bits.load(std::memory_order_acquire) & set_bit) != 0;  // cores_F
  }
};

// countdown_event: set while the count is zero; reaching zero is a broadcast.
struct countdown_core {
  static constexpr const char* name = "countdown_event";  // inspect.hpp
  using value_type = std::uint64_t;
  static constexpr value_type parked_bit = 1;
  static constexpr value_type one = 2;  // the count lives above parked_bit
  // The top bit is never part of a valid count: a tick below zero wraps
  // into it, which is how a racing tick tells its decrement went wrong.
  static constexpr value_type wrapped_bit = value_type{1} << 63;
  static constexpr std::size_t max_count = std::numeric_limits<value_type>::max() >> 2;

  // (count << 1) | parked_bit. count == 0: the event is set and waits return;
  // parked_bit: waiters may be queued on &bits. Zero with parked_bit set
  // lasts only from a last tick's fetch_sub to its wake-up under the queue
  // lock (wake_if_zero): the waiters queued then were released by that zero
  // and whoever takes the queue lock first (that tick, or an increment() or
  // reset() that found the word so) wakes them all and clears the bit.
  // wrapped_bit: only while ticks below zero (a precondition violation,
  // release builds) undo their decrement.
  // held (exactly wrapped_bit, which no valid count has): the count is zero
  // and a wait_all holds it (see hold_result), so increment() and reset()
  // wait; waits see it set. Taken only from exactly 0 and ended by
  // subtracting it again, so a tick below zero meanwhile (a precondition
  // violation) still undoes itself to the right value.
  std::atomic<value_type> bits;
  static constexpr value_type held = wrapped_bit;

  constexpr explicit countdown_core(std::size_t count) : bits(checked(count) * one) {}

  static constexpr value_type checked(std::size_t count) {
    if (count > max_count)
      throw std::invalid_argument("beacon::countdown_event: count too large");
    return count;
  }

  std::atomic<value_type>& word() noexcept { return bits; }
  static bool ready(value_type s) noexcept { return (s & ~held) < one; }
  // cores_H: acquire pairs with the release RMWs in tick() / reset()
  // (cores_I); every tick is a release RMW, so a waiter that sees zero sees
  // all their writes.
  bool try_acquire() noexcept { return ready(bits.load(std::memory_order_acquire)); }
  std::size_t count() const noexcept {
    const value_type s = bits.load(std::memory_order_relaxed);
    return s & wrapped_bit ? 0 : static_cast<std::size_t>(s / one);
  }

  // One fetch_sub, whatever the contention (a CAS loop retries under it).
  void tick() noexcept {
    const value_type old = bits.fetch_sub(one, std::memory_order_release);  // cores_I
    if (old >= 2 * one && !(old & wrapped_bit)) return;  // still above zero
    if (old == one) return;                              // zero, nobody parked
    if (old == one + parked_bit) {
      // The last tick with waiters queued: they were released by this zero.
      // The word says "zero, parked" until someone wakes them under the
      // queue lock: this tick, or an increment() / reset() that got there
      // first (they wake before they change the count, see wake_if_zero).
      // The other ticks' writes reach the woken waiters (which read nothing
      // from the word) through wake_if_zero's acquire CAS: it reads this
      // tick's value, which continues every earlier tick's release sequence.
      wake_if_zero(nullptr);
      return;
    }
    // The count was zero (old < one) or a racing tick below zero had wrapped
    // it (wrapped_bit): a precondition violation. Debug builds stop; release
    // builds undo the decrement, so the count stays at zero. Undoing may
    // find waiters that parked on the wrapped count: wake them if it is zero.
    assert(false && "beacon::countdown_event::tick() below zero");
    const value_type now = bits.fetch_add(one, std::memory_order_relaxed) + one;
    if (now == parked_bit) wake_if_zero(nullptr);
  }

  // Under the queue lock: if the word is still "zero, parked", wake every
  // waiter and store `then` (the broadcast and the next state are one step,
  // so waiters that park after `then` are not released by this zero).
  // `then` null: store zero. Returns whether the word was "zero, parked".
  // The word is read and written only while a waiter is queued: that waiter
  // is still inside a wait, so the event is alive. With nobody queued (the
  // last waiter timed out and, leaving, cleared parked_bit) nothing is
  // touched: a thread that saw the zero may already have destroyed the
  // event, as the lifetime rules allow once the waits returned (the tick
  // that made the zero touches nothing of the event after its fetch_sub).
  // Under the lock, parked_bit is set exactly while waiters are queued (they
  // set it in validate, the last to leave clears it), so "zero, parked"
  // always finds a waiter here.
  bool wake_if_zero(const value_type* then) noexcept {
    bool checked_state = false, zero = false;
    parking_lot::unpark_filter(
        &bits,
        [&](parking_lot::token) {
          if (!checked_state) {
            checked_state = true;
            value_type s = parked_bit;
            // Acquire: the ticks that made the zero happen-before the
            // wake-up; release: as in transition_and_wake_all (cores_I).
            zero = bits.compare_exchange_strong(s, then ? *then : value_type{0},
                                                std::memory_order_acq_rel,
                                                std::memory_order_relaxed);
          }
          return zero ? parking_lot::filter_op::unpark : parking_lot::filter_op::stop;
        },
        [](parking_lot::unpark_result) { return parking_lot::default_token; });
    return zero;
  }

  void pass_on() noexcept {}  // a broadcast grants nothing exclusive

  // wait_all (see hold_result): zero, nobody parked -> held. "Zero, parked"
  // (a last tick's wake-up pending) is busy: its wake_if_zero needs the
  // word unchanged, and it comes at once.
  hold_result try_hold() noexcept {
    value_type s = 0;
    // Acquire: as cores_H, pairs with the ticks' release.
    if (bits.compare_exchange_strong(s, held, std::memory_order_acquire,
                                     std::memory_order_relaxed))
      return hold_result::held;
    return s == held || s == parked_bit ? hold_result::busy : hold_result::unavailable;
  }
  void release_hold() noexcept { bits.fetch_sub(held, std::memory_order_release); }
  void commit_hold() noexcept { release_hold(); }  // observed set: nothing consumed

  void increment(std::size_t n) {
    value_type s = bits.load(std::memory_order_relaxed);
    for (;;) {
      if (s == held) {  // a wait_all holds the zero: add after it
        s = wait_held_out();
        continue;
      }
      if (s == parked_bit) {  // a last tick's wake-up is pending: do it first
        const value_type then = static_cast<value_type>(n) * one;
        if (n > max_count)
          throw std::overflow_error(
              "beacon::countdown_event::increment overflows the count");
        if (wake_if_zero(&then)) return;
        s = bits.load(std::memory_order_relaxed);
        continue;
      }
      if (n > max_count - count_of(s))
        throw std::overflow_error(
            "beacon::countdown_event::increment overflows the count");
      if (bits.compare_exchange_weak(s, s + n * one, std::memory_order_relaxed)) return;
    }
  }

  void reset(std::size_t count) {
    const value_type c = checked(count) * one;
    value_type s = bits.load(std::memory_order_relaxed);
    for (;;) {
      if (s == held) {  // a wait_all holds the zero: change it after
        s = wait_held_out();
        continue;
      }
      if (s == parked_bit) {  // a last tick's wake-up is pending: do it first
        if (wake_if_zero(&c)) return;
        s = bits.load(std::memory_order_relaxed);
        continue;
      }
      if (c == 0 && (s & parked_bit)) {  // releases the queued waiters
        // Zero stays zero, and a hold taken since we looked stays.
        transition_and_wake_all(
            *this, [](value_type v) { return v == held ? held : value_type{0}; });
        return;
      }
      if (bits.compare_exchange_weak(s, c | (s & parked_bit),
                                     std::memory_order_release,  // cores_I
                                     std::memory_order_relaxed))
        return;
    }
  }

 private:
  value_type wait_held_out() noexcept {
    for (unsigned spins = 0;; ++spins) {
      const value_type s = bits.load(std::memory_order_relaxed);
      if (s != held) return s;
      hold_pause(spins);
    }
  }

  // The count in state s; a wrapped word (ticks below zero being undone)
  // counts as zero.
  static std::size_t count_of(value_type s) noexcept {
    return s & wrapped_bit ? 0 : static_cast<std::size_t>(s / one);
  }
};

// semaphore: the permits available now. Two policies (semaphore.hpp gives
// the contract): fifo hands every released permit to the longest waiter;
// eventual puts it in the count, where a running thread may take it first,
// and hands it over only now and then (see release()).
struct semaphore_core {
  static constexpr const char* name = "semaphore";  // inspect.hpp
  using value_type = std::uint64_t;
  static constexpr value_type parked_bit = 1;
  static constexpr value_type one = 2;  // permits live above parked_bit
  // The policy, fixed at construction: set for fairness::fifo. Far above
  // the count (at most 2^32 - 1 permits, bits 1..32), so adding and taking
  // permits never reaches it.
  static constexpr value_type fifo_bit = value_type{1} << 63;
  // held_bit: a wait_all holds one of the permits (see hold_result), so
  // try_acquire waits; release() may still add. Far above the count too.
  static constexpr value_type held_bit = value_type{1} << 62;

  // (available << 1) | parked_bit, plus fifo_bit for the policy. A waiter
  // only parks while available == 0 (mark_parked, under the queue lock), and
  // the releaser that empties the queue clears parked_bit under that lock.
  // While parked_bit is set, release() goes through the lot and, under the
  // queue lock, either hands its permits to the waiters it wakes (they bypass
  // `available`, so a thread polling try_acquire cannot overtake them) or
  // adds them to `available` and wakes as many waiters to compete for them.
  std::atomic<value_type> bits;

  constexpr semaphore_core(std::size_t initial, bool fifo) noexcept
      : bits(initial * one | (fifo ? fifo_bit : 0)) {}

  std::atomic<value_type>& word() noexcept { return bits; }
  static bool ready(value_type s) noexcept { return (s & ~(fifo_bit | held_bit)) >= one; }
  std::size_t available() const noexcept {
    return static_cast<std::size_t>(
        (bits.load(std::memory_order_relaxed) & ~(fifo_bit | held_bit)) / one);
  }
  bool fifo() const noexcept {
    return (bits.load(std::memory_order_relaxed) & fifo_bit) != 0;
  }

  bool try_acquire() noexcept {
    value_type s = bits.load(std::memory_order_relaxed);
    while (ready(s)) {
      if (s & held_bit) {  // a wait_all holds a permit: wait for its outcome
        s = wait_unheld(bits, held_bit);
        continue;
      }
      // cores_J: acquire pairs with cores_K in release().
      if (bits.compare_exchange_weak(s, s - one, std::memory_order_acquire,
                                     std::memory_order_relaxed))
        return true;
    }
    return false;
  }

  // The tokens. A waiter parks with park_token() (a thread: when it first
  // parked, in units of 1024 ns, above bit 0) or async_park_token() (a
  // coroutine: bit 0, "must be handed its permit", for it is resumed once
  // and cannot go back to sleep). release() gives the waiters it wakes
  // `handed_off` (the wake carries a permit) or `no_permit` (the permit went
  // to the count: try for it, park again if it is gone).
  static constexpr parking_lot::token coroutine_waiter = 1;
  static constexpr parking_lot::token handed_off = parking_lot::default_token;
  static constexpr parking_lot::token no_permit = 1;
  // How long a thread may wait before release() hands it a permit directly
  // whatever the lot's be_fair says: 1024 units of 1024 ns, about 1 ms.
  static constexpr parking_lot::token starving_after = 1024;

  // Now, in a thread's park-token format.
  static parking_lot::token clock_token() noexcept {
    return static_cast<parking_lot::token>(deadline::now().ns >> 10) << 1;
  }

  parking_lot::token park_token() const noexcept {
    if (fifo()) return parking_lot::default_token;  // the age decides nothing
    return clock_token();
  }
  static parking_lot::token async_park_token() noexcept { return coroutine_waiter; }
  static bool granted(parking_lot::token t) noexcept { return t == handed_off; }

  // For the interleaving checker only: when set, decides eventual-mode
  // hand-offs from (be_fair, the oldest woken thread's age in ns) instead of
  // the clock, so that schedules replay deterministically. Set it before any
  // thread uses a semaphore; null in every shipped use.
  static inline bool (*hand_off_rule)(bool be_fair, std::int64_t age_ns) = nullptr;

  // A coroutine handed a permit was destroyed before it ran: give it back.
  void pass_on() noexcept { release(1); }

  // wait_all (see hold_result): a permit available and no hold -> held.
  // parked_bit may be set (permits in the count while waiters are woken to
  // compete for them): the hold leaves it alone.
  hold_result try_hold() noexcept {
    value_type s = bits.load(std::memory_order_relaxed);
    for (;;) {
      if (!ready(s)) return hold_result::unavailable;
      if (s & held_bit) return hold_result::busy;
      // Acquire: as cores_J.
      if (bits.compare_exchange_weak(s, s | held_bit, std::memory_order_acquire,
                                     std::memory_order_relaxed))
        return hold_result::held;
    }
  }
  void release_hold() noexcept { bits.fetch_sub(held_bit, std::memory_order_release); }
  // Takes the held permit and ends the hold in one step.
  void commit_hold() noexcept {
    bits.fetch_sub(held_bit + one, std::memory_order_acq_rel);
  }

  // Makes n permits available.
  //
  // Nobody parked: one CAS adds them to the count (cores_K).
  //
  // Someone parked: under the queue lock, wake up to n waiters in FIFO
  // order. fifo, or eventual when the lot says be_fair, when a woken thread
  // has waited about a millisecond or when a woken waiter is a coroutine:
  // each woken waiter is handed one permit (`handed_off`) and only the
  // permits the queue was short of go into the count. Otherwise all n go
  // into the count and the woken waiters (`no_permit`) race for them with
  // any running thread (barging: no convoy of wake-ups under contention).
  //
  // Why no wake-up is lost with barging: a permit added to the count while
  // waiters are queued always comes with a waiter woken for it (n permits,
  // up to n woken; more permits than waiters clear parked_bit, so later
  // waiters see them before parking). A woken waiter then calls
  // try_acquire() before anything else; if that fails, the count was zero at
  // that moment: the permit was taken by a running thread, which returns it
  // later through release(), and that release sees parked_bit (set again by
  // the waiter's mark_parked, under the lock) and wakes a waiter in turn. The
  // failed waiter got nothing, so it has nothing to pass on; it parks again
  // (at the tail, keeping its first park time in its token, so the next wake
  // that reaches it after a millisecond is a hand-off). A woken waiter that
  // has timed out still makes that one try_acquire(), so a permit it leaves
  // in the count was taken by someone.
  void release(std::size_t n) noexcept {
    value_type s = bits.load(std::memory_order_relaxed);
    while (!(s & parked_bit)) {
      // cores_K: release pairs with cores_J.
      if (bits.compare_exchange_weak(s, s + n * one, std::memory_order_release,
                                     std::memory_order_relaxed))
        return;
    }
    const bool fifo_policy = (s & fifo_bit) != 0;
    bool must_hand_off = fifo_policy;
    parking_lot::token oldest = 0;  // the oldest woken thread's age, 1024 ns units
    parking_lot::token now = 0;
    wake_n wake(n);
    parking_lot::unpark_filter(
        &bits,
        [&](parking_lot::token t) {
          const parking_lot::filter_op op = wake(t);
          if (op == parking_lot::filter_op::unpark && !must_hand_off) {
            if (t & coroutine_waiter) {
              must_hand_off = true;
            } else {
              if (now == 0) now = clock_token();
              // Unsigned, so a clock that wrapped in the token's width
              // still gives the right age.
              const parking_lot::token age = (now - t) >> 1;
              if (age > oldest) oldest = age;
            }
          }
          return op;
        },
        [&](parking_lot::unpark_result r) {
          // Under the queue lock: no waiter can join or leave meanwhile.
          bool hand_off = must_hand_off;
          if (!hand_off && r.unparked)
            hand_off =
                hand_off_rule
                    ? hand_off_rule(
                          r.be_fair,
                          static_cast<std::int64_t>(
                              std::min<std::uint64_t>(oldest, std::uint64_t{1} << 40)
                              << 10))
                    : r.be_fair || oldest >= starving_after;
          const value_type add =
              static_cast<value_type>(hand_off ? wake.left() : n) * one;
          value_type s2 = bits.load(std::memory_order_relaxed);
          value_type next;
          do {
            next = (s2 + add) & (r.have_more ? ~value_type{0} : ~parked_bit);
          } while (!bits.compare_exchange_weak(s2, next,
                                               std::memory_order_release,  // cores_K
                                               std::memory_order_relaxed));
          return hand_off ? handed_off : no_permit;
        });
  }
};

}  // namespace beacon::detail
