// beacon/local_once_event.hpp — a one-shot value event for one thread (the
// `events` crate's LocalOnceEvent): no atomics, no locks; a pool of them.
#pragma once

#include <algorithm>
#include <cassert>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "beacon/detail/once_common.hpp"
#include "beacon/detail/once_pool.hpp"

namespace beacon {

template <class T>
class local_once_event;
template <class T>
class local_once_event_pool;
template <class Binding>
class local_once_sender;
template <class Binding>
class local_once_receiver;
template <class Binding>
class local_once_awaiter;

namespace detail {

// A coroutine suspended on a local event. Lives in the coroutine frame (as
// the base of its awaiter).
struct local_waiter {
  enum class phase : std::uint8_t {
    idle,       // not registered anywhere
    waiting,    // registered in its event (the event's `parked` bit is set)
    scheduled,  // made ready by the sender, queued in local_resumes
  };
  std::coroutine_handle<> coroutine;
  local_waiter* next = nullptr;         // local_resumes link
  const trace_record* trace = nullptr;  // where it awaits (debug builds)
  phase at = phase::idle;
};

// Coroutines made ready by local senders on this thread, resumed in FIFO
// order by the outermost local_drain(): a resumed coroutine that sends on
// another local event only queues the next one, so chains of hand-offs never
// recurse (as the parking lot's own trampoline; the two nest at most once).
struct local_resume_queue {
  local_waiter* head = nullptr;
  local_waiter* tail = nullptr;
  bool draining = false;
};
inline thread_local local_resume_queue local_resumes;

inline void local_drain() noexcept {
  local_resume_queue& q = local_resumes;
  if (q.draining) return;  // an outer local_drain() on this thread resumes it
  q.draining = true;
  while (local_waiter* w = q.head) {
    q.head = w->next;
    if (!q.head) q.tail = nullptr;
    w->next = nullptr;
    w->at = local_waiter::phase::idle;
    w->coroutine.resume();  // may destroy *w
  }
  q.draining = false;
}

inline void local_schedule(local_waiter& w) noexcept {
  local_resume_queue& q = local_resumes;
  w.at = local_waiter::phase::scheduled;
  w.next = nullptr;
  (q.tail ? q.tail->next : q.head) = &w;
  q.tail = &w;
  local_drain();
}

// A scheduled coroutine destroyed before it was resumed leaves the queue.
inline void local_unschedule(local_waiter& w) noexcept {
  local_resume_queue& q = local_resumes;
  local_waiter* prev = nullptr;
  for (local_waiter* p = q.head; p; prev = p, p = p->next) {
    if (p != &w) continue;
    (prev ? prev->next : q.head) = p->next;
    if (q.tail == p) q.tail = prev;
    break;
  }
  w.at = local_waiter::phase::idle;
}

}  // namespace detail

/// A one-shot event that carries one value of type T from a sender to a
/// receiver on the same thread: once_event's single-thread twin, with no
/// atomic operation and no lock on any path.
///
/// Contract: as once_event (design §2.5, §2.7), except that a receiver cannot
/// block (nothing else could ever send): it has try_receive() and
/// `co_await std::move(rx)`. Binding twice throws std::logic_error; a sender
/// destroyed unsent makes try_receive / co_await throw beacon::disconnected; a
/// value sent to a dead receiver is destroyed at once; T's destructor runs
/// exactly once per value; receiving twice throws std::logic_error.
///
/// Coroutines: a coroutine awaiting the receiver is resumed by send() (or by
/// the sender's destruction) on this thread, inline, before that call returns
/// (queued behind the one running when send() is itself called from a resumed
/// coroutine, so chains never recurse). Destroying a suspended or
/// made-ready-but-not-yet-resumed coroutine unregisters it.
///
/// Who frees: as once_event, with plain stores: the end that finishes second
/// destroys a value nobody received and frees the event (make_local_once,
/// pools).
///
/// Memory ordering: none needed — every end must be used on the thread that
/// owns the event (not checked). Use once_event to cross threads.
///
/// Lifetime: not copyable or movable. With bind_by_ref / bind_by_ptr the event
/// must outlive both ends (asserted in debug builds).
///
/// @code
///  beacon::local_once_event<int> ev;
///  auto [tx, rx] = ev.bind_by_ref();
///  std::move(tx).send(42);
///  int v = *rx.try_receive();       // or: int v = co_await std::move(rx);
/// @endcode
template <class T>
class local_once_event {
  static_assert(std::is_object_v<T> && !std::is_array_v<T>,
                "local_once_event<T>: T must be an object type");
  static_assert(std::is_nothrow_destructible_v<T>);

