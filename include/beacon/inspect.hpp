// beacon/inspect.hpp — who waits on what: a snapshot of every parked waiter
// of the process, with the primitive it waits on and the call site of its wait.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>
#include "beacon/source_location.hpp"

#include "beacon/detail/function_ref.hpp"

namespace beacon {

/// One parked waiter, as for_each_waiter() saw it.
///
/// Contract:
/// * Every waiter queued in the parking lot is one waiter_info: a thread
///   blocked in a member wait (`wait`, `wait_for`, `wait_until`,
///   `wait(stop_token)`, `receive*`, event_count's waits), a coroutine
///   suspended in `co_await`, each entry of a wait_any (one per object,
///   all with the same nonzero `group`), and a blocked wait_all's one entry
///   (on the first object it found unavailable, with a nonzero `group`). A waiter appears
///   from the moment it is queued until it is woken, times out, is stopped or (coroutine)
///   is destroyed; a waiter that succeeds on a fast path never appears.
/// * `primitive` is the primitive's name ("auto_reset_event",
///   "manual_reset_event", "countdown_event", "semaphore", "event_count",
///   "once_event", "wait_any", "wait_all"), or what a user primitive built on the
///   public parking lot passed as parking_lot::wait_site; "" when it gave
///   none.
/// * `where` is the call site of the blocking wait (its defaulted
///   beacon::source_location argument). Coroutines have none (`co_await` cannot
///   pass one: an operator co_await takes no default argument), nor do the
///   variadic wait_any / wait_all forms (a parameter after a pack is not
///   deducible; the span forms have one):
///   `where.line()` is 0 for them; a coroutine is known by its `frame` and a
///   multi-wait by its `group`.
/// * `frame` is the awaiting coroutine's frame, except for
///   event_count::async_wait and beacon::async_wait (asio.hpp), whose
///   entries belong to an internal coroutine that resumes the caller (or
///   runs its handler): `frame` is that coroutine's.
/// * `trace` is a stack trace of the wait, innermost frame first, recorded
///   when it parked or suspended; empty when none was recorded. Recorded by
///   once_event receivers in builds with awaiter traces
///   (BEACON_AWAITER_TRACES, on unless NDEBUG; once_event.hpp): a thread in
///   `receive*` and a coroutine awaiting a receiver (the frames are those
///   inspect_awaiter(s) shows for that receiver). Empty for every other wait:
///   the other primitives' threads and coroutines (a coroutine shows its
///   `frame` only), a receiver in a wait_any / wait_all / when_any /
///   when_all, beacon::async_wait (asio.hpp), and every wait in builds
///   without traces. Why only once receivers: a trace for every coroutine
///   would need its storage (about 200 bytes) in every awaiter, whose layout
///   cannot depend on a macro without breaking the one-definition rule
///   between translation units built with different values; the once types
///   live in an inline namespace named after BEACON_AWAITER_TRACES for that
///   reason, and the other primitives' awaiters do not. A user primitive on
///   the public lot may record one (parking_lot::wait_site::trace).
///   The span points into for_each_waiter's own copy: valid only during the
///   call to `f` that receives it (copy the frames to keep them).
/// * Not shown: local_once_event's awaiters (they wait in the event itself,
///   not in the lot; inspect_awaiter(s) still shows their trace) and os_event
///   waits (the kernel's).
///
/// Memory ordering: the fields (and the trace's frames, captured before the
/// waiter queues and unchanged while it is queued) are written by the waiter
/// before it is queued and read under the queue lock, so a waiter_info is one consistent
/// copy of one entry; the set of waiters is a snapshot taken bucket by
/// bucket, not at one instant (a waiter may leave one bucket while another
/// is read).
struct waiter_info {
  const void* address = nullptr;  ///< the object waited on (its state word)
  std::string_view primitive;     ///< "auto_reset_event", ...; "" if unnamed
  bool coroutine = false;         ///< a suspended coroutine, else a parked thread
  std::thread::id thread;         ///< the parked thread (threads; else default)
  const void* frame = nullptr;    ///< the coroutine frame (coroutines; else null)
  /// How long it has waited: from when it was queued to the snapshot, on a
  /// coarse clock (Linux: CLOCK_MONOTONIC_COARSE, a few ms resolution), so
  /// that parking pays a few ns for it; waiters queued within one tick of
  /// each other may show the same time.
  std::chrono::steady_clock::duration waiting{};
  beacon::source_location where{};  ///< the call site of the wait (line 0: unknown)
  std::size_t group = 0;            ///< nonzero: the entries of one wait_any
  /// The wait's stack trace, innermost first; empty if none was recorded.
  /// Valid only during the call to for_each_waiter's `f`.
  std::span<void* const> trace;
};

namespace detail {
// What snapshot_waiters() returns: the copies of the entries, and the frames
// of their traces, which the entries' `trace` spans point into (a move keeps
// them valid: a vector's move keeps its buffer).
struct waiter_snapshot {
  std::vector<waiter_info> waiters;
  std::vector<void*> frames;
};
// Copies every queued entry of the lot, each bucket under its own lock, and
// returns the copies (src/parking_lot.cpp). Allocates only with no lock held.
waiter_snapshot snapshot_waiters();
}  // namespace detail

/// Calls `f(const waiter_info&)` for every waiter parked in the process now.
///
/// Contract: the walk takes each bucket lock of the parking lot only while it
/// copies that bucket's entries, and calls `f` after releasing every lock:
/// `f` may do anything, including waiting on or signalling beacon
/// primitives. It never blocks a waiter for longer than one bucket's copy
/// and is safe to call while other threads park and unpark. Waiters are
/// visited grouped by the lot's buckets, in each address's FIFO order. The
/// waiter_info passed to `f`, and the frames its `trace` points at, live
/// until `f` returns (a copy of the waiter_info keeps every field but
/// `trace`). A debugging aid: it allocates and is not async-signal-safe.
///
/// Memory ordering: see waiter_info.
///
/// @code
///  beacon::for_each_waiter([](const beacon::waiter_info& w) {
///    if (w.waiting > std::chrono::seconds(10)) report_stuck(w);
///  });
/// @endcode
template <class F>
void for_each_waiter(F&& f) {
  const detail::waiter_snapshot snapshot = detail::snapshot_waiters();
  for (const waiter_info& w : snapshot.waiters)
    f(w);  // while `snapshot` holds the frames w.trace points at
}

/// A human-readable dump of every parked waiter, one line each, grouped by
/// the object waited on (the object whose oldest waiter waited longest
/// first) and, within an object, oldest first (queue order between equal
/// times); "" when nobody waits. It reads
/// @code
///  0x7ffd1234: auto_reset_event, 2 waiters
///    thread 140245 waiting 2.003 s at main.cpp:42 in void f()
///    coroutine 0x55d0a8 waiting 0.512 s
///  0x7ffd5678: once_event, 1 waiter
///    thread 140301 waiting 1.250 s at main.cpp:57 in void g()
///      ./app(_ZN6beacon...+0x4d) [0x55d0a8f1c2d3]
///      ./app(main+0x2f) [0x55d0a8f1b0ef]
/// @endcode
/// A waiter with a recorded trace (waiter_info::trace) is followed by one
/// line per frame, innermost first, as beacon::describe_trace() prints them
/// (binary(symbol+offset) [address]; Windows: module(+offset) [address]; the
/// bare 0x address where the platform names nothing), indented by 6. Addresses print as
/// 0x and lowercase hex on every platform. A debugging aid: allocates, not
/// async-signal-safe.
std::string describe_waiters();

}  // namespace beacon

/// Writes beacon::describe_waiters() to stderr: for a debugger, where calling
/// a C++ function that returns a std::string is awkward. From gdb, with the
/// process stopped: `call beacon_print_waiters()`. Takes the parking lot's
/// bucket locks one at a time: if the process was stopped while a thread held
/// one, the call spins; interrupt it (gdb's `set unwindonsignal on`).
extern "C" void beacon_print_waiters() noexcept;
