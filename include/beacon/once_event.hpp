// beacon/once_event.hpp — a one-shot value event across threads (the
// `events` crate's OnceEvent), its sender and receiver, and a pool of them.
#pragma once

#include <atomic>
#include <cassert>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <type_traits>
#include <utility>
#include <vector>

#include "beacon/detail/deadline.hpp"
#include "beacon/detail/once_common.hpp"
#include "beacon/detail/once_pool.hpp"
#include "beacon/parking_lot.hpp"

namespace beacon {

template <class T>
class once_event;
template <class T>
class once_event_pool;
template <class Binding>
class once_sender;
template <class Binding>
class once_receiver;

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

// The sender's final transition: sets `bits` (tx_done, and value if sent).
// Returns whether the sender is the last end. Never touches the event after
// the transition.
inline bool once_finish(once_state& st, std::uint8_t bits) noexcept {
  std::uint8_t s = st.load(std::memory_order_relaxed);
  while (!(s & once_bits::parked)) {
    // F: release publishes the value to the receiver's acquire (G); acquire
    // pairs with the receiver's release (H) when it left first, before we
    // destroy and free.
    if (st.compare_exchange_weak(s, static_cast<std::uint8_t>(s | bits),
                                 std::memory_order_acq_rel, std::memory_order_relaxed))
      return (s & once_bits::rx_gone) != 0;
  }
  // A receiver may be queued: the transition must happen under the queue
  // lock, atomically with its dequeue (see once_event).
  return once_finish_parked(st, bits);
}

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

// The receiver's final transition when it goes without receiving. Returns
// whether it is the last end.
inline std::uint8_t once_leave(once_state& st) noexcept {
  // H: release pairs with F when the sender finishes later; acquire pairs
  // with F when it finished first (we may destroy its value and free).
  return st.fetch_or(once_bits::rx_gone, std::memory_order_acq_rel);
}

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
///  std::string v = co_await std::move(rx);      // in a coroutine
/// @endcode
template <class T>
class once_event {
  static_assert(std::is_object_v<T> && !std::is_array_v<T>,
                "once_event<T>: T must be an object type");
  static_assert(std::is_nothrow_destructible_v<T>);

 public:
  /// The type of the value carried.
  using value_type = T;
  /// The sender handed out by bind_by_ref() and bind_by_ptr().
  using sender_by_ref = once_sender<detail::ref_binding<once_event>>;
  /// The receiver handed out by bind_by_ref() and bind_by_ptr().
  using receiver_by_ref = once_receiver<detail::ref_binding<once_event>>;
  /// The sender handed out by bind_by_shared().
  using sender_by_shared = once_sender<detail::shared_binding<once_event>>;
  /// The receiver handed out by bind_by_shared().
  using receiver_by_shared = once_receiver<detail::shared_binding<once_event>>;
  /// The sender handed out by make_once().
  using managed_sender = once_sender<detail::managed_binding<once_event>>;
  /// The receiver handed out by make_once().
  using managed_receiver = once_receiver<detail::managed_binding<once_event>>;

  /// An unbound event; constexpr, so it can be constinit.
  constexpr once_event() noexcept : none_{} {}
  /// Precondition: both ends are gone, or the event was never bound (asserted
  /// in debug builds).
  ~once_event() {
    // Precondition: both ends are gone (or the event was never bound).
    [[maybe_unused]] const std::uint8_t s = state_.load(std::memory_order_relaxed);
    assert((!(s & detail::once_bits::bound) ||
            (s & (detail::once_bits::tx_done | detail::once_bits::rx_gone)) ==
                (detail::once_bits::tx_done | detail::once_bits::rx_gone)) &&
           "once_event destroyed while its sender or receiver is alive");
  }
  once_event(const once_event&) = delete;
  once_event& operator=(const once_event&) = delete;

