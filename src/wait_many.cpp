// The engine of beacon/wait_many.hpp: a multi-waiter queued on several
// objects through one parking_lot::detail::wait_group. See wait_many.hpp for
// the contract and parking_lot.hpp (wait_group) for the claim protocol.
#include "beacon/wait_many.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>

#include "beacon/detail/spin.hpp"

namespace beacon {
namespace detail {

using parking_lot::waiter;
using parking_lot::detail::wait_group;

namespace {

// Withdraws entries [0, n) except `keep` (a winner is no longer queued).
// Each removed entry's on_removed clears its object's parked bit when it was
// the last waiter there, as a timed-out single waiter does.
void withdraw(std::span<waiter> entries, const wait_ops* const* ops, void* const* objects,
              std::size_t n, std::size_t keep = wait_many_engine::npos) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    if (i == keep) continue;
    parking_lot::cancel(entries[i],
                        [&](bool was_last) { ops[i]->leave(objects[i], was_last); });
  }
}

std::size_t index_of(std::span<waiter> entries, const waiter* w) noexcept {
  return static_cast<std::size_t>(w - entries.data());
}

}  // namespace

void wait_many_engine::keep(const wait_ref& r) noexcept { r.ops_->keep(r.object_); }

std::size_t wait_many_engine::try_any(std::span<const wait_ref> objs) noexcept {
  for (std::size_t i = 0; i < objs.size(); ++i)
    if (objs[i].ops_->try_acquire(objs[i].object_)) return i;
  return objs.size();
}

namespace {

// Queues entries in order until all are queued (returns objs.size()) or an
// object is found available (validate failed: returns its index).
std::size_t queue_all(std::size_t n, std::span<waiter> entries, wait_group& group,
                      const wait_ops* const* ops, void* const* objects) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    if (!parking_lot::detail::park_grouped(
            ops[i]->address(objects[i]), [&] { return ops[i]->mark_parked(objects[i]); },
            entries[i], group, ops[i]->park_token(objects[i])))
      return i;
  }
  return n;
}

}  // namespace

// The ops and objects of a span, read once (inline up to 8).
struct wait_many_engine::lists {
  explicit lists(std::span<const wait_ref> objs) {
    if (objs.size() > small) {
      big_ops.resize(objs.size());
      big_objects.resize(objs.size());
      ops = big_ops.data();
      objects = big_objects.data();
    }
    for (std::size_t i = 0; i < objs.size(); ++i) {
      ops[i] = objs[i].ops_;
      objects[i] = objs[i].object_;
    }
  }
  static constexpr std::size_t small = 8;
  const wait_ops* small_ops[small];
  void* small_objects[small];
  std::vector<const wait_ops*> big_ops;
  std::vector<void*> big_objects;
  const wait_ops** ops = small_ops;
  void** objects = small_objects;
};

std::optional<std::size_t> wait_many_engine::any_blocking(
    std::span<const wait_ref> objs, std::span<waiter> entries, deadline until,
    const std::stop_token* stop) noexcept {
  const std::size_t n = objs.size();
  lists l(objs);
  const wait_ops* const* ops = l.ops;
  void* const* objects = l.objects;
  auto try_all = [&]() -> std::size_t {
    for (std::size_t i = 0; i < n; ++i)
      if (ops[i]->try_acquire(objects[i])) return i;
    return n;
  };
  // Spin a little first, as a single wait does, while nobody is parked.
  {
    std::size_t got = n;
    if (spin_until(
            [&] {
              got = try_all();
              return got < n;
            },
            until, stop))
      return got;
  }
  for (;;) {
    wait_group group;
    const std::size_t queued = queue_all(n, entries, group, ops, objects);
    const bool ready_seen = queued < n;
    if (ready_seen || !parking_lot::detail::sleep_grouped(group, until, stop)) {
      // An object was available while we queued, or we time out / stop:
      // claim our own group so that no grant can arrive from now on.
      if (parking_lot::detail::claim_for_owner(group)) {
        withdraw(entries, ops, objects, queued);
        // One look in index order: the one found available, or any that
        // became available just now (a time-out's last look).
        if (const std::size_t i = try_all(); i < n) return i;
        if (!ready_seen || until.passed() || (stop && stop->stop_requested()))
          return std::nullopt;
        continue;  // taken by someone else meanwhile: wait again
      }
      // An entry won before our claim: its grant is ours; its wake is on
      // its way (the unparker may still hold its queue lock).
      parking_lot::detail::wait_woken(group);
    }
    // Woken: the group's winner was granted its object (acquire in the
    // lot's wake makes the unparker's writes visible).
    const std::size_t won = index_of(entries, group.winner);
    withdraw(entries, ops, objects, queued, won);
    return won;
  }
}

