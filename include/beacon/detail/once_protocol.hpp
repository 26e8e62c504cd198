// The one-shot protocol, written once for once_event and local_once_event:
// the event's state, storage and binds (detail::basic_once_event), the
// sender, the receiver and the awaiter, make_once's single allocation
// (detail::make_managed) and the pools (detail::basic_once_pool).
//
// Each is a template over its event, and the event's policy says how the
// state is held and how a receiver waits:
// * once_event (once_event.hpp, once_atomic_policy): an atomic state byte; a
//   receiver blocks or awaits in the parking lot, keyed by the state byte's
//   address, and a sender that finds it queued makes its transition under the
//   queue lock.
// * local_once_event (local_once_event.hpp, once_local_policy): a plain byte
//   (plain_atomic: the memory orders written below mean nothing there); only
//   a coroutine waits, registered in the event's storage and resumed through
//   a per-thread trampoline.
//
// A policy P provides:
//   name                 "once" or "local_once": starts the exception messages
//   blocking             whether a receiver can block a thread (receive(),
//                        receive_for, receive_until, receive(stop_token))
//   state                the state word (once_bits)
//   idle                 what the storage holds while it holds no value
//   entry                what an awaiter holds while its coroutine waits
//   finish_parked(st, bits)
//                        the sender's transition when it finds `parked`: sets
//                        `bits`, clears `parked`; returns whether the sender
//                        is the last end (see once_finish)
//   take_waiter(ev), resume(w)
//                        what the sender keeps of a waiting receiver before it
//                        constructs the value over `idle`, and wakes with it
//                        after its transition
//   suspend(ev, entry, h, trace), withdraw(entry, ev)
//                        an awaiter's registration, and its withdrawal by a
//                        coroutine destroyed while it waits
//   copy_trace(ev, out)  the trace of the waiting receiver, if any
//   wait(st, until, stop, trace)
//                        (blocking only) a thread waits for tx_done
#pragma once

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>
#include <vector>

#include "beacon/detail/deadline.hpp"
#include "beacon/detail/once_common.hpp"
#include "beacon/detail/once_pool.hpp"

namespace beacon {

template <class Binding>
class once_sender;
template <class Binding>
class once_receiver;
template <class Binding>
class once_awaiter;

namespace detail {

// The sender's final transition: sets `bits` (tx_done, and value if sent).
// Returns whether the sender is the last end. Never touches the event after
// the transition.
template <class P>
bool once_finish(typename P::state& st, std::uint8_t bits) noexcept {
  std::uint8_t s = st.load(std::memory_order_relaxed);
  while (!(s & once_bits::parked)) {
    // F: release publishes the value to the receiver's acquire (G); acquire
    // pairs with the receiver's release (H) when it left first, before we
    // destroy and free.
    if (st.compare_exchange_weak(s, static_cast<std::uint8_t>(s | bits),
                                 std::memory_order_acq_rel, std::memory_order_relaxed))
      return (s & once_bits::rx_gone) != 0;
  }
  // A receiver may be waiting: the policy makes the transition together with
  // its wake-up (once_event: under the queue lock, atomically with its
  // dequeue; see once_event).
  return P::finish_parked(st, bits);
}

/// The storage, the binds and the inspection of a one-shot event, written
/// once for once_event and local_once_event (Event: the derived event;
/// Policy: how it holds its state and how its receiver waits). The contract
/// is in once_event's and local_once_event's comments.
template <class Event, class T, class Policy>
class basic_once_event {
  static_assert(std::is_object_v<T> && !std::is_array_v<T>,
                "beacon: a once event's T must be an object type");
  static_assert(std::is_nothrow_destructible_v<T>);

 public:
  /// The type of the value carried.
  using value_type = T;
  /// The sender handed out by bind_by_ref() and bind_by_ptr().
  using sender_by_ref = once_sender<ref_binding<Event>>;
  /// The receiver handed out by bind_by_ref() and bind_by_ptr().
  using receiver_by_ref = once_receiver<ref_binding<Event>>;
  /// The sender handed out by bind_by_shared().
  using sender_by_shared = once_sender<shared_binding<Event>>;
  /// The receiver handed out by bind_by_shared().
  using receiver_by_shared = once_receiver<shared_binding<Event>>;
  /// The sender handed out by make_once() (make_local_once() for a local event).
  using managed_sender = once_sender<managed_binding<Event>>;
  /// The receiver handed out by make_once() (make_local_once() for a local event).
  using managed_receiver = once_receiver<managed_binding<Event>>;

