// The blocking half of every beacon primitive whose state word carries a
// "someone is parked" bit, written once (after WebKit's LockAlgorithm) and
// placed on any bits of any atomic word.
//
// A primitive P supplies:
//   using value_type = ...;             // the state word's type
//   static constexpr value_type parked_bit;
//                                       // set while waiters may be queued
//   std::atomic<value_type>& word() noexcept;
//                                       // the state word; its address keys
//                                       // the lot
//   bool try_acquire() noexcept;        // the fast path: succeed without
//                                       // blocking
//   static bool ready(value_type s) noexcept;
//                                       // would try_acquire() succeed in
//                                       // state s?
//   void pass_on() noexcept;            // give back a grant that a
//                                       // destroyed coroutine never used
// and may supply (the semaphore's eventual policy does):
//   token park_token();                 // a thread's park token
//   token async_park_token();           // a coroutine's park token
//   static bool granted(token t);       // did the wake that delivered
//                                       // unpark token t grant the wait?
//
// Releasers (set, release, tick...) that see parked_bit take the parking lot
// path; their unpark callbacks clear parked_bit when the last waiter leaves
// and, for hand-off primitives, perform the acquisition for the waiter they
// wake. Hence the rule this file relies on: a waiter that park() reports as
// `unparked` has been granted its wait, unless P::granted(unpark token) says
// otherwise. Such a wake (a primitive that lets running threads barge) means
// "the state changed, try again": the thread retries try_acquire() and parks
// again if that fails; the primitive's releaser guarantees that the state it
// published has a woken waiter or a running thread answerable for it.
// Coroutines are always granted: they are resumed once and cannot sleep
// again, so their park token must tell the releaser to hand off.
//
// Why no wake-up is lost: the waiter sets parked_bit with a CAS inside
// validate(), under the queue lock, and only while !ready(s). A releaser
// that changes the word before that CAS makes validate fail (the waiter
// retries the fast path); one that changes it after sees parked_bit and
// takes the queue lock, which it can only get after the waiter is queued.
// A waiter that times out clears parked_bit under the queue lock when it was
// the last one, so the bit never stays set over an empty queue (which would
// only cost a releaser a trip to the lot) nor is it cleared over a non-empty
// one (which would lose a wake-up).
//
// Layer: this file is the primitives' side of the line. It calls the parking
// lot (parking_lot::park and the unpark operations, and the lot's spin
// policy, spin_until in spin.hpp) and never the platform; see platform.hpp
// for the whole walk from a wait() to the futex.
#pragma once

#include <coroutine>
#include <stop_token>
#include "beacon/source_location.hpp"

#include "beacon/detail/deadline.hpp"
#include "beacon/detail/spin.hpp"
#include "beacon/parking_lot.hpp"

