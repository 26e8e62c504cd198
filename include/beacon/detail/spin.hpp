// The spin before parking: how long a waiter spins, and the spin itself
// (after Rust's parking_lot_core spinwait.rs and folly's detail/Spin.h). Part
// of the parking-lot layer: primitives call spin_until() and
// parking_lot::park(), never the platform; this file calls the platform for
// the CPU facts (multi_cpu, cpu_relax) and nothing calls back up.
//
// The policy is adaptive, per thread (after glibc's adaptive mutexes and
// WebKit's spin-then-park): a spin that succeeds restores the full budget
// (max_spin_ns). For `trust` (64) failures after a success the budget stays
// whole, so a burst of failures (a partner on a preempted vCPU, a busy
// machine) does not shorten the spins that would catch a partner that is
// only slow; after that each failure shrinks it by a quarter, down to zero,
// and only an occasional short probe is made.
// So a thread whose partner answers from another core keeps spinning
// through noise, and a thread whose partner needs the same CPU (same-core
// ping-pong, oversubscription) stops wasting its time slice after a few
// dozen waits. Where the process may use only one CPU
// (platform::multi_cpu() false) nothing spins: no other thread could make
// progress meanwhile. The budget's state is in src/spin.cpp.
#pragma once

#include <cstdint>
#include <stop_token>

#include "beacon/deadline.hpp"
#include "beacon/detail/platform.hpp"

namespace beacon::detail {

// The longest a waiter spins before parking, in nanoseconds: long enough
// to outlast a futex wake-up of the partner thread (a few microseconds here,
// so that a ping-pong that fell asleep once finds its way back to spinning),
// far shorter than a scheduler time slice. Adaptive per thread (see
// spin_budget_ns), so it is spent only where spinning succeeds.
// Chosen with bench/event_bench (cross-core and same-core ping-pong).
inline constexpr std::int64_t max_spin_ns = 20'000;

// How long, in nanoseconds, the calling thread should spin before it parks
// (0: do not spin), and the outcome of that spin (see the file comment).
// Out of line, in src/spin.cpp, beside the per-thread state they share.
std::int64_t spin_budget_ns() noexcept;
void spin_feedback(bool succeeded) noexcept;

// Calls `ready()` in a short spin; true as soon as it returns true. Never
// spins past `limit` (a timed wait's deadline), and stops within 16 pauses
// of a stop request on `*stop` (the caller's park then sees the request).
template <class Ready>
bool spin_until(Ready&& ready, deadline limit = deadline::never(),
                const std::stop_token* stop = nullptr) noexcept {
  std::int64_t budget = spin_budget_ns();
  if (budget > limit.remaining_ns()) budget = limit.remaining_ns();
  if (budget <= 0) return false;
  const std::int64_t until = deadline::now().ns + budget;
  do {
    for (int i = 0; i < 16; ++i) {  // read the clock (~20 ns) once per 16 pauses
      platform::cpu_relax();
      if (ready()) {
        spin_feedback(true);
        return true;
      }
    }
    // Cut short, not spun in vain: no feedback, the budget stays as it is.
    if (stop && stop->stop_requested()) return false;
  } while (deadline::now().ns < until);
  spin_feedback(false);
  return false;
}

}  // namespace beacon::detail
