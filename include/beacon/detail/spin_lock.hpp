// A test-and-test-and-set lock for critical sections of a few pointer
// updates (the parking lot's buckets, the once-event pools). After a short
// spin, and at once on a single CPU, it yields, so a holder that was
// preempted gets to run instead of being spun against. A BasicLockable
// (lock(), unlock()), so std::lock_guard and std::unique_lock hold it.
// Part of the parking-lot layer: it asks the platform only for CPU facts
// (multi_cpu, cpu_relax, yield).
#pragma once

#include <atomic>
#include "beacon/detail/platform.hpp"

namespace beacon::detail {

class spin_lock {
 public:
  void lock() noexcept {
    // spin_A: acquire pairs with the release in unlock() (spin_B).
    if (!locked_.exchange(true, std::memory_order_acquire)) return;
    lock_slow();
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }  // spin_B

 private:
  void lock_slow() noexcept {
    for (unsigned spins = 0;; ++spins) {
      if (!locked_.load(std::memory_order_relaxed) &&
          !locked_.exchange(true, std::memory_order_acquire))  // spin_A
        return;
      if (spins < 64 && platform::multi_cpu())
        platform::cpu_relax();
      else
        platform::yield();
    }
  }
  std::atomic<bool> locked_{false};  // true while a thread holds the lock
};

}  // namespace beacon::detail
