// once_event's sender waking a parked receiver, the reading of a waiting
// receiver's trace, and the stash of exceptions sent to events too small to
// hold one: they do not depend on T, so they are compiled once. The
// receiver's side is detail::parked_wait / parked_awaiter over
// detail::once_wait_core; include/beacon/once_event.hpp says why this never
// touches a freed event.
#include <algorithm>
#include <cassert>
#include <cstring>
#include <mutex>
#include <utility>
#include <vector>

#include "beacon/once_event.hpp"

namespace beacon::detail {

bool once_finish_parked(once_state& st, std::uint8_t bits) noexcept {
  bool last = false;
  // Under the queue lock, atomically with dequeuing the receiver: one that
  // times out, is stopped or is cancelled leaves the queue under the same
  // lock, so it is either still queued here (and woken: it cannot free the
  // event before it runs again, after our transition) or gone with `parked`
  // cleared (and still cannot free the event: that needs our tx_done). After
  // this callback the lot touches only the dequeued entry, and we nothing.
  parking_lot::unpark_one(&st, [&](parking_lot::unpark_result) {
    std::uint8_t s = st.load(std::memory_order_relaxed);
    // once_F (under the lock): release publishes the value; acquire pairs
    // with once_H when the receiver left before we got the lock. An event has
    // one receiver, so none is queued now: clear `parked`. (A multi-wait's
    // entry may stay queued here: one whose group another object already won,
    // which unpark_one skipped, or a wait_all observer, which it notified.
    // Clearing `parked` under it loses nothing: tx_done is final, so no later
    // wake-up is owed to it; its owner's cancel clears the bit again, which
    // changes nothing, on an event its receiver, the owner, still keeps alive.)
    while (!st.compare_exchange_weak(
        s, static_cast<std::uint8_t>((s | bits) & ~once_bits::parked),
        std::memory_order_acq_rel, std::memory_order_relaxed)) {
    }
    last = (s & once_bits::rx_gone) != 0;
    return parking_lot::default_token;
  });
  return last;
}

void once_copy_trace(const once_state& st, trace_record& out) noexcept {
  // The receiver's entry points at its trace (wait_site::trace) while it is
  // queued; the lot copies it under the queue lock.
  parking_lot::detail::copy_trace_at(&st, out);
}

namespace {

// The stash's entries: (event address, exception), unordered. An event has
// at most one (once_protocol.hpp says why a key cannot be reused while its
// entry is there). Sending exceptions is the rare path, and a small T's
// exceptions rarer still: one mutex and a vector suffice. Never destroyed,
// so an event destroyed during static destruction can still take its entry.
struct error_stash {
  std::mutex m;
  std::vector<std::pair<const void*, std::exception_ptr>> entries;  // guarded by m
};

error_stash& stash() noexcept {
  static error_stash* s = new error_stash;  // NOLINT: never destroyed, on purpose
  return *s;
}

}  // namespace

// The sender, before its transition (whose release publishes the entry, as
// it publishes a value; the mutex orders the vector's own accesses).
void once_stash_error(const void* event, std::exception_ptr x) {
  error_stash& s = stash();
  std::lock_guard g(s.m);
  s.entries.emplace_back(event, std::move(x));  // may throw: nothing stashed
}

// The end that destroys the payload (the receiver taking it, or the last
// end), after the sender's transition; the entry is there.
std::exception_ptr once_unstash_error(const void* event) noexcept {
  error_stash& s = stash();
  std::exception_ptr x;
  {
    std::lock_guard g(s.m);
    auto it = std::find_if(s.entries.begin(), s.entries.end(),
                           [&](const auto& e) { return e.first == event; });
    assert(it != s.entries.end() &&
           "beacon: a once event's stashed exception is missing");
    if (it == s.entries.end()) return x;
    x = std::move(it->second);
    if (it != s.entries.end() - 1) *it = std::move(s.entries.back());
    s.entries.pop_back();
  }
  return x;  // dropped, if it is, outside the lock: its destructor may run user code
}

}  // namespace beacon::detail
