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
// becomes zero (probes only), unless spins succeeded recently (floor_ns).
constexpr std::int64_t min_budget_ns = 500;
// While spins have succeeded recently (within the last `trust` failed ones),
// the budget never drops below this: a partner that really runs on another
// CPU answers within a few hundred nanoseconds once it is scheduled, and a
// failed spin this short costs about 1% of the futex round trip it may save.
constexpr std::int64_t floor_ns = 400;
// How many failed spins in a row a recent success vouches for: a partner on
// a preempted vCPU makes a burst of failures (a few time slices), which must
// not teach the thread to stop spinning; a partner on this thread's own CPU
// fails every spin and runs the trust out after `trust` waits, then the
// budget decays as before (a one-time cost of well under 100 us).
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

// Recover at once on a success; shrink slowly on a failure (by a quarter, so
// a burst of a few failures, as a preempted partner makes, leaves most of
// the budget), never below floor_ns while a recent success vouches for the
// partner, and to zero only once the trust has run out.
void spin_feedback(bool succeeded) noexcept {
  spin_state& s = spin;
  if (succeeded) {
    s.budget = max_spin_ns;
    s.trusted = trust;
    return;
  }
  s.budget -= s.budget / 4;
  if (s.trusted > 0) {
    --s.trusted;
    if (s.budget < floor_ns) s.budget = floor_ns;
  } else if (s.budget < min_budget_ns) {
    s.budget = 0;
  }
}

}  // namespace beacon::detail
