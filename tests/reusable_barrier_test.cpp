// The "build your own primitive" example works and can fail: no party
// leaves a round before every party arrived.
#include "../examples/reusable_barrier.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "support/test_support.hpp"

namespace {

using namespace beacon_test;

TEST(reusable_barrier, rejects_zero_parties) {
  EXPECT_THROW(example::reusable_barrier(0), std::invalid_argument);
}

TEST(reusable_barrier, single_party_never_blocks) {
  example::reusable_barrier b(1);
  for (int i = 0; i < 3; ++i)
    b.arrive_and_wait();
  SUCCEED();
}

TEST(reusable_barrier, blocks_until_the_last_party_arrives) {
  example::reusable_barrier b(3);
  std::atomic<int> passed{0};
  std::vector<scoped_thread> threads;
  for (int i = 0; i < 2; ++i)
    threads.emplace_back([&] {
      b.arrive_and_wait();
      passed.fetch_add(1);
    });
  // Both are parked on the barrier's state word (its first member).
  ASSERT_TRUE(queued_eventually(&b, 2));
  EXPECT_EQ(passed.load(), 0);
  b.arrive_and_wait();
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(passed.load(), 2);
}

TEST(reusable_barrier, rounds_stay_in_step) {
  constexpr int parties = 4, rounds = 500;
  example::reusable_barrier b(parties);
  std::atomic<int> arrivals{0};
  std::atomic<bool> out_of_step{false};
  std::vector<scoped_thread> threads;
  for (int t = 0; t < parties; ++t)
    threads.emplace_back([&] {
      for (int r = 0; r < rounds; ++r) {
        arrivals.fetch_add(1);
        b.arrive_and_wait();
        if (arrivals.load() < (r + 1) * parties) out_of_step = true;
        b.arrive_and_wait();
      }
    });
  for (auto& t : threads)
    t.join();
  EXPECT_FALSE(out_of_step.load());
}

}  // namespace