  /// Binds the event; it must outlive both ends. Throws std::logic_error if it
  /// was bound before.
  once_channel<sender_by_ref, receiver_by_ref> bind_by_ref() {
    bind();
    return detail::once_access::make_channel<sender_by_ref, receiver_by_ref>(
        detail::ref_binding<once_event>(this), detail::ref_binding<once_event>(this));
  }

  /// The same ends as bind_by_ref(), for an event reached through a pointer
  /// (embedded in a node, placed by a custom allocator): the caller keeps it
  /// alive and in place until both ends are gone. Also binds only once.
  once_channel<sender_by_ref, receiver_by_ref> bind_by_ptr() { return bind_by_ref(); }

  /// Binds `*ev`; each end holds a reference to it. Throws
  /// std::invalid_argument for a null pointer, std::logic_error if bound before.
  static once_channel<sender_by_shared, receiver_by_shared> bind_by_shared(
      std::shared_ptr<once_event> ev) {
    if (!ev) throw std::invalid_argument("once_event::bind_by_shared: null event");
    ev->bind();
    detail::shared_binding<once_event> a(ev);
    return detail::once_access::make_channel<sender_by_shared, receiver_by_shared>(
        std::move(a), detail::shared_binding<once_event>(std::move(ev)));
  }

  /// Whether the event was bound (its ends may be gone since).
  bool is_bound() const noexcept {
    return (state_.load(std::memory_order_relaxed) & detail::once_bits::bound) != 0;
  }

  /// Calls f(awaiter_trace): the stack trace where the receiver now blocks or
  /// awaits, empty when nothing waits or traces are disabled. f runs with no
  /// beacon lock held.
  template <class F>
  void inspect_awaiter(F&& f) const {
    detail::trace_record copy;
    if constexpr (awaiter_traces_enabled) detail::once_copy_trace(state_, copy);
    std::forward<F>(f)(copy.view());
  }

 private:
  friend struct detail::once_access;

  void bind() {
    std::uint8_t expected = 0;
    // Relaxed: the ends reach other threads through the caller's own
    // synchronization, which orders this store before their use.
    if (!state_.compare_exchange_strong(expected, detail::once_bits::bound,
                                        std::memory_order_relaxed))
      detail::throw_already_bound();
  }

  // The protocol state (detail::once_bits; the life of the word is listed
  // there): 0 = unbound; bound = ends handed out; tx_done = sender finished,
  // with `value` if it sent; rx_gone = receiver finished; parked = the
  // receiver is queued in the parking lot on &state_ (set and cleared only
  // under that queue's lock). The parking lot key is &state_.
  detail::once_state state_{0};
  // Holds a T while `value` is set; the sender constructs it before its
  // transition, the last end (or the receiver taking it) destroys it.
  // `none_` is the active member otherwise (it makes constinit events work).
  struct none {};
  union {
    none none_;
    T value_;
  };
};

static_assert(sizeof(once_event<int>) <= 8, "once_event<int> is one word");

template <class T>
class once_awaiter;

/// The sending end: move-only, one send. Destroying it unsent disconnects the
/// receiver.
template <class Binding>
class once_sender {
 public:
  /// The event type (once_event<T>).
  using event_type = typename Binding::event_type;
  /// The type of the value sent.
  using value_type = typename event_type::value_type;

  /// Takes over `o`'s event; `o` is left invalid.
  once_sender(once_sender&&) noexcept = default;
  /// Finishes this sender as its destructor would, then takes over `o`'s event.
  once_sender& operator=(once_sender&& o) noexcept {
    if (this != &o) {
      close();
      b_ = std::move(o.b_);
    }
    return *this;
  }
  /// An unsent sender disconnects the receiver: its receive throws
  /// beacon::disconnected (a blocked one is woken to do so).
  ~once_sender() { close(); }

