// The one-shot protocol behind once_event and local_once_event, written once:
// the state bits, how an end refers to its event (bindings), the event's
// storage and binds (basic_once_event), the pools (basic_once_pool over a
// slab store), and the two policies that say how a state is held and how a
// receiver waits. The contracts, and the public sender, receiver and awaiter,
// are in beacon/once_event.hpp; docs/once_event.md says why.
#pragma once

#include <algorithm>
#include <atomic>
#include <cassert>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "beacon/detail/parked_wait.hpp"
#include "beacon/detail/platform.hpp"
#include "beacon/detail/spin_lock.hpp"
#include "beacon/detail/trace.hpp"
#include "beacon/parking_lot.hpp"

// Awaiter stack traces: on in debug builds. Define BEACON_AWAITER_TRACES to 0
// or 1 to override (it changes the layout of the awaiters; units built with
// different values may be mixed, see BEACON_ONCE_ABI below).
#ifndef BEACON_AWAITER_TRACES
#ifdef NDEBUG
#define BEACON_AWAITER_TRACES 0
#else
#define BEACON_AWAITER_TRACES 1
#endif
#endif

// Everything whose definition depends on BEACON_AWAITER_TRACES (the once
// events, their ends, awaiters and pools, and the detail parts that hold a
// trace or test the macro) lives in an inline namespace named after its
// value. So translation units built with different values use different
// entities instead of breaking the one-definition rule: each works with its
// own, and a function taking a once type, compiled with one value and called
// from a unit built with the other, is a link error rather than a silent
// layout mismatch. What the compiled library defines (the sender's wake-up,
// trace copying, the exception stash, describe_trace) depends on no trace
// layout and stays outside, so one library build serves both.
#if BEACON_AWAITER_TRACES
#define BEACON_ONCE_ABI once_traces_on
#else
#define BEACON_ONCE_ABI once_traces_off
#endif

