// beacon/local_once_event.hpp — a one-shot value event for one thread (the
// `events` crate's LocalOnceEvent), and a pool of them: once_event's
// single-thread twin, with no lock and no atomic read-modify-write on any path.
//
// Contract: as once_event (beacon/once_event.hpp), except that a receiver
// cannot block (nothing else could ever send): it has try_receive() and
// `co_await std::move(rx)`. Binding twice throws std::logic_error; a sender
// destroyed unsent makes try_receive / co_await throw beacon::disconnected;
// an exception sent with send_exception is rethrown by them, once; a
// value sent to a dead receiver is destroyed at once; T's destructor runs
// exactly once per value; receiving twice throws std::logic_error. The end
// that finishes second destroys a value nobody received and frees the event
// (make_local_once, pools).
//
// Coroutines: a coroutine awaiting the receiver is resumed by send() (or by
// the sender's destruction) on this thread, inline, before that call returns,
// through the parking lot's per-thread trampoline: when send() is itself
// called from a resumed coroutine, it is queued behind the one running, so
// chains of hand-offs never recurse. Destroying a suspended or
// made-ready-but-not-yet-resumed coroutine withdraws it.
//
// Memory ordering: none — every end must be used on the thread that owns the
// event (not checked). Use once_event to cross threads.
//
// Lifetime: not copyable or movable. With bind_by_ref / bind_by_ptr the event
// (or pool) must outlive both ends (asserted in debug builds).
//
// @code
//  beacon::local_once_event<int> ev;
//  auto [tx, rx] = ev.bind_by_ref();
//  std::move(tx).send(42);
//  int v = *rx.try_receive();       // or: int v = co_await std::move(rx);
//
//  beacon::local_once_event_pool<int> pool;
//  auto [tx2, rx2] = pool.bind_by_ref();  // back in the pool once both ends are gone
// @endcode
#pragma once

#include <cassert>

#include "beacon/once_event.hpp"

namespace beacon {
inline namespace BEACON_ONCE_ABI {  // see detail/once_protocol.hpp

/// A one-shot event for one thread; the contract is this file's comment.
/// Default-constructed unbound, constexpr (so it can be constinit).
/// Precondition of its destruction: both ends are gone, or it was never bound.
template <class T>
class local_once_event
    : public detail::basic_once_event<local_once_event<T>, T, detail::once_local_policy> {
};

/// The sending end of a local event: a once_sender, move-only, one send.
template <class Binding>
using local_once_sender = once_sender<Binding>;
/// The receiving end of a local event: a once_receiver without the blocking
/// forms (try_receive() and `co_await std::move(rx)`).
template <class Binding>
using local_once_receiver = once_receiver<Binding>;
/// The awaiter of `co_await std::move(rx)` on a local event: it owns the
/// receiver and registers its coroutine in the event while suspended.
template <class Binding>
using local_once_awaiter = once_awaiter<Binding>;

/// A pool of local events (the `events` crate's LocalOnceEventPool):
/// once_event_pool's single-thread twin, with no lock and no atomic.
template <class T>
class local_once_event_pool
    : public detail::basic_once_pool<local_once_event_pool<T>, local_once_event<T>> {};

/// One heap allocation holding a local event, bound; the last end frees it.
template <class T>
once_channel<typename local_once_event<T>::managed_sender,
             typename local_once_event<T>::managed_receiver>
make_local_once() {
  return detail::make_managed<local_once_event<T>>();
}

}  // namespace BEACON_ONCE_ABI
}  // namespace beacon
