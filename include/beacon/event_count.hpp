// beacon/event_count.hpp — an eventcount: a condition variable for lock-free
// algorithms (async-event's Event, folly's EventCount), for threads and
// coroutines alike.
#pragma once

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>
#include "beacon/source_location.hpp"

#include "beacon/detail/deadline.hpp"
#include "beacon/detail/event_count_support.hpp"
#include "beacon/parking_lot.hpp"

namespace beacon {

/// An eventcount: lets threads and coroutines wait for a condition on state
/// that other threads change without a lock (a lock-free queue becomes a
/// blocking channel with two of them), at the cost of a fence and a load per
/// notification when nobody waits.
///
/// Contract (after async-event's Event::wait_until):
/// * A wait takes a predicate `p`, called as `p()` (an lvalue; it may be
///   mutable), that returns either
///   - `std::optional<T>` (cv-ref qualified or not): engaged = satisfied, and
///     the value is the wait's result; or
///   - anything boolean-testable: `bool`, integers, raw pointers, any type
///     implicitly convertible to `bool` whose `!` is too. It is converted to
///     `bool` at once (true = satisfied); the value itself is not kept.
///   Anything else is refused at compile time, including types only
///   explicitly convertible to bool (std::unique_ptr, std::function): return
///   `std::optional` to get such a value out of the wait.
///   It calls `p()` until it succeeds: once at once,
///   then after registering as a waiter (so a change made meanwhile is not
///   missed), then after every notification that reaches it. The predicate
///   may consume what it finds (pop an item, claim a slot): its success ends
///   the wait and it is never called again by that wait. It runs on the
///   waiting thread (for a coroutine woken by a notification: on the
///   notifying thread), never under a lock of beacon's, so it may itself
///   call notify*(). It should not block.
/// * Results. For a boolean-testable result: wait(p) returns void;
///   wait_for, wait_until and wait(std::stop_token, p) return bool;
///   `co_await async_wait(p)` yields void. For `std::optional<T>`: wait(p)
///   returns T; the timed and stoppable waits return std::optional<T>;
///   `co_await` yields T. An exception thrown by `p` ends the wait and
///   propagates (from co_await for a coroutine).
/// * notify_one() wakes the longest-queued waiter, notify(n) wakes n more
///   (event_listener's notify_additional), notify_all() every waiter
///   registered at that moment. Queued waiters, threads and coroutines
///   alike, are woken in FIFO order. A woken waiter whose predicate still
///   fails queues again, at the back. A notify with no waiter is not stored.
/// * No notification is lost. A notify finds every waiter that registered
///   before it: queued ones are dequeued and woken; one that registered but
///   is not queued yet, when the notify finds fewer queued waiters than it
///   was asked to wake, does not go to sleep but checks its predicate again.
///   A waiter chosen by a notify calls p() once more even if its deadline
///   passed or its stop was requested meanwhile, and succeeds if p() does;
///   a coroutine destroyed while it waits leaves the queue first, so no
///   notification is delivered to it. So a notification for one item always
///   reaches a waiter that checks for the item, never one that gave up.
/// * No spurious wake-up reaches the caller: wait(p) returns only when p()
///   succeeded; a timed wait fails only after its deadline (rounded up,
///   any clock, overflow-free); a stoppable wait fails only when stop was
///   requested and p() failed (if p() succeeds at once, it succeeds even when
///   stop was already requested).
/// * Zero or negative durations and past deadlines call p() once.
/// * Cost: notify*() with no waiter registered is a fence and a load: no
///   lock, no read-modify-write, no system call. The fence is most of it
///   (x86: a locked instruction, about as dear as one fetch_add); an
///   asymmetric fence (membarrier) would leave only the load but cost each
///   waiter a system call that interrupts every CPU running the process
///   (some 40 us on a 2-CPU VM), so beacon does not use one. A waiter that
///   must block registers (one RMW and a fence), takes the queue lock once
///   to enqueue, and when notified returns without another lock. It does not
///   spin first: on a bounded queue, spinning kept producer and consumer in
///   lock-step on a full or empty ring (a cache miss per item) where
///   sleeping lets one side work through a batch; bench/event_count_bench
///   measured the channel 1 -> 1 about three times as slow with the spin
///   of detail::spin_until (see docs/event_count.md). A caller who wants to spin can poll
///   the predicate before calling wait.
/// * A coroutine waiter made ready by notify*() is resumed on the notifying
///   thread, after beacon's locks are released and before that notify*()
///   returns; chains of coroutines notifying each other do not recurse (see
///   parking_lot.hpp). Its predicate is checked there first; if it fails the
///   coroutine stays suspended and registers again.
///
/// Memory ordering. notify*() begins with a seq_cst fence (ec_A) and waits issue
/// one after registering (ec_B): every write the notifier made to the
/// predicate's state before notify*() is seen by the predicate check that
/// follows a registration the notifier's load missed, so the predicate's
/// state may use relaxed atomics and no wake-up is lost. That fence pairing
/// orders the predicate's own state, not other data: to publish data through
/// it (a value in a slot, a queue cell), use release/acquire on that state
/// as a lock-free structure does anyway. A waiter woken by a notify also
/// sees everything the notifier did before it (parking_lot hand-off).
///
/// Signal handlers: notify*() is not async-signal-safe: it may take a
/// parking-lot bucket lock, and a handler that interrupts its own thread
/// while that thread holds the lock spins forever. From a handler, call
/// os_event::signal() (os_event.hpp) and let a thread waiting on it act.
///
/// Lifetime: not copyable or movable (its address is its identity). Destroy
/// it once no thread is inside a member function and no coroutine waits on
/// it. A waiter that returns does not know that the notifier has returned
/// (it may have seen the predicate without being woken): join or otherwise
/// synchronise with the notifiers before destroying it. An async_wait()
/// awaitable must be awaited at most once and must not outlive the
/// event_count; a coroutine suspended in it may be destroyed (it leaves the
/// queue) unless a notify*() is resuming it at that moment.
///
/// @code
///  std::atomic<int> items{0};
///  beacon::event_count ec;
///  // consumer: takes one item, blocking while there is none
///  ec.wait([&] {
///    int n = items.load(std::memory_order_relaxed);
///    while (n > 0)
///      if (items.compare_exchange_weak(n, n - 1)) return true;
///    return false;
///  });
///  // producer
///  items.fetch_add(1, std::memory_order_relaxed);
///  ec.notify_one();
/// @endcode
/// examples/event_count_channel.hpp builds a bounded MPMC channel (Vyukov's
/// ring buffer + two event_counts) with blocking, timed and co_await forms.
class event_count {
 public:
  /// An event_count nobody waits on; constexpr, so it can be constinit.
  constexpr event_count() noexcept = default;
  event_count(const event_count&) = delete;
  event_count& operator=(const event_count&) = delete;