  /// Sends `v` (copy or move) and consumes the sender. Never blocks. Throws
  /// std::logic_error on a sender already consumed or moved from; if T's
  /// constructor throws, nothing was sent and the sender is unchanged.
  void send(const value_type& v) && { std::move(*this).emplace(v); }
  /// Sends `v` by move; as send(const value_type&).
  void send(value_type&& v) && { std::move(*this).emplace(std::move(v)); }
  /// Constructs the value in the event from `args`.
  template <class... Args>
  void emplace(Args&&... args) && {
    event_type* ev = b_.event();
    if (!ev) detail::throw_no_event("once_sender: already sent or moved from");
    auto& st = detail::once_access::state(*ev);
    // Acquire: when the receiver is gone we are the last end (H → here).
    std::uint8_t s = st.load(std::memory_order_acquire);
    if (s & detail::once_bits::rx_gone) {  // nobody to receive: construct nothing
      st.store(static_cast<std::uint8_t>(s | detail::once_bits::tx_done),
               std::memory_order_relaxed);
      Binding(std::move(b_)).finish(true);
      return;
    }
    ::new (static_cast<void*>(std::addressof(detail::once_access::value(*ev))))
        value_type(std::forward<Args>(args)...);
    // Moved out first: a coroutine resumed by the transition below may
    // destroy this sender object before we return.
    Binding b(std::move(b_));
    if (detail::once_finish(
            st, detail::once_bits::tx_done | detail::once_bits::value)) {  // last
      detail::once_access::destroy_value(*ev);  // the receiver went meanwhile
      b.finish(true);
    } else {
      b.finish(false);  // from here on, *ev belongs to the receiver
    }
  }

  /// Whether this sender can still send (not consumed, not moved from).
  bool valid() const noexcept { return b_.event() != nullptr; }

 private:
  friend struct detail::once_access;
  explicit once_sender(Binding b) noexcept : b_(std::move(b)) {}

  void close() noexcept {
    event_type* ev = b_.event();
    if (!ev) return;
    Binding b(std::move(b_));
    b.finish(
        detail::once_finish(detail::once_access::state(*ev), detail::once_bits::tx_done));
  }

  Binding b_;
};

/// The receiving end: move-only; yields the value once.
template <class Binding>
class once_receiver {
 public:
  /// The event type (once_event<T>).
  using event_type = typename Binding::event_type;
  /// The type of the value received.
  using value_type = typename event_type::value_type;

  /// Takes over `o`'s event; `o` is left invalid.
  once_receiver(once_receiver&&) noexcept = default;
  /// Finishes this receiver as its destructor would, then takes over `o`'s event.
  once_receiver& operator=(once_receiver&& o) noexcept {
    if (this != &o) {
      close();
      b_ = std::move(o.b_);
    }
    return *this;
  }
  /// A receiver that has not received leaves: a value sent to it is destroyed
  /// (here, or by the sender if the sender finishes later).
  ~once_receiver() { close(); }

  /// Blocks until the value arrives and returns it. Throws
  /// beacon::disconnected if the sender was destroyed unsent,
  /// std::logic_error if the value was received before (or moved from).
  value_type receive() {
    event_type* ev = checked();
    auto& st = detail::once_access::state(*ev);
    std::uint8_t s = st.load(std::memory_order_acquire);  // G: pairs with F
    if (!(s & detail::once_bits::tx_done)) s = wait(st, deadline::never(), nullptr);
    return take(ev, s);
  }

  /// The value if it was sent, nullopt while nothing was; never blocks.
  /// Throws like receive().
  std::optional<value_type> try_receive() {
    event_type* ev = checked();
    const std::uint8_t s =
        detail::once_access::state(*ev).load(std::memory_order_acquire);
    if (!(s & detail::once_bits::tx_done)) return std::nullopt;
    return take_optional(ev, s);
  }