namespace beacon {
// Defined and documented in beacon/once_event.hpp.
template <class Sender, class Receiver>
struct once_channel;
inline namespace BEACON_ONCE_ABI {
template <class Binding>
class once_sender;
template <class Binding>
class once_receiver;
}  // namespace BEACON_ONCE_ABI

namespace detail {

// The bits of a once event's state word (an atomic byte in once_event, a
// plain byte in local_once_event). The word over an event's life:
//   0                       unbound (fresh, or back in its pool)
//   bound                   bound, nothing sent, receiver alive
//   bound|parked            ... and the receiver waits (queued / registered)
//   bound|tx_done           the sender was destroyed without sending
//   bound|value|tx_done     the value is stored, waiting to be received
//   bound|error|tx_done     an exception was sent instead, waiting likewise
//   ...|rx_gone             the receiver is gone (received, or destroyed)
// tx_done and rx_gone are final: each end sets its own bit once, with the
// transition after which it never touches the event again; the end whose
// transition finds the other's bit already set is the last: it destroys a
// value (or exception) never received and frees the event.
struct once_bits {
  static constexpr std::uint8_t bound = 1;
  static constexpr std::uint8_t value = 2;    // storage holds a T (set with tx_done)
  static constexpr std::uint8_t tx_done = 4;  // the sender finished (sent or destroyed)
  static constexpr std::uint8_t rx_gone = 8;  // the receiver finished
  // once_event: the receiver may be queued in the parking lot on the state
  // word's address; set and cleared only under that queue's lock.
  // local_once_event: a coroutine is registered in the event.
  static constexpr std::uint8_t parked = 16;
  // The storage holds an exception (send_exception; set with tx_done, never
  // with value): inline, or in the stash when T's slot is too small for one.
  static constexpr std::uint8_t error = 32;
};

// std::atomic's interface over a plain T, so that the protocol is written
// once: in local_once_event every memory order below means nothing.
template <class T>
struct plain_atomic {
  T v;
  constexpr plain_atomic(T x) noexcept : v(x) {}  // NOLINT: as std::atomic
  T load(std::memory_order = {}) const noexcept { return v; }
  void store(T x, std::memory_order = {}) noexcept { v = x; }
  T fetch_or(T x, std::memory_order = {}) noexcept { return std::exchange(v, T(v | x)); }
  T fetch_and(T x, std::memory_order = {}) noexcept { return std::exchange(v, T(v & x)); }
  bool compare_exchange_strong(T& e, T d, std::memory_order = {},
                               std::memory_order = {}) noexcept {
    if (v != e) return (e = v), false;
    return (v = d), true;
  }
  bool compare_exchange_weak(T& e, T d, std::memory_order = {},
                             std::memory_order = {}) noexcept {
    return compare_exchange_strong(e, d);
  }
};

// trace_record (detail/trace.hpp): a stack trace, laid out alike in every
// build.

inline namespace BEACON_ONCE_ABI {
inline constexpr bool traces_on = BEACON_AWAITER_TRACES != 0;

// What a waiting receiver carries: a trace_record when traces are on,
// nothing (zero bytes with [[no_unique_address]]) otherwise.
struct no_trace {
  void capture() noexcept {}
  const trace_record* record() const noexcept { return nullptr; }
};
struct with_trace {
  trace_record trace;
  void capture() noexcept { trace.capture(); }
  const trace_record* record() const noexcept { return &trace; }
};
using trace_slot = std::conditional_t<traces_on, with_trace, no_trace>;
}  // namespace BEACON_ONCE_ABI

// Grants the ends, the bindings and the pools access to an event's policy,
// state and storage (E may be const).
struct once_access {
  template <class E>
  static typename E::policy policy_of() noexcept;  // for once_policy, never defined
  static auto& state(auto& e) noexcept { return e.state_; }
  static auto& value(auto& e) noexcept { return e.storage_.value; }
  static auto& idle(auto& e) noexcept { return e.storage_.idle; }  // while no value
  // The exception sent instead of a value (error bit): stores it (may throw
  // std::bad_alloc where it goes to the stash: nothing changed then), takes
  // it out, and destroys what a state `s` says the storage holds.
  static void store_error(auto& e, std::exception_ptr x) { e.store_error(std::move(x)); }
  static std::exception_ptr take_error(auto& e) noexcept { return e.take_error(); }
  static void destroy_payload(auto& e, std::uint8_t s) noexcept { e.destroy_payload(s); }
  // A pool's or make_once's own binding, or a pool's reset: the event is
  // exclusively ours (relaxed: ordered by the pool's lock or the allocation).
  static void set_state(auto& e, std::uint8_t v) noexcept {
    e.state_.store(v, std::memory_order_relaxed);
  }
  // A receiver's wait address and ready value, for wait_many.hpp (the
  // receiver's wait_word() and take_ready()).
  static auto wait_word(const auto& rx) noexcept { return rx.wait_word(); }
  static auto take_ready(auto& rx) { return rx.take_ready(); }
  template <class S, class R, class Ref>
  static once_channel<S, R> make_channel(Ref a, Ref b) noexcept {
    return {S(std::move(a)), R(std::move(b))};
  }
};
template <class E>
using once_policy = decltype(once_access::policy_of<E>());

// once_event and local_once_event receivers, concrete or type-erased (for
// wait_many.hpp and asio.hpp, which take them by reference).
template <class W>
struct is_once_receiver : std::false_type {};
template <class B>
struct is_once_receiver<once_receiver<B>> : std::true_type {};
template <class W>
inline constexpr bool once_receiver_v = is_once_receiver<W>::value;
// Whether receiver R can be waited on by a thread (a once_event's): false
// for a concrete local_once_event receiver; true for the type-erased one,
// which says at run time (its wait_word() is null for a local receiver).
template <class R>
constexpr bool receiver_can_block() noexcept {
  if constexpr (requires { typename R::event_type; })
    return once_policy<typename R::event_type>::blocking;
  else
    return true;
}

// False, but only once instantiated: for a static_assert that fires only
// when a template's member is used.
template <class>
inline constexpr bool dependent_false = false;

// The lvalue half of a sender's send / send_exception (both senders,
// concrete and type-erased, inherit it and bring it in with using-
// declarations). Called on an lvalue (or a const sender) these do not
// compile, and the static_assert's message says why: sending consumes the
// sender. (Deleted overloads would say only "use of deleted function"; and
// without them the error is "discards qualifiers".) An rvalue call prefers
// the sender's own && overloads.
template <class T>
struct lvalue_send_stubs {
  /// Not callable: write std::move(tx).send(v).
  void send(const T&) const& {
    static_assert(dependent_false<T>,
                  "beacon: send() consumes the sender: call it as std::move(tx).send(v)");
  }
  /// Not callable: write std::move(tx).send(v).
  void send(T&&) const& {
    static_assert(dependent_false<T>,
                  "beacon: send() consumes the sender: call it as std::move(tx).send(v)");
  }
  /// Not callable: write std::move(tx).send_exception(e).
  void send_exception(const std::exception_ptr&) const& {
    static_assert(dependent_false<T>,
                  "beacon: send_exception() consumes the sender: call it as "
                  "std::move(tx).send_exception(e)");
  }
};

// The stash (src/once_event.cpp): exceptions sent to events whose storage
// cannot hold a std::exception_ptr without growing (a T smaller or less
// aligned than a pointer, as once_event<int>), keyed by the event's address.
// An event has at most one entry, taken out by the end that destroys the
// event's payload, always before the event is freed or rebound, so a key is
// never reused while its entry is there. The error path alone pays for it:
// a mutex and, while the stash grows, an allocation (std::bad_alloc: nothing
// stashed).
void once_stash_error(const void* event, std::exception_ptr x);
std::exception_ptr once_unstash_error(const void* event) noexcept;

[[noreturn]] inline void throw_logic(const char* kind, const char* what) {
  throw std::logic_error(std::string(kind) + what);  // kind: "once", "local_once"
}

// ---------------------------------------------------------------------------
// Bindings: how one end refers to its event. Each end holds its own; event()
// is null once the end finished or was moved from. An end calls finish(last)
// once, after its final transition (the value, if any, destroyed by then):
// `last` says whether it must free the event.

// The event's own binds. Ptr: Event* for bind_by_ref / bind_by_ptr (the
// event outlives both ends) and make_once (Delete: one heap allocation,
// deleted by the last end); std::shared_ptr<Event> for bind_by_shared (the
// last reference deletes the then idle event).
template <class Event, class Ptr = Event*, bool Delete = false>
class event_binding {
 public:
  using event_type = Event;
  explicit event_binding(Ptr e) noexcept : e_(std::move(e)) {}
  event_binding(event_binding&& o) noexcept : e_(std::exchange(o.e_, nullptr)) {}
  event_binding& operator=(event_binding&& o) noexcept {
    e_ = std::exchange(o.e_, nullptr);
    return *this;
  }
  Event* event() const noexcept { return std::to_address(e_); }
  void finish(bool last) noexcept {
    if constexpr (Delete)
      if (last) delete e_;
    e_ = nullptr;
  }

