# The checker's mutants (see beacon_checker_mutant in CMakeLists.txt): for
# each protocol, a deliberate bug of the kind the checker exists to find,
# made in a copy of the real file, and the scenario that must catch it.

# parked_wait.hpp, the events' protocol: validate() does not re-check the
# state before marking itself parked, so a set() that came just before
# sleeps with no one to wake it.
set(mutant_file include/beacon/detail/parked_wait.hpp)
set(mutant_find [=[    if (P::ready(s)) return false;
    // Relaxed: the queue lock orders this CAS]=])
set(mutant_replace [=[    // Relaxed: the queue lock orders this CAS]=])
set(mutant_scenarios scenarios_events.cpp)
set(mutant_only "auto_reset: set vs wait")
beacon_checker_mutant(validate_skips_recheck)

# parked_wait.hpp: a waiter that times out clears the parked bit even when
# others are still queued (the waiters bit cleared too early).
set(mutant_file include/beacon/detail/parked_wait.hpp)
set(mutant_find [=[  if (was_last)
    p.word()]=])
set(mutant_replace [=[  (void)was_last;
  p.word()]=])
set(mutant_scenarios scenarios_events.cpp)
set(mutant_only "manual_reset: reset, set vs wait vs wait")
beacon_checker_mutant(parked_bit_cleared_early)

# auto_reset_event (its core): with a waiter parked, set() also leaves the
# event set (a plain set instead of the hand-off): the signal is doubled.
set(mutant_file include/beacon/detail/event_cores.hpp)
set(mutant_find [=[      if (r.unparked == 0)  // every waiter timed out first: keep the signal]=])
set(mutant_replace [=[      if (true)  // mutant: a plain set, whether or not a waiter was woken]=])
set(mutant_scenarios scenarios_events.cpp)
set(mutant_only "auto_reset: set vs wait")
beacon_checker_mutant(handoff_becomes_set)

# countdown_event (its core): the last tick with waiters parked just
# decrements.
set(mutant_file include/beacon/detail/event_cores.hpp)
set(mutant_find [=[      wake_if_zero(nullptr);
      return;]=])
set(mutant_replace [=[      return;  // mutant: the last tick wakes no one]=])
set(mutant_scenarios scenarios_counting.cpp)
set(mutant_only "countdown: tick vs tick vs wait")
beacon_checker_mutant(last_tick_wakes_nobody)

# semaphore (its core): release() hands permits to the waiters it wakes and
# also adds them to the count.
set(mutant_file include/beacon/detail/event_cores.hpp)
set(mutant_find [=[              static_cast<value_type>(hand_off ? wake.left() : n) * one;]=])
set(mutant_replace [=[              static_cast<value_type>(n) * one;  // mutant]=])
set(mutant_scenarios scenarios_counting.cpp)
set(mutant_only "semaphore (fifo): release vs timed-out acquire")
beacon_checker_mutant(permit_handed_and_kept)

# parking lot: unpark_one reports that nobody is left queued, so the event
# clears its parked bit over a waiter that still sleeps.
set(mutant_file src/parking_lot.cpp)
set(mutant_find [=[      r.have_more = more;
      r.be_fair = g.b().fair_due();]=])
set(mutant_replace [=[      r.have_more = false;  // mutant
      r.be_fair = g.b().fair_due();]=])
set(mutant_scenarios scenarios_events.cpp)
set(mutant_only "auto_reset: two waiters (one timed), two sets")
beacon_checker_mutant(lot_forgets_more_waiters)

# parking lot: cancel() ignores an entry already chosen by an unpark and
# pending resumption on this thread (the when_any pattern).
set(mutant_file src/parking_lot.cpp)
set(mutant_find [=[  if (access::where(entry).load(std::memory_order_acquire) == access::resume_pending) {]=])
set(mutant_replace [=[  if (false) {  // mutant]=])
set(mutant_scenarios scenarios_lot.cpp)
set(mutant_only "parking_lot: coroutines, unpark_all vs cancel vs timed park")
beacon_checker_mutant(cancel_misses_woken)

# parking lot: bucket_guard does not check, after locking a bucket, that its
# table is still the current one, so a park or an unpark racing a rehash
# works in a retired table (the waiter is moved away from the unparker, or
# queued where no unparker looks).
set(mutant_file src/parking_lot.cpp)
set(mutant_find [=[      if (current.load(std::memory_order_relaxed) == t) {
        table_ = t;]=])
set(mutant_replace [=[      if (true) {  // mutant
        table_ = t;]=])
set(mutant_scenarios scenarios_lot.cpp)
set(mutant_only "parking_lot: rehash vs park vs unpark")
beacon_checker_mutant(lot_uses_a_retired_table)

# event_count: validation ignores the epoch, so a waiter registered but not
# yet queued when a notify found the queue short sleeps through it.
set(mutant_file src/event_count.cpp)
set(mutant_find [=[  if (((state_.load(std::memory_order_relaxed) ^ key) & ~waiters_mask) == 0) return true;]=])
set(mutant_replace [=[  if (key == key) return true;  // mutant: the epoch is not checked]=])
set(mutant_scenarios scenarios_async.cpp)
set(mutant_only "event_count: notify vs waiter")
beacon_checker_mutant(epoch_ignored)

# once_event: a receiver marks itself parked without checking that the
# sender finished (mark_parked's test of once_wait_core), and sleeps after the send.
set(mutant_file include/beacon/detail/once_protocol.hpp)
set(mutant_find [=[  static bool ready(value_type s) noexcept { return (s & once_bits::tx_done) != 0; }]=])
set(mutant_replace [=[  static bool ready(value_type) noexcept { return false; }  // mutant]=])
set(mutant_scenarios scenarios_async.cpp)
set(mutant_only "once_event: send vs receive")
beacon_checker_mutant(receiver_parks_after_send)

# semaphore, eventual policy: release() puts the permits in the count and
# also tells the waiters it wakes that they were handed one: doubled.
set(mutant_file include/beacon/detail/event_cores.hpp)
set(mutant_find [=[          return hand_off ? handed_off : no_permit;]=])
set(mutant_replace [=[          return handed_off;  // mutant]=])
set(mutant_scenarios scenarios_counting.cpp)
set(mutant_only "semaphore (eventual): release vs timed-out acquire")
beacon_checker_mutant(barging_wake_claims_a_permit)

# parking lot, multi-waits (wait_group): an unparker does not skip an entry
# whose group another object already won, so the grant goes to a waiter
# that will never use it (a grant to a claimed multi-waiter is dropped).
set(mutant_file src/parking_lot.cpp)
set(mutant_find [=[    if (group && !begin_claim(*group)) {
      w = next;
      continue;
    }]=])
set(mutant_replace [=[    if (group && !begin_claim(*group)) group = nullptr;  // mutant]=])
set(mutant_scenarios scenarios_many.cpp)
set(mutant_only "wait_any: vs two setters")
beacon_checker_mutant(claimed_grant_dropped)

# wait_all: takes the objects one by one (each consumed as soon as it is
# held) instead of all at one instant: a try_wait sees a partial
# acquisition, and a roll-back leaves a consumed object consumed.
set(mutant_file src/wait_many.cpp)
set(mutant_find [=[      if (h == hold_result::held) break;]=])
set(mutant_replace [=[      if (h == hold_result::held) {  // mutant: commit at once
        ops[k]->commit_hold(objects[k]);
        break;
      }]=])
set(mutant_scenarios scenarios_many.cpp)
set(mutant_only "wait_all: vs a try_wait on one of its objects")
beacon_checker_mutant(wait_all_one_by_one)

# parking lot, wait_all's observers: an unpark skips an observer entry
# without notifying its owner, which sleeps on through the change it waits
# for (a lost wake-up).
set(mutant_file src/parking_lot.cpp)
set(mutant_find [=[      out.observe(*group);]=])
set(mutant_replace [=[      // mutant: the observer is skipped, not notified]=])
set(mutant_scenarios scenarios_many.cpp)
set(mutant_only "wait_all: vs two setters")
beacon_checker_mutant(observer_not_notified)

# parking lot, wake slots: a waker does not bump the slot's generation, so a
# thread that read the generation and its state (still sleeping) just before
# the unpark, then sleeps on the unchanged word, misses the wake (the kernel
# finds the value it expected, and the wake came before it slept).
set(mutant_file src/parking_lot.cpp)
set(mutant_find [=[  slot.fetch_add(1, std::memory_order_release);
  platform::wake_masked(slot, bits);]=])
set(mutant_replace [=[  platform::wake_masked(slot, bits);  // mutant: no generation bump]=])
set(mutant_scenarios scenarios_lot.cpp)
set(mutant_only "parking_lot: wake slot, unpark_all vs timed park vs slot mate")
beacon_checker_mutant(slot_generation_not_bumped)

# parking lot: a rehash moves the queues in a bucket's three slots but drops
# its overflow chain (src/parking_lot.cpp, bucket::take_queues), so a waiter
# whose queue was made beyond the slots is never found again.
set(mutant_file src/parking_lot.cpp)
set(mutant_find [=[    waiter* chain = std::exchange(overflow, nullptr);]=])
set(mutant_replace [=[    waiter* chain = nullptr;  // mutant: the overflow chain is dropped
    overflow = nullptr;]=])
set(mutant_scenarios scenarios_lot.cpp)
set(mutant_only "parking_lot: rehash vs park vs unpark, queue in the overflow chain")
beacon_checker_mutant(rehash_drops_the_overflow_chain)