  /// Blocks for at most `d` (rounded up; zero or negative: try once). nullopt
  /// on time-out, after which the receiver is still usable. Throws like
  /// receive().
  template <class Rep, class Period>
  std::optional<value_type> receive_for(const std::chrono::duration<Rep, Period>& d) {
    event_type* ev = checked();
    auto& st = detail::once_access::state(*ev);
    std::uint8_t s = st.load(std::memory_order_acquire);
    if (!(s & detail::once_bits::tx_done)) {
      const deadline until = deadline::after(d);
      if (until.passed()) return std::nullopt;
      s = wait(st, until, nullptr);
      if (!(s & detail::once_bits::tx_done)) return std::nullopt;
    }
    return take_optional(ev, s);
  }

  /// Blocks until `t` on its clock (a past time: try once); as receive_for.
  template <class Clock, class Duration>
  std::optional<value_type> receive_until(
      const std::chrono::time_point<Clock, Duration>& t) {
    event_type* ev = checked();
    auto& st = detail::once_access::state(*ev);
    std::uint8_t s = st.load(std::memory_order_acquire);
    if (!(s & detail::once_bits::tx_done)) {
      const bool arrived = detail::wait_until_clock(t, [&](deadline until) {
        if (until.passed()) return false;
        s = wait(st, until, nullptr);
        return (s & detail::once_bits::tx_done) != 0;
      });
      if (!arrived) return std::nullopt;
    }
    return take_optional(ev, s);
  }

  /// Blocks until the value arrives or a stop is requested (nullopt). A value
  /// already there is returned even if stop was requested. Throws like receive().
  std::optional<value_type> receive(std::stop_token stop) {
    event_type* ev = checked();
    auto& st = detail::once_access::state(*ev);
    std::uint8_t s = st.load(std::memory_order_acquire);
    if (!(s & detail::once_bits::tx_done)) {
      if (stop.stop_requested()) return std::nullopt;
      s = wait(st, deadline::never(), &stop);
      if (!(s & detail::once_bits::tx_done)) return std::nullopt;
    }
    return take_optional(ev, s);
  }

  /// Whether the receiver still holds its event (not yet received, not moved from).
  bool valid() const noexcept { return b_.event() != nullptr; }

  /// `co_await std::move(rx)`: the awaiter takes the receiver over.
  friend once_awaiter<Binding> operator co_await(once_receiver&& rx) noexcept {
    return once_awaiter<Binding>(std::move(rx));
  }

 private:
  friend struct detail::once_access;
  friend class once_awaiter<Binding>;
  explicit once_receiver(Binding b) noexcept : b_(std::move(b)) {}

  event_type* checked() const {
    event_type* ev = b_.event();
    if (!ev) detail::throw_no_event("once_receiver: already received or moved from");
    return ev;
  }

  static std::uint8_t wait(detail::once_state& st, deadline until,
                           const std::stop_token* stop) noexcept {
    // The trace lives in this frame while the receiver is queued.
    detail::awaiter_trace_slot trace;
    trace.capture();
    return detail::once_wait(st, until, stop,
                             reinterpret_cast<parking_lot::token>(trace.record()));
  }

  // The state `s` has tx_done (read with acquire). Takes the value, ending
  // the receiver (it is the last end: the sender finished).
  value_type take(event_type* ev, std::uint8_t s) {
    if (!(s & detail::once_bits::value)) throw disconnected{};
    value_type v(
        std::move(detail::once_access::value(*ev)));  // may throw: nothing changed
    finish_taken(ev, s);
    return v;
  }
  std::optional<value_type> take_optional(event_type* ev, std::uint8_t s) {
    if (!(s & detail::once_bits::value)) throw disconnected{};
    std::optional<value_type> v(std::in_place,
                                std::move(detail::once_access::value(*ev)));
    finish_taken(ev, s);
    return v;
  }
  void finish_taken(event_type* ev, std::uint8_t s) noexcept {
    detail::once_access::destroy_value(*ev);
    // A plain store: the sender never touches the event again (tx_done is
    // its final transition), so nobody races with us; the bit is kept for
    // the debug check in ~once_event.
    detail::once_access::state(*ev).store(
        static_cast<std::uint8_t>((s & ~detail::once_bits::value) |
                                  detail::once_bits::rx_gone),
        std::memory_order_relaxed);
    Binding(std::move(b_)).finish(true);
  }