 public:
  /// The type of the value carried.
  using value_type = T;
  /// The sender handed out by bind_by_ref() and bind_by_ptr().
  using sender_by_ref = local_once_sender<detail::ref_binding<local_once_event>>;
  /// The receiver handed out by bind_by_ref() and bind_by_ptr().
  using receiver_by_ref = local_once_receiver<detail::ref_binding<local_once_event>>;
  /// The sender handed out by bind_by_shared().
  using sender_by_shared = local_once_sender<detail::shared_binding<local_once_event>>;
  /// The receiver handed out by bind_by_shared().
  using receiver_by_shared =
      local_once_receiver<detail::shared_binding<local_once_event>>;
  /// The sender handed out by make_local_once().
  using managed_sender = local_once_sender<detail::managed_binding<local_once_event>>;
  /// The receiver handed out by make_local_once().
  using managed_receiver = local_once_receiver<detail::managed_binding<local_once_event>>;

  /// An unbound event; constexpr, so it can be constinit.
  constexpr local_once_event() noexcept : waiter_(nullptr) {}
  /// Precondition: both ends are gone, or the event was never bound (asserted
  /// in debug builds).
  ~local_once_event() {
    [[maybe_unused]] const std::uint8_t s = state_;
    assert((!(s & detail::once_bits::bound) ||
            (s & (detail::once_bits::tx_done | detail::once_bits::rx_gone)) ==
                (detail::once_bits::tx_done | detail::once_bits::rx_gone)) &&
           "local_once_event destroyed while its sender or receiver is alive");
  }
  local_once_event(const local_once_event&) = delete;
  local_once_event& operator=(const local_once_event&) = delete;

  /// Binds the event; it must outlive both ends. Throws std::logic_error if it
  /// was bound before.
  once_channel<sender_by_ref, receiver_by_ref> bind_by_ref() {
    bind();
    return detail::once_access::make_channel<sender_by_ref, receiver_by_ref>(
        detail::ref_binding<local_once_event>(this),
        detail::ref_binding<local_once_event>(this));
  }
  /// As bind_by_ref(), for an event reached through a pointer.
  once_channel<sender_by_ref, receiver_by_ref> bind_by_ptr() { return bind_by_ref(); }
  /// Binds `*ev`; each end holds a reference to it. Throws
  /// std::invalid_argument for a null pointer, std::logic_error if bound before.
  static once_channel<sender_by_shared, receiver_by_shared> bind_by_shared(
      std::shared_ptr<local_once_event> ev) {
    if (!ev) throw std::invalid_argument("local_once_event::bind_by_shared: null event");
    ev->bind();
    detail::shared_binding<local_once_event> a(ev);
    return detail::once_access::make_channel<sender_by_shared, receiver_by_shared>(
        std::move(a), detail::shared_binding<local_once_event>(std::move(ev)));
  }

  /// Whether the event was bound (its ends may be gone since).
  bool is_bound() const noexcept { return (state_ & detail::once_bits::bound) != 0; }

  /// Calls f(awaiter_trace): where the receiver's coroutine awaits, empty when
  /// none does or traces are disabled.
  template <class F>
  void inspect_awaiter(F&& f) const {
    awaiter_trace t{};
    if constexpr (awaiter_traces_enabled)
      if ((state_ & detail::once_bits::parked) && waiter_->trace)
        t = waiter_->trace->view();
    std::forward<F>(f)(t);
  }

 private:
  friend struct detail::once_access;
  template <class>
  friend class local_once_sender;
  template <class>
  friend class local_once_receiver;
  template <class>
  friend class local_once_awaiter;

  void bind() {
    if (state_ != 0) detail::throw_already_bound();
    state_ = detail::once_bits::bound;
  }

  // detail::once_bits; `parked` = a coroutine is registered in waiter_.
  std::uint8_t state_ = 0;
  // value_ while `value` is set; waiter_ while `parked` is set (never both:
  // the sender reads the waiter before it constructs the value over it).
  union {
    T value_;
    detail::local_waiter* waiter_;
  };
};

/// The sending end of a local event: move-only, one send.
template <class Binding>
class local_once_sender {
 public:
  /// The event type (local_once_event<T>).
  using event_type = typename Binding::event_type;
  /// The type of the value sent.
  using value_type = typename event_type::value_type;

