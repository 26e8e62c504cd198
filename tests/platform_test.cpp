// The platform layer's wait-on-address contract, and (in the fault-injection
// build) that faults really are injected, so that CI step cannot pass
// vacuously.
#include "beacon/detail/platform.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>

#include "support/test_support.hpp"

namespace {

namespace platform = beacon::detail::platform;
using beacon::deadline;
using namespace std::chrono;
using namespace beacon_test;

TEST(platform, wait_returns_at_once_when_the_value_differs) {
  std::atomic<std::uint32_t> word{1};
  EXPECT_TRUE(platform::wait(word, 0, deadline::after(patience)));
}

TEST(platform, wait_times_out_no_earlier_than_the_deadline) {
  std::atomic<std::uint32_t> word{0};
  const deadline d = deadline::after(3ms);
  while (platform::wait(word, 0, d)) {  // true: woken, maybe spuriously; retry
  }
  EXPECT_TRUE(d.passed());
}

TEST(platform, wake_one_releases_a_waiter) {
  std::atomic<std::uint32_t> word{0};
  scoped_thread t([&] {
    while (word.load() == 0)
      platform::wait(word, 0, deadline::after(patience));
  });
  word.store(1);
  platform::wake_one(word);
  t.join();
  SUCCEED();
}

#if defined(BEACON_FAULT_INJECTION)
TEST(platform, fault_injection_returns_spuriously) {
  std::atomic<std::uint32_t> word{0};
  int spurious = 0;
  for (int i = 0; i < 64; ++i) {
    const deadline d = deadline::after(milliseconds(1));
    if (platform::wait(word, 0, d) && !d.passed()) ++spurious;  // nobody woke us
  }
  EXPECT_GT(spurious, 0);
}
#endif

}  // namespace
