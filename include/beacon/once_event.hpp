// beacon/once_event.hpp — a one-shot value event across threads (the
// `events` crate's OnceEvent: a oneshot channel whose event object is
// explicit), its sender, receiver and awaiter, and a pool of events.
//
// once_event<T> carries one value of type T from a sender to a receiver,
// which may be on different threads.
// * An event binds once: bind_by_ref(), bind_by_ptr(), bind_by_shared(sp)
//   each hand out one sender and one receiver; binding again throws
//   std::logic_error. make_once<T>() allocates, binds and manages one.
// * std::move(tx).send(v) stores the value and wakes the receiver. It never
//   blocks and makes no system call unless a receiver thread is parked (a
//   coroutine receiver is resumed inline); it consumes the sender (tx.send(v)
//   on an lvalue does not compile, with a message saying to move it).
// * rx.receive() blocks until the value arrives; rx.try_receive() never
//   blocks (nullopt while nothing was sent); rx.receive_for(d) /
//   receive_until(t) / receive(std::stop_token) return nullopt on time-out or
//   stop, and the receiver stays usable; `co_await std::move(rx)` suspends the
//   coroutine. Each yields the value once: receiving again throws
//   std::logic_error.
// * std::move(tx).send_exception(e) sends an exception instead of a value
//   (as std::promise::set_exception): every receive form and co_await
//   rethrow it, once, and the receiver is then consumed as by a value.
// * A sender destroyed without sending makes every receive form throw
//   beacon::disconnected (again on every later call).
// * A value (or exception) sent to a receiver that is gone is destroyed at
//   once; T's destructor runs exactly once for every value constructed, on
//   every path, and an exception sent is released exactly once alike.
// * T: a move-constructible object type whose destructor does not throw.
//
// Memory ordering: everything the sending thread did before send() happens-
// before the receive that returns its value (the sender's transition is a
// release, the receiver's read of it an acquire; through the parking lot's
// hand-off when the receiver slept). The same holds for send_exception and
// the receive that rethrows, and for a sender destroyed unsent and the
// receiver that throws `disconnected`.
//
// Lifetime: an event is not copyable or movable (its address is its
// identity). With bind_by_ref / bind_by_ptr it must outlive both ends
// (asserted in debug builds); a thread may destroy it right after its
// receive() returned or its sender finished, even while the other end's call
// is still returning. A coroutine awaiting a receiver is resumed on the
// thread that sends (or destroys the sender), inline, before that call
// returns and after the parking lot released its locks; it must not be
// destroyed concurrently with that resumption.
//
// State: one atomic byte plus the value's storage (sizeof(once_event<int>) ==
// 8); a blocked receiver waits in the parking lot keyed by the byte's address
// (detail::parked_wait, detail::parked_awaiter). An exception sent lives in
// the value's storage when a std::exception_ptr fits there (T at least a
// pointer's size and alignment; always for local_once_event), else, so that
// no event grows, in a side table of the library keyed by the event's
// address (a mutex, and an allocation while the table grows: the error path
// alone pays).
//
// Who frees. Each end finishes with one read-modify-write of the state: the
// sender sets tx_done (with value when it sent), the receiver rx_gone. The
// end whose transition finds the other's bit set is the last: it destroys a
// value nobody received and frees the event (deletes it for make_once,
// returns it to its pool). The first end touches nothing of the event after
// its transition, and the last cannot run before it, so no end ever touches
// freed memory.
//
// Waking a parked receiver without touching freed memory. "Store tx_done,
// then unpark" would be wrong: in between, the receiver may time out, take
// the value and free the event (or a pool rebind it and a new receiver park
// on the same address), and the late unpark would act on a stale key. So the
// receiver sets `parked` under the queue lock before it sleeps, and a sender
// that sees `parked` makes its transition inside unpark_one's callback, under
// that same lock, atomically with dequeuing the receiver. Every way a
// receiver leaves the queue (time-out, stop, an awaiter's cancel) also runs
// under that lock and clears `parked`. Hence either the sender's CAS saw no
// `parked` (no receiver is queued, and none can queue after the transition:
// its validation sees tx_done) or the transition happens under the queue
// lock, after which the lot touches only the dequeued entry (on the woken
// thread's stack or in the coroutine frame), never the event.
//
// Awaiter traces: in debug builds (BEACON_AWAITER_TRACES, default !NDEBUG) a
// receiver records its stack trace when it parks or suspends, in its own
// frame or awaiter (never in the event), and its queue entry points at it
// (parking_lot::wait_site::trace); inspect_awaiter(f) copies it under the
// queue lock, as beacon::for_each_waiter does (inspect.hpp). Release
// builds record nothing and f gets an empty trace. The macro changes the
// awaiters' layout, so every once type lives in an inline namespace named
// after it (beacon::once_traces_on / once_traces_off): translation units
// built with different values may be linked together (each uses its own
// types; one compiled library serves both), and passing a once type from
// one to a function compiled in the other is a link error, not an ODR
// violation.
//
// Type-erased ends: beacon::once_sender<T> and beacon::once_receiver<T> (T a
// value type; the same templates with a binding as parameter are the
// concrete ends) hold any binding's end of once_event<T> or
// local_once_event<T>, inline (no allocation; four pointers), and forward
// each call with one indirect call: senders or receivers of mixed origin fit
// one std::vector or std::deque. Every binding's end converts to them
// implicitly, by move.
//
// once_event_pool<T> (the `events` crate's OnceEventPool): a bind rents an
// event, which goes back to the pool when both its ends are gone (a value
// never received is destroyed then). Events live in slabs at stable
// addresses; rent and return are O(1) and allocate nothing once the pool has
// grown to its working size (reserve() grows it ahead of time). Every member
// may be called from any thread; a short spin lock guards the free list.
// With bind_by_ref / bind_by_ptr the pool must outlive every end it handed
// out (size() == 0 when destroyed; asserted in debug builds); with
// bind_by_shared the ends keep it alive.
//
// @code
//  beacon::once_event<std::string> ev;
//  auto [tx, rx] = ev.bind_by_ref();
//  std::thread t([tx = std::move(tx)]() mutable { std::move(tx).send("hello"); });
//  std::string s = rx.receive();   // "hello"
//  t.join();
//
//  auto [tx2, rx2] = beacon::make_once<int>();  // one allocation, freed by the last end
//  std::move(tx2).send(42);
//  int v = co_await std::move(rx2);             // in a coroutine: 42
//
//  auto pool = std::make_shared<beacon::once_event_pool<int>>();
//  auto [tx3, rx3] = beacon::once_event_pool<int>::bind_by_shared(pool);
//
//  std::vector<beacon::once_sender<int>> senders;  // any origin
//  senders.push_back(std::move(tx3));
//  beacon::once_receiver<int> any_rx = std::move(rx3);
// @endcode
#pragma once