  /// Takes over `o`'s event; `o` is left invalid.
  local_once_sender(local_once_sender&&) noexcept = default;
  /// Finishes this sender as its destructor would, then takes over `o`'s event.
  local_once_sender& operator=(local_once_sender&& o) noexcept {
    if (this != &o) {
      close();
      b_ = std::move(o.b_);
    }
    return *this;
  }
  /// An unsent sender disconnects the receiver (an awaiting coroutine is
  /// resumed to throw beacon::disconnected).
  ~local_once_sender() { close(); }

  /// Sends `v` and consumes the sender; resumes an awaiting coroutine before
  /// returning. Throws std::logic_error on a consumed or moved-from sender; if
  /// T's constructor throws, nothing was sent.
  void send(const value_type& v) && { std::move(*this).emplace(v); }
  /// Sends `v` by move; as send(const value_type&).
  void send(value_type&& v) && { std::move(*this).emplace(std::move(v)); }
  /// Constructs the value in the event from `args`; otherwise as send().
  template <class... Args>
  void emplace(Args&&... args) && {
    event_type* ev = b_.event();
    if (!ev) detail::throw_no_event("local_once_sender: already sent or moved from");
    const std::uint8_t s = ev->state_;
    if (s & detail::once_bits::rx_gone) {  // nobody to receive: construct nothing
      ev->state_ = static_cast<std::uint8_t>(s | detail::once_bits::tx_done);
      Binding(std::move(b_)).finish(true);
      return;
    }
    detail::local_waiter* w = (s & detail::once_bits::parked) ? ev->waiter_ : nullptr;
    if constexpr (std::is_nothrow_constructible_v<value_type, Args&&...>) {
      ::new (static_cast<void*>(std::addressof(ev->value_)))
          value_type(std::forward<Args>(args)...);
    } else {
      try {
        ::new (static_cast<void*>(std::addressof(ev->value_)))
            value_type(std::forward<Args>(args)...);
      } catch (...) {
        if (w) ev->waiter_ = w;  // the storage held the waiter: put it back
        throw;
      }
    }
    ev->state_ = static_cast<std::uint8_t>(
        (s | detail::once_bits::tx_done | detail::once_bits::value) &
        ~detail::once_bits::parked);
    Binding b(std::move(b_));
    b.finish(false);  // the receiver is alive: the event is its now
    if (w) detail::local_schedule(*w);
  }

  /// Whether this sender can still send (not consumed, not moved from).
  bool valid() const noexcept { return b_.event() != nullptr; }

 private:
  friend struct detail::once_access;
  explicit local_once_sender(Binding b) noexcept : b_(std::move(b)) {}

  void close() noexcept {
    event_type* ev = b_.event();
    if (!ev) return;
    Binding b(std::move(b_));
    const std::uint8_t s = ev->state_;
    if (s & detail::once_bits::rx_gone) {
      ev->state_ = static_cast<std::uint8_t>(s | detail::once_bits::tx_done);
      b.finish(true);
      return;
    }
    detail::local_waiter* w = (s & detail::once_bits::parked) ? ev->waiter_ : nullptr;
    ev->state_ = static_cast<std::uint8_t>((s | detail::once_bits::tx_done) &
                                           ~detail::once_bits::parked);
    b.finish(false);
    if (w) detail::local_schedule(*w);  // it will throw disconnected
  }

  Binding b_;
};

/// The receiving end of a local event: move-only; yields the value once.
template <class Binding>
class local_once_receiver {
 public:
  /// The event type (local_once_event<T>).
  using event_type = typename Binding::event_type;
  /// The type of the value received.
  using value_type = typename event_type::value_type;

  /// Takes over `o`'s event; `o` is left invalid.
  local_once_receiver(local_once_receiver&&) noexcept = default;
  /// Finishes this receiver as its destructor would, then takes over `o`'s event.
  local_once_receiver& operator=(local_once_receiver&& o) noexcept {
    if (this != &o) {
      close();
      b_ = std::move(o.b_);
    }
    return *this;
  }
  /// A receiver that has not received leaves: a value sent to it is destroyed
  /// (here, or by the sender if the sender finishes later).
  ~local_once_receiver() { close(); }