bool wait_many_engine::any_suspend(std::span<const wait_ref> objs,
                                   std::span<waiter> entries, wait_group& group,
                                   std::size_t& found,
                                   std::coroutine_handle<> h) noexcept {
  const std::size_t n = objs.size();
  lists l(objs);
  const wait_ops* const* ops = l.ops;
  void* const* objects = l.objects;
  for (;;) {
    group.claim.store(wait_group::open, std::memory_order_relaxed);
    // `queuing`: an unparker that wins an entry before we are done queuing
    // leaves the resumption to us (finish_queuing), so the frame is never
    // resumed while this function still runs.
    group.signal.store(wait_group::queuing, std::memory_order_relaxed);
    group.winner = nullptr;
    group.coroutine = h;
    const std::size_t queued = queue_all(n, entries, group, ops, objects);
    if (queued == n) {
      // All queued. Won meanwhile: resume at once (any_resume withdraws the
      // rest); else an unparker resumes us.
      found = npos;
      return !parking_lot::detail::finish_queuing(group);
    }
    // Object `queued` is available: give up the group, then take it.
    if (!parking_lot::detail::claim_for_owner(group)) {
      found = npos;  // an entry won first: any_resume reads the winner
      return !parking_lot::detail::finish_queuing(group);
    }
    withdraw(entries, ops, objects, queued);
    for (std::size_t i = 0; i < n; ++i) {
      if (ops[i]->try_acquire(objects[i])) {
        found = i;
        return false;
      }
    }
    // Taken by someone else meanwhile: queue again.
  }
}

std::size_t wait_many_engine::any_resume(std::span<const wait_ref> objs,
                                         std::span<waiter> entries,
                                         wait_group& group) noexcept {
  const std::size_t won = index_of(entries, group.winner);
  for (std::size_t i = 0; i < objs.size(); ++i) {
    if (i == won) continue;
    const wait_ref& r = objs[i];
    parking_lot::cancel(entries[i],
                        [&](bool was_last) { r.ops_->leave(r.object_, was_last); });
  }
  return won;
}

void wait_many_engine::any_abandon(std::span<const wait_ref> objs,
                                   std::span<waiter> entries,
                                   wait_group& group) noexcept {
  const bool gave_up = parking_lot::detail::claim_for_owner(group);
  (void)gave_up;  // either way: a winner, if any, is the entry cancel finds woken
  for (std::size_t i = 0; i < objs.size(); ++i) {
    const wait_ref& r = objs[i];
    // The winner's entry is pending on this thread's resume queue (the
    // contract: not on another's); withdrawing it hands back its grant.
    if (parking_lot::cancel(entries[i], [&](bool was_last) {
          r.ops_->leave(r.object_, was_last);
        }) == parking_lot::cancel_status::woken)
      r.ops_->pass_on(r.object_);
  }
}