namespace beacon::detail {

// The token P's waiters park with: P::park_token() where P has one, else none.
template <class P>
parking_lot::token park_token_of(P& p) noexcept {
  if constexpr (requires { p.park_token(); })
    return p.park_token();
  else
    return parking_lot::default_token;
}

// The token P's coroutines park with: P::async_park_token() where P has one.
template <class P>
parking_lot::token async_park_token_of(P& p) noexcept {
  if constexpr (requires { p.async_park_token(); })
    return p.async_park_token();
  else
    return park_token_of(p);
}

// The stack trace P's waiters show in beacon/inspect.hpp (wait_site::trace):
// P::capture_trace() where P has one (a once_event receiver; null when traces
// are off), else none. Called once the fast path failed, before parking; the
// record lives in P, which outlives the wait.
template <class P>
const trace_record* trace_of(P& p) noexcept {
  if constexpr (requires { p.capture_trace(); })
    return p.capture_trace();
  else
    return nullptr;
}

// The name P's waiters show in beacon/inspect.hpp: P::name where P has one.
template <class P>
constexpr const char* name_of() noexcept {
  if constexpr (requires { P::name; })
    return P::name;
  else
    return "";
}

// Whether a wake that delivered unpark token `t` granted the wait.
template <class P>
bool granted_by(P&, parking_lot::token t) noexcept {
  if constexpr (requires { P::granted(t); })
    return P::granted(t);
  else
    return true;
}

// validate() for park: sets parked_bit unless the primitive became ready.
template <class P>
bool mark_parked(P& p) noexcept {
  auto& word = p.word();
  auto s = word.load(std::memory_order_relaxed);
  do {
    if (P::ready(s)) return false;
    // Relaxed: the queue lock orders this CAS against every releaser that
    // acts on parked_bit (see the file comment); data visibility comes from
    // the releaser's release operations and the lot's hand-off.
  } while (!word.compare_exchange_weak(
      s, static_cast<typename P::value_type>(s | P::parked_bit),
      std::memory_order_relaxed));
  return true;
}

// timed_out() / cancel() callback: the last waiter to leave clears the bit.
template <class P>
void leave(P& p, bool was_last) noexcept {
  if (was_last)
    p.word().fetch_and(static_cast<typename P::value_type>(~P::parked_bit),
                       std::memory_order_relaxed);
}

// For broadcast primitives (manual-reset set, countdown reaching zero) when
// parked_bit is set: applies `next` to the word under the queue lock and, if
// the result is ready, wakes every queued waiter in the same critical
// section, clearing parked_bit. Doing the transition under the lock makes it
// atomic with respect to waiters joining and leaving:
// * a waiter that queued after an operation that made the primitive not
//   ready (reset, increment) is never released by a stale broadcast: the
//   broadcast and the ready state it publishes are one step;
// * nothing touches the word after a waiter could have seen it ready (and,
//   as the lifetime rules allow, destroyed the primitive): the wake-ups that
//   follow touch only the waiters' own entries.
// When nobody is queued any more (they timed out first) the word is still
// updated, under the lock, and parked_bit cleared: the last waiter to leave
// has cleared it already, so that changes nothing.
template <class P, class Next>
void transition_and_wake_all(P& p, Next&& next) noexcept {
  using value_type = typename P::value_type;
  bool applied = false, wake = false;
  auto apply = [&] {
    auto& word = p.word();
    value_type s = word.load(std::memory_order_relaxed);
    value_type n;
    do {
      n = next(s);
      wake = P::ready(n);
      if (wake) n = static_cast<value_type>(n & ~P::parked_bit);  // all will be dequeued
      // Release: publishes the broadcaster's writes to every waiter that
      // sees the ready state (their acquire loads) or is woken by it.
    } while (!word.compare_exchange_weak(s, n, std::memory_order_release,
                                         std::memory_order_relaxed));
    applied = true;
  };
  parking_lot::unpark_filter(
      &p.word(),
      [&](parking_lot::token) {
        if (!applied) apply();
        return wake ? parking_lot::filter_op::unpark : parking_lot::filter_op::stop;
      },
      [&](parking_lot::unpark_result) {
        if (!applied) apply();
        return parking_lot::default_token;
      });
}

// Blocks until p.try_acquire() succeeds, `until` passes or `*stop` is
// requested. Call it after a failed fast path. `loc`, the call site of the
// public wait, goes into the queue entry (inspect.hpp) only when it parks.
template <class P>
bool parked_wait(P& p, deadline until, const std::stop_token* stop = nullptr,
                 beacon::source_location loc = {}) noexcept {
  // Spin only while nobody is parked: when someone is, a release goes to
  // the longest waiter first and our spinning would only burn a CPU.
  if (!(p.word().load(std::memory_order_relaxed) & P::parked_bit) &&
      spin_until([&] { return p.try_acquire(); }, until, stop))
    return true;
  // Taken once: a waiter woken without a grant parks again with the same
  // token (the semaphore's carries when it first parked).
  const parking_lot::token token = park_token_of(p);
  const parking_lot::wait_site site{name_of<P>(), loc, trace_of(p)};
  for (;;) {
    const parking_lot::park_result r = parking_lot::park(
        &p.word(), [&] { return mark_parked(p); }, [] {},
        [&](bool was_last) { leave(p, was_last); }, token, until, stop, site);
    switch (r.status) {
      case parking_lot::park_status::unparked:
        // The releaser granted the wait (see the file comment), or woke us
        // to compete for what it published: then as if validate failed.
        if (granted_by(p, r.unpark_token)) return true;
        [[fallthrough]];
      case parking_lot::park_status::invalid:
        if (p.try_acquire()) return true;
        if (until.passed()) return false;
        continue;
      case parking_lot::park_status::timed_out:
      case parking_lot::park_status::stopped:
        return p.try_acquire();  // one last look: it may have become ready just now
    }
  }
}

// The members every parked-bit primitive offers, from a fast path and
// parked_wait(): try, timed and stoppable waits.
template <class P>
bool wait_for_impl(P& p, deadline until, beacon::source_location loc = {}) noexcept {
  return p.try_acquire() || (!until.passed() && parked_wait(p, until, nullptr, loc));
}

template <class P, class Clock, class Duration>
bool wait_until_impl(P& p, const std::chrono::time_point<Clock, Duration>& t,
                     beacon::source_location loc = {}) noexcept {
  if (p.try_acquire()) return true;
  return wait_until_clock(
      t, [&](deadline d) { return !d.passed() && parked_wait(p, d, nullptr, loc); });
}

template <class P>
bool wait_stop_impl(P& p, const std::stop_token& stop,
                    beacon::source_location loc = {}) noexcept {
  if (p.try_acquire()) return true;
  if (stop.stop_requested()) return false;
  return parked_wait(p, deadline::never(), &stop, loc);
}

// The awaiter of `co_await p`: suspends until the wait is granted. Lives in
// the coroutine frame, so it carries the queue entry; a coroutine destroyed
// while suspended takes its entry out of the queue in ~parked_awaiter.
template <class P>
class parked_awaiter {
 public:
  explicit parked_awaiter(P& p) noexcept : p_(p) {}
  parked_awaiter(const parked_awaiter&) = delete;
  parked_awaiter& operator=(const parked_awaiter&) = delete;
  ~parked_awaiter() {
    // Destroyed while queued: leave the queue. Destroyed after a wake chose
    // us but before we ran: the grant is ours and must not be lost.
    if (parking_lot::cancel(entry_, [this](bool was_last) { leave(p_, was_last); }) ==
        parking_lot::cancel_status::woken)
      p_.pass_on();
  }

  bool await_ready() noexcept { return p_.try_acquire(); }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    // The frame is the coroutine's name in inspect.hpp; co_await has no
    // source_location to give.
    entry_.set_site({name_of<P>(), {}, trace_of(p_)});
    for (;;) {
      if (parking_lot::park_async(
              &p_.word(), [this] { return mark_parked(p_); }, entry_, h,
              async_park_token_of(p_)))
        return true;  // queued; from here on *this may be resumed (and gone) at any time
      if (p_.try_acquire()) return false;  // became ready meanwhile: do not suspend
    }
  }
  void await_resume() const noexcept {}

 private:
  P& p_;
  parking_lot::waiter entry_;
};

}  // namespace beacon::detail
