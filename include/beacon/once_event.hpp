// beacon/once_event.hpp — a one-shot value event across threads (the
// `events` crate's OnceEvent), its sender and receiver, and a pool of them.
// The protocol is written once for this event and local_once_event, in
// detail/once_protocol.hpp; this header gives it its policy: an atomic state
// byte, and receivers that wait in the parking lot.
#pragma once

#include <atomic>
#include <cassert>
#include <coroutine>
#include <cstdint>
#include <stop_token>

#include "beacon/detail/deadline.hpp"
#include "beacon/detail/once_common.hpp"
#include "beacon/detail/once_pool.hpp"
#include "beacon/detail/once_protocol.hpp"
#include "beacon/parking_lot.hpp"

namespace beacon {
namespace detail {

using once_state = std::atomic<std::uint8_t>;

// The slow paths, compiled once in src/once_event.cpp (they do not depend on
// T). The protocol (see once_event's comment for the argument):
//
// The sender finishing while the receiver is parked (once_bits::parked seen):
// sets `bits` | tx_done and clears `parked` inside unpark_one's callback,
// under the queue lock, and wakes the receiver. Returns whether the sender is
// the last end (the receiver was already gone).
bool once_finish_parked(once_state& st, std::uint8_t bits) noexcept;

// The receiver blocking until tx_done, `until` or a stop request: spins a
// little, then parks on &st with `parked` set in validate. Returns the state
// it last read (with acquire); tx_done is clear only on time-out or stop.
// `trace`: the address of the waiter's trace_record (0: none), the park token.
std::uint8_t once_wait(once_state& st, deadline until, const std::stop_token* stop,
                       parking_lot::token trace) noexcept;

// Copies the trace of the receiver queued on &st, if any and it has one.
void once_copy_trace(const once_state& st, trace_record& out) noexcept;

// validate() of a receiver about to queue, under the queue lock: marks
// `parked` unless the sender finished (then the receiver does not sleep).
// Relaxed: the queue lock orders it against the sender's transition under the
// same lock; the value's visibility comes from F / the lot's hand-off.
inline bool once_mark_parked(once_state& st) noexcept {
  std::uint8_t s = st.load(std::memory_order_relaxed);
  do {
    if (s & once_bits::tx_done) return false;
  } while (!st.compare_exchange_weak(s, static_cast<std::uint8_t>(s | once_bits::parked),
                                     std::memory_order_relaxed));
  return true;
}

// once_event's policy (the interface is listed in once_protocol.hpp): the
// state is an atomic byte, and a receiver that waits is queued in the parking
// lot on the state byte's address (never in the event).
struct once_atomic_policy {
  static constexpr const char* name = "once";
  static constexpr bool blocking = true;
  using state = once_state;
  // The storage holds nothing but the value (an empty member while it does
  // not, which makes constinit events work).
  struct idle {};
  using entry = parking_lot::waiter;

  // A receiver may be queued: the transition happens inside unpark_one's
  // callback, under the queue lock, atomically with its dequeue.
  static bool finish_parked(state& st, std::uint8_t bits) noexcept {
    return once_finish_parked(st, bits);
  }
  // Nothing to keep for the wake-up: finish_parked wakes the receiver.
  template <class E>
  static idle take_waiter(E&) noexcept {
    return {};
  }
  static void resume(idle) noexcept {}

  static std::uint8_t wait(state& st, deadline until, const std::stop_token* stop,
                           const trace_record* trace) noexcept {
    return once_wait(st, until, stop, reinterpret_cast<parking_lot::token>(trace));
  }

  template <class E>
  static bool suspend(E& ev, entry& e, std::coroutine_handle<> h,
                      const trace_record* trace) noexcept {
    state& st = once_access::state(ev);
    // Queued unless the sender finished meanwhile; once queued, the awaiter
    // may be resumed (and destroyed) on the sender's thread before we return.
    return parking_lot::park_async(
        &st, [&st] { return once_mark_parked(st); }, e, h,
        reinterpret_cast<parking_lot::token>(trace));
  }