  basic_once_event(const basic_once_event&) = delete;
  basic_once_event& operator=(const basic_once_event&) = delete;

  /// Binds the event; it must outlive both ends. Throws std::logic_error if it
  /// was bound before.
  once_channel<sender_by_ref, receiver_by_ref> bind_by_ref() {
    bind();
    return once_access::make_channel<sender_by_ref, receiver_by_ref>(
        ref_binding<Event>(self()), ref_binding<Event>(self()));
  }

  /// The same ends as bind_by_ref(), for an event reached through a pointer
  /// (embedded in a node, placed by a custom allocator): the caller keeps it
  /// alive and in place until both ends are gone. Also binds only once.
  once_channel<sender_by_ref, receiver_by_ref> bind_by_ptr() { return bind_by_ref(); }

  /// Binds `*ev`; each end holds a reference to it. Throws
  /// std::invalid_argument for a null pointer, std::logic_error if bound before.
  static once_channel<sender_by_shared, receiver_by_shared> bind_by_shared(
      std::shared_ptr<Event> ev) {
    if (!ev) throw_null(Policy::name, "_event::bind_by_shared: null event");
    ev->bind();
    shared_binding<Event> a(ev);
    return once_access::make_channel<sender_by_shared, receiver_by_shared>(
        std::move(a), shared_binding<Event>(std::move(ev)));
  }

  /// Whether the event was bound (its ends may be gone since).
  bool is_bound() const noexcept {
    return (state_.load(std::memory_order_relaxed) & once_bits::bound) != 0;
  }

  /// Calls f(awaiter_trace): the stack trace where the receiver now blocks or
  /// awaits, empty when nothing waits or traces are disabled. f runs with no
  /// beacon lock held.
  template <class F>
  void inspect_awaiter(F&& f) const {
    trace_record copy;
    if constexpr (awaiter_traces_enabled) Policy::copy_trace(*self(), copy);
    std::forward<F>(f)(copy.view());
  }

 protected:
  /// An unbound event; constexpr, so it can be constinit.
  constexpr basic_once_event() noexcept = default;
  /// Protected: an event is not deleted through its base.
  ~basic_once_event() = default;

  /// Whether both ends are gone or the event was never bound: the
  /// precondition of the event's destructor.
  bool ends_gone() const noexcept {
    constexpr std::uint8_t both = once_bits::tx_done | once_bits::rx_gone;
    const std::uint8_t s = state_.load(std::memory_order_relaxed);
    return !(s & once_bits::bound) || (s & both) == both;
  }

 private:
  friend struct once_access;
  using policy = Policy;

  Event* self() noexcept { return static_cast<Event*>(this); }
  const Event* self() const noexcept { return static_cast<const Event*>(this); }

  void bind() {
    std::uint8_t expected = 0;
    // Relaxed: the ends reach other threads through the caller's own
    // synchronization, which orders this store before their use.
    if (!state_.compare_exchange_strong(expected, once_bits::bound,
                                        std::memory_order_relaxed))
      throw_already_bound();
  }

  // The protocol state (once_bits; the life of the word is listed there):
  // 0 = unbound; bound = ends handed out; tx_done = sender finished, with
  // `value` if it sent; rx_gone = receiver finished; parked = the receiver
  // waits (the policy says where; once_event: queued in the parking lot on
  // &state_, set and cleared only under that queue's lock).
  typename Policy::state state_{0};
  // Holds a T while `value` is set; the sender constructs it before its
  // transition, the last end (or the receiver taking it) destroys it.
  // `idle` is the active member otherwise (it makes constinit events work):
  // nothing for once_event, the registered coroutine for local_once_event
  // (the sender reads it before it constructs the value over it).
  union storage {
    constexpr storage() noexcept : idle{} {}
    ~storage() {}  // the value, if any, is destroyed by the ends
    typename Policy::idle idle;
    T value;
  } storage_;
};

}  // namespace detail

/// The sending end of a one-shot event (once_event or local_once_event):
/// move-only, one send. Destroying it unsent disconnects the receiver.
template <class Binding>
class once_sender {
  using policy = detail::once_policy<typename Binding::event_type>;

