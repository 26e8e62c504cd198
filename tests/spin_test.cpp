// The spin policy (detail/spin.hpp, src/spin.cpp): a success restores the
// whole budget; failures keep it whole while a recent success vouches for
// the partner (a busy machine must not teach a thread to stop spinning),
// then shrink it to zero; a decayed thread only probes now and then.
#include "beacon/detail/spin.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace {

using beacon::detail::max_spin_ns;
using beacon::detail::spin_budget_ns;
using beacon::detail::spin_feedback;

// The policy's state is per thread: each test runs on a fresh thread.
template <class F>
void on_fresh_thread(F f) {
  std::thread(f).join();
}

TEST(spin, nothing_spins_where_only_one_cpu_is_usable) {
  if (beacon::detail::platform::multi_cpu()) GTEST_SKIP() << "more than one CPU";
  on_fresh_thread([] { EXPECT_EQ(spin_budget_ns(), 0); });
}

TEST(spin, failures_after_a_success_keep_the_whole_budget_for_a_while) {
  if (!beacon::detail::platform::multi_cpu()) GTEST_SKIP() << "one CPU: no spinning";
  on_fresh_thread([] {
    EXPECT_EQ(spin_budget_ns(), max_spin_ns);
    spin_feedback(true);
    for (int i = 0; i < 64; ++i) {
      spin_feedback(false);
      ASSERT_EQ(spin_budget_ns(), max_spin_ns) << "after failure " << i + 1;
    }
    spin_feedback(false);  // the trust is used up: now it shrinks
    EXPECT_LT(spin_budget_ns(), max_spin_ns);
    EXPECT_GT(spin_budget_ns(), 0);
    spin_feedback(true);  // one success restores it all
    EXPECT_EQ(spin_budget_ns(), max_spin_ns);
  });
}

TEST(spin, a_partner_that_never_answers_ends_in_rare_probes) {
  if (!beacon::detail::platform::multi_cpu()) GTEST_SKIP() << "one CPU: no spinning";
  on_fresh_thread([] {
    spin_feedback(true);
    int failures = 0;
    while (spin_budget_ns() == max_spin_ns || spin_budget_ns() > 1'000) {
      spin_feedback(false);
      ASSERT_LT(++failures, 1000) << "the budget never decayed";
    }
    for (int i = 0; i < 100 && spin_budget_ns() != 0;) {
      spin_feedback(false);
      ASSERT_LT(++i, 100) << "the budget never reached zero";
    }
    // Decayed: most waits do not spin, one in a few dozen probes briefly.
    int probes = 0;
    for (int i = 0; i < 320; ++i) {
      const auto b = spin_budget_ns();
      EXPECT_LE(b, 2'000);
      if (b > 0) {
        ++probes;
        spin_feedback(false);
      }
    }
    EXPECT_GE(probes, 5);
    EXPECT_LE(probes, 20);
  });
}

}  // namespace