#include <algorithm>
#include <cassert>
#include <chrono>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <utility>
#include "beacon/source_location.hpp"

#include "beacon/detail/deadline.hpp"
#include "beacon/detail/once_protocol.hpp"
#include "beacon/detail/parked_wait.hpp"

namespace beacon {

/// Thrown by a receiver (every receive form, co_await) whose sender was
/// destroyed without sending; again on every later call.
class disconnected : public std::exception {
 public:
  /// Says that the sender was destroyed without sending.
  const char* what() const noexcept override {
    return "beacon::disconnected: the sender was destroyed without sending";
  }
};

/// What a bind returns: `auto [tx, rx] = ev.bind_by_ref();`
template <class Sender, class Receiver>
struct once_channel {
  Sender sender;      ///< The sending end.
  Receiver receiver;  ///< The receiving end.
};

/// The trace handed to inspect_awaiter(s): return addresses, innermost first;
/// empty where nothing waits, and always when traces are disabled.
using awaiter_trace = std::span<void* const>;

/// One line per frame ("binary(symbol+offset) [address]"), as glibc's
/// backtrace_symbols() prints them; for logging a trace.
std::string describe_trace(awaiter_trace trace);

// From here on, in the inline namespace named after BEACON_AWAITER_TRACES
// (detail/once_protocol.hpp says why).
inline namespace BEACON_ONCE_ABI {

/// Whether this translation unit records awaiter stack traces
/// (BEACON_AWAITER_TRACES: 1 unless NDEBUG; define it to 0 or 1 to override;
/// units built with different values may be mixed, see the file comment).
inline constexpr bool awaiter_traces_enabled = detail::traces_on;

/// A one-shot event across threads; the contract is this file's comment.
/// Default-constructed unbound, constexpr (so it can be constinit).
/// Precondition of its destruction: both ends are gone, or it was never bound.
template <class T>
class once_event
    : public detail::basic_once_event<once_event<T>, T, detail::once_atomic_policy> {};

static_assert(sizeof(once_event<int>) <= 8, "once_event<int> is one word");

/// One heap allocation holding an event, bound; the last end frees it.
template <class T>
once_channel<typename once_event<T>::managed_sender,
             typename once_event<T>::managed_receiver>
make_once() {
  return detail::make_managed<once_event<T>>();
}

/// A pool of once events (see this file's comment): bind_by_ref(),
/// bind_by_ptr(), bind_by_shared(sp), size(), capacity(), reserve(n),
/// shrink_to_fit(), inspect_awaiters(f).
template <class T>
class once_event_pool
    : public detail::basic_once_pool<once_event_pool<T>, once_event<T>> {};

/// The sending end of a one-shot event (once_event or local_once_event):
/// move-only, one send. Destroying it unsent disconnects the receiver (a
/// blocked thread is woken, an awaiting coroutine resumed, to throw
/// beacon::disconnected); assigning over it finishes it alike first. A
/// moved-from sender is invalid.
template <class Binding>
class once_sender
    : private detail::lvalue_send_stubs<typename Binding::event_type::value_type> {
 public:
  /// The event type (once_event<T> or local_once_event<T>).
  using event_type = typename Binding::event_type;
  /// The type of the value sent.
  using value_type = typename event_type::value_type;

  /// Sends `v` and consumes the sender. Never blocks; an awaiting coroutine
  /// is resumed before it returns. Throws std::logic_error on a sender
  /// already consumed or moved from; if T's constructor throws, nothing was
  /// sent and the sender is unchanged.
  void send(const value_type& v) && { std::move(*this).emplace(v); }
  /// Sends `v` by move; as send(const value_type&).
  void send(value_type&& v) && { std::move(*this).emplace(std::move(v)); }
  /// Constructs the value in the event from `args`; otherwise as send().
  template <class... Args>
  void emplace(Args&&... args) && {
    deliver(bits::value, [&](event_type& ev) {
      ::new (static_cast<void*>(std::addressof(access::value(ev))))
          value_type(std::forward<Args>(args)...);
    });
  }
  /// Sends the exception `e` instead of a value and consumes the sender, as
  /// std::promise::set_exception: the receiver's receive forms (blocking,
  /// timed, stoppable, try_receive) and co_await rethrow it, once; the
  /// receiver is then consumed like one that received a value. Never blocks.
  /// Throws std::invalid_argument for a null `e` and std::logic_error as
  /// send(); std::bad_alloc where T is smaller than a pointer and the
  /// library's side table of such exceptions cannot grow (see
  /// docs/once_event.md). After a throw nothing was sent and the sender is
  /// unchanged.
  void send_exception(std::exception_ptr e) && {
    if (!e)
      throw std::invalid_argument(std::string(policy::name) +
                                  "_sender::send_exception: null exception_ptr");
    deliver(bits::error, [&](event_type& ev) { access::store_error(ev, std::move(e)); });
  }

  /// Whether this sender can still send (not consumed, not moved from).
  bool valid() const noexcept { return b_.event() != nullptr; }

  // On an lvalue these do not compile (detail::lvalue_send_stubs says why).
  using detail::lvalue_send_stubs<value_type>::send;
  using detail::lvalue_send_stubs<value_type>::send_exception;
  /// Not callable: write std::move(tx).emplace(args...).
  template <class... Args>
  void emplace(Args&&...) const& {
    static_assert(detail::dependent_false<Binding>,
                  "beacon: emplace() consumes the sender: call it as "
                  "std::move(tx).emplace(args...)");
  }

 private:
  using policy = detail::once_policy<event_type>;
  using bits = detail::once_bits;
  using access = detail::once_access;
  friend struct detail::once_access;
  friend class detail::once_end<Binding, once_sender>;
  explicit once_sender(Binding b) noexcept : b_(std::move(b)) {}

  // send / emplace / send_exception: `store(ev)` constructs the payload
  // (`kind`: bits::value or bits::error) in the storage; if it throws,
  // nothing changed.
  template <class Store>
  void deliver(std::uint8_t kind, Store&& store) {
    event_type* ev = b_.event();
    if (!ev) detail::throw_logic(policy::name, "_sender: already sent or moved from");
    auto& st = access::state(*ev);
    // Acquire: when the receiver is gone we are the last end (once_H → here).
    const std::uint8_t s = st.load(std::memory_order_acquire);
    if (s & bits::rx_gone) {  // nobody to receive: construct nothing
      st.store(static_cast<std::uint8_t>(s | bits::tx_done), std::memory_order_relaxed);
      b_.take().finish(true);
      return;
    }
    // The payload goes over the storage's idle member: first take what it
    // holds of a waiting receiver (a local event's coroutine).
    const auto waiter = policy::take_waiter(*ev);
    try {
      std::forward<Store>(store)(*ev);
    } catch (...) {
      access::idle(*ev) = waiter;  // the storage held it: put it back
      throw;
    }
    finish(b_.take(), *ev, static_cast<std::uint8_t>(bits::tx_done | kind), waiter);
  }

  // Destroyed or assigned over unsent: disconnects the receiver.
  static void close(Binding& b) noexcept {
    if (event_type* ev = b.event())
      finish(Binding(std::move(b)), *ev, bits::tx_done, policy::take_waiter(*ev));
  }

  // The transition and the end. `b` was moved out of the sender first: a
  // coroutine resumed here may destroy the sender object before we return.
  static void finish(Binding b, event_type& ev, std::uint8_t sent,
                     typename policy::idle waiter) noexcept {
    const bool last = detail::once_finish<policy>(access::state(ev), sent);
    if (last) access::destroy_payload(ev, sent);  // the receiver went meanwhile
    b.finish(last);  // not last: from here on the event belongs to the receiver
    policy::resume(waiter);
  }

  detail::once_end<Binding, once_sender> b_;
};

template <class Binding>
class once_awaiter;

/// The receiving end of a one-shot event: move-only; yields the value once.
/// A receiver that goes (destroyed, or assigned over) without receiving
/// leaves: a value sent to it is destroyed (then, or by the sender if the
/// sender finishes later). A moved-from receiver is invalid.
/// The blocking forms (receive(), receive_for, receive_until,
/// receive(std::stop_token)) exist for once_event only: nothing could ever
/// send to a local_once_event's receiver while it blocks its thread.
template <class Binding>
class once_receiver {
  using policy = detail::once_policy<typename Binding::event_type>;
  using bits = detail::once_bits;
  using access = detail::once_access;

 public:
  /// The event type (once_event<T> or local_once_event<T>).
  using event_type = typename Binding::event_type;
  /// The type of the value received.
  using value_type = typename event_type::value_type;

  /// Blocks until the value arrives and returns it. Throws
  /// beacon::disconnected if the sender was destroyed unsent,
  /// std::logic_error if the value was received before (or moved from).
  value_type receive(beacon::source_location loc =
                         beacon::source_location::current()) requires(policy::blocking) {
    event_type* ev = checked();
    detail::once_wait_core c{&access::state(*ev)};
    if (!c.try_acquire()) detail::parked_wait(c, deadline::never(), nullptr, loc);
    return take(ev);
  }

  /// The value if it was sent, nullopt while nothing was; never blocks.
  /// Throws like receive().
  std::optional<value_type> try_receive() {
    event_type* ev = checked();
    // once_G: acquire pairs with once_F.
    if (!(access::state(*ev).load(std::memory_order_acquire) & bits::tx_done))
      return std::nullopt;
    return take(ev, std::in_place);
  }

  /// Blocks for at most `d` (rounded up; zero or negative: try once). nullopt
  /// on time-out, after which the receiver is still usable. Throws like
  /// receive().
  template <class Rep, class Period>
  std::optional<value_type> receive_for(
      const std::chrono::duration<Rep, Period>& d,
      beacon::source_location loc =
          beacon::source_location::current()) requires(policy::blocking) {
    event_type* ev = checked();
    detail::once_wait_core c{&access::state(*ev)};
    return detail::wait_for_impl(c, deadline::after(d), loc) ? take(ev, std::in_place)
                                                             : std::nullopt;
  }

  /// Blocks until `t` on its clock (a past time: try once); as receive_for.
  template <class Clock, class Duration>
  std::optional<value_type> receive_until(
      const std::chrono::time_point<Clock, Duration>& t,
      beacon::source_location loc =
          beacon::source_location::current()) requires(policy::blocking) {
    event_type* ev = checked();
    detail::once_wait_core c{&access::state(*ev)};
    return detail::wait_until_impl(c, t, loc) ? take(ev, std::in_place) : std::nullopt;
  }

  /// Blocks until the value arrives or a stop is requested (nullopt). A value
  /// already there is returned even if stop was requested. Throws like receive().
  std::optional<value_type> receive(
      const std::stop_token& stop,
      beacon::source_location loc =
          beacon::source_location::current()) requires(policy::blocking) {
    event_type* ev = checked();
    detail::once_wait_core c{&access::state(*ev)};
    return detail::wait_stop_impl(c, stop, loc) ? take(ev, std::in_place) : std::nullopt;
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
  friend class detail::once_end<Binding, once_receiver>;
  explicit once_receiver(Binding b) noexcept : b_(std::move(b)) {}

  event_type* checked() const {
    event_type* ev = b_.event();
    if (!ev)
      detail::throw_logic(policy::name, "_receiver: already received or moved from");
    return ev;
  }

  // For wait_many.hpp (through once_access): the state word a multi-waiter
  // parks on (its event's wait address), null while the receiver holds no
  // event; and the value (or the throw) of a receiver whose sender has
  // finished (tx_done read with acquire by the multi-wait), as receive().
  detail::once_state* wait_word() const noexcept requires(policy::blocking) {
    event_type* ev = b_.event();
    return ev ? &access::state(*ev) : nullptr;
  }
  value_type take_ready() { return take(checked()); }

  // The sender has finished (tx_done was read with acquire, or the lot handed
  // off after once_F): takes the value (returned as a value_type, or as an
  // optional given std::in_place), ending the receiver, the last end.
  template <class... InPlace>
  auto take(event_type* ev, InPlace... in_place) {
    if (!(access::state(*ev).load(std::memory_order_relaxed) & bits::value)) rethrow(ev);
    std::conditional_t<sizeof...(InPlace) == 0, value_type, std::optional<value_type>> v(
        in_place..., std::move(access::value(*ev)));  // may throw: nothing changed
    std::destroy_at(std::addressof(access::value(*ev)));
    // A plain store: the sender never touches the event again (tx_done is
    // final), so nobody races with us; rx_gone stays for the destructor's check.
    auto& st = access::state(*ev);
    st.store(static_cast<std::uint8_t>(
                 (st.load(std::memory_order_relaxed) & ~bits::value) | bits::rx_gone),
             std::memory_order_relaxed);
    b_.take().finish(true);
    return v;
  }

  // No value: rethrows the exception sent instead, ending the receiver as
  // take() does, or throws disconnected (the receiver stays, as it was).
  [[noreturn]] void rethrow(event_type* ev) {
    auto& st = access::state(*ev);
    const std::uint8_t s = st.load(std::memory_order_relaxed);
    if (!(s & bits::error)) throw disconnected{};
    std::exception_ptr e = access::take_error(*ev);
    // A plain store, as in take().
    st.store(static_cast<std::uint8_t>((s & ~bits::error) | bits::rx_gone),
             std::memory_order_relaxed);
    b_.take().finish(true);
    std::rethrow_exception(std::move(e));
  }

  // The receiver's final transition when it goes without receiving.
  static void close(Binding& end) noexcept {
    event_type* ev = end.event();
    if (!ev) return;
    Binding b(std::move(end));
    // once_H: release pairs with once_F when the sender finishes later;
    // acquire pairs with once_F when it finished first (we may destroy its
    // value and free).
    const std::uint8_t s =
        access::state(*ev).fetch_or(bits::rx_gone, std::memory_order_acq_rel);
    const bool last = (s & bits::tx_done) != 0;
    if (last) access::destroy_payload(*ev, s);
    b.finish(last);
  }

  detail::once_end<Binding, once_receiver> b_;
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
  ~once_awaiter() { wait_.withdraw(rx_.b_.event()); }

  /// True (no suspension) when the sender has finished, or when the receiver
  /// holds no event (await_resume then throws).
  bool await_ready() const noexcept {
    auto* ev = rx_.b_.event();
    return !ev || (detail::once_access::state(*ev).load(std::memory_order_acquire) &
                   detail::once_bits::tx_done);
  }
  /// Queues the coroutine where the sender's transition finds it; false (it
  /// goes on at once) if the sender finished meanwhile. Once queued, it is
  /// resumed by send() or by the sender's destruction.
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    return wait_.suspend(*rx_.b_.event(), h);
  }
  /// The value; throws as receive() does.
  value_type await_resume() { return rx_.take(rx_.checked()); }

 private:
  once_receiver<Binding> rx_;
  typename policy::template waiting<typename Binding::event_type> wait_;
};

}  // namespace BEACON_ONCE_ABI

// ---------------------------------------------------------------------------
// Type-erased ends: once_sender<T> and once_receiver<T>.

namespace detail {
inline namespace BEACON_ONCE_ABI {

// What tells a binding (the parameter of the concrete once_sender /
// once_receiver) from a value type T (that of the type-erased ends).
template <class B>
concept once_binding = requires(const B& b) {
  typename B::event_type;
  { b.event() } -> std::same_as<typename B::event_type*>;
};

// Room for any binding's end: the largest binding is a pooled one held by
// std::shared_ptr (the pool's shared_ptr and the slot: three pointers).
struct once_end_room {
  alignas(void*) unsigned char bytes[3 * sizeof(void*)];
};

// Room for any binding's awaiter: its receiver and the policy's waiting
// entry (which does not depend on the event type: any E stands in).
struct once_room_event {};
template <class P>
struct once_awaiter_shape {
  once_end_room end;
  typename P::template waiting<once_room_event> wait;
};
struct once_awaiter_room {
  alignas(std::max_align_t) unsigned char bytes[std::max(
      sizeof(once_awaiter_shape<once_atomic_policy>),
      sizeof(once_awaiter_shape<once_local_policy>))];
};

// Places a concrete end `E` in `room` (its size and alignment checked).
template <class E, class Room, class... Args>
E* once_place(Room& room, Args&&... args) noexcept {
  static_assert(sizeof(E) <= sizeof(room.bytes) && alignof(E) <= alignof(Room),
                "beacon: a once end larger than the type-erased ends' room");
  return ::new (static_cast<void*>(room.bytes)) E(std::forward<Args>(args)...);
}
template <class E>
E& once_in(void* room) noexcept {
  return *std::launder(static_cast<E*>(room));
}

// The sender's table: one per concrete sender type S (value type T).
template <class T>
struct once_sender_table {
  void (*send_copy)(void*, const T&);
  void (*send_move)(void*, T&&);
  void (*send_exception)(void*, std::exception_ptr);
  bool (*valid)(const void*) noexcept;
  void (*relocate)(void* to, void* from) noexcept;  // move-constructs, destroys `from`
  void (*destroy)(void*) noexcept;                  // disconnects the receiver if unsent
};
template <class T, class S>
inline constexpr once_sender_table<T> once_sender_table_for{
    [](void* s, const T& v) { std::move(once_in<S>(s)).send(v); },
    [](void* s, T&& v) { std::move(once_in<S>(s)).send(std::move(v)); },
    [](void* s, std::exception_ptr e) {
      std::move(once_in<S>(s)).send_exception(std::move(e));
    },
    [](const void* s) noexcept { return once_in<S>(const_cast<void*>(s)).valid(); },
    [](void* to, void* from) noexcept {
      ::new (to) S(std::move(once_in<S>(from)));
      std::destroy_at(&once_in<S>(from));
    },
    [](void* s) noexcept { std::destroy_at(&once_in<S>(s)); },
};

// The receiver's table: one per concrete receiver type R (value type T).
// A local_once_event's receiver cannot block: its blocking entries throw.
template <class T>
struct once_receiver_table {
  bool can_block;
  T (*receive)(void*);
  std::optional<T> (*try_receive)(void*);
  std::optional<T> (*receive_until)(void*, deadline);  // never(): as receive()
  std::optional<T> (*receive_stop)(void*, const std::stop_token&);
  bool (*valid)(const void*) noexcept;
  void (*relocate)(void* to, void* from) noexcept;
  void (*destroy)(void*) noexcept;  // leaves: a value sent is destroyed
  // co_await: the awaiter room takes the receiver over (its own room is then
  // empty and destroyed); then the awaiter's three steps and its end.
  void (*start_await)(once_awaiter_room& to, void* from) noexcept;
  bool (*await_ready)(const void*) noexcept;
  bool (*await_suspend)(void*, std::coroutine_handle<>) noexcept;
  T (*await_resume)(void*);
  void (*destroy_awaiter)(void*) noexcept;
  // wait_many.hpp: the state word to wait on (null: empty, or a local
  // receiver, which cannot be waited on there), and the ready value.
  once_state* (*wait_word)(const void*) noexcept;
  T (*take_ready)(void*);
};
[[noreturn]] inline void throw_cannot_block() {
  throw_logic("local_once", "_receiver: cannot block (try_receive or co_await)");
}
template <class T, class R>
inline constexpr once_receiver_table<T> once_receiver_table_for{
    once_policy<typename R::event_type>::blocking,
    [](void* r) -> T {
      if constexpr (once_policy<typename R::event_type>::blocking)
        return once_in<R>(r).receive();
      throw_cannot_block();
    },
    [](void* r) { return once_in<R>(r).try_receive(); },
    [](void* r, deadline d) -> std::optional<T> {
      if constexpr (once_policy<typename R::event_type>::blocking) {
        if (d.is_never()) return once_in<R>(r).receive();
        using clock = std::chrono::steady_clock;
        return once_in<R>(r).receive_until(
            clock::time_point(std::chrono::nanoseconds(d.ns)));
      } else {
        throw_cannot_block();
      }
    },
    [](void* r, const std::stop_token& st) -> std::optional<T> {
      if constexpr (once_policy<typename R::event_type>::blocking)
        return once_in<R>(r).receive(st);
      throw_cannot_block();
    },
    [](const void* r) noexcept { return once_in<R>(const_cast<void*>(r)).valid(); },
    [](void* to, void* from) noexcept {
      ::new (to) R(std::move(once_in<R>(from)));
      std::destroy_at(&once_in<R>(from));
    },
    [](void* r) noexcept { std::destroy_at(&once_in<R>(r)); },
    [](once_awaiter_room& to, void* from) noexcept {
      using A = decltype(operator co_await(std::declval<R&&>()));
      once_place<A>(to, std::move(once_in<R>(from)));
      std::destroy_at(&once_in<R>(from));
    },
    [](const void* a) noexcept {
      using A = decltype(operator co_await(std::declval<R&&>()));
      return once_in<A>(const_cast<void*>(a)).await_ready();
    },
    [](void* a, std::coroutine_handle<> h) noexcept {
      using A = decltype(operator co_await(std::declval<R&&>()));
      return once_in<A>(a).await_suspend(h);
    },
    [](void* a) -> T {
      using A = decltype(operator co_await(std::declval<R&&>()));
      return once_in<A>(a).await_resume();
    },
    [](void* a) noexcept {
      using A = decltype(operator co_await(std::declval<R&&>()));
      std::destroy_at(&once_in<A>(a));
    },
    [](const void* r) noexcept -> once_state* {
      if constexpr (once_policy<typename R::event_type>::blocking)
        return once_access::wait_word(once_in<R>(const_cast<void*>(r)));
      else
        return nullptr;
    },
    [](void* r) -> T { return once_access::take_ready(once_in<R>(r)); },
};

}  // namespace BEACON_ONCE_ABI
}  // namespace detail

inline namespace BEACON_ONCE_ABI {

/// A sender of any binding of once_event<T> or local_once_event<T> (by
/// reference, shared, managed, pooled), type-erased: every concrete sender
/// with value_type T converts to it, so senders of mixed origin fit one
/// std::vector or std::deque. The concrete sender is stored inline (no
/// allocation; 4 pointers); each call is one indirect call to it, with its
/// contract: move-only, send / send_exception consume it, destroying it
/// unsent disconnects the receiver. Default-constructed or moved-from it is
/// empty (valid() false; sending throws std::logic_error). emplace() is not
/// erased (construct the T, then send it).
/// Memory ordering, lifetime, threads: those of the concrete sender.
template <class T>
requires(!detail::once_binding<T>) class once_sender<T>
    : private detail::lvalue_send_stubs<T> {
  using table = detail::once_sender_table<T>;

 public:
  /// The type of the value sent.
  using value_type = T;

  /// Empty: holds no sender.
  once_sender() noexcept = default;
  /// Takes over `s` (implicit, so a vector of once_sender<T> takes any).
  template <detail::once_binding Binding>
  requires std::same_as<typename Binding::event_type::value_type, T> once_sender(
      once_sender<Binding>&& s)
  noexcept  // NOLINT(google-explicit-constructor)
      : t_(&detail::once_sender_table_for<T, once_sender<Binding>>) {
    detail::once_place<once_sender<Binding>>(room_, std::move(s));
  }
  /// Takes over `o`'s sender; `o` is left empty.
  once_sender(once_sender&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {
    if (t_) t_->relocate(room_.bytes, o.room_.bytes);
  }
  /// Finishes the sender held (disconnecting its receiver if unsent), then
  /// takes over `o`'s.
  once_sender& operator=(once_sender&& o) noexcept {
    if (this != &o) {
      reset();
      if ((t_ = std::exchange(o.t_, nullptr))) t_->relocate(room_.bytes, o.room_.bytes);
    }
    return *this;
  }
  /// Finishes the sender held: unsent, its receiver is disconnected.
  ~once_sender() { reset(); }

  /// As the concrete sender's send(); std::logic_error when empty.
  void send(const T& v) && { checked()->send_copy(room_.bytes, v); }
  /// As the concrete sender's send(); std::logic_error when empty.
  void send(T&& v) && { checked()->send_move(room_.bytes, std::move(v)); }
  /// As the concrete sender's send_exception(); std::logic_error when empty.
  void send_exception(std::exception_ptr e) && {
    checked()->send_exception(room_.bytes, std::move(e));
  }
  /// Whether a sender is held and can still send.
  bool valid() const noexcept { return t_ && t_->valid(room_.bytes); }

  // On an lvalue these do not compile (detail::lvalue_send_stubs says why).
  using detail::lvalue_send_stubs<T>::send;
  using detail::lvalue_send_stubs<T>::send_exception;

 private:
  const table* checked() const {
    if (!t_) detail::throw_logic("once", "_sender: empty (moved from)");
    return t_;
  }
  void reset() noexcept {
    if (t_) std::exchange(t_, nullptr)->destroy(room_.bytes);
  }

  const table* t_ = nullptr;    // null: empty
  detail::once_end_room room_;  // the concrete sender, while t_
};

/// A receiver of any binding of once_event<T> or local_once_event<T>,
/// type-erased as once_sender<T> is (stored inline, no allocation, one
/// indirect call per operation, move-only, empty when default-constructed or
/// moved from: every form then throws std::logic_error). The receive forms
/// and `co_await std::move(rx)` are the concrete receiver's; a
/// local_once_event's receiver cannot block, so through once_receiver<T> its
/// blocking forms (receive(), receive_for, receive_until, receive(stop))
/// throw std::logic_error (can_block() says which it holds).
/// Memory ordering, lifetime, threads: those of the concrete receiver.
template <class T>
requires(!detail::once_binding<T>) class once_receiver<T> {
  using table = detail::once_receiver_table<T>;

 public:
  /// The type of the value received.
  using value_type = T;
  /// The awaiter of `co_await std::move(rx)` on a once_receiver<T>: the
  /// concrete receiver's awaiter, stored inline (in the coroutine frame).
  /// Neither copyable nor movable. An empty receiver's await throws
  /// std::logic_error.
  class awaiter {
   public:
    /// Takes over `rx`'s receiver (done by `co_await std::move(rx)`).
    explicit awaiter(once_receiver&& rx) noexcept : t_(std::exchange(rx.t_, nullptr)) {
      if (t_) t_->start_await(room_, rx.room_.bytes);
    }
    awaiter(const awaiter&) = delete;
    awaiter& operator=(const awaiter&) = delete;
    /// As the concrete awaiter's destructor (withdraws a waiting coroutine).
    ~awaiter() {
      if (t_) t_->destroy_awaiter(room_.bytes);
    }
    /// As the concrete await_ready(); true when empty.
    bool await_ready() const noexcept { return !t_ || t_->await_ready(room_.bytes); }
    /// As the concrete await_suspend().
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      return t_->await_suspend(room_.bytes, h);
    }
    /// The value; throws as the concrete awaiter does (std::logic_error when empty).
    T await_resume() {
      if (!t_) detail::throw_logic("once", "_receiver: empty (moved from)");
      return t_->await_resume(room_.bytes);
    }

   private:
    const table* t_;
    detail::once_awaiter_room room_;
  };

  /// Empty: holds no receiver.
  once_receiver() noexcept = default;
  /// Takes over `r` (implicit).
  template <detail::once_binding Binding>
  requires std::same_as<typename Binding::event_type::value_type, T> once_receiver(
      once_receiver<Binding>&& r)
  noexcept  // NOLINT(google-explicit-constructor)
      : t_(&detail::once_receiver_table_for<T, once_receiver<Binding>>) {
    detail::once_place<once_receiver<Binding>>(room_, std::move(r));
  }
  /// Takes over `o`'s receiver; `o` is left empty.
  once_receiver(once_receiver&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {
    if (t_) t_->relocate(room_.bytes, o.room_.bytes);
  }
  /// Drops the receiver held (a value sent to it is destroyed), then takes
  /// over `o`'s.
  once_receiver& operator=(once_receiver&& o) noexcept {
    if (this != &o) {
      reset();
      if ((t_ = std::exchange(o.t_, nullptr))) t_->relocate(room_.bytes, o.room_.bytes);
    }
    return *this;
  }
  /// Drops the receiver held (a value sent to it is destroyed).
  ~once_receiver() { reset(); }

  /// As the concrete receive().
  T receive() { return checked()->receive(room_.bytes); }
  /// As the concrete try_receive(); also for a local_once_event's receiver.
  std::optional<T> try_receive() { return checked()->try_receive(room_.bytes); }
  /// As the concrete receive_for().
  template <class Rep, class Period>
  std::optional<T> receive_for(const std::chrono::duration<Rep, Period>& d) {
    return checked()->receive_until(room_.bytes, deadline::after(d));
  }
  /// As the concrete receive_until() (another clock than the steady clock is
  /// re-checked after a time-out, so a clock that jumps ends it no earlier).
  template <class Clock, class Duration>
  std::optional<T> receive_until(const std::chrono::time_point<Clock, Duration>& t) {
    const table* tb = checked();
    return detail::wait_until_clock(
        t, [&](deadline d) { return tb->receive_until(room_.bytes, d); });
  }
  /// As the concrete receive(std::stop_token).
  std::optional<T> receive(const std::stop_token& stop) {
    return checked()->receive_stop(room_.bytes, stop);
  }
  /// Whether a receiver is held and can still receive.
  bool valid() const noexcept { return t_ && t_->valid(room_.bytes); }
  /// Whether the receiver held has the blocking forms (once_event's do).
  bool can_block() const noexcept { return t_ && t_->can_block; }

  /// `co_await std::move(rx)`: the awaiter takes the receiver over.
  friend awaiter operator co_await(once_receiver&& rx) noexcept {
    return awaiter(std::move(rx));
  }

 private:
  friend struct detail::once_access;
  const table* checked() const {
    if (!t_) detail::throw_logic("once", "_receiver: empty (moved from)");
    return t_;
  }
  void reset() noexcept {
    if (t_) std::exchange(t_, nullptr)->destroy(room_.bytes);
  }
  // For wait_many.hpp, as the concrete receiver's (null also for a local one).
  detail::once_state* wait_word() const noexcept {
    return t_ ? t_->wait_word(room_.bytes) : nullptr;
  }
  T take_ready() { return checked()->take_ready(room_.bytes); }

  const table* t_ = nullptr;    // null: empty
  detail::once_end_room room_;  // the concrete receiver, while t_
};

}  // namespace BEACON_ONCE_ABI
}  // namespace beacon
