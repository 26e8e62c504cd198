// once_event's slow paths: a sender waking a parked receiver, a receiver
// blocking, and reading a waiting receiver's trace. They do not depend on T,
// so they are compiled once. See include/beacon/once_event.hpp for the
// protocol and why it never touches a freed event.
#include <cstring>

#include "beacon/detail/parked_wait.hpp"
#include "beacon/once_event.hpp"

namespace beacon::detail {

bool once_finish_parked(once_state& st, std::uint8_t bits) noexcept {
  bool last = false;
  // The transition runs under the queue lock, atomically with dequeuing the
  // receiver: a receiver that times out, is stopped or is cancelled leaves
  // the queue under the same lock, so it is either still queued here (and is
  // woken: it cannot free the event before it runs again, after our
  // transition) or gone with `parked` cleared (and still cannot free the
  // event: it needs our tx_done for that). After this callback the lot
  // touches only the dequeued waiter entry, and we touch nothing.
  parking_lot::unpark_one(&st, [&](parking_lot::unpark_result) {
    std::uint8_t s = st.load(std::memory_order_relaxed);
    // F (under the lock): release publishes the value; acquire pairs with H
    // when the receiver left before we got the lock. At most one receiver
    // waits on an event, so whether or not we dequeued it, none is queued
    // now: clear `parked`.
    while (!st.compare_exchange_weak(
        s, static_cast<std::uint8_t>((s | bits) & ~once_bits::parked),
        std::memory_order_acq_rel, std::memory_order_relaxed)) {
    }
    last = (s & once_bits::rx_gone) != 0;
    return parking_lot::default_token;
  });
  return last;
}

std::uint8_t once_wait(once_state& st, deadline until, const std::stop_token* stop,
                       parking_lot::token trace) noexcept {
  // A short adaptive spin first (see parked_wait.hpp): a sender on another
  // core often answers within a futex round trip.
  if (spin_until(
          [&] { return (st.load(std::memory_order_relaxed) & once_bits::tx_done) != 0; },
          until, stop))
    return st.load(std::memory_order_acquire);  // G
  for (;;) {
    const parking_lot::park_result r = parking_lot::park(
        &st, [&] { return once_mark_parked(st); }, [] {},
        [&](bool) {
          // Under the queue lock, as we leave it (time-out or stop): the
          // event has one receiver, so no waiter remains.
          st.fetch_and(static_cast<std::uint8_t>(~once_bits::parked),
                       std::memory_order_relaxed);
        },
        trace, until, stop);
    // G: acquire pairs with F (directly, or through the lot's hand-off).
    const std::uint8_t s = st.load(std::memory_order_acquire);
    if (s & once_bits::tx_done) return s;
    switch (r.status) {
      case parking_lot::park_status::timed_out:
      case parking_lot::park_status::stopped:
        return s;
      case parking_lot::park_status::invalid:   // validate saw tx_done: reached above
      case parking_lot::park_status::unparked:  // only the sender unparks, after tx_done
        continue;
    }
  }
}

void once_copy_trace(const once_state& st, trace_record& out) noexcept {
  out.size = 0;
  // A filter that wakes nobody: it only reads the park token, under the
  // queue lock, while the waiter (and the trace in its frame) is queued.
  parking_lot::unpark_filter(
      &st,
      [&](parking_lot::token t) {
        if (t != 0 && out.size == 0) {
          const auto* rec = reinterpret_cast<const trace_record*>(t);
          out.size = rec->size;
          std::memcpy(out.frames, rec->frames, rec->size * sizeof(void*));
        }
        return parking_lot::filter_op::skip;
      },
      [](parking_lot::unpark_result) { return parking_lot::default_token; });
}

}  // namespace beacon::detail
