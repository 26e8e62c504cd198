// countdown_event and semaphore beside their peers (Google Benchmark; see
// bench/harness.hpp):
//   countdown tick (no waiter) vs std::latch::count_down;
//   countdown of T tickers releasing a blocked waiter vs std::latch
//     (T = the usable CPUs, at least 2);
//   uncontended semaphore acquire+release vs POSIX sem_t,
//     std::counting_semaphore and a mutex+condvar semaphore;
//   T threads contending for 1 permit (each timed batch lasts 20 ms), for
//     every T of BEACON_BENCH_THREADS (default 1, 2, 4, 8, 16: the "latency
//     vs thread count" series; above the usable CPUs it is oversubscribed,
//     and the title says so);
//   T threads contending for T/2 permits, for the same T from 4 up;
//   beacon::semaphore in both rows under both fairness policies (eventual,
//   the default, and fifo).
#include <semaphore.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <latch>
#include <memory>
#include <mutex>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include "beacon/countdown_event.hpp"
#include "beacon/semaphore.hpp"
#include "harness.hpp"

namespace {

// A counting semaphore from a mutex and a condition variable: the classic peer.
class cv_semaphore {
 public:
  explicit cv_semaphore(long n) : count_(n) {}
  void acquire() {
    std::unique_lock l(m_);
    cv_.wait(l, [&] { return count_ > 0; });
    --count_;
  }
  void release() {
    {
      std::lock_guard l(m_);
      ++count_;
    }
    cv_.notify_one();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  long count_;
};

class posix_semaphore {
 public:
  explicit posix_semaphore(unsigned n) { sem_init(&s_, 0, n); }
  ~posix_semaphore() { sem_destroy(&s_); }
  void acquire() {
    while (sem_wait(&s_) != 0) {
    }
  }
  void release() { sem_post(&s_); }

 private:
  sem_t s_;
};

// beacon::semaphore under the given fairness (eventual is the default).
template <beacon::fairness Policy>
struct beacon_sem {
  beacon::semaphore s;
  explicit beacon_sem(unsigned n) : s(n, n, Policy) {}
  void acquire() { s.wait().forget(); }
  void release() { s.release(); }
};

struct std_sem {
  std::counting_semaphore<> s;
  explicit std_sem(unsigned n) : s(n) {}
  void acquire() { s.acquire(); }
  void release() { s.release(); }
};

// T threads acquire, do a few nanoseconds of work and release, over and over
// for `run` (they start together and stop together); ns per acquire+release
// over all threads: wall time / operations (the batch's time and count). A fixed time,
// not a fixed count per thread: every thread contends to the end (with fixed counts,
// threads that finish early leave the rest to run uncontended, more so the more threads
// share the work), and a convoy cannot stretch the run.
template <class Sem>
bench::batch contended(int threads, unsigned permits, std::chrono::milliseconds run) {
  Sem sem(permits);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false}, stop{false};
  std::vector<long> done(static_cast<std::size_t>(threads), 0);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load())
        std::this_thread::yield();
      long n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        sem.acquire();
        bench::cpu_work(20);
        sem.release();
        ++n;
      }
      done[static_cast<std::size_t>(t)] = n;
    });
  while (ready.load() < threads)
    std::this_thread::yield();
  const auto start = std::chrono::steady_clock::now();
  go = true;
  std::this_thread::sleep_for(run);
  stop = true;
  for (auto& t : pool)
    t.join();
  const auto ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start);
  long ops = 0;
  for (const long n : done)
    ops += n;
  return {ns.count(), ops};
}

// T tickers count a countdown of T * per down to zero; a waiter blocked on
// it is released. The batch: the round's time and its ticks.
template <class Make>
bench::batch countdown_round(int tickers, long per, Make&& make) {
  auto [count_down, wait] = make(tickers * per);
  std::thread waiter([&] { wait(); });
  std::vector<std::thread> pool;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < tickers; ++t)
    pool.emplace_back([&] {
      for (long i = 0; i < per; ++i)
        count_down();
    });
  for (auto& t : pool)
    t.join();
  waiter.join();
  return {
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start)
          .count(),
      tickers * per};
}

