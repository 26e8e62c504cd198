// beacon/parking_lot.hpp — park and unpark by address: the core every beacon
// primitive is built on, public so that users can build their own.
//
/// @namespace beacon::parking_lot
/// After WebKit's WTF::ParkingLot and Rust's parking_lot_core: a global table of
/// FIFO wait queues keyed by address. Because the waiters live in the table,
/// not in the primitive, a primitive's own state can be a single byte that
/// holds only its fast-path bits (typically "set" and "someone is parked").
///
/// A queue entry (`parking_lot::waiter`) is either a parked thread or a
/// suspended coroutine; unpark operations do not care which, so one protocol
/// serves both `wait()` and `co_await`.
///
/// The protocol (why no wake-up is lost). A waiter calls park() with a
/// `validate` callback, which runs under the queue lock of the address and
/// decides whether to enqueue: it re-reads the primitive's state and, if the
/// wait is still needed, records "someone is parked" in it (a bit, with a
/// read-modify-write). An unparker that sees that bit takes the same queue
/// lock, so it runs either wholly before the validation (then validate sees its
/// update and does not enqueue) or wholly after the enqueue (then it finds the
/// waiter). A releaser that does not see the bit knows no waiter can be queued.
/// The callbacks that unpark operations run under the queue lock are where the
/// primitive clears that bit again, atomically with the dequeue.
///
/// Rules for callbacks: `validate`, `timed_out` and the unpark callbacks run
/// under the queue lock: they must be short, must not block, and must not call
/// into the parking lot. `before_sleep` runs after the lock is released.
///
/// Coroutines. park_async() enqueues a suspended coroutine; the unparker
/// resumes it on its own thread, after it released the queue lock and before
/// the unpark operation returns. A resumed coroutine that unparks another
/// coroutine does not recurse: resumptions on a thread go through one
/// trampoline, so the nested one runs after the current one suspends or ends
/// (still before the outermost unpark operation on that thread returns). A
/// coroutine that is destroyed while queued, or after an unpark chose it but
/// before it was resumed (e.g. a resumed sibling destroys it, as when_any
/// does), must be withdrawn with cancel(); awaiters do this in their
/// destructor. cancel() then says whether the wait had been granted, so the
/// primitive can pass the grant on (an auto-reset signal, a semaphore permit).
/// Destroying a suspended coroutine on one thread while another thread may be
/// waking it is a race that no primitive can resolve: don't.
///
/// Wake-ups are delivered after the queue lock is released ("mark as woken
/// under the lock, make the wake system call after unlocking", as in
/// parking_lot_core), so a woken thread never blocks on the lock its waker holds.
///
/// Memory ordering: everything the unparker did before an unpark operation
/// happens-before park() returns `unparked` (or the coroutine is resumed) in
/// the waiter it woke. The queue lock orders every validate / timed_out /
/// unpark callback on one address in a single total order.
///
/// Signal handlers: no operation of the lot is async-signal-safe (a handler
/// that interrupts its own thread while it holds a bucket lock would spin on
/// that lock forever). Signal from a handler with os_event::signal().
///
/// Lifetime: a waiter entry lives on the parked thread's stack or in the
/// coroutine frame; nothing is allocated per park. The first table is static
/// (constant-initialised) and no table is ever freed, so parking works during
/// static initialisation and teardown.
///
/// Scale: each bucket keeps one FIFO queue per address, the first three as
/// (address, head) pairs in the bucket's own cache line, so an unpark costs
/// the same however many waiters other addresses have, and finding a queue
/// touches no other waiter; the table grows (rarely, a new table allocated
/// and every queue moved) when the queued addresses outnumber its buckets
/// about two to one (parking_lot_core keeps three buckets per thread).
///
/// fork(): a handler registered with pthread_atfork takes every bucket lock
/// before the fork and, in the child, drops the entries of parked threads
/// (the child does not have those threads); suspended coroutines' entries
/// stay, since their frames exist in the child too.
///
/// Example: a one-shot gate (a simplified manual-reset event).
/// @code
///  class gate {
///    std::atomic<std::uint8_t> state_{0};  // bit 0: open; bit 1: a thread is parked
///   public:
///    void open() {
///      if (state_.exchange(1, std::memory_order_release) & 2)
///        beacon::parking_lot::unpark_all(&state_);
///    }
///    void wait() {
///      while (!(state_.load(std::memory_order_acquire) & 1)) {
///        beacon::parking_lot::park(&state_, [&] {
///          std::uint8_t s = state_.load(std::memory_order_relaxed);
///          do {
///            if (s & 1) return false;  // opened meanwhile: do not sleep
///          } while (!state_.compare_exchange_weak(s, s | 2, std::memory_order_relaxed));
///          return true;  // marked as parked: safe to sleep
///        });
///      }
///    }
///  };
/// @endcode
#pragma once

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <stop_token>
#include <thread>
#include "beacon/source_location.hpp"

