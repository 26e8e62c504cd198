// The per-thread spin budget (see include/beacon/detail/spin.hpp). Part of
// the parking-lot layer: it asks the platform only whether spinning can help
// at all (platform::multi_cpu).
#include <cstdint>

#include "beacon/detail/platform.hpp"
#include "beacon/detail/spin.hpp"

namespace beacon::detail {
namespace {

// After the spin budget decays to zero, one wait in `probe_interval` spins
// for `probe_ns`: enough to notice that the partner moved to another core,
// little enough (well under 1% of the parks it is amortised over) to cost
// nothing when it has not.
constexpr unsigned probe_interval = 32;
constexpr std::int64_t probe_ns = 2'000;
// A budget that shrank below this is spent in vain more often than not: it
// becomes zero (probes only).
constexpr std::int64_t min_budget_ns = 500;
// How many failed spins in a row a recent success vouches for: until they
// are used up the budget stays whole. A partner on another CPU that is
// delayed (a preempted vCPU, a busy machine) makes a burst of failures; had
// they shrunk the budget, the next spins would be too short for a partner
// that is merely slow, each failure would add a sleep and a futex round trip
// (20-40 us on a VM) and the thread would stay asleep-bound: measured on the
// 2-core VM under load, cross-core ping-pong went from 1.0x to 1.5-11x the
// always-spin-20-us futex event, with 0.004-0.23 sleeps per round trip
// against 0. A partner on this thread's own CPU fails every spin and runs
// the trust out after `trust` waits (at most trust * max_spin_ns of spinning,
// once), then the budget decays as before.
constexpr unsigned trust = 64;

// Per thread, so one thread's failed spins do not stop another's.
struct spin_state {
  std::int64_t budget = max_spin_ns;  // 0: decayed, only probes
  unsigned until_probe = probe_interval;
  unsigned trusted = 0;  // failed spins still covered by the last success
};
thread_local spin_state spin;

}  // namespace

std::int64_t spin_budget_ns() noexcept {
  if (!platform::multi_cpu()) return 0;
  spin_state& s = spin;
  if (s.budget > 0) return s.budget;
  if (--s.until_probe == 0) {
    s.until_probe = probe_interval;
    return probe_ns;
  }
  return 0;
}

// Recover at once on a success; on a failure keep the whole budget while a
// recent success vouches for the partner, then shrink by a quarter per
// failure, to zero once it is below min_budget_ns.
void spin_feedback(bool succeeded) noexcept {
  spin_state& s = spin;
  if (succeeded) {
    s.budget = max_spin_ns;
    s.trusted = trust;
    return;
  }
  if (s.trusted > 0) {
    --s.trusted;
    return;
  }
  s.budget -= s.budget / 4;
  if (s.budget < min_budget_ns) s.budget = 0;
}

}  // namespace beacon::detail