 private:
  Ptr e_;
};
template <class Event>
using ref_binding = event_binding<Event>;
template <class Event>
using shared_binding = event_binding<Event, std::shared_ptr<Event>>;
template <class Event>
using managed_binding = event_binding<Event, Event*, true>;

// What a sender and a receiver hold: their binding, which they finish
// (End::close(Binding&): the end's final transition, unsent or unreceived)
// when destroyed or assigned over. Moving it takes the event over and leaves
// the source without one.
template <class Binding, class End>
class once_end {
 public:
  explicit once_end(Binding b) noexcept : b_(std::move(b)) {}
  once_end(once_end&&) noexcept = default;
  once_end& operator=(once_end&& o) noexcept {
    if (this != &o) {
      End::close(b_);
      b_ = std::move(o.b_);
    }
    return *this;
  }
  ~once_end() { End::close(b_); }

  // The event while this end holds it; null once taken or moved from.
  typename Binding::event_type* event() const noexcept { return b_.event(); }
  // Takes the binding out (the caller finishes it); event() is then null.
  Binding take() noexcept { return Binding(std::move(b_)); }

 private:
  Binding b_;
};

// A pool's ends: the last gives the slot back. PoolRef: Pool* (the pool
// outlives both ends) or std::shared_ptr<Pool> (the ends keep it alive).
template <class Pool, class PoolRef>
class slot_binding {
 public:
  using event_type = typename Pool::event_type;
  using slot = typename Pool::slot;
  slot_binding(PoolRef p, slot* s) noexcept : p_(std::move(p)), s_(s) {}
  slot_binding(slot_binding&& o) noexcept
      : p_(std::exchange(o.p_, nullptr)), s_(std::exchange(o.s_, nullptr)) {}
  slot_binding& operator=(slot_binding&& o) noexcept {
    p_ = std::exchange(o.p_, nullptr);
    s_ = std::exchange(o.s_, nullptr);
    return *this;
  }
  event_type* event() const noexcept { return s_ ? &s_->event : nullptr; }
  void finish(bool last) noexcept {
    if (last) p_->give_back(s_);  // before our reference to the pool goes
    s_ = nullptr;
    p_ = nullptr;
  }