  /// The value if it was sent, nullopt while nothing was. Throws
  /// beacon::disconnected if the sender was destroyed unsent,
  /// std::logic_error if the value was received before (or moved from).
  std::optional<value_type> try_receive() {
    event_type* ev = checked();
    const std::uint8_t s = ev->state_;
    if (!(s & detail::once_bits::tx_done)) return std::nullopt;
    if (!(s & detail::once_bits::value)) throw disconnected{};
    std::optional<value_type> v(std::in_place, std::move(ev->value_));
    finish_taken(ev, s);
    return v;
  }

  /// Whether the receiver still holds its event (not yet received, not moved from).
  bool valid() const noexcept { return b_.event() != nullptr; }

  /// `co_await std::move(rx)`: the awaiter takes the receiver over.
  friend local_once_awaiter<Binding> operator co_await(
      local_once_receiver&& rx) noexcept {
    return local_once_awaiter<Binding>(std::move(rx));
  }

 private:
  friend struct detail::once_access;
  friend class local_once_awaiter<Binding>;
  explicit local_once_receiver(Binding b) noexcept : b_(std::move(b)) {}

  event_type* checked() const {
    event_type* ev = b_.event();
    if (!ev)
      detail::throw_no_event("local_once_receiver: already received or moved from");
    return ev;
  }

  value_type take(event_type* ev) {
    const std::uint8_t s = ev->state_;
    if (!(s & detail::once_bits::value)) throw disconnected{};
    value_type v(std::move(ev->value_));
    finish_taken(ev, s);
    return v;
  }

  void finish_taken(event_type* ev, std::uint8_t s) noexcept {
    std::destroy_at(std::addressof(ev->value_));
    ev->state_ = static_cast<std::uint8_t>((s & ~detail::once_bits::value) |
                                           detail::once_bits::rx_gone);
    Binding(std::move(b_)).finish(true);  // the sender finished: we are last
  }

  void close() noexcept {
    event_type* ev = b_.event();
    if (!ev) return;
    Binding b(std::move(b_));
    const std::uint8_t s = ev->state_;
    const bool last = (s & detail::once_bits::tx_done) != 0;
    if (last && (s & detail::once_bits::value))
      std::destroy_at(std::addressof(ev->value_));
    ev->state_ = static_cast<std::uint8_t>(s | detail::once_bits::rx_gone);
    b.finish(last);
  }

  Binding b_;
};

/// The awaiter of `co_await std::move(rx)` on a local event: owns the
/// receiver; registers its coroutine in the event while suspended.
template <class Binding>
class local_once_awaiter : private detail::local_waiter {
 public:
  /// The type of the value received.
  using value_type = typename local_once_receiver<Binding>::value_type;

  /// Takes over `rx` (done by `co_await std::move(rx)`).
  explicit local_once_awaiter(local_once_receiver<Binding>&& rx) noexcept
      : rx_(std::move(rx)) {}
  local_once_awaiter(const local_once_awaiter&) = delete;
  local_once_awaiter& operator=(const local_once_awaiter&) = delete;
  /// Unregisters a coroutine destroyed while suspended or made ready but not
  /// yet resumed, then drops the receiver.
  ~local_once_awaiter() {
    if (at == phase::waiting)  // destroyed while suspended: unregister
      rx_.b_.event()->state_ &= static_cast<std::uint8_t>(~detail::once_bits::parked);
    else if (at == phase::scheduled)  // made ready, destroyed before it ran
      detail::local_unschedule(*this);
  }

  /// True (no suspension) when the sender has finished, or when the receiver
  /// holds no event (await_resume then throws).
  bool await_ready() const noexcept {
    auto* ev = rx_.b_.event();
    return !ev || (ev->state_ & detail::once_bits::tx_done);
  }
  /// Registers the coroutine in the event; send() or the sender's destruction
  /// resumes it.
  void await_suspend(std::coroutine_handle<> h) noexcept {
    auto* ev = rx_.b_.event();
    coroutine = h;
    trace_.capture();
    trace = trace_.record();
    at = phase::waiting;
    ev->waiter_ = this;
    ev->state_ |= detail::once_bits::parked;
  }
  /// The value; throws beacon::disconnected if the sender was destroyed unsent,
  /// std::logic_error if the receiver held no event.
  value_type await_resume() { return rx_.take(rx_.checked()); }