// --- wait_all ---------------------------------------------------------------
//
// Atomicity. An attempt (attempt_all) holds the objects one by one in
// address order (try_hold: one CAS each, "available, not held" -> "held"),
// then commits them all (commit_hold: consume and unhold in one RMW each).
// A held object stays available and nobody consumes it or makes it
// unavailable while held (event_cores.hpp, hold_result): so at the instant
// the last hold is taken, every object is available at once (the
// linearization point), and nobody observes any of them between that instant
// and its commit (they wait for the hold to end, then see it consumed). If an
// object is unavailable, the holds taken so far are dropped in reverse
// (release_hold: exactly the state before, as if the attempt never was): the
// attempt then acquired nothing. An object held by another wait_all is
// waited for (busy): holds are taken in address order, so two attempts never
// wait for each other in a cycle, and an attempt takes no lock and never
// parks while it holds, so no single waiter waits for it while holding
// something it needs either.
//
// Blocking. A failed attempt names the first object it found unavailable,
// the blocker. The wait_all queues one observer entry there
// (parking_lot.hpp, wait_group::observer), with the blocker's own validate
// (mark_parked: under the queue lock, parks only while the blocker is still
// unavailable, and sets its parked bit as a single waiter does). An unpark on
// the blocker never grants the observer anything (a grant would be a partial
// acquisition): it skips it, giving what it releases to the next real waiter
// or leaving it in the object, and notifies the owner, who withdraws the
// entry (its leave() clears the parked bit if it was the last entry) and
// attempts again. No wake-up is lost: a change that makes the blocker
// available either comes before the validate (which then fails: attempt
// again at once) or sees the parked bit and goes through the queue, where it
// meets the observer (objects that release waiters one at a time stop at the
// first real waiter, but then they gave what they released to that waiter,
// and the blocker is not available). None is doubled: the observer takes
// nothing from a notification but the cue to attempt again, and every
// acquisition is an attempt's commit. Waiting on one object at a time is
// enough: the attempt succeeds once all are available at one instant, and
// until then the blocker it waits for was unavailable when it queued.
//
// Time-outs, stops and a destroyed coroutine withdraw the entry: an observer
// was never granted anything, so there is nothing to pass on (a coroutine
// whose retry had already acquired all and whose resumption is pending on
// the destroying thread gives each object back: all_abandon).
//
// Fairness. While it waits, a wait_all reserves nothing (as Win32's does
// not): single waiters and try_waits take the objects whenever they can, so a
// wait_all can be overtaken indefinitely by a stream of them (it retries at
// every change of its blocker); it acquires as soon as all are available at
// one instant that it gets to see. No FIFO order is promised among wait_alls
// or between a wait_all and single waiters.

namespace {

// Whether a once receiver among the objects is broken (ready with no value:
// disconnected or an exception sent; wait_many.hpp, rx_ops). Broken is
// final while the wait owns the receiver, so it reads the same at the
// attempt's linearization point and after.
bool any_broken(const wait_ops* const* ops, void* const* objects,
                std::size_t n) noexcept {
  for (std::size_t k = 0; k < n; ++k)
    if (ops[k]->broken && ops[k]->broken(objects[k])) return true;
  return false;
}

// The atomic attempt over sorted objects: objs.size() when all were acquired,
// else the index of the object found unavailable (nothing acquired). With a
// broken receiver among them, all held means the wait ends but commits
// nothing: the holds are dropped and objs.size() returned; the result
// (make_all_result, or all_abandon) sees the broken receiver and knows.
std::size_t attempt_all(const wait_ops* const* ops, void* const* objects,
                        std::size_t n) noexcept {
  for (std::size_t k = 0; k < n; ++k) {
    for (unsigned spins = 0;; ++spins) {
      const hold_result h = ops[k]->try_hold(objects[k]);
      if (h == hold_result::held) break;
      if (h == hold_result::unavailable) {
        for (std::size_t j = k; j-- > 0;)
          ops[j]->release_hold(objects[j]);
        return k;
      }
      hold_pause(spins);  // busy: another wait_all's hold, a moment
    }
  }
  if (any_broken(ops, objects, n)) {
    for (std::size_t j = n; j-- > 0;)
      ops[j]->release_hold(objects[j]);
    return n;
  }
  for (std::size_t k = 0; k < n; ++k)
    ops[k]->commit_hold(objects[k]);
  return n;
}

}  // namespace

void wait_many_engine::sort_unique(std::span<wait_ref> objs) {
  std::sort(objs.begin(), objs.end(), [](const wait_ref& a, const wait_ref& b) {
    return std::less<const void*>()(a.object_, b.object_);
  });
  if (std::adjacent_find(objs.begin(), objs.end()) != objs.end())
    throw std::invalid_argument("beacon::wait_all: the same object twice");
}

bool wait_many_engine::try_all(std::span<const wait_ref> objs) noexcept {
  lists l(objs);
  return attempt_all(l.ops, l.objects, objs.size()) == objs.size();
}