 private:
  PoolRef p_;
  slot* s_;
};

// ---------------------------------------------------------------------------
// The event: state, storage, binds, inspection. Event: the derived public
// event; Policy: once_atomic_policy or once_local_policy (below).
inline namespace BEACON_ONCE_ABI {
template <class Event, class T, class Policy>
class basic_once_event {
  static_assert(std::is_object_v<T> && !std::is_array_v<T>,
                "beacon: a once event's T must be an object type");
  static_assert(std::is_nothrow_destructible_v<T>);

 public:
  /// The type of the value carried.
  using value_type = T;
  /// The ends handed out by bind_by_ref() and bind_by_ptr().
  using sender_by_ref = once_sender<ref_binding<Event>>;
  using receiver_by_ref = once_receiver<ref_binding<Event>>;
  /// The ends handed out by bind_by_shared().
  using sender_by_shared = once_sender<shared_binding<Event>>;
  using receiver_by_shared = once_receiver<shared_binding<Event>>;
  /// The ends handed out by make_once() / make_local_once().
  using managed_sender = once_sender<managed_binding<Event>>;
  using managed_receiver = once_receiver<managed_binding<Event>>;

  basic_once_event(const basic_once_event&) = delete;
  basic_once_event& operator=(const basic_once_event&) = delete;

  /// Binds the event; it must outlive both ends. Throws std::logic_error if
  /// it was bound before.
  once_channel<sender_by_ref, receiver_by_ref> bind_by_ref() {
    bind();
    return once_access::make_channel<sender_by_ref, receiver_by_ref>(
        ref_binding<Event>(self()), ref_binding<Event>(self()));
  }
  /// The same, for an event reached through a pointer (embedded in a node,
  /// placed by an allocator): kept alive and in place by the caller.
  once_channel<sender_by_ref, receiver_by_ref> bind_by_ptr() { return bind_by_ref(); }
  /// Binds `*ev`; each end holds a reference to it. Throws
  /// std::invalid_argument for a null pointer, std::logic_error if bound before.
  static once_channel<sender_by_shared, receiver_by_shared> bind_by_shared(
      std::shared_ptr<Event> ev) {
    if (!ev)
      throw std::invalid_argument(std::string(Policy::name) +
                                  "_event::bind_by_shared: null event");
    ev->bind();
    shared_binding<Event> a(ev);
    return once_access::make_channel<sender_by_shared, receiver_by_shared>(
        std::move(a), shared_binding<Event>(std::move(ev)));
  }

  /// Whether the event was bound (its ends may be gone since).
  bool is_bound() const noexcept {
    return (state_.load(std::memory_order_relaxed) & once_bits::bound) != 0;
  }

  /// Calls f(awaiter_trace): where the receiver now blocks or awaits; empty
  /// when nothing waits or traces are off. f runs with no beacon lock held.
  template <class F>
  void inspect_awaiter(F&& f) const {
    trace_record copy;
    if constexpr (traces_on) Policy::copy_trace(*self(), copy);
    std::forward<F>(f)(copy.view());
  }

 protected:
  constexpr basic_once_event() noexcept = default;
  // The precondition of the event's destructor: never bound, or both ends
  // gone.
  ~basic_once_event() {
    assert(ends_gone() &&
           "beacon: a once event destroyed while its sender or receiver is alive");
  }

  bool ends_gone() const noexcept {
    constexpr std::uint8_t both = once_bits::tx_done | once_bits::rx_gone;
    const std::uint8_t s = state_.load(std::memory_order_relaxed);
    return !(s & once_bits::bound) || (s & both) == both;
  }

 private:
  friend struct detail::once_access;  // qualified: we are in the inline namespace
  using policy = Policy;

  Event* self() noexcept { return static_cast<Event*>(this); }
  const Event* self() const noexcept { return static_cast<const Event*>(this); }

  void bind() {
    std::uint8_t expected = 0;
    // Relaxed: the ends reach other threads through the caller's own
    // synchronization, which orders this CAS before their use.
    if (!state_.compare_exchange_strong(expected, once_bits::bound,
                                        std::memory_order_relaxed))
      throw std::logic_error("beacon: a once event binds only once");
  }

  // An exception sent instead of a value lives in the storage when that
  // does not grow it (sizes are pinned: once_event<char> is 2 bytes), else
  // in the stash.
  struct no_error_slot {};
  static constexpr bool inline_error =
      sizeof(std::exception_ptr) <= std::max(sizeof(T), sizeof(typename Policy::idle)) &&
      alignof(std::exception_ptr) <= std::max(alignof(T), alignof(typename Policy::idle));

  void store_error(std::exception_ptr x) {
    if constexpr (inline_error)
      ::new (static_cast<void*>(std::addressof(storage_.error)))
          std::exception_ptr(std::move(x));
    else
      once_stash_error(this, std::move(x));
  }
  std::exception_ptr take_error() noexcept {
    if constexpr (inline_error) {
      std::exception_ptr x = std::move(storage_.error);
      std::destroy_at(std::addressof(storage_.error));
      return x;
    } else {
      return once_unstash_error(this);
    }
  }
  // The last end, or a receiver leaving: destroys what `s` says is stored.
  void destroy_payload(std::uint8_t s) noexcept {
    if (s & once_bits::value)
      std::destroy_at(std::addressof(storage_.value));
    else if (s & once_bits::error)
      take_error();  // dropped here
  }

  // once_bits (the word's life is listed there); `parked`: see the policy.
  typename Policy::state state_{0};
  // A T while `value` is set (constructed by the sender before its
  // transition, destroyed by the receiver taking it or by the last end); an
  // exception while `error` is set and inline_error, alike; `idle`
  // otherwise, which makes constinit events work: nothing for once_event,
  // the registered coroutine for local_once_event (read by the sender before
  // it constructs the value or exception over it).
  union storage {
    constexpr storage() noexcept : idle{} {}
    ~storage() {}
    typename Policy::idle idle;
    T value;
    std::conditional_t<inline_error, std::exception_ptr, no_error_slot> error;
  } storage_;
};
}  // namespace BEACON_ONCE_ABI

// The sender's final transition: sets `bits` (tx_done, and value if sent);
// returns whether the sender is the last end.
template <class P>
bool once_finish(typename P::state& st, std::uint8_t bits) noexcept {
  std::uint8_t s = st.load(std::memory_order_relaxed);
  while (!(s & once_bits::parked)) {
    // once_F: release publishes the value to the receiver's acquire
    // (once_G); acquire pairs with the receiver's once_H when it left first,
    // before we destroy and free.
    if (st.compare_exchange_weak(s, static_cast<std::uint8_t>(s | bits),
                                 std::memory_order_acq_rel, std::memory_order_relaxed))
      return (s & once_bits::rx_gone) != 0;
  }
  return P::finish_parked(st, bits);  // with the wake-up (see the policies)
}

// ---------------------------------------------------------------------------
// once_event's policy: an atomic byte; a receiver waits in the parking lot
// on the byte's address, through parked_wait / parked_awaiter over
// once_wait_core. Why this never touches a freed event: once_event.hpp.
using once_state = std::atomic<std::uint8_t>;

// The sender's transition when it finds `parked` (src/once_event.cpp): inside
// unpark_one's callback, under the queue lock, atomically with dequeuing the
// receiver. Returns whether the sender is the last end.
bool once_finish_parked(once_state& st, std::uint8_t bits) noexcept;
// Copies the trace of the receiver queued on &st, if any.
void once_copy_trace(const once_state& st, trace_record& out) noexcept;

inline namespace BEACON_ONCE_ABI {
// A receiver's wait, as parked_wait.hpp wants it: ready once the sender
// finished. Its queue entry's wait_site points at the waiter's trace (null
// when traces are off), captured only when it really parks (capture_trace);
// the trace lives in this object, in the receiving frame or coroutine
// awaiter, never in the event. for_each_waiter and inspect_awaiter(s) both
// read it through the entry, under the queue lock.
struct once_wait_core {
  using value_type = std::uint8_t;
  static constexpr value_type parked_bit = once_bits::parked;
  static constexpr const char* name = "once_event";  // inspect.hpp
  once_state* st;
  [[no_unique_address]] trace_slot trace;

  explicit once_wait_core(once_state* s = nullptr) noexcept : st(s) {}

  once_state& word() noexcept { return *st; }
  // mark_parked's test, under the queue lock: a receiver that finds tx_done
  // does not sleep (the sender saw no `parked` and wakes nobody).
  static bool ready(value_type s) noexcept { return (s & once_bits::tx_done) != 0; }
  // once_G: acquire pairs with once_F (directly, or through the lot's hand-off).
  bool try_acquire() noexcept {
    return (st->load(std::memory_order_acquire) & once_bits::tx_done) != 0;
  }
  // A woken coroutine destroyed before it ran: the value stays in the event
  // and the receiver's destructor, the last end, destroys it.
  void pass_on() noexcept {}
  const trace_record* capture_trace() noexcept {
    trace.capture();
    return trace.record();
  }
};

struct once_atomic_policy {
  static constexpr const char* name = "once";
  static constexpr bool blocking = true;
  static constexpr bool thread_safe = true;  // its pools lock (once_spin_lock)
  using state = once_state;
  struct idle {};  // the storage holds nothing but the value
  static bool finish_parked(state& st, std::uint8_t bits) noexcept {
    return once_finish_parked(st, bits);
  }
  static idle take_waiter(auto&) noexcept { return {}; }
  static void resume(idle) noexcept {}  // finish_parked woke the receiver
  static void copy_trace(const auto& ev, trace_record& out) noexcept {
    once_copy_trace(once_access::state(ev), out);
  }
  // An awaiter's wait: queued with park_async; ~parked_awaiter withdraws a
  // destroyed coroutine (clearing `parked` under the queue lock).
  template <class E>
  class waiting {
   public:
    bool suspend(E& ev, std::coroutine_handle<> h) noexcept {
      core_.st = &once_access::state(ev);
      return awaiter_.await_suspend(h);
    }
    void withdraw(E*) noexcept {}

   private:
    once_wait_core core_;
    parked_awaiter<once_wait_core> awaiter_{core_};
  };
};

// local_once_event's policy: a plain byte; an awaiting coroutine registers
// in the event's storage, and the sender resumes it through the parking
// lot's per-thread trampoline (no lock, no queue), so chains of hand-offs
// never recurse.
struct local_waiter {
  parking_lot::waiter entry;  // idle while registered; resume_pending once made ready
  std::coroutine_handle<> coroutine;
  const trace_record* trace = nullptr;
};

struct once_local_policy {
  static constexpr const char* name = "local_once";
  static constexpr bool blocking = false;     // nothing else could ever send
  static constexpr bool thread_safe = false;  // its pools need no lock
  using state = plain_atomic<std::uint8_t>;
  using idle = local_waiter*;  // the registered coroutine while `parked` is set
  // Clears `parked`: the sender took the waiter first and resumes it after.
  static bool finish_parked(state& st, std::uint8_t bits) noexcept {
    const std::uint8_t s = st.load();
    st.store(static_cast<std::uint8_t>((s | bits) & ~once_bits::parked));
    return (s & once_bits::rx_gone) != 0;
  }
  static idle take_waiter(auto& ev) noexcept {
    return (once_access::state(ev).load() & once_bits::parked) ? once_access::idle(ev)
                                                               : nullptr;
  }
  // After the sender finished: the receiver, alive, owns the event now.
  static void resume(idle w) noexcept {
    if (w) parking_lot::detail::resume_here(w->entry, w->coroutine);
  }
  static void copy_trace(const auto& ev, trace_record& out) noexcept {
    const local_waiter* w = take_waiter(ev);
    if (w && w->trace) out = *w->trace;
  }
  template <class E>
  class waiting {
   public:
    bool suspend(E& ev, std::coroutine_handle<> h) noexcept {
      trace_.capture();
      w_.coroutine = h;
      w_.trace = trace_.record();
      once_access::idle(ev) = &w_;
      once_access::state(ev).fetch_or(once_bits::parked);
      return true;
    }
    // Destroyed while registered: unregister. Made ready but not yet
    // resumed: cancel takes it off the trampoline's queue (the value stays
    // for the receiver's destructor).
    void withdraw(E* ev) noexcept {
      if (parking_lot::cancel(w_.entry, [](bool) {}) ==
              parking_lot::cancel_status::not_waiting &&
          ev && (once_access::state(*ev).load() & once_bits::parked))
        once_access::state(*ev).fetch_and(static_cast<std::uint8_t>(~once_bits::parked));
    }

   private:
    local_waiter w_;
    [[no_unique_address]] trace_slot trace_;
  };
};

}  // namespace BEACON_ONCE_ABI

// ---------------------------------------------------------------------------
// Pools: events at stable addresses in slabs, an intrusive LIFO free list,
// O(1) rent and return, no allocation once grown to the working size.
//
// The thread-safe pool guards its free list with a short spin lock (a pop or
// a push and a counter update). A lock-free Treiber stack (with a tag against
// ABA) costs the same one read-modify-write per operation here, but it could
// not let shrink_to_fit free a slab that a concurrent pop may still read
// (without hazard pointers or epochs), nor keep size() exact without a second
// atomic. bench/once_event_bench.cpp measures the two ("pool free list").
struct once_spin_lock : spin_lock {
  static constexpr bool thread_safe = true;
};
struct once_no_lock {  // local pools: one thread, nothing to exclude
  static constexpr bool thread_safe = false;
  void lock() noexcept {}
  void unlock() noexcept {}
};

template <class Event, class Lock>
class once_slab_store {
 public:
  struct slot {
    Event event;           // unbound (state 0) while on the free list
    slot* next = nullptr;  // free-list link; guarded by the lock
  };