#include "beacon/deadline.hpp"
#include "beacon/detail/function_ref.hpp"
#include "beacon/detail/trace.hpp"

namespace beacon::parking_lot {

/// An opaque word passed from a parker to unparkers (the park token, seen by
/// unpark_filter) and from an unparker to the waiters it wakes (the unpark
/// token, returned by park() / unpark_token()).
using token = std::uintptr_t;
/// The token of a caller that has none to give (0).
inline constexpr token default_token = 0;

/// How park() ended.
enum class park_status : std::uint8_t {
  unparked,   ///< an unpark operation woke this waiter
  invalid,    ///< validate() returned false: the waiter never slept
  timed_out,  ///< the deadline passed; timed_out() ran
  stopped,    ///< a stop was requested on the stop_token; timed_out() ran
};

namespace detail {
class wait_group;  // waits on several addresses: see the end of this file
}  // namespace detail

/// What park() returns: how it ended and, when woken, the unpark token.
struct park_result {
  /// How the park ended.
  park_status status;
  token unpark_token;  ///< meaningful only when status == unparked
  /// True when an unpark operation woke the waiter (status == unparked).
  explicit operator bool() const noexcept { return status == park_status::unparked; }
};

/// What an unpark operation saw; passed to its callback under the queue lock.
struct unpark_result {
  std::size_t unparked = 0;  ///< how many waiters this operation removed
  bool have_more = false;    ///< whether waiters remain queued on the address
  /// Fairness hint (after WebKit and parking_lot_core): true about once a
  /// millisecond per bucket of queues (once per step of the coarse clock where
  /// it steps more slowly: every 4 ms on Linux at HZ=250), so a primitive that lets
  /// arrivals barge can hand off directly now and then and bound how long a waiter may be
  /// overtaken.
  bool be_fair = false;
};

/// What cancel() found.
enum class cancel_status : std::uint8_t {
  not_waiting,  ///< the entry was in no queue: nothing to undo
  removed,      ///< it was queued and is removed; on_removed(was_last) ran
  woken,        ///< an unpark had chosen it and its resumption was pending on
                ///< this thread; it is withdrawn and will not be resumed: the
                ///< caller owns whatever the unparker granted (and its token)
};

/// What unpark_filter's filter decides for each waiter it visits.
enum class filter_op : std::uint8_t {
  unpark,  ///< remove this waiter and wake it
  skip,    ///< leave it queued, look at the next
  stop,    ///< leave it and every later waiter queued
};

/// What a waiter tells the lot about itself for beacon/inspect.hpp: the name
/// of the primitive it waits on ("" when it gives none), the call site of
/// its wait and, optionally, a stack trace of it. Only recorded and read back
/// by for_each_waiter(); the lot's protocol never looks at it. `name` must
/// point at storage that outlives the wait (a string literal).
struct wait_site {
  const char* name = "";            ///< the primitive's name, e.g. "auto_reset_event"
  beacon::source_location where{};  ///< where the wait was called (line 0: unknown)
  /// A stack trace of the wait, owned by the waiter, alive and unchanged
  /// while it is queued (for_each_waiter copies it under the queue lock); null:
  /// none. once_event receivers set it in debug builds (inspect.hpp).
  const beacon::detail::trace_record* trace = nullptr;
};

/// A queue entry. Threads get one implicitly inside park(); coroutine
/// awaiters embed one in the coroutine frame and pass it to park_async().
/// It must not move or be destroyed while queued.
class waiter {
 public:
  /// An entry in no queue.
  waiter() noexcept = default;
  waiter(const waiter&) = delete;
  waiter& operator=(const waiter&) = delete;

  /// The unpark token delivered to this waiter (after an unpark woke it).
  token unpark_token() const noexcept { return unpark_token_; }
  /// Whether the entry is in a queue of the lot now (not after it was woken).
  bool queued() const noexcept {
    return where_.load(std::memory_order_acquire) == in_queue;
  }
  /// Whether cancel() has anything to do: queued, or woken with its
  /// coroutine's resumption still pending.
  bool waiting() const noexcept { return where_.load(std::memory_order_acquire) != idle; }
  /// Names the wait for beacon::for_each_waiter (park_async's entries; park()
  /// takes its site as an argument). Call it before park_async, never while
  /// the entry is waiting(): the lot reads it under the queue lock.
  void set_site(const wait_site& site) noexcept { site_ = site; }