 public:
  /// The event type (once_event<T> or local_once_event<T>).
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
  /// beacon::disconnected (a blocked thread is woken, an awaiting coroutine
  /// resumed, to do so).
  ~once_sender() { close(); }

  /// Sends `v` (copy or move) and consumes the sender. Never blocks; an
  /// awaiting coroutine is resumed before it returns. Throws std::logic_error
  /// on a sender already consumed or moved from; if T's constructor throws,
  /// nothing was sent and the sender is unchanged.
  void send(const value_type& v) && { std::move(*this).emplace(v); }
  /// Sends `v` by move; as send(const value_type&).
  void send(value_type&& v) && { std::move(*this).emplace(std::move(v)); }
  /// Constructs the value in the event from `args`; otherwise as send().
  template <class... Args>
  void emplace(Args&&... args) && {
    event_type* ev = b_.event();
    if (!ev) detail::throw_no_event(policy::name, "_sender: already sent or moved from");
    auto& st = detail::once_access::state(*ev);
    // Acquire: when the receiver is gone we are the last end (H → here).
    const std::uint8_t s = st.load(std::memory_order_acquire);
    if (s & detail::once_bits::rx_gone) {  // nobody to receive: construct nothing
      st.store(static_cast<std::uint8_t>(s | detail::once_bits::tx_done),
               std::memory_order_relaxed);
      Binding(std::move(b_)).finish(true);
      return;
    }
    // The value is constructed over the storage's idle member: first take
    // what it holds of a waiting receiver (a local event's coroutine).
    const auto waiter = policy::take_waiter(*ev);
    if constexpr (std::is_nothrow_constructible_v<value_type, Args&&...>) {
      construct(*ev, std::forward<Args>(args)...);
    } else {
      try {
        construct(*ev, std::forward<Args>(args)...);
      } catch (...) {
        detail::once_access::idle(*ev) = waiter;  // the storage held it: put it back
        throw;
      }
    }
    finish(Binding(std::move(b_)), *ev,
           detail::once_bits::tx_done | detail::once_bits::value, waiter);
  }

  /// Whether this sender can still send (not consumed, not moved from).
  bool valid() const noexcept { return b_.event() != nullptr; }

 private:
  friend struct detail::once_access;
  explicit once_sender(Binding b) noexcept : b_(std::move(b)) {}

  template <class... Args>
  static void construct(event_type& ev, Args&&... args) {
    ::new (static_cast<void*>(std::addressof(detail::once_access::value(ev))))
        value_type(std::forward<Args>(args)...);
  }

  void close() noexcept {
    event_type* ev = b_.event();
    if (!ev) return;
    finish(Binding(std::move(b_)), *ev, detail::once_bits::tx_done,
           policy::take_waiter(*ev));
  }

  // The sender's transition and its end. `b` was moved out of the sender
  // first: a coroutine resumed by the transition may destroy the sender
  // object before we return, so this touches none of it.
  static void finish(Binding b, event_type& ev, std::uint8_t bits,
                     typename policy::idle waiter) noexcept {
    if (detail::once_finish<policy>(detail::once_access::state(ev), bits)) {  // last
      if (bits & detail::once_bits::value)
        detail::once_access::destroy_value(ev);  // the receiver went meanwhile
      b.finish(true);
    } else {
      b.finish(false);  // from here on, the event belongs to the receiver
    }
    policy::resume(waiter);
  }

  Binding b_;
};

/// The receiving end of a one-shot event: move-only; yields the value once.
/// The blocking forms (receive(), receive_for, receive_until,
/// receive(std::stop_token)) exist for once_event only: nothing could ever
/// send to a local_once_event's receiver while it blocks its thread.
template <class Binding>
class once_receiver {
  using policy = detail::once_policy<typename Binding::event_type>;

