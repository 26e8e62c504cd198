// A reusable (cyclic) barrier built on beacon's public parking lot in a few
// dozen lines: the example of docs/building_primitives.md.
#pragma once

#include <beacon/parking_lot.hpp>

#include <atomic>
#include <cstdint>
#include <stdexcept>

namespace example {

// `parties` threads call arrive_and_wait(); all return once the last has
// arrived, and the barrier is ready for the next round at once.
//
// Memory ordering: everything each party did before arriving is visible to
// every party after arrive_and_wait() returns.
class reusable_barrier {
 public:
  explicit reusable_barrier(std::uint32_t parties) : parties_(parties) {
    if (parties == 0) throw std::invalid_argument("reusable_barrier: zero parties");
  }

  void arrive_and_wait() {
    // acq_rel: publish our writes to the last arriver, and (for the last
    // arriver) see everyone's.
    const std::uint64_t s = state_.fetch_add(1, std::memory_order_acq_rel);
    const std::uint64_t generation = s >> 32;
    if ((s & 0xFFFF'FFFF) + 1 == parties_) {
      // Last to arrive: open the next generation, then wake the others.
      state_.store((generation + 1) << 32, std::memory_order_release);
      beacon::parking_lot::unpark_all(&state_);
      return;
    }
    // Why no wake-up is lost: validate() re-reads the generation under the
    // queue lock. If the last arriver's store came first, we see the new
    // generation and do not sleep; otherwise we are queued before its
    // unpark_all() can take that lock, and it wakes us.
    while ((state_.load(std::memory_order_acquire) >> 32) == generation)
      beacon::parking_lot::park(&state_, [&] {
        return (state_.load(std::memory_order_relaxed) >> 32) == generation;
      });
  }

 private:
  // (generation << 32) | parties arrived in this generation.
  std::atomic<std::uint64_t> state_{0};
  const std::uint32_t parties_;
};

}  // namespace example
