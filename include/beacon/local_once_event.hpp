// beacon/local_once_event.hpp — a one-shot value event for one thread (the
// `events` crate's LocalOnceEvent): no atomics, no locks; a pool of them.
// The protocol is written once for this event and once_event, in
// detail/once_protocol.hpp; this header gives it its policy: a plain state
// byte, and an awaiting coroutine registered in the event.
#pragma once

#include <cassert>
#include <coroutine>
#include <cstdint>

#include "beacon/detail/once_common.hpp"
#include "beacon/detail/once_pool.hpp"
#include "beacon/detail/once_protocol.hpp"

namespace beacon {
namespace detail {

// A coroutine suspended on a local event. Lives in the coroutine frame (as
// its awaiter's entry).
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

// local_once_event's policy (the interface is listed in once_protocol.hpp):
// the state is a plain byte, and a coroutine that awaits is registered in the
// event's storage; the sender resumes it through local_resumes.
struct once_local_policy {
  static constexpr const char* name = "local_once";
  static constexpr bool blocking = false;  // nothing else could ever send
  // `parked` = a coroutine is registered in the storage.
  using state = plain_atomic<std::uint8_t>;
  // The registered coroutine while `parked` is set (never at the same time as
  // the value: the sender reads it before it constructs the value over it).
  using idle = local_waiter*;
  using entry = local_waiter;

  // The transition, clearing `parked`: the sender took the waiter first
  // (take_waiter) and resumes it once it finished (resume).
  static bool finish_parked(state& st, std::uint8_t bits) noexcept {
    const std::uint8_t s = st.load();
    st.store(static_cast<std::uint8_t>((s | bits) & ~once_bits::parked));
    return (s & once_bits::rx_gone) != 0;
  }
  // The coroutine registered in the event, if any.
  template <class E>
  static idle take_waiter(E& ev) noexcept {
    return (once_access::state(ev).load() & once_bits::parked) ? once_access::idle(ev)
                                                               : nullptr;
  }
  // After the sender finished: the receiver, alive, owns the event now.
  static void resume(idle w) noexcept {
    if (w) local_schedule(*w);  // it takes the value, or throws disconnected
  }

  // Registers the coroutine in the event; send() or the sender's destruction
  // resumes it.
  template <class E>
  static bool suspend(E& ev, entry& w, std::coroutine_handle<> h,
                      const trace_record* trace) noexcept {
    w.coroutine = h;
    w.trace = trace;
    w.at = local_waiter::phase::waiting;
    once_access::idle(ev) = &w;
    once_access::state(ev).fetch_or(once_bits::parked);
    return true;
  }
  template <class E>
  static void withdraw(entry& w, E* ev) noexcept {
    using phase = local_waiter::phase;
    if (w.at == phase::waiting)  // destroyed while suspended: unregister
      once_access::state(*ev).fetch_and(static_cast<std::uint8_t>(~once_bits::parked));
    else if (w.at == phase::scheduled)  // made ready, destroyed before it ran
      local_unschedule(w);
  }

  template <class E>
  static void copy_trace(const E& ev, trace_record& out) noexcept {
    const local_waiter* w = take_waiter(ev);
    if (w && w->trace) out = *w->trace;
  }
};

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
class local_once_event
    : public detail::basic_once_event<local_once_event<T>, T, detail::once_local_policy> {
 public:
  /// An unbound event; constexpr, so it can be constinit.
  constexpr local_once_event() noexcept = default;
  /// Precondition: both ends are gone, or the event was never bound (asserted
  /// in debug builds).
  ~local_once_event() {
    assert(this->ends_gone() &&
           "local_once_event destroyed while its sender or receiver is alive");
  }
};

/// The sending end of a local event: a once_sender (the code serves both
/// kinds of event): move-only, one send.
template <class Binding>
using local_once_sender = once_sender<Binding>;

/// The receiving end of a local event: a once_receiver, without the blocking
/// forms (try_receive() and `co_await std::move(rx)`); yields the value once.
template <class Binding>
using local_once_receiver = once_receiver<Binding>;

/// The awaiter of `co_await std::move(rx)` on a local event: a once_awaiter,
/// which owns the receiver and registers its coroutine in the event while
/// suspended.
template <class Binding>
using local_once_awaiter = once_awaiter<Binding>;

/// One heap allocation holding a local event, bound; the last end frees it.
template <class T>
once_channel<typename local_once_event<T>::managed_sender,
             typename local_once_event<T>::managed_receiver>
make_local_once() {
  return detail::make_managed<local_once_event<T>>();
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
class local_once_event_pool
    : public detail::basic_once_pool<local_once_event_pool<T>, local_once_event<T>,
                                     detail::once_no_lock> {};

}  // namespace beacon