 private:
  local_once_receiver<Binding> rx_;
  [[no_unique_address]] detail::awaiter_trace_slot trace_;
};

/// One heap allocation holding a local event, bound; the last end frees it.
template <class T>
once_channel<typename local_once_event<T>::managed_sender,
             typename local_once_event<T>::managed_receiver>
make_local_once() {
  using E = local_once_event<T>;
  auto* ev = new E();
  detail::once_access::set_bound(*ev);
  return detail::once_access::make_channel<typename E::managed_sender,
                                           typename E::managed_receiver>(
      detail::managed_binding<E>(ev), detail::managed_binding<E>(ev));
}

/// A pool of local events (the `events` crate's LocalOnceEventPool):
/// once_event_pool's single-thread twin, with no lock and no atomic.
///
/// @code
///  beacon::local_once_event_pool<int> pool;
///  auto [tx, rx] = pool.bind_by_ref();
///  std::move(tx).send(1);
///  int v = *rx.try_receive();       // the event is back in the pool
/// @endcode
template <class T>
class local_once_event_pool {
  using store = detail::once_slab_store<local_once_event<T>, detail::once_no_lock>;

 public:
  /// The type of the values carried.
  using value_type = T;
  /// The type of the pooled events.
  using event_type = local_once_event<T>;
  /// Where a rented event lives (used by the pool's ends).
  using slot = typename store::slot;
  /// The sender handed out by bind_by_ref() and bind_by_ptr().
  using sender_by_ref = local_once_sender<detail::pool_binding<local_once_event_pool>>;
  /// The receiver handed out by bind_by_ref() and bind_by_ptr().
  using receiver_by_ref =
      local_once_receiver<detail::pool_binding<local_once_event_pool>>;
  /// The sender handed out by bind_by_shared().
  using sender_by_shared =
      local_once_sender<detail::shared_pool_binding<local_once_event_pool>>;
  /// The receiver handed out by bind_by_shared().
  using receiver_by_shared =
      local_once_receiver<detail::shared_pool_binding<local_once_event_pool>>;

  /// An empty pool.
  local_once_event_pool() noexcept = default;
  local_once_event_pool(const local_once_event_pool&) = delete;
  local_once_event_pool& operator=(const local_once_event_pool&) = delete;

  /// Rents an event and binds it; the pool must outlive both ends.
  once_channel<sender_by_ref, receiver_by_ref> bind_by_ref() {
    slot* s = store_.rent();
    return detail::once_access::make_channel<sender_by_ref, receiver_by_ref>(
        detail::pool_binding<local_once_event_pool>(this, s),
        detail::pool_binding<local_once_event_pool>(this, s));
  }
  /// The same, for a pool reached through a pointer (kept alive and in place
  /// by the caller).
  once_channel<sender_by_ref, receiver_by_ref> bind_by_ptr() { return bind_by_ref(); }
  /// Rents an event; both ends hold a reference to the pool. Throws
  /// std::invalid_argument for a null pointer.
  static once_channel<sender_by_shared, receiver_by_shared> bind_by_shared(
      std::shared_ptr<local_once_event_pool> pool) {
    if (!pool)
      throw std::invalid_argument("local_once_event_pool::bind_by_shared: null pool");
    slot* s = pool->store_.rent();
    detail::shared_pool_binding<local_once_event_pool> a(pool, s);
    return detail::once_access::make_channel<sender_by_shared, receiver_by_shared>(
        std::move(a),
        detail::shared_pool_binding<local_once_event_pool>(std::move(pool), s));
  }

  /// Live events: bound and not yet returned.
  std::size_t size() const noexcept { return store_.size(); }
  /// Events the pool holds, live or free.
  std::size_t capacity() const noexcept { return store_.capacity(); }
  /// Grows the pool so that `n` events fit without allocating.
  void reserve(std::size_t n) { store_.reserve(n); }
  /// Frees the slabs whose events are all back in the pool.
  void shrink_to_fit() noexcept { store_.shrink_to_fit(); }

  /// Calls f(awaiter_trace) once per live event (see once_event_pool).
  template <class F>
  void inspect_awaiters(F&& f) const {
    if constexpr (awaiter_traces_enabled) {
      // Copied first, so f may resume or destroy coroutines and use the pool.
      std::vector<detail::trace_record> traces;
      store_.for_each_live([&](const event_type& ev) {
        detail::trace_record& r = traces.emplace_back();
        ev.inspect_awaiter([&](awaiter_trace t) {
          r.size = t.size();
          std::copy(t.begin(), t.end(), r.frames);
        });
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
  friend class detail::pool_binding<local_once_event_pool>;
  friend class detail::shared_pool_binding<local_once_event_pool>;
  void give_back(slot* s) noexcept { store_.give_back(s); }

  store store_;
};

}  // namespace beacon