  once_slab_store() noexcept = default;
  once_slab_store(const once_slab_store&) = delete;
  once_slab_store& operator=(const once_slab_store&) = delete;
  ~once_slab_store() {
    // bind_by_shared's ends keep the pool alive: only bind_by_ref users can break this.
    assert(size() == 0 && "a once event pool destroyed with live events");
    while (slab* s = slabs_)
      delete std::exchange(slabs_, s->next);
  }

  // Takes a free slot (growing if none is free) and binds its event.
  slot* rent() {
    for (;;) {
      {
        std::lock_guard g(lock_);
        if (slot* s = free_) {
          free_ = s->next;
          set_live(size() + 1);
          once_access::set_state(s->event, once_bits::bound);
          return s;
        }
      }
      grow(std::clamp<std::size_t>(capacity(), 8, 1024));  // doubles, up to 1024 a slab
    }
  }
  // The last end returns its slot (its value already destroyed).
  void give_back(slot* s) noexcept {
    once_access::set_state(s->event, 0);
    std::lock_guard g(lock_);
    s->next = std::exchange(free_, s);
    set_live(size() - 1);
  }

  std::size_t size() const noexcept {
    if constexpr (Lock::thread_safe)
      return live_.load(std::memory_order_relaxed);  // a snapshot
    else
      return live_;
  }
  std::size_t capacity() const noexcept {
    std::lock_guard g(lock_);
    return capacity_;
  }
  // Grows by one slab so that `n` events fit without allocating. A count no
  // slab could hold (as std::vector, PTRDIFF_MAX bytes) throws
  // std::length_error before anything is allocated or changed.
  void reserve(std::size_t n) {
    constexpr std::size_t max_slots = PTRDIFF_MAX / sizeof(slot);
    if (n > max_slots)
      throw std::length_error("beacon: once event pool reserve() too large");
    if (const std::size_t have = capacity(); have < n) grow(n - have);
  }

