// Runs the reusable barrier of docs/building_primitives.md: four threads
// meet at it for a thousand rounds.
#include "reusable_barrier.hpp"

#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

int main() {
  constexpr int threads = 4, rounds = 1000;
  example::reusable_barrier barrier(threads);
  std::atomic<int> arrivals{0};
  std::atomic<bool> out_of_step{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (int r = 0; r < rounds; ++r) {
        arrivals.fetch_add(1);
        barrier.arrive_and_wait();
        // Everyone of round r has arrived before anyone leaves it.
        if (arrivals.load() < (r + 1) * threads) out_of_step = true;
        barrier.arrive_and_wait();  // keep rounds apart for the check above
      }
    });
  for (auto& t : pool)
    t.join();
  std::printf("%d threads met %d times; %s\n", threads, rounds,
              out_of_step ? "OUT OF STEP" : "all in step");
  return out_of_step ? 1 : 0;
}