// Uncontended: one thread, acquire and release through `Sem`'s interface.
template <class Sem>
void uncontended(benchmark::State& state) {
  Sem s(1);
  for (auto _ : state) {
    s.acquire();
    s.release();
  }
}

// Registers T threads contending for `permits` through `Sem`; a batch lasts
// 20 ms (5 in a quick run).
template <class Sem>
void add_contended(const std::string& title, const char* impl, int threads,
                   unsigned permits) {
  const std::chrono::milliseconds run{bench::quick() ? 5 : 20};
  bench::add(title, impl, [=](benchmark::State& s) {
    bench::timed_batches(s, [&] { return contended<Sem>(threads, permits, run); });
  })->UseManualTime();
}

void contended_scenario(int threads, unsigned permits) {
  const std::string title =
      "T = " + std::to_string(threads) + (threads == 1 ? " thread, " : " threads, ") +
      std::to_string(permits) + " permit" + (permits == 1 ? "" : "s") +
      ", ns per acquire+release" + bench::oversubscription(threads);
  add_contended<beacon_sem<beacon::fairness::eventual>>(
      title, "beacon::semaphore (eventual)", threads, permits);
  add_contended<beacon_sem<beacon::fairness::fifo>>(title, "beacon::semaphore (fifo)",
                                                    threads, permits);
  add_contended<posix_semaphore>(title, "POSIX sem_t", threads, permits);
  add_contended<std_sem>(title, "std::counting_semaphore", threads, permits);
  add_contended<cv_semaphore>(title, "mutex + condvar semaphore", threads, permits);
}

}  // namespace

const char* const bench::report_title = "beacon countdown_event and semaphore";

void bench::register_benchmarks() {
  const std::string tick = "countdown tick, no waiter, ns per tick";
  bench::add(tick, "beacon::countdown_event::tick", [](benchmark::State& s) {
    beacon::countdown_event c(static_cast<std::size_t>(s.max_iterations) + 1);
    for (auto _ : s)
      c.tick();
  });
  bench::add(tick, "std::latch::count_down", [](benchmark::State& s) {
    std::latch l(static_cast<std::ptrdiff_t>(s.max_iterations) + 1);
    for (auto _ : s)
      l.count_down();
  });

  const int t = std::max(2, bench::usable_cpus());
  const long per = bench::scaled(200'000) / t;
  const std::string released =
      "countdown of T tickers releasing a blocked waiter, ns per tick";
  bench::add(released, "beacon::countdown_event", [=](benchmark::State& s) {
    bench::timed_batches(s, [&] {
      return countdown_round(t, per, [](long n) {
        auto c = std::make_shared<beacon::countdown_event>(static_cast<std::size_t>(n));
        return std::pair{[c] { c->tick(); }, [c] { c->wait(); }};
      });
    });
  })->UseManualTime();
  bench::add(released, "std::latch", [=](benchmark::State& s) {
    bench::timed_batches(s, [&] {
      return countdown_round(t, per, [](long n) {
        auto l = std::make_shared<std::latch>(n);
        return std::pair{[l] { l->count_down(); }, [l] { l->wait(); }};
      });
    });
  })->UseManualTime();

  const std::string pair = "uncontended acquire + release, ns per pair";
  bench::add(pair, "beacon::semaphore (guard)", [](benchmark::State& s) {
    beacon::semaphore sem(1, 1);
    for (auto _ : s)
      auto g = sem.wait();
  });
  bench::add(pair, "POSIX sem_t", uncontended<posix_semaphore>);
  bench::add(pair, "std::counting_semaphore", uncontended<std_sem>);
  bench::add(pair, "mutex + condvar semaphore", uncontended<cv_semaphore>);

  // The series: 1 permit, T threads for every T of BEACON_BENCH_THREADS; and
  // T/2 permits (issue #3's T = 16, 8 permits), from T = 4.
  for (const int threads : bench::thread_counts())
    contended_scenario(threads, 1);
  for (const int threads : bench::thread_counts())
    if (threads >= 4) contended_scenario(threads, static_cast<unsigned>(threads / 2));
}