  // Frees every slab whose events are all free. O(free slots × slabs) under
  // the lock: for quiet moments, not the fast path.
  void shrink_to_fit() noexcept {
    slab* doomed = nullptr;
    {
      std::lock_guard g(lock_);
      for (slab* s = slabs_; s; s = s->next)
        s->free_count = 0;
      for (slot* f = free_; f; f = f->next)
        owner(slabs_, f)->free_count++;
      for (slab** link = &slabs_; slab* s = *link;) {
        if (s->free_count != s->count) {
          link = &s->next;
          continue;
        }
        *link = s->next;
        s->next = std::exchange(doomed, s);
        capacity_ -= s->count;
      }
      for (slot** fl = &free_; *fl;)  // unlink the doomed slabs' slots
        if (owner(doomed, *fl))
          *fl = (*fl)->next;
        else
          fl = &(*fl)->next;
    }
    while (doomed)
      delete std::exchange(doomed, doomed->next);
  }

  // visit(event) for every live event, under the lock (no slab is freed
  // meanwhile); visit must not call back into the pool.
  template <class Visit>
  void for_each_live(Visit&& visit) const {
    std::lock_guard g(lock_);
    for (slab* s = slabs_; s; s = s->next)
      for (std::size_t i = 0; i < s->count; ++i)
        if (once_access::state(s->slots[i].event).load(std::memory_order_relaxed) != 0)
          visit(s->slots[i].event);
  }