 private:
  friend struct access;
  // Queue links, guarded by the queue lock. The waiters of one address form
  // a FIFO queue: next_ is the next waiter (null at the tail), prev_ the
  // previous one, except in the queue's first waiter (its head), whose prev_
  // is the tail (itself when alone). A bucket holds its first three queues'
  // heads itself; a head's queue_next_ links the queues beyond those (the
  // bucket's overflow chain). So an unpark finds its address's queue among
  // the queues of a bucket, not among all their waiters.
  waiter* next_ = nullptr;
  waiter* prev_ = nullptr;
  waiter* queue_next_ = nullptr;
  const void* address_ = nullptr;
  token park_token_ = default_token;
  token unpark_token_ = default_token;  // written under the lock, before the wake
  std::coroutine_handle<> coroutine_;   // null for a parked thread
  // For a parked thread: 0 = sleeping, 1 = unparked (final; written after the
  // unparker released the queue lock), 2 = interrupted by a stop request
  // (not final: the thread still has to take itself out of the queue). Where
  // the platform has masked waits (Linux), the thread sleeps not on this
  // word but on its address's wake slot, listening for wake_bit_ (see
  // src/parking_lot.cpp, "Wake slots").
  std::atomic<std::uint32_t> wake_state_{0};
  // Where the entry is: idle (in no queue), in_queue (in the lot; changed
  // only under the queue lock), or resume_pending (a coroutine entry that an
  // unpark removed and put on the waking thread's resume queue; back to idle
  // just before the coroutine is resumed).
  static constexpr std::uint8_t idle = 0, in_queue = 1, resume_pending = 2;
  std::atomic<std::uint8_t> where_{idle};
  // The parked thread's bit in its wake slot (0–31), written by that thread
  // before the entry is queued.
  std::uint8_t wake_bit_ = 0;
  // The multi-address wait this entry belongs to (wait_many.hpp), or null.
  // Set before the entry is queued; read under the queue lock.
  detail::wait_group* group_ = nullptr;
  // For beacon/inspect.hpp only (never read by the protocol): who waits, from
  // where, since when. Written before the entry is queued (by the parking
  // thread, which owns it), read only under the queue lock while it is
  // queued, so the lock orders every read after the writes.
  wait_site site_;
  std::int64_t since_ns_ = 0;  // platform::coarse_now_ns() when it queued
  std::thread::id thread_;     // the parked thread (thread entries)
};

namespace detail {
using beacon::detail::function_ref;
park_result park(const void* address, function_ref<bool()> validate,
                 function_ref<void()> before_sleep, function_ref<void(bool)> timed_out,
                 token park_token, deadline until, const std::stop_token* stop,
                 const wait_site& site = {}) noexcept;
bool park_async(const void* address, function_ref<bool()> validate, waiter& entry,
                std::coroutine_handle<> coroutine, token park_token) noexcept;
cancel_status cancel(waiter& entry, function_ref<void(bool)> on_removed) noexcept;
unpark_result unpark_one(const void* address,
                         function_ref<token(unpark_result)> callback) noexcept;
std::size_t unpark_all(const void* address, token unpark_token) noexcept;
unpark_result unpark_filter(const void* address, function_ref<filter_op(token)> filter,
                            function_ref<token(unpark_result)> callback) noexcept;
std::size_t queued_at(const void* address) noexcept;
// Copies the trace (wait_site::trace) of the first waiter queued on `address`
// that recorded one, under the queue lock; out.size = 0 when none did. For
// once_event's inspect_awaiter(s).
void copy_trace_at(const void* address, beacon::detail::trace_record& out) noexcept;
// Resumes `coroutine` through this thread's resume trampoline, as an unpark
// that chose `entry` would (now, or after the resumption running on this
// thread); until then cancel(entry) withdraws it (`woken`). For primitives
// that wake a coroutine without a queue (local_once_event).
void resume_here(waiter& entry, std::coroutine_handle<> coroutine) noexcept;
// Test hooks (tests and the interleaving checker): rehash the table into a
// new one of `buckets` buckets (a power of two), as a growth does; the
// number of buckets of the current table; and freeing the tables that
// rehashes retired, which is safe only while no thread is inside the lot.
void rehash_for_testing(std::size_t buckets) noexcept;
std::size_t bucket_count_for_testing() noexcept;
void free_retired_tables_for_testing() noexcept;
// Test hooks for the wake slots (src/parking_lot.cpp): the slot a thread
// parked on `address` sleeps on (an index; equal for addresses that share
// one), and setting the calling thread's bit in its slot (0–31), so that
// tests can make threads collide on a bit, and the checker's runs are the
// same each time.
std::size_t wake_slot_for_testing(const void* address) noexcept;
void set_wake_bit_for_testing(unsigned bit) noexcept;
}  // namespace detail

/// Parks the calling thread on `address` if `validate()` (run under the queue
/// lock) returns true, until an unpark operation wakes it, `until` passes, or
/// a stop is requested on `*stop`. `before_sleep()` runs after the thread is
/// queued and the lock released, before it sleeps (e.g. to unlock a mutex, as
/// a condition variable does). On time-out or stop, `timed_out(was_last)` runs
/// under the queue lock after the entry was removed; `was_last` tells whether
/// no other waiter remains on `address`. Never returns spuriously: `unparked`
/// means an unpark operation chose this waiter. `site` names the wait for
/// beacon::for_each_waiter (the primitive's name and the call site of its
/// wait); it costs nothing on the protocol.
template <class Validate, class BeforeSleep, class TimedOut>
park_result park(const void* address, Validate&& validate, BeforeSleep&& before_sleep,
                 TimedOut&& timed_out, token park_token = default_token,
                 deadline until = deadline::never(),
                 const std::stop_token* stop = nullptr, const wait_site& site = {}) {
  return detail::park(address, validate, before_sleep, timed_out, park_token, until, stop,
                      site);
}

/// park() without before_sleep / timed_out.
template <class Validate>
park_result park(const void* address, Validate&& validate) {
  return detail::park(
      address, validate, [] {}, [](bool) {}, default_token, deadline::never(), nullptr);
}

/// Queues `entry` for the suspended coroutine `coroutine` if `validate()`
/// (under the queue lock) returns true, and returns true: an unpark operation
/// will resume it (possibly before park_async returns, on another thread).
/// Returns false, queuing nothing, when validate() returned false. Call it
/// from await_suspend and return its result. The entry's wait_site
/// (waiter::set_site) names the wait for beacon::for_each_waiter.
template <class Validate>
bool park_async(const void* address, Validate&& validate, waiter& entry,
                std::coroutine_handle<> coroutine, token park_token = default_token) {
  return detail::park_async(address, validate, entry, coroutine, park_token);
}

/// Withdraws a coroutine entry whose coroutine will never run again (it is
/// being destroyed) or whose wait is abandoned. If it is queued it is removed
/// and `on_removed(was_last)` runs under the queue lock (status `removed`). If
/// an unpark already chose it and its resumption is pending on this thread,
/// it is taken off the resume queue (status `woken`): the caller must pass
/// on what the unparker granted. Costs one load when there is nothing to do.
/// Precondition: no other thread resumes or cancels the entry concurrently
/// (e.g. an unpark on another thread that already chose it and is about to
/// resume it); debug builds assert this.
template <class OnRemoved>
cancel_status cancel(waiter& entry, OnRemoved&& on_removed) {
  if (!entry.waiting()) return cancel_status::not_waiting;
  return detail::cancel(entry, on_removed);
}

/// Wakes the longest-waiting waiter on `address`, if any. `callback(result)`
/// runs under the queue lock, even when nobody was woken, and returns the
/// unpark token the woken waiter receives.
template <class Callback>
unpark_result unpark_one(const void* address, Callback&& callback) {
  return detail::unpark_one(address, callback);
}
/// unpark_one() whose callback gives the woken waiter default_token.
inline unpark_result unpark_one(const void* address) {
  return detail::unpark_one(address, [](unpark_result) { return default_token; });
}

/// Wakes every waiter on `address`, in FIFO order; returns how many.
inline std::size_t unpark_all(const void* address, token unpark_token = default_token) {
  return detail::unpark_all(address, unpark_token);
}

/// Visits the waiters on `address` in FIFO order and asks `filter(park_token)`
/// whether to wake each; then runs `callback(result)` under the queue lock and
/// hands its returned token to every waiter woken.
template <class Filter, class Callback>
unpark_result unpark_filter(const void* address, Filter&& filter, Callback&& callback) {
  return detail::unpark_filter(address, filter, callback);
}

/// How many waiters are queued on `address` now: a snapshot, for tests and
/// diagnostics (for instance, waiting until a thread is really parked, without sleeps).
inline std::size_t queued(const void* address) { return detail::queued_at(address); }

// ---------------------------------------------------------------------------
// Waits on several addresses at once (beacon/wait_many.hpp's wait_any), after
// Linux's futex_waitv. Not part of the contract above; wait_many.hpp is the
// only user.
//
// A multi-waiter queues one entry per address, all pointing at one
// wait_group. Exactly one entry may win: an unpark operation that reaches a
// grouped entry first claims the group (under its queue lock), and only then
// asks its filter about the entry; an entry whose group is already claimed,
// by another address's unparker or by its owner giving up, is skipped as if
// it were not queued, so what the unpark grants goes to the next waiter or
// stays in the primitive: a grant to a claimed group is never made, hence
// never lost nor doubled. The owner then withdraws its other entries with
// cancel().
//
// wait_all (atomic) queues an observer instead: one entry whose group is
// `observer` from the start. An unpark never chooses it (so it is never
// granted anything, which would be a partial acquisition) and skips it as it
// skips a claimed entry, but notifies its owner: under the queue lock the
// first unparker to meet it sets `notified` and links the group on its own
// list; after the lock is released it wakes the owner thread, or runs the
// coroutine owner's on_notify on its own thread. The entry stays queued (so
// the primitive's parked bit stays right) until the owner withdraws it.
namespace detail {

class wait_group {
 public:
  // claim_: who owns the group's single grant.
  //  open     nobody yet: unparkers may choose an entry;
  //  pending  an unparker, holding the queue lock of one entry, is asking its
  //           filter (a bounded step; others wait for it to end);
  //  by_owner the owner gave up (time-out, stop, destruction, or an object
  //           found ready while queuing): entries are skipped from now on;
  //  won      an unparker chose winner_: that object's grant is the owner's.
  //  observer an observer's group (wait_all): never claimed, set before its
  //           entry is queued and never changed.
  // open -> pending -> (open | won); open -> by_owner. won and by_owner are final.
  static constexpr std::uint32_t open = 0, pending = 1, by_owner = 2, won = 3,
                                 observer = 4;
  std::atomic<std::uint32_t> claim{open};
  // signal: bits. woken: the winner's unparker released its lock and woke the
  // owner (a thread sleeps on this word); interrupted: a stop request (thread
  // owners); queuing: a coroutine owner is still queuing its entries, so the
  // unparker must not resume it (the owner does, when it finishes);
  // notified (observers): an unparker linked the group on its notify list
  // under the queue lock and will set `woken` (the owner must not end before
  // it did: wait_woken).
  static constexpr std::uint32_t woken = 1, interrupted = 2, queuing = 4, notified = 8;
  std::atomic<std::uint32_t> signal{0};
  waiter* winner = nullptr;           // written before claim becomes won (release)
  std::coroutine_handle<> coroutine;  // null for a thread owner
  // Observers with a coroutine owner: what the notifier runs, after it set
  // `woken` while the owner was not queuing (the owner's retry), and its
  // argument. Set before the entry is queued.
  void (*on_notify)(void* context) noexcept = nullptr;
  void* context = nullptr;
  wait_group* notify_next = nullptr;  // the notify list, written by its one linker
};

// Queues `entry` of `group` on `address` if validate() (under the queue lock)
// returns true; false, queuing nothing, otherwise.
bool park_grouped(const void* address, function_ref<bool()> validate, waiter& entry,
                  wait_group& group, token park_token) noexcept;
// The owner gives up: true if it claimed the group (no entry can win any
// more), false if an entry had won (group.winner; for a thread owner, then
// wait_woken() before using the grant).
bool claim_for_owner(wait_group& group) noexcept;
// A thread owner sleeps until an entry wins and its unparker woke it (true),
// `until` passes or a stop is requested on `*stop` (false: claim_for_owner next).
bool sleep_grouped(wait_group& group, deadline until,
                   const std::stop_token* stop) noexcept;
// A thread owner whose claim failed: waits for the winner's wake (it is on its way).
void wait_woken(wait_group& group) noexcept;
// A coroutine owner finished queuing: true if an entry won meanwhile (then
// the owner resumes itself: the unparker did not), false if not (an
// unparker will resume it).
bool finish_queuing(wait_group& group) noexcept;

}  // namespace detail
}  // namespace beacon::parking_lot
