// The engine of beacon/wait_many.hpp: a multi-waiter queued on several
// objects through one parking_lot::detail::wait_group. See wait_many.hpp for
// the contract and parking_lot.hpp (wait_group) for the claim protocol.
#include "beacon/wait_many.hpp"

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

std::optional<std::size_t> span_any(std::span<const wait_ref> objs, deadline until,
                                    const std::stop_token* stop,
                                    std::source_location loc) {
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

}  // namespace detail

std::size_t wait_any(std::span<const wait_ref> objs, std::source_location loc) {
  return *detail::span_any(objs, deadline::never(), nullptr, loc);
}

std::optional<std::size_t> wait_any(const std::stop_token& stop,
                                    std::span<const wait_ref> objs,
                                    std::source_location loc) {
  return detail::span_any(objs, deadline::never(), &stop, loc);
}

}  // namespace beacon
