// What once_event and local_once_event share: the state bits, the
// `disconnected` exception, the ownership models through which a sender or a
// receiver refers to its event (by reference, shared_ptr, heap-managed, pool
// slot), the pair returned by a bind, and the awaiter stack traces.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>

// Awaiter stack traces (design §2.5, §2.7): on in debug builds. Define
// BEACON_AWAITER_TRACES to 0 or 1 to override; every translation unit of a
// program must agree (it changes the layout of the coroutine awaiters).
#ifndef BEACON_AWAITER_TRACES
#ifdef NDEBUG
#define BEACON_AWAITER_TRACES 0
#else
#define BEACON_AWAITER_TRACES 1
#endif
#endif

namespace beacon {

/// Thrown by a receiver (receive, try_receive, receive_for, receive_until,
/// receive(stop_token), co_await) when its sender was destroyed without
/// sending. The receiver keeps answering `disconnected` until it is destroyed.
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
  /// The sending end.
  Sender sender;
  /// The receiving end.
  Receiver receiver;
};

/// Whether this translation unit records awaiter stack traces.
/// BEACON_AWAITER_TRACES sets it: 1 unless NDEBUG is defined; define the macro
/// to 0 or 1 to override, alike in every translation unit of a program.
inline constexpr bool awaiter_traces_enabled = BEACON_AWAITER_TRACES != 0;

/// The trace handed to inspect_awaiter(s): return addresses, innermost first.
/// Empty where nothing waits, and always empty when traces are disabled.
using awaiter_trace = std::span<void* const>;

/// One line per frame ("binary(symbol+offset) [address]"), as glibc's
/// backtrace_symbols() prints them; for logging a trace from inspect_awaiter.
std::string describe_trace(awaiter_trace trace);

namespace detail {

namespace platform {
// Fills `frames` with up to `capacity` return addresses of the calling
// thread's stack, skipping the innermost `skip` frames; returns how many.
// src/platform/backtrace.cpp (glibc backtrace()); 0 where unavailable.
std::size_t capture_backtrace(void** frames, std::size_t capacity,
                              std::size_t skip) noexcept;
}  // namespace platform

// The bits of a once event's state word (an atomic byte in once_event, a
// plain byte in local_once_event). The value of the word over an event's life:
//   0                         unbound (fresh, or back in its pool)
//   bound                     bound, nothing sent, receiver alive
//   bound|parked              ... and the receiver is queued (waits / awaits)
//   bound|tx_done             the sender was destroyed without sending
//   bound|value|tx_done       the value is stored, waiting to be received
//   ...|rx_gone               the receiver is gone (received, or destroyed)
// tx_done and rx_gone are final: each end sets its own bit once, with the
// transition after which it never touches the event again, and the end whose
// transition finds the other end's bit already set is the last one: it
// destroys a value that was never received and frees the event.
struct once_bits {
  static constexpr std::uint8_t bound = 1;    // handed out by a bind
  static constexpr std::uint8_t value = 2;    // storage holds a T (set with tx_done)
  static constexpr std::uint8_t tx_done = 4;  // the sender finished (sent or destroyed)
  static constexpr std::uint8_t rx_gone = 8;  // the receiver finished
  // once_event: the receiver may be queued in the parking lot on the state
  // word's address; set and cleared only under that queue's lock.
  // local_once_event: a coroutine is registered in the event.
  static constexpr std::uint8_t parked = 16;
};

// std::atomic's interface over a plain T, for state that one thread owns
// (local_once_event): the once protocol is written once against that
// interface (once_protocol.hpp), and here every memory order is ignored and a
// compare-exchange fails only when the value differs.
template <class T>
struct plain_atomic {
  T v;

  constexpr plain_atomic(T x) noexcept : v(x) {}  // NOLINT: as std::atomic
  T load(std::memory_order = std::memory_order_seq_cst) const noexcept { return v; }
  void store(T x, std::memory_order = std::memory_order_seq_cst) noexcept { v = x; }
  T fetch_or(T x, std::memory_order = std::memory_order_seq_cst) noexcept {
    return std::exchange(v, static_cast<T>(v | x));
  }
  T fetch_and(T x, std::memory_order = std::memory_order_seq_cst) noexcept {
    return std::exchange(v, static_cast<T>(v & x));
  }
  bool compare_exchange_strong(T& expected, T desired,
                               std::memory_order = std::memory_order_seq_cst,
                               std::memory_order = std::memory_order_seq_cst) noexcept {
    if (v != expected) {
      expected = v;
      return false;
    }
    v = desired;
    return true;
  }
  bool compare_exchange_weak(T& expected, T desired,
                             std::memory_order = std::memory_order_seq_cst,
                             std::memory_order = std::memory_order_seq_cst) noexcept {
    return compare_exchange_strong(expected, desired);
  }
};

// A stack trace, laid out the same in every build so that a trace recorded in
// one translation unit can be read in another.
struct trace_record {
  static constexpr std::size_t capacity = 24;
  void* frames[capacity];
  std::size_t size = 0;