 private:
  struct slab {
    std::unique_ptr<slot[]> slots;
    std::size_t count;
    slab* next = nullptr;
    std::size_t free_count = 0;  // scratch for shrink_to_fit
  };

  static slab* owner(slab* list, slot* f) noexcept {
    for (slab* s = list; s; s = s->next)
      if (f >= s->slots.get() && f < s->slots.get() + s->count) return s;
    return nullptr;
  }

  // Adds a slab of `n` (> 0) free events; allocates outside the lock, and
  // throws (std::bad_alloc, std::bad_array_new_length) changing nothing.
  void grow(std::size_t n) {
    auto s = std::make_unique<slab>(slab{std::unique_ptr<slot[]>(new slot[n]), n});
    for (std::size_t i = 0; i + 1 < n; ++i)
      s->slots[i].next = &s->slots[i + 1];
    std::lock_guard g(lock_);
    s->slots[n - 1].next = std::exchange(free_, s->slots.get());
    s->next = std::exchange(slabs_, s.get());
    capacity_ += n;
    s.release();
  }

  void set_live(std::size_t n) noexcept {  // under the lock
    if constexpr (Lock::thread_safe)
      live_.store(n, std::memory_order_relaxed);
    else
      live_ = n;
  }

  mutable Lock lock_;
  // Guarded by lock_: the free list (LIFO: the warmest slot first), the slab
  // list (newest first) and the capacity.
  slot* free_ = nullptr;
  slab* slabs_ = nullptr;
  std::size_t capacity_ = 0;
  // Live events. Thread-safe pool: written only under lock_, read without it
  // (relaxed: size() is a snapshot).
  std::conditional_t<Lock::thread_safe, std::atomic<std::size_t>, std::size_t> live_{0};
};

// make_once / make_local_once: one heap allocation holding an event, bound.
template <class E>
once_channel<typename E::managed_sender, typename E::managed_receiver> make_managed() {
  auto* ev = new E();
  once_access::set_state(*ev, once_bits::bound);
  return once_access::make_channel<typename E::managed_sender,
                                   typename E::managed_receiver>(managed_binding<E>(ev),
                                                                 managed_binding<E>(ev));
}

// once_event_pool and local_once_event_pool. Pool: the derived pool; Event:
// its events, whose policy says whether the pool locks (once_spin_lock) or
// not (once_no_lock: one thread, nothing to exclude).
inline namespace BEACON_ONCE_ABI {
template <class Pool, class Event>
class basic_once_pool {
  using store = once_slab_store<Event, std::conditional_t<once_policy<Event>::thread_safe,
                                                          once_spin_lock, once_no_lock>>;
  using by_ref = slot_binding<Pool, Pool*>;
  using by_shared = slot_binding<Pool, std::shared_ptr<Pool>>;

 public:
  /// The type of the values carried.
  using value_type = typename Event::value_type;
  /// The type of the pooled events.
  using event_type = Event;
  /// Where a rented event lives (used by the pool's ends).
  using slot = typename store::slot;
  /// The ends handed out by bind_by_ref() and bind_by_ptr().
  using sender_by_ref = once_sender<by_ref>;
  using receiver_by_ref = once_receiver<by_ref>;
  /// The ends handed out by bind_by_shared().
  using sender_by_shared = once_sender<by_shared>;
  using receiver_by_shared = once_receiver<by_shared>;

  basic_once_pool(const basic_once_pool&) = delete;
  basic_once_pool& operator=(const basic_once_pool&) = delete;

  /// Rents an event and binds it; the pool must outlive both ends.
  once_channel<sender_by_ref, receiver_by_ref> bind_by_ref() {
    slot* s = store_.rent();
    return once_access::make_channel<sender_by_ref, receiver_by_ref>(by_ref(self(), s),
                                                                     by_ref(self(), s));
  }
  /// The same, for a pool reached through a pointer (kept alive and in place).
  once_channel<sender_by_ref, receiver_by_ref> bind_by_ptr() { return bind_by_ref(); }
  /// Rents an event; both ends hold a reference to the pool. Throws
  /// std::invalid_argument for a null pointer.
  static once_channel<sender_by_shared, receiver_by_shared> bind_by_shared(
      std::shared_ptr<Pool> pool) {
    if (!pool)
      throw std::invalid_argument(std::string(once_policy<Event>::name) +
                                  "_event_pool::bind_by_shared: null pool");
    slot* s = pool->store_.rent();
    by_shared a(pool, s);
    return once_access::make_channel<sender_by_shared, receiver_by_shared>(
        std::move(a), by_shared(std::move(pool), s));
  }

  /// Live events: bound and not yet returned (a snapshot).
  std::size_t size() const noexcept { return store_.size(); }
  /// Events the pool holds, live or free.
  std::size_t capacity() const noexcept { return store_.capacity(); }
  /// Grows the pool so that `n` events fit without allocating.
  void reserve(std::size_t n) { store_.reserve(n); }
  /// Frees the slabs whose events are all back in the pool.
  void shrink_to_fit() noexcept { store_.shrink_to_fit(); }

  /// Calls f(awaiter_trace) once per live event: where its receiver blocks or
  /// awaits, empty if none does (always empty when traces are off). The
  /// traces are copied first, so f runs with no lock held and may use the
  /// pool or resume and destroy coroutines (it allocates when traces are on).
  template <class F>
  void inspect_awaiters(F&& f) const {
    std::vector<trace_record> traces;
    if constexpr (traces_on) traces.reserve(size() + 8);
    std::size_t n = 0;
    store_.for_each_live([&](const Event& ev) {
      ++n;
      if constexpr (traces_on) once_policy<Event>::copy_trace(ev, traces.emplace_back());
    });
    for (std::size_t i = 0; i < n; ++i)
      f(traces_on ? traces[i].view() : std::span<void* const>{});
  }

 protected:
  basic_once_pool() noexcept = default;
  ~basic_once_pool() = default;

 private:
  friend by_ref;
  friend by_shared;
  Pool* self() noexcept { return static_cast<Pool*>(this); }
  void give_back(slot* s) noexcept { store_.give_back(s); }

  store store_;
};

}  // namespace BEACON_ONCE_ABI

}  // namespace detail
}  // namespace beacon
