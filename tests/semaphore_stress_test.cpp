// semaphore and countdown under contention: holders never exceed the
// permits, every waiter gets through (GCC bug 98033: libstdc++'s
// counting_semaphore lost a wake-up with 16 threads and count 8), no permit
// is lost to a racing time-out.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "beacon/semaphore.hpp"
#include "support/test_support.hpp"

namespace {

using namespace std::chrono;
using namespace beacon_test;
using beacon::semaphore;

void hammer(int threads, std::size_t permits, int rounds, bool timed) {
  semaphore s(permits, permits);
  std::atomic<int> holders{0}, max_holders{0};
  std::atomic<long> passes{0};
  std::atomic<bool> stuck{false};
  std::vector<scoped_thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int r = 0; r < rounds && !stuck; ++r) {
        std::optional<beacon::semaphore_guard> g;
        if (timed) {
          // Short time-outs race the hand-offs; retry until the permit comes.
          // Every time-out is at least 1 us so that each thread joins the
          // queue: a zero time-out only tries, and with FIFO hand-off a
          // thread that never queues may starve (legitimately) for long.
          const auto give_up = steady_clock::now() + patience;
          while (!(g = s.wait_for(microseconds(1 + t % 4 * 25))))
            if (steady_clock::now() > give_up) {
              stuck = true;
              return;
            }
        } else {
          g = s.wait_for(patience);
          if (!g) {
            stuck = true;
            return;
          }
        }
        const int h = holders.fetch_add(1) + 1;
        int m = max_holders.load();
        while (h > m && !max_holders.compare_exchange_weak(m, h)) {
        }
        if (r % 8 == 0) std::this_thread::yield();  // hold it a little, sometimes
        holders.fetch_sub(1);
        passes.fetch_add(1);
      }
    });
  for (auto& t : pool)
    t.join();
  EXPECT_FALSE(stuck.load()) << "a waiter never got through";
  EXPECT_LE(max_holders.load(), static_cast<int>(permits));
  EXPECT_EQ(passes.load(), long{threads} * rounds);
  EXPECT_EQ(s.count(), permits) << "a permit was lost or duplicated";
}

TEST(semaphore_stress, sixteen_threads_eight_permits_gcc_bug_98033) {
  hammer(16, 8, 3'000, false);
}
TEST(semaphore_stress, binary_contended) { hammer(6, 1, 3'000, false); }
TEST(semaphore_stress, timed_out_waiters_never_lose_a_permit) {
  hammer(8, 2, 2'000, true);
}

}  // namespace
