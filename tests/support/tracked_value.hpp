// A value type for the once-event tests and the soak: it counts its live
// instances and detects a second destruction, from any thread. No GoogleTest
// here (the soak is a plain executable); tracked.hpp adds the tests' fixture.
#pragma once

#include <atomic>
#include <cstdint>

namespace beacon_test {

struct tracked {
  static constexpr unsigned alive = 0xA11CE;
  // Live instances, and destructions of an instance already destroyed; the
  // user resets them before a run and checks both are 0 after it.
  static inline std::atomic<long> live{0};
  static inline std::atomic<long> destroyed_twice{0};

  std::int64_t v;  // 64 bits: the soak keeps a channel id here
  unsigned canary = alive;

  explicit tracked(std::int64_t x) : v(x) {
    live.fetch_add(1, std::memory_order_relaxed);
  }
  tracked(const tracked& o) : v(o.v) { live.fetch_add(1, std::memory_order_relaxed); }
  tracked(tracked&& o) noexcept : v(o.v) { live.fetch_add(1, std::memory_order_relaxed); }
  tracked& operator=(const tracked& o) {
    v = o.v;
    return *this;
  }
  tracked& operator=(tracked&& o) noexcept {
    v = o.v;
    return *this;
  }
  ~tracked() {
    if (canary != alive) destroyed_twice.fetch_add(1, std::memory_order_relaxed);
    canary = 0;
    live.fetch_sub(1, std::memory_order_relaxed);
  }

  static void reset_counts() {
    live = 0;
    destroyed_twice = 0;
  }
};

}  // namespace beacon_test