  /// Wakes the longest-queued waiter, if any.
  void notify_one() noexcept { notify(1); }

  /// Wakes n more waiters (fewer if fewer wait); notify(0) does nothing.
  void notify(std::size_t n) noexcept {
    if (n == 0) return;
    // ec_A: must be seq_cst. Matches ec_B in register_waiter(): either our load
    // below sees a waiter's registration, or that waiter's predicate check
    // (after ec_B) sees what this thread wrote before calling notify.
    detail::ec_fence();
    if ((state_.load(std::memory_order_relaxed) & waiters_mask) != 0) notify_slow(n);
  }

  /// Wakes every waiter registered now.
  void notify_all() noexcept { notify(std::numeric_limits<std::size_t>::max()); }

  /// Blocks until p() succeeds; returns void (bool-like p) or T (optional<T> p).
  template <class Pred>
  auto
  wait(Pred p, beacon::source_location loc = beacon::source_location::current()) noexcept(
      detail::ec_nothrow_wait<Pred>) {
    static_assert(detail::ec_valid_predicate<Pred>,
                  "an event_count predicate returns std::optional<T> or a "
                  "boolean-testable type (bool, int, a pointer; not std::unique_ptr)");
    auto r = wait_impl(p, deadline::never(), nullptr, loc);
    if constexpr (std::is_same_v<decltype(r), bool>)
      return;
    else
      return std::move(*r);
  }

  /// Blocks until p() succeeds or `d` (rounded up) has passed; bool or
  /// std::optional<T>. Zero or negative: p() once.
  template <class Pred, class Rep, class Period>
  auto wait_for(
      const std::chrono::duration<Rep, Period>& d, Pred p,
      beacon::source_location loc =
          beacon::source_location::current()) noexcept(detail::ec_nothrow_wait<Pred>) {
    return wait_impl(p, deadline::after(d), nullptr, loc);
  }