  void close() noexcept {
    event_type* ev = b_.event();
    if (!ev) return;
    Binding b(std::move(b_));
    const std::uint8_t s = detail::once_leave(detail::once_access::state(*ev));
    const bool last = (s & detail::once_bits::tx_done) != 0;
    if (last && (s & detail::once_bits::value)) detail::once_access::destroy_value(*ev);
    b.finish(last);
  }

  Binding b_;
};

/// The awaiter of `co_await std::move(rx)`: owns the receiver, and carries
/// the parking-lot entry (and, in debug builds, the trace) in the coroutine
/// frame. Destroying the suspended coroutine cancels the entry, then drops
/// the receiver.
template <class Binding>
class once_awaiter {
 public:
  /// The type of the value received.
  using value_type = typename once_receiver<Binding>::value_type;

  /// Takes over `rx` (done by `co_await std::move(rx)`).
  explicit once_awaiter(once_receiver<Binding>&& rx) noexcept : rx_(std::move(rx)) {}
  once_awaiter(const once_awaiter&) = delete;
  once_awaiter& operator=(const once_awaiter&) = delete;
  /// Withdraws a coroutine destroyed while suspended, then drops the receiver.
  ~once_awaiter() {
    // The coroutine is destroyed while suspended: withdraw the entry (one
    // load when there is nothing to do). If it is queued, the receiver is
    // alive and so is the event (the sender frees it only after rx_gone):
    // clear `parked` under the queue lock as we leave. If the sender's wake
    // had already chosen it (its resumption pending on the waking thread),
    // the value stays in the event and rx_'s destructor, the last end,
    // destroys it: nothing to pass on.
    parking_lot::cancel(entry_, [this](bool) {
      detail::once_access::state(*rx_.b_.event())
          .fetch_and(static_cast<std::uint8_t>(~detail::once_bits::parked),
                     std::memory_order_relaxed);
    });
  }

  /// True (no suspension) when the sender has finished, or when the receiver
  /// holds no event (await_resume then throws).
  bool await_ready() const noexcept {
    auto* ev = rx_.b_.event();
    return !ev || (detail::once_access::state(*ev).load(std::memory_order_acquire) &
                   detail::once_bits::tx_done);
  }

  /// Queues the coroutine in the parking lot; false (it goes on at once) if
  /// the sender finished meanwhile.
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    detail::once_state& st = detail::once_access::state(*rx_.b_.event());
    trace_.capture();
    // Queued unless the sender finished meanwhile; once queued, *this may be
    // resumed (and destroyed) on the sender's thread before we return.
    return parking_lot::park_async(
        &st, [&st] { return detail::once_mark_parked(st); }, entry_, h,
        reinterpret_cast<parking_lot::token>(trace_.record()));
  }

  /// The value; throws as receive() does.
  value_type await_resume() {
    auto* ev = rx_.checked();
    // G: acquire pairs with F, or with the lot's hand-off after F.
    return rx_.take(ev, detail::once_access::state(*ev).load(std::memory_order_acquire));
  }

 private:
  once_receiver<Binding> rx_;
  parking_lot::waiter entry_;
  [[no_unique_address]] detail::awaiter_trace_slot trace_;
};

/// One heap allocation holding an event, bound; the last end frees it.
template <class T>
once_channel<typename once_event<T>::managed_sender,
             typename once_event<T>::managed_receiver>