 public:
  /// The event type (once_event<T> or local_once_event<T>).
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
  value_type receive() requires(policy::blocking) {
    event_type* ev = checked();
    auto& st = detail::once_access::state(*ev);
    std::uint8_t s = st.load(std::memory_order_acquire);  // G: pairs with F
    if (!(s & detail::once_bits::tx_done)) s = wait(st, deadline::never(), nullptr);
    return take(ev, s);
  }

  /// The value if it was sent, nullopt while nothing was; never blocks.
  /// Throws like receive(): beacon::disconnected if the sender was destroyed
  /// unsent, std::logic_error if the value was received before (or moved
  /// from).
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
  std::optional<value_type> receive_for(
      const std::chrono::duration<Rep, Period>& d) requires(policy::blocking) {
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
      const std::chrono::time_point<Clock, Duration>& t) requires(policy::blocking) {
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
  std::optional<value_type> receive(std::stop_token stop) requires(policy::blocking) {
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
    if (!ev)
      detail::throw_no_event(policy::name, "_receiver: already received or moved from");
    return ev;
  }

  static std::uint8_t wait(typename policy::state& st, deadline until,
                           const std::stop_token* stop) noexcept {
    // The trace lives in this frame while the receiver is queued.
    detail::awaiter_trace_slot trace;
    trace.capture();
    return policy::wait(st, until, stop, trace.record());
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
    // the debug check in the event's destructor.
    detail::once_access::state(*ev).store(
        static_cast<std::uint8_t>((s & ~detail::once_bits::value) |
                                  detail::once_bits::rx_gone),
        std::memory_order_relaxed);
    Binding(std::move(b_)).finish(true);
  }

  // The receiver's final transition when it goes without receiving.
  void close() noexcept {
    event_type* ev = b_.event();
    if (!ev) return;
    Binding b(std::move(b_));
    // H: release pairs with F when the sender finishes later; acquire pairs
    // with F when it finished first (we may destroy its value and free).
    const std::uint8_t s = detail::once_access::state(*ev).fetch_or(
        detail::once_bits::rx_gone, std::memory_order_acq_rel);
    const bool last = (s & detail::once_bits::tx_done) != 0;
    if (last && (s & detail::once_bits::value)) detail::once_access::destroy_value(*ev);
    b.finish(last);
  }

  Binding b_;
};

/// The awaiter of `co_await std::move(rx)`: owns the receiver, and carries in
/// the coroutine frame the entry by which the coroutine waits (once_event: a
/// parking-lot entry; local_once_event: its registration in the event) and,
/// in debug builds, the trace. Destroying the waiting coroutine withdraws the
/// entry, then drops the receiver.
template <class Binding>
class once_awaiter {
  using policy = detail::once_policy<typename Binding::event_type>;

 public:
  /// The type of the value received.
  using value_type = typename once_receiver<Binding>::value_type;

  /// Takes over `rx` (done by `co_await std::move(rx)`).
  explicit once_awaiter(once_receiver<Binding>&& rx) noexcept : rx_(std::move(rx)) {}
  once_awaiter(const once_awaiter&) = delete;
  once_awaiter& operator=(const once_awaiter&) = delete;
  /// Withdraws a coroutine destroyed while suspended (or made ready but not
  /// yet resumed), then drops the receiver.
  ~once_awaiter() { policy::withdraw(entry_, rx_.b_.event()); }

  /// True (no suspension) when the sender has finished, or when the receiver
  /// holds no event (await_resume then throws).
  bool await_ready() const noexcept {
    auto* ev = rx_.b_.event();
    return !ev || (detail::once_access::state(*ev).load(std::memory_order_acquire) &
                   detail::once_bits::tx_done);
  }

  /// Queues the coroutine where the sender's transition finds it; false (it
  /// goes on at once) if the sender finished meanwhile. Once queued, the
  /// coroutine is resumed by send() or by the sender's destruction.
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    trace_.capture();
    return policy::suspend(*rx_.b_.event(), entry_, h, trace_.record());
  }

