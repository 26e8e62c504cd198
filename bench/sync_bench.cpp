// countdown_event and semaphore beside their peers, in one run:
//   countdown tick (no waiter) vs std::latch::count_down;
//   countdown of T tickers releasing a blocked waiter vs std::latch;
//   uncontended semaphore acquire+release vs POSIX sem_t,
//     std::counting_semaphore and a mutex+condvar semaphore;
//   T threads contending for 1 permit (each run lasts BEACON_BENCH_RUN_MS,
//     default 100), for every T of BEACON_BENCH_THREADS
//     (default 1, 2, 4, 8, 16: the "latency vs thread count" series; above
//     the usable CPUs it is oversubscribed, and the title says so);
//   T threads contending for T/2 permits, for the same T from 4 up.
// BEACON_BENCH_T=<threads> sets the countdown's T (default: usable CPUs, at
// least 2).
// Knobs shared by every benchmark: see harness.hpp (BEACON_BENCH_QUICK
// divides the operation counts by 10).
#include <semaphore.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
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

using bench::env_int;

const long ticks_per_run = bench::scaled(4'000'000);

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

struct beacon_sem {
  beacon::semaphore s;
  explicit beacon_sem(unsigned n) : s(n, n) {}
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
// over all threads: wall time / operations. A fixed time, not a fixed count
// per thread: every thread contends to the end (with fixed counts, threads
// that finish early leave the rest to run uncontended, more so the more
// threads share the work), and a convoy cannot stretch the run.
template <class Sem>
double contended(int threads, unsigned permits, std::chrono::milliseconds run) {
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
  return ns.count() / static_cast<double>(std::max(1L, ops));
}

// T tickers count a countdown of T * per down to zero; a waiter blocked on
// it is released. Per round, ns.
template <class Make>
double countdown_round(int tickers, long per, Make&& make) {
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
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() -
                                                  start)
      .count();
}

}  // namespace

int main() {
  const int cpus = bench::usable_cpus();
  const int t = std::max(2, env_int("BEACON_BENCH_T", cpus));
  std::printf("beacon countdown/semaphore benchmark: %d usable CPUs, T = %d\n", cpus, t);
  bench::report rep("beacon countdown_event and semaphore");

  rep.scenario("countdown tick, no waiter, ns per tick",
               {{"beacon::countdown_event::tick",
                 [] {
                   auto c = std::make_unique<beacon::countdown_event>(ticks_per_run + 1);
                   return bench::ns_per_op(ticks_per_run, [&] { c->tick(); });
                 }},
                {"std::latch::count_down", [] {
                   auto l = std::make_unique<std::latch>(ticks_per_run + 1);
                   return bench::ns_per_op(ticks_per_run, [&] { l->count_down(); });
                 }}});

  const long per = bench::scaled(200'000) / t;
  rep.scenario(
      "countdown of T tickers releasing a blocked waiter, ns per tick",
      {{"beacon::countdown_event",
        [&] {
          return countdown_round(
                     t, per,
                     [](long n) {
                       auto c = std::make_shared<beacon::countdown_event>(
                           static_cast<std::size_t>(n));
                       return std::pair{[c] { c->tick(); }, [c] { c->wait(); }};
                     }) /
                 static_cast<double>(t * per);
        }},
       {"std::latch", [&] {
          return countdown_round(
                     t, per,
                     [](long n) {
                       auto l = std::make_shared<std::latch>(n);
                       return std::pair{[l] { l->count_down(); }, [l] { l->wait(); }};
                     }) /
                 static_cast<double>(t * per);
        }}});

  const long uncontended_ops = bench::scaled(2'000'000);
  rep.scenario("uncontended acquire + release, ns per pair",
               {{"beacon::semaphore (guard)",
                 [=] {
                   beacon::semaphore s(1, 1);
                   return bench::ns_per_op(uncontended_ops, [&] { auto g = s.wait(); });
                 }},
                {"POSIX sem_t",
                 [=] {
                   posix_semaphore s(1);
                   return bench::ns_per_op(uncontended_ops, [&] {
                     s.acquire();
                     s.release();
                   });
                 }},
                {"std::counting_semaphore",
                 [=] {
                   std_sem s(1);
                   return bench::ns_per_op(uncontended_ops, [&] {
                     s.acquire();
                     s.release();
                   });
                 }},
                {"mutex + condvar semaphore", [=] {
                   cv_semaphore s(1);
                   return bench::ns_per_op(uncontended_ops, [&] {
                     s.acquire();
                     s.release();
                   });
                 }}});

  // The series: 1 permit, T threads for every T of BEACON_BENCH_THREADS.
  const std::chrono::milliseconds run{bench::run_ms(100)};
  auto contended_scenario = [&](int threads, unsigned permits, bench::series_point at) {
    const std::string title =
        "T = " + std::to_string(threads) + (threads == 1 ? " thread, " : " threads, ") +
        std::to_string(permits) + " permit" + (permits == 1 ? "" : "s") +
        ", ns per acquire+release" + bench::oversubscription(threads);
    rep.scenario(title,
                 {{"beacon::semaphore",
                   [=] { return contended<beacon_sem>(threads, permits, run); }},
                  {"POSIX sem_t",
                   [=] { return contended<posix_semaphore>(threads, permits, run); }},
                  {"std::counting_semaphore",
                   [=] { return contended<std_sem>(threads, permits, run); }},
                  {"mutex + condvar semaphore",
                   [=] { return contended<cv_semaphore>(threads, permits, run); }}},
                 at);
  };
  for (const int threads : bench::thread_counts())
    contended_scenario(threads, 1,
                       {"semaphore, T threads contending for 1 permit "
                        "(ns per acquire+release)",
                        threads, threads > cpus});
  // And T/2 permits (issue #3's T = 16, 8 permits), from T = 4.
  for (const int threads : bench::thread_counts())
    if (threads >= 4)
      contended_scenario(threads, static_cast<unsigned>(threads / 2),
                         {"semaphore, T threads contending for T/2 permits "
                          "(ns per acquire+release)",
                          threads, threads > cpus});
  return 0;
}
