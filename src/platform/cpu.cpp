// The spin policy: whether spinning can help, and for how long (see
// platform.hpp). Kept here, beside the other platform code, so a port can
// tune it; only std::thread is used, no system call.
#include <thread>

#include "beacon/detail/parked_wait.hpp"
#include "beacon/detail/platform.hpp"

namespace beacon::detail::platform {
namespace {

// After the spin budget decays to zero, one wait in `probe_interval` spins
// for `probe_ns`: enough to notice that the partner moved to another core,
// little enough (well under 1% of the parks it is amortised over) to cost
// nothing when it has not.
constexpr unsigned probe_interval = 32;
constexpr std::int64_t probe_ns = 2'000;
constexpr std::int64_t min_budget_ns = 500;

struct spin_state {
  std::int64_t budget = max_spin_ns;
  unsigned until_probe = probe_interval;
};
thread_local spin_state spin;

}  // namespace

bool multi_cpu() noexcept {
  static const bool many = std::thread::hardware_concurrency() != 1;
  return many;
}

std::int64_t spin_budget_ns() noexcept {
  if (!multi_cpu()) return 0;
  spin_state& s = spin;
  if (s.budget > 0) return s.budget;
  if (--s.until_probe == 0) {
    s.until_probe = probe_interval;
    return probe_ns;
  }
  return 0;
}

void yield() noexcept { std::this_thread::yield(); }

void spin_feedback(bool succeeded) noexcept {
  spin_state& s = spin;
  if (succeeded) {
    s.budget = max_spin_ns;
  } else {
    s.budget /= 4;
    if (s.budget < min_budget_ns) s.budget = 0;
  }
}

}  // namespace beacon::detail::platform