namespace {

bool queue_observer(const wait_ops* ops, void* object, waiter& entry, wait_group& group,
                    beacon::source_location loc) noexcept {
  group.claim.store(wait_group::observer, std::memory_order_relaxed);
  entry.set_site({"wait_all", loc});  // inspect.hpp
  return parking_lot::detail::park_grouped(
      ops->address(object), [&] { return ops->mark_parked(object); }, entry, group,
      parking_lot::default_token);
}

// Withdraws an observer's entry. Afterwards no unparker can meet it; one that
// met it before (`notified`) may still be on its way to set `woken`.
void withdraw_observer(const wait_ops* ops, void* object, waiter& entry) noexcept {
  parking_lot::cancel(entry, [&](bool was_last) { ops->leave(object, was_last); });
}

}  // namespace

bool wait_many_engine::all_blocking(std::span<const wait_ref> objs, deadline until,
                                    const std::stop_token* stop,
                                    beacon::source_location loc) noexcept {
  const std::size_t n = objs.size();
  lists l(objs);
  const wait_ops* const* ops = l.ops;
  void* const* objects = l.objects;
  // Spin a little first, as a single wait does.
  if (spin_until([&] { return attempt_all(ops, objects, n) == n; }, until, stop))
    return true;
  for (;;) {
    const std::size_t u = attempt_all(ops, objects, n);
    if (u == n) return true;
    if (until.passed() || (stop && stop->stop_requested())) return false;
    waiter entry;
    wait_group group;
    if (!queue_observer(ops[u], objects[u], entry, group, loc))
      continue;  // the blocker became available meanwhile: attempt again
    const bool notified = parking_lot::detail::sleep_grouped(group, until, stop);
    withdraw_observer(ops[u], objects[u], entry);
    // An unparker that met the entry is bound to set `woken`: wait for it,
    // so that it is done with `group` before the frame goes.
    if (group.signal.load(std::memory_order_acquire) & wait_group::notified)
      parking_lot::detail::wait_woken(group);
    if (!notified) return attempt_all(ops, objects, n) == n;  // a last look
  }
}

// Acquires all now (false) or queues the observer on the blocker (true: a
// notification runs all_retry). Only the owner runs it, while nobody else
// can: in await_suspend, or in all_retry, which only the notifier that
// linked the group runs, after any other unparker skipped the entry under
// the queue lock.
bool wait_many_engine::queue_or_take(all_async& st) noexcept {
  const std::size_t n = st.objs.size();
  lists l(st.objs);
  for (;;) {
    const std::size_t u = attempt_all(l.ops, l.objects, n);
    if (u == n) return false;
    st.blocker = u;
    wait_group& g = st.group;
    // `queuing`: a notifier that comes before finish_queuing leaves the
    // retry to us (it sees `queuing` and stops), so all_retry never runs
    // while this function still does.
    g.signal.store(wait_group::queuing, std::memory_order_relaxed);
    g.coroutine = st.coroutine;
    g.on_notify = &all_retry;
    g.context = &st;
    // A coroutine records its frame; co_await has no call site.
    if (!queue_observer(l.ops[u], l.objects[u], st.entry, g, {})) continue;
    if (!parking_lot::detail::finish_queuing(g)) return true;  // *this may be gone
    // Notified while queuing: that notifier is done with the group.
    withdraw_observer(l.ops[u], l.objects[u], st.entry);
  }
}

// A notification of a coroutine owner's observer, on the notifier's thread
// after it released the queue lock: withdraw, attempt again, and either
// queue again or resume the coroutine (through this thread's trampoline, so
// a destroyed-while-pending frame is still withdrawn by all_abandon).
void wait_many_engine::all_retry(void* context) noexcept {
  all_async& st = *static_cast<all_async*>(context);
  const wait_ref& r = st.objs[st.blocker];
  withdraw_observer(r.ops_, r.object_, st.entry);
  if (queue_or_take(st)) return;
  parking_lot::detail::resume_here(st.entry, st.coroutine);
}

bool wait_many_engine::all_suspend(all_async& st, std::coroutine_handle<> h) noexcept {
  st.coroutine = h;
  return queue_or_take(st);
}

