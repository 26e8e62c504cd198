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
constexpr std::int64_t min_budget_ns = 500;

// Per thread, so one thread's failed spins do not stop another's.
struct spin_state {
  std::int64_t budget = max_spin_ns;  // 0: decayed, only probes
  unsigned until_probe = probe_interval;
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

void spin_feedback(bool succeeded) noexcept {
  spin_state& s = spin;
  if (succeeded) {
    s.budget = max_spin_ns;
  } else {
    s.budget /= 4;
    if (s.budget < min_budget_ns) s.budget = 0;
  }
}

}  // namespace beacon::detail