  /// Blocks until p() succeeds or `t` has passed on its clock; bool or
  /// std::optional<T>. A past time: p() once.
  template <class Pred, class Clock, class Duration>
  auto wait_until(
      const std::chrono::time_point<Clock, Duration>& t, Pred p,
      beacon::source_location loc =
          beacon::source_location::current()) noexcept(detail::ec_nothrow_wait<Pred>) {
    return detail::wait_until_clock(
        t, [&](deadline d) { return wait_impl(p, d, nullptr, loc); });
  }

  /// Blocks until p() succeeds or a stop is requested; bool or
  /// std::optional<T> (false / nullopt: stopped).
  template <class Pred>
  auto wait(
      std::stop_token stop, Pred p,
      beacon::source_location loc =
          beacon::source_location::current()) noexcept(detail::ec_nothrow_wait<Pred>) {
    return wait_impl(p, deadline::never(), &stop, loc);
  }

  template <class Pred>
  class async_waiter;

  /// `co_await ec.async_wait(p)` suspends the coroutine until p() succeeds;
  /// yields void (bool-like p) or T (optional<T> p).
  template <class Pred>
  [[nodiscard]] async_waiter<Pred> async_wait(Pred p) {
    return async_waiter<Pred>(*this, std::move(p));
  }

  /// How many waiters are registered now: a relaxed snapshot for tests and
  /// diagnostics (0 once every wait has returned).
  std::size_t waiters() const noexcept {
    return static_cast<std::size_t>(state_.load(std::memory_order_relaxed) &
                                    waiters_mask);
  }

 private:
  friend class detail::ec_async_base;

  static constexpr std::uint64_t one_waiter = 1;
  static constexpr std::uint64_t waiters_mask = 0xFFFF'FFFF;
  static constexpr std::uint64_t one_epoch = std::uint64_t{1} << 32;

  // (epoch << 32) | waiters.
  //   waiters: threads and coroutines registered to wait. A waiter counts
  //     from its registration (before its last predicate check) until a
  //     notify dequeues it or it leaves by itself (predicate satisfied after
  //     registering, validation failed, time-out, stop, destroyed
  //     coroutine). 0: nobody waits, so notify*() ends after its load.
  //   epoch: advanced (mod 2^32) under the queue lock by a notify that woke
  //     fewer waiters than it was asked to. A waiter registers with the
  //     epoch it read and enqueues only if it is unchanged (validated under
  //     the same lock), so one that registered but was not queued yet when
  //     a notify found the queue short does not sleep: it checks its
  //     predicate again instead. (A waiter would miss such a notification
  //     only if 2^32 of them passed between its registration and its
  //     enqueue, as in folly's EventCount.)
  // Waiters are queued in the parking lot on the address of this word.
  std::atomic<std::uint64_t> state_{0};

  // Registers the caller as a waiter; returns the state it saw (its epoch).
  std::uint64_t register_waiter() noexcept {
    const std::uint64_t key = state_.fetch_add(one_waiter, std::memory_order_relaxed);
    // ec_B: must be seq_cst. Matches ec_A in notify(): the predicate check that
    // follows sees every change a notifier made before a notify whose load
    // missed this registration.
    detail::ec_fence();
    return key;
  }
  // Leaves after the predicate succeeded between registering and parking.
  void unregister_waiter() noexcept {
    state_.fetch_sub(one_waiter, std::memory_order_relaxed);
  }

  // Slow paths, in src/event_count.cpp.
  void notify_slow(std::size_t n) noexcept;
  // validate() of a registered waiter, under the queue lock: true (enqueue)
  // if the epoch is still `key`'s, else unregisters and returns false.
  bool still_current(std::uint64_t key) noexcept;
  // Parks the registered caller unless the epoch moved past `key`'s.
  // `loc`: the call site of the wait, for inspect.hpp.
  parking_lot::park_status park(std::uint64_t key, deadline until,
                                const std::stop_token* stop,
                                beacon::source_location loc) noexcept;