void wait_many_engine::all_abandon(all_async& st) noexcept {
  // Keeps a notifier that met the entry (under the queue lock) from running
  // all_retry: it sees `queuing` after its `woken`. (A notifier already past
  // that point is resuming the coroutine on another thread: the race the
  // lot's contract forbids, as for any awaiter.)
  st.group.signal.fetch_or(wait_group::queuing, std::memory_order_acq_rel);
  const wait_ref& r = st.objs[st.blocker];
  const parking_lot::cancel_status c = parking_lot::cancel(
      st.entry, [&](bool was_last) { r.ops_->leave(r.object_, was_last); });
  if (c == parking_lot::cancel_status::woken) {
    // all_retry acquired every object and the resumption was pending here:
    // give each back as its own abandoned waiter would (unless a broken
    // receiver made it commit nothing: attempt_all).
    lists l(st.objs);
    if (any_broken(l.ops, l.objects, st.objs.size())) return;
    for (const wait_ref& o : st.objs)
      o.ops_->pass_on(o.object_);
    return;
  }
  // Withdrawn (or never queued): nothing was acquired. Wait for a notifier
  // that met the entry to be done with the group.
  for (unsigned spins = 0;; ++spins) {
    const std::uint32_t sig = st.group.signal.load(std::memory_order_acquire);
    if (!(sig & wait_group::notified) || (sig & wait_group::woken)) break;
    hold_pause(spins);
  }
}

std::optional<std::size_t> span_any(std::span<const wait_ref> objs, deadline until,
                                    const std::stop_token* stop,
                                    beacon::source_location loc) {
  if (objs.empty()) throw std::invalid_argument("beacon::wait_any: no objects");
  std::size_t i = wait_many_engine::try_any(objs);
  if (i == objs.size()) {
    if (until.passed() || (stop && stop->stop_requested())) return std::nullopt;
    const std::optional<std::size_t> r =
        with_entries(objs.size(), [&](std::span<waiter> e) {
          for (waiter& w : e)
            w.set_site({"wait_any", loc});  // inspect.hpp
          return wait_many_engine::any_blocking(objs, e, until, stop);
        });
    if (!r) return std::nullopt;
    i = *r;
  }
  wait_many_engine::keep(objs[i]);
  return i;
}

bool span_all(std::span<const wait_ref> objs, deadline until, const std::stop_token* stop,
              beacon::source_location loc) {
  if (objs.empty()) throw std::invalid_argument("beacon::wait_all: no objects");
  // A sorted copy (inline up to 8 objects).
  std::vector<wait_ref> big;
  wait_ref* data;
  alignas(wait_ref) unsigned char small[8 * sizeof(wait_ref)];
  if (objs.size() <= 8) {
    data = reinterpret_cast<wait_ref*>(small);
    std::uninitialized_copy(objs.begin(), objs.end(), data);
  } else {
    big.assign(objs.begin(), objs.end());
    data = big.data();
  }
  const std::span<wait_ref> sorted(data, objs.size());
  wait_many_engine::sort_unique(sorted);
  bool ok = wait_many_engine::try_all(sorted);
  if (!ok && !until.passed() && !(stop && stop->stop_requested()))
    ok = wait_many_engine::all_blocking(sorted, until, stop, loc);
  if (ok)
    for (const wait_ref& r : sorted)
      wait_many_engine::keep(r);
  return ok;
}

}  // namespace detail

std::size_t wait_any(std::span<const wait_ref> objs, beacon::source_location loc) {
  return *detail::span_any(objs, deadline::never(), nullptr, loc);
}

void wait_all(std::span<const wait_ref> objs, beacon::source_location loc) {
  (void)detail::span_all(objs, deadline::never(), nullptr, loc);
}

bool wait_all(const std::stop_token& stop, std::span<const wait_ref> objs,
              beacon::source_location loc) {
  return detail::span_all(objs, deadline::never(), &stop, loc);
}

std::optional<std::size_t> wait_any(const std::stop_token& stop,
                                    std::span<const wait_ref> objs,
                                    beacon::source_location loc) {
  return detail::span_any(objs, deadline::never(), &stop, loc);
}

}  // namespace beacon