  template <class E>
  static void withdraw(entry& e, E* ev) noexcept {
    // The coroutine is destroyed while suspended: withdraw the entry (one
    // load when there is nothing to do). If it is queued, the receiver is
    // alive and so is the event (the sender frees it only after rx_gone):
    // clear `parked` under the queue lock as we leave. If the sender's wake
    // had already chosen it (its resumption pending on the waking thread),
    // the value stays in the event and the receiver's destructor, the last
    // end, destroys it: nothing to pass on.
    parking_lot::cancel(e, [ev](bool) {
      once_access::state(*ev).fetch_and(static_cast<std::uint8_t>(~once_bits::parked),
                                        std::memory_order_relaxed);
    });
  }

  template <class E>
  static void copy_trace(const E& ev, trace_record& out) noexcept {
    once_copy_trace(once_access::state(ev), out);
  }
};

}  // namespace detail

/// A one-shot event that carries one value of type T from a sender to a
/// receiver, which may be on different threads (the `events` crate's
/// OnceEvent; a oneshot channel whose event object is explicit).
///
/// Contract (design §2.5, §2.7):
/// * An event binds once: bind_by_ref(), bind_by_ptr(), bind_by_shared(sp)
///   each hand out one sender and one receiver; binding again throws
///   std::logic_error. make_once<T>() allocates, binds and manages one.
/// * std::move(tx).send(v) stores the value and wakes the receiver. It never
///   blocks and makes no system call unless a receiver thread is parked (a
///   coroutine receiver is resumed inline, see below); it consumes the sender.
/// * rx.receive() blocks until the value arrives; rx.try_receive() never
///   blocks (nullopt while nothing was sent); rx.receive_for(d) /
///   receive_until(t) / receive(std::stop_token) return nullopt on time-out or
///   stop, and the receiver stays usable; `co_await std::move(rx)` suspends
///   the coroutine. Each yields the value once: receiving again throws
///   std::logic_error.
/// * A sender destroyed without sending makes every receive form throw
///   beacon::disconnected (again on every later call).
/// * A value sent to a receiver that is gone is destroyed at once; T's
///   destructor runs exactly once for every value constructed, on every path.
/// * T: a move-constructible object type whose destructor does not throw
///   (move-only types are fine).
///
/// State: one atomic byte plus the value's storage; a blocked receiver waits
/// in the parking lot, keyed by the state byte's address (a thread parks, a
/// coroutine is queued with park_async and its awaiter cancels the entry in
/// its destructor). sizeof(once_event<int>) == 8.
///
/// Who frees (the protocol). Each end finishes with one read-modify-write of
/// the state: the sender sets tx_done (with value when it sent), the receiver
/// rx_gone. The end whose transition finds the other's bit already set is the
/// last: it destroys a value nobody received and frees the event (deletes it
/// for make_once, returns it to its pool, nothing for bind_by_ref). The first
/// end touches nothing of the event after its transition, and the second
/// cannot free before the first has made it, so no end ever touches freed
/// memory. A receiver that took the value knows it is last without a second
/// transition (tx_done is final and set before it could see the value).
///
/// Waking a parked receiver without touching freed memory. "Store tx_done,
/// then unpark" would be wrong: between the store and the unpark the receiver
/// may time out, see the value, take it and free the event (or, in a pool,
/// the event may be rebound and a new receiver park on the same address), and
/// the late unpark would then act on a stale key. So the receiver sets
/// `parked` in validate (under the queue lock) before it sleeps, and a sender
/// that sees `parked` makes its transition inside unpark_one's callback, under
/// that same lock, atomically with dequeuing the receiver. Every way the
/// receiver leaves the queue (a time-out, a stop, an awaiter's cancel) also
/// runs under that lock, and clears `parked` there. Hence: either the sender's
/// CAS saw no `parked` — then no receiver is queued and none can queue after
/// the transition (validate sees tx_done) — or the sender's transition happens
/// under the queue lock, after which the lot only touches the waiter entry it
/// dequeued (on the woken thread's stack, or in the coroutine frame), never
/// the event. The parking lot uses the address only as a key and its table is
/// static, so nothing else is left to go stale.
///
/// Memory ordering: everything the sending thread did before send() happens-
/// before the receive that returns its value (the sender's transition is a
/// release, the receiver's read of it an acquire; through the parking lot's
/// hand-off when the receiver slept). The same holds for a sender destroyed
/// unsent and the receiver that throws `disconnected`.
///
/// Lifetime: not copyable or movable (its address is its identity). With
/// bind_by_ref / bind_by_ptr the event must outlive both ends (checked by an
/// assertion in debug builds); a thread may destroy it right after its
/// receive() returned or its sender finished, even while the other end's
/// call is still returning. A coroutine awaiting a receiver is resumed on the
/// thread that sends (or destroys the sender), inline, before that call
/// returns and after the parking lot released its locks; it must not be
/// destroyed concurrently with that resumption.
///
/// Awaiter traces: in debug builds (BEACON_AWAITER_TRACES, default !NDEBUG) a
/// receiver records its stack trace when it blocks or suspends, in its own
/// stack frame or coroutine awaiter (never in the 8-byte event), and passes
/// its address to the parking lot as its park token; inspect_awaiter(f)
/// copies it under the queue lock. In release builds nothing is recorded and
/// f gets an empty trace.
///
/// @code
///  beacon::once_event<std::string> ev;
///  auto [tx, rx] = ev.bind_by_ref();
///  std::thread t([tx = std::move(tx)]() mutable { std::move(tx).send("hello"); });
///  std::string s = rx.receive();   // "hello"
///  t.join();
///
///  auto [tx2, rx2] = beacon::make_once<int>();  // one allocation, freed by the last end
///  std::move(tx2).send(42);
///  int v = co_await std::move(rx2);             // in a coroutine: 42
/// @endcode
template <class T>
class once_event
    : public detail::basic_once_event<once_event<T>, T, detail::once_atomic_policy> {
 public:
  /// An unbound event; constexpr, so it can be constinit.
  constexpr once_event() noexcept = default;
  /// Precondition: both ends are gone, or the event was never bound (asserted
  /// in debug builds).
  ~once_event() {
    assert(this->ends_gone() &&
           "once_event destroyed while its sender or receiver is alive");
  }
};

static_assert(sizeof(once_event<int>) <= 8, "once_event<int> is one word");

/// One heap allocation holding an event, bound; the last end frees it.
template <class T>
once_channel<typename once_event<T>::managed_sender,
             typename once_event<T>::managed_receiver>
make_once() {
  return detail::make_managed<once_event<T>>();
}

/// A pool of once events (the `events` crate's OnceEventPool): a bind rents an
/// event, which goes back to the pool when both its ends are gone (a value
/// never received is destroyed then). Events live in slabs at stable
/// addresses; rent and return are O(1) and allocate nothing once the pool
/// has grown to its working size (reserve() grows it ahead of time).
///
/// Thread safety: every member may be called from any thread; the free list
/// is guarded by a short spin lock (one pop or push; see
/// detail/once_pool.hpp for why not a lock-free stack), the ends themselves
/// never take it except to return their event.
///
/// Lifetime: with bind_by_ref / bind_by_ptr the pool must outlive every end
/// it handed out (size() == 0 when it is destroyed; asserted in debug
/// builds); with bind_by_shared the ends keep it alive.
///
/// @code
///  auto pool = std::make_shared<beacon::once_event_pool<int>>();
///  auto [tx, rx] = beacon::once_event_pool<int>::bind_by_shared(pool);
///  std::move(tx).send(42);
///  int v = rx.receive();            // the event is back in the pool now
/// @endcode
template <class T>
class once_event_pool : public detail::basic_once_pool<once_event_pool<T>, once_event<T>,
                                                       detail::once_spin_lock> {};

}  // namespace beacon