  template <class Pred>
  detail::ec_outcome<Pred> wait_impl(Pred& p, deadline until, const std::stop_token* stop,
                                     beacon::source_location loc) {
    using R = detail::ec_outcome<Pred>;
    static_assert(detail::ec_valid_predicate<Pred>,
                  "an event_count predicate returns std::optional<T> or a "
                  "boolean-testable type (bool, int, a pointer; not std::unique_ptr)");
    if (R r = detail::ec_call(p)) return r;
    if (until.passed() || (stop && stop->stop_requested())) return R{};
    for (;;) {
      const std::uint64_t key = register_waiter();
      {
        struct leave_on_throw {  // the predicate may throw while we are registered
          event_count* ec;
          ~leave_on_throw() {
            if (ec) ec->unregister_waiter();
          }
        } guard{this};
        R r = detail::ec_call(p);
        guard.ec = nullptr;
        if (r) {
          unregister_waiter();
          return r;
        }
      }
      const parking_lot::park_status s = park(key, until, stop, loc);
      // Woken (our registration was taken by the notifier), validation
      // failed (a notify came between our registration and the queue), or
      // gave up (time-out, stop): in every case look once more, so a
      // notification that reached us is never dropped.
      if (R r = detail::ec_call(p)) return r;
      if (s == parking_lot::park_status::timed_out ||
          s == parking_lot::park_status::stopped || until.passed() ||
          (stop && stop->stop_requested()))
        return R{};
    }
  }
};

namespace detail {

// The non-template half of an async wait: the queue entry, the parking
// protocol and the internal coroutine that re-checks the predicate on the
// notifier's thread before resuming the waiting coroutine.
class ec_async_base {
 public:
  ec_async_base(const ec_async_base&) = delete;
  ec_async_base& operator=(const ec_async_base&) = delete;

 protected:
  using check_fn = bool (*)(ec_async_base&) noexcept;

  ec_async_base(event_count& ec, check_fn check) noexcept : ec_(ec), check_(check) {}
  ~ec_async_base();

  // await_suspend: parks the coroutine `user` (true), or returns false when
  // the predicate succeeded meanwhile (the coroutine goes on at once).
  bool suspend(std::coroutine_handle<> user) noexcept {
    user_ = user;
    return park();
  }

 private:
  friend struct ec_async_access;

  // Registers, re-checks and queues the internal coroutine; false when the
  // predicate succeeded instead. After a true return *this may be gone.
  bool park() noexcept;

  event_count& ec_;
  check_fn check_;                   // calls the predicate; true: success or exception
  std::coroutine_handle<> user_;     // the coroutine awaiting async_wait()
  std::coroutine_handle<> resumer_;  // internal; created at the first park
  parking_lot::waiter entry_;        // our place in the queue on the state word
  bool done_ = false;                // the predicate succeeded (or threw)

  // The internal coroutine's frame lives here, in the waiting coroutine's
  // frame, when it fits (64 bytes with GCC 12, 40-48 with Clang 14, at -O0
  // and -O2 and under sanitizers); else on the heap.
  static constexpr std::size_t frame_capacity = 80;
  alignas(std::max_align_t) unsigned char frame_[frame_capacity];
};

}  // namespace detail

/// The awaitable of async_wait(p). Not copyable or movable; await it once.
template <class Pred>
class event_count::async_waiter : private detail::ec_async_base {
  using R = detail::ec_outcome<Pred>;
  static_assert(detail::ec_valid_predicate<Pred>,
                "an event_count predicate returns std::optional<T> or a boolean-testable "
                "type (bool, int, a pointer; not std::unique_ptr)");

 public:
  /// Made by event_count::async_wait(p).
  async_waiter(event_count& ec,
               Pred p) noexcept(std::is_nothrow_move_constructible_v<Pred>)
      : ec_async_base(ec, &check), pred_(std::move(p)) {}

  /// Calls p() once: true (no suspension) if it succeeded.
  bool await_ready() {
    R r = detail::ec_call(pred_);
    if (!r) return false;
    detail::ec_store(result_, std::move(r));
    return true;
  }
  /// Registers and queues the coroutine; false (it goes on at once) if p()
  /// succeeded meanwhile.
  bool await_suspend(std::coroutine_handle<> h) noexcept { return suspend(h); }
  /// The wait's result: void (bool-like p) or T (optional<T> p); rethrows what p()
  /// threw.
  auto await_resume() {
    if (error_) std::rethrow_exception(error_);
    if constexpr (std::is_same_v<R, bool>)
      return;
    else
      return std::move(*result_);
  }

 private:
  static bool check(ec_async_base& b) noexcept {
    auto& self = static_cast<async_waiter&>(b);
    try {
      R r = detail::ec_call(self.pred_);
      if (!r) return false;
      detail::ec_store(self.result_, std::move(r));
    } catch (...) {
      self.error_ = std::current_exception();
    }
    return true;
  }

  Pred pred_;
  R result_{};
  std::exception_ptr error_;
};

}  // namespace beacon