make_once() {
  auto* ev = new once_event<T>();
  detail::once_access::set_bound(*ev);
  using E = once_event<T>;
  return detail::once_access::make_channel<typename E::managed_sender,
                                           typename E::managed_receiver>(
      detail::managed_binding<E>(ev), detail::managed_binding<E>(ev));
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
class once_event_pool {
  using store = detail::once_slab_store<once_event<T>, detail::once_spin_lock>;

 public:
  /// The type of the values carried.
  using value_type = T;
  /// The type of the pooled events.
  using event_type = once_event<T>;
  /// Where a rented event lives (used by the pool's ends).
  using slot = typename store::slot;
  /// The sender handed out by bind_by_ref() and bind_by_ptr().
  using sender_by_ref = once_sender<detail::pool_binding<once_event_pool>>;
  /// The receiver handed out by bind_by_ref() and bind_by_ptr().
  using receiver_by_ref = once_receiver<detail::pool_binding<once_event_pool>>;
  /// The sender handed out by bind_by_shared().
  using sender_by_shared = once_sender<detail::shared_pool_binding<once_event_pool>>;
  /// The receiver handed out by bind_by_shared().
  using receiver_by_shared = once_receiver<detail::shared_pool_binding<once_event_pool>>;

  /// An empty pool.
  once_event_pool() noexcept = default;
  once_event_pool(const once_event_pool&) = delete;
  once_event_pool& operator=(const once_event_pool&) = delete;

  /// Rents an event and binds it; the pool must outlive both ends.
  once_channel<sender_by_ref, receiver_by_ref> bind_by_ref() {
    slot* s = store_.rent();
    return detail::once_access::make_channel<sender_by_ref, receiver_by_ref>(
        detail::pool_binding<once_event_pool>(this, s),
        detail::pool_binding<once_event_pool>(this, s));
  }
  /// The same, for a pool reached through a pointer (kept alive and in place
  /// by the caller).
  once_channel<sender_by_ref, receiver_by_ref> bind_by_ptr() { return bind_by_ref(); }
  /// Rents an event; both ends hold a reference to the pool. Throws
  /// std::invalid_argument for a null pointer.
  static once_channel<sender_by_shared, receiver_by_shared> bind_by_shared(
      std::shared_ptr<once_event_pool> pool) {
    if (!pool) throw std::invalid_argument("once_event_pool::bind_by_shared: null pool");
    slot* s = pool->store_.rent();
    detail::shared_pool_binding<once_event_pool> a(pool, s);
    return detail::once_access::make_channel<sender_by_shared, receiver_by_shared>(
        std::move(a), detail::shared_pool_binding<once_event_pool>(std::move(pool), s));
  }

  /// Live events: bound and not yet returned (a snapshot).
  std::size_t size() const noexcept { return store_.size(); }
  /// Events the pool holds, live or free.
  std::size_t capacity() const noexcept { return store_.capacity(); }
  /// Grows the pool so that `n` events fit without allocating.
  void reserve(std::size_t n) { store_.reserve(n); }
  /// Frees the slabs whose events are all back in the pool.
  void shrink_to_fit() noexcept { store_.shrink_to_fit(); }

  /// Calls f(awaiter_trace) once per live event: the trace where its receiver
  /// blocks or awaits, empty if none does (always empty in release builds).
  /// The traces are copied first, so f runs with no lock held and may use the
  /// pool (it allocates a vector in debug builds).
  template <class F>
  void inspect_awaiters(F&& f) const {
    if constexpr (awaiter_traces_enabled) {
      std::vector<detail::trace_record> traces;
      traces.reserve(size() + 8);
      store_.for_each_live([&](const event_type& ev) {
        traces.emplace_back();
        detail::once_copy_trace(detail::once_access::state(const_cast<event_type&>(ev)),
                                traces.back());
      });
      for (const auto& t : traces)
        f(t.view());
    } else {
      std::size_t n = 0;
      store_.for_each_live([&](const event_type&) { ++n; });
      for (; n > 0; --n)
        f(awaiter_trace{});
    }
  }

 private:
  friend class detail::pool_binding<once_event_pool>;
  friend class detail::shared_pool_binding<once_event_pool>;
  void give_back(slot* s) noexcept { store_.give_back(s); }

  store store_;
};

}  // namespace beacon