  void capture() noexcept { size = platform::capture_backtrace(frames, capacity, 2); }
  awaiter_trace view() const noexcept { return {frames, size}; }
};

// What a waiting receiver or an awaiter carries: a trace_record when traces
// are enabled, nothing (zero bytes with [[no_unique_address]]) otherwise.
struct no_trace {
  void capture() noexcept {}
  const trace_record* record() const noexcept { return nullptr; }
};
struct with_trace {
  trace_record trace;
  void capture() noexcept { trace.capture(); }
  const trace_record* record() const noexcept { return &trace; }
};
using awaiter_trace_slot =
    std::conditional_t<awaiter_traces_enabled, with_trace, no_trace>;

// Grants the ends, the ownership models and the pools access to an event's
// policy, state and storage (E may be const).
struct once_access {
  // once_policy<E>'s source: a declaration, so that the access check of the
  // event's private `policy` happens here, in a friend.
  template <class E>
  static typename E::policy policy_of() noexcept;
  template <class E>
  static auto& state(E& e) noexcept {
    return e.state_;
  }
  template <class E>
  static auto& value(E& e) noexcept {
    return e.storage_.value;
  }
  // What the storage holds while it holds no value (the policy's `idle`).
  template <class E>
  static auto& idle(E& e) noexcept {
    return e.storage_.idle;
  }
  template <class E>
  static void destroy_value(E& e) noexcept {
    std::destroy_at(std::addressof(e.storage_.value));
  }
  // A pool's or make_once's own binding: the event is exclusively ours.
  template <class E>
  static void set_bound(E& e) noexcept {
    set_state(e, once_bits::bound);
  }
  template <class E>
  static void reset(E& e) noexcept {
    set_state(e, 0);
  }
  template <class S, class R, class Ref>
  static once_channel<S, R> make_channel(Ref a, Ref b) noexcept {
    return {S(std::move(a)), R(std::move(b))};
  }

 private:
  template <class E>
  static void set_state(E& e, std::uint8_t v) noexcept {
    e.state_.store(v, std::memory_order_relaxed);  // ordered by the pool's lock
  }
};

// The policy of event type E (once_protocol.hpp lists what it provides).
template <class E>
using once_policy = decltype(once_access::policy_of<E>());

// ---------------------------------------------------------------------------
// Ownership models: how one end refers to its event. Each end holds its own
// copy; `event()` is null once the end is finished or moved from. An end
// calls `finish(last)` exactly once, after its final transition: `last`
// (decided by that transition) says whether this end must free the event.
// The value, if any, has been destroyed by then.

// bind_by_ref / bind_by_ptr: the event outlives both ends; nothing to free.
template <class Event>
class ref_binding {
 public:
  using event_type = Event;
  explicit ref_binding(Event* e) noexcept : e_(e) {}
  ref_binding(ref_binding&& o) noexcept : e_(std::exchange(o.e_, nullptr)) {}
  ref_binding& operator=(ref_binding&& o) noexcept {
    e_ = std::exchange(o.e_, nullptr);
    return *this;
  }
  Event* event() const noexcept { return e_; }
  void finish(bool) noexcept { e_ = nullptr; }

 private:
  Event* e_;
};

// bind_by_shared: each end owns a std::shared_ptr to the event. The last end
// has destroyed the value; whichever owner drops the last reference deletes
// the (then idle) event.
template <class Event>
class shared_binding {
 public:
  using event_type = Event;
  explicit shared_binding(std::shared_ptr<Event> e) noexcept : e_(std::move(e)) {}
  shared_binding(shared_binding&&) noexcept = default;
  shared_binding& operator=(shared_binding&&) noexcept = default;
  Event* event() const noexcept { return e_.get(); }
  void finish(bool) noexcept { e_.reset(); }

 private:
  std::shared_ptr<Event> e_;
};

// make_once: the event is one heap allocation, deleted by the last end.
template <class Event>
class managed_binding : public ref_binding<Event> {
 public:
  using ref_binding<Event>::ref_binding;
  void finish(bool last) noexcept {
    if (last) delete this->event();
    ref_binding<Event>::finish(last);
  }
};

// A pool's ends: the last end gives the slot back. PoolRef is how each end
// holds the pool: Pool* for bind_by_ref / bind_by_ptr (the pool outlives
// both ends), std::shared_ptr<Pool> for bind_by_shared (the ends keep the
// pool alive, so it lives until its last event is back).
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
template <class Pool>
using pool_binding = slot_binding<Pool, Pool*>;
template <class Pool>
using shared_pool_binding = slot_binding<Pool, std::shared_ptr<Pool>>;

[[noreturn]] inline void throw_already_bound() {
  throw std::logic_error("beacon: a once event binds only once");
}
// `kind`: the policy's name ("once", "local_once"), which starts the message.
[[noreturn]] inline void throw_no_event(const char* kind, const char* what) {
  throw std::logic_error(std::string(kind) + what);
}
[[noreturn]] inline void throw_null(const char* kind, const char* what) {
  throw std::invalid_argument(std::string(kind) + what);
}

}  // namespace detail
}  // namespace beacon
