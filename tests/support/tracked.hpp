// A value type for the once-event tests: it counts its live instances and
// detects a second destruction, from any thread; and the fixture that checks
// no such value leaked or was lost.
#pragma once

#include <gtest/gtest.h>

#include <atomic>

namespace beacon_test {

struct tracked {
  static constexpr unsigned alive = 0xA11CE;
  // Live instances, of every test; tracked_values resets and checks it.
  static inline std::atomic<int> live{0};

  int v;
  unsigned canary = alive;

  explicit tracked(int x) : v(x) { live.fetch_add(1, std::memory_order_relaxed); }
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
    if (canary != alive) ADD_FAILURE() << "a value destroyed twice";
    canary = 0;
    live.fetch_sub(1, std::memory_order_relaxed);
  }
};

// Every value a test created is destroyed exactly once by its end.
class tracked_values : public ::testing::Test {
 protected:
  void SetUp() override { tracked::live = 0; }
  void TearDown() override {
    EXPECT_EQ(tracked::live.load(), 0) << "a value leaked or was lost";
  }
};

}  // namespace beacon_test