  /// The value; throws as receive() does (beacon::disconnected if the sender
  /// was destroyed unsent, std::logic_error if the receiver held no event).
  value_type await_resume() {
    auto* ev = rx_.checked();
    // G: acquire pairs with F, or with the lot's hand-off after F.
    return rx_.take(ev, detail::once_access::state(*ev).load(std::memory_order_acquire));
  }

 private:
  once_receiver<Binding> rx_;
  typename policy::entry entry_;
  [[no_unique_address]] detail::awaiter_trace_slot trace_;
};

namespace detail {

// make_once / make_local_once: one heap allocation holding an event, bound;
// the last end frees it.
template <class E>
once_channel<typename E::managed_sender, typename E::managed_receiver> make_managed() {
  using S = typename E::managed_sender;
  using R = typename E::managed_receiver;
  auto* ev = new E();
  once_access::set_bound(*ev);
  return once_access::make_channel<S, R>(managed_binding<E>(ev), managed_binding<E>(ev));
}

/// The pool written once for once_event_pool (Lock: once_spin_lock) and
/// local_once_event_pool (once_no_lock): Pool is the derived pool, Event its
/// events. A bind rents an event, which goes back to the pool when both its
/// ends are gone (a value never received is destroyed then).
template <class Pool, class Event, class Lock>
class basic_once_pool {
  using store = once_slab_store<Event, Lock>;

 public:
  /// The type of the values carried.
  using value_type = typename Event::value_type;
  /// The type of the pooled events.
  using event_type = Event;
  /// Where a rented event lives (used by the pool's ends).
  using slot = typename store::slot;
  /// The sender handed out by bind_by_ref() and bind_by_ptr().
  using sender_by_ref = once_sender<pool_binding<Pool>>;
  /// The receiver handed out by bind_by_ref() and bind_by_ptr().
  using receiver_by_ref = once_receiver<pool_binding<Pool>>;
  /// The sender handed out by bind_by_shared().
  using sender_by_shared = once_sender<shared_pool_binding<Pool>>;
  /// The receiver handed out by bind_by_shared().
  using receiver_by_shared = once_receiver<shared_pool_binding<Pool>>;

  basic_once_pool(const basic_once_pool&) = delete;
  basic_once_pool& operator=(const basic_once_pool&) = delete;

  /// Rents an event and binds it; the pool must outlive both ends.
  once_channel<sender_by_ref, receiver_by_ref> bind_by_ref() {
    slot* s = store_.rent();
    return once_access::make_channel<sender_by_ref, receiver_by_ref>(
        pool_binding<Pool>(self(), s), pool_binding<Pool>(self(), s));
  }
  /// The same, for a pool reached through a pointer (kept alive and in place
  /// by the caller).
  once_channel<sender_by_ref, receiver_by_ref> bind_by_ptr() { return bind_by_ref(); }
  /// Rents an event; both ends hold a reference to the pool. Throws
  /// std::invalid_argument for a null pointer.
  static once_channel<sender_by_shared, receiver_by_shared> bind_by_shared(
      std::shared_ptr<Pool> pool) {
    if (!pool)
      throw_null(once_policy<Event>::name, "_event_pool::bind_by_shared: null pool");
    slot* s = pool->store_.rent();
    shared_pool_binding<Pool> a(pool, s);
    return once_access::make_channel<sender_by_shared, receiver_by_shared>(
        std::move(a), shared_pool_binding<Pool>(std::move(pool), s));
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
  /// pool, or resume and destroy coroutines (it allocates a vector in debug
  /// builds).
  template <class F>
  void inspect_awaiters(F&& f) const {
    if constexpr (awaiter_traces_enabled) {
      std::vector<trace_record> traces;
      traces.reserve(size() + 8);
      store_.for_each_live([&](const event_type& ev) {
        once_policy<Event>::copy_trace(ev, traces.emplace_back());
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

 protected:
  /// An empty pool.
  basic_once_pool() noexcept = default;
  /// Protected: a pool is not deleted through its base.
  ~basic_once_pool() = default;

 private:
  friend pool_binding<Pool>;
  friend shared_pool_binding<Pool>;

  Pool* self() noexcept { return static_cast<Pool*>(this); }
  void give_back(slot* s) noexcept { store_.give_back(s); }

  store store_;
};

}  // namespace detail
}  // namespace beacon
