// countdown_event and semaphore beside their peers, in one run:
//   countdown tick (no waiter) vs std::latch::count_down;
//   countdown of T tickers releasing a blocked waiter vs std::latch;
//   uncontended semaphore acquire+release vs POSIX sem_t,
//     std::counting_semaphore and a mutex+condvar semaphore;
//   T threads contending for count 1 and count T/2 permits.
// BEACON_BENCH_T=<threads> sets T (default: usable CPUs, at least 2).
#include <semaphore.h>

#include <atomic>
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

constexpr long ticks_per_run = 4'000'000;

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

// T threads, each `ops` times: acquire, a few nanoseconds of work, release.
template <class Sem>
double contended(int threads, unsigned permits, long ops) {
  Sem sem(permits);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      ready.fetch_add(1);
      while (!go.load())
        std::this_thread::yield();
      for (long i = 0; i < ops; ++i) {
        sem.acquire();
        bench::cpu_work(20);
        sem.release();
      }
    });
  while (ready.load() < threads)
    std::this_thread::yield();
  const auto start = std::chrono::steady_clock::now();
  go = true;
  for (auto& t : pool)
    t.join();
  const auto ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start);
  return ns.count() / static_cast<double>(ops * threads);
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

  const long per = 200'000 / t;
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

  constexpr long uncontended_ops = 2'000'000;
  rep.scenario("uncontended acquire + release, ns per pair",
               {{"beacon::semaphore (guard)",
                 [] {
                   beacon::semaphore s(1, 1);
                   return bench::ns_per_op(uncontended_ops, [&] { auto g = s.wait(); });
                 }},
                {"POSIX sem_t",
                 [] {
                   posix_semaphore s(1);
                   return bench::ns_per_op(uncontended_ops, [&] {
                     s.acquire();
                     s.release();
                   });
                 }},
                {"std::counting_semaphore",
                 [] {
                   std_sem s(1);
                   return bench::ns_per_op(uncontended_ops, [&] {
                     s.acquire();
                     s.release();
                   });
                 }},
                {"mutex + condvar semaphore", [] {
                   cv_semaphore s(1);
                   return bench::ns_per_op(uncontended_ops, [&] {
                     s.acquire();
                     s.release();
                   });
                 }}});

  std::vector<unsigned> permit_counts{1u};
  if (t / 2 > 1) permit_counts.push_back(static_cast<unsigned>(t / 2));
  for (unsigned permits : permit_counts) {
    const long ops = 200'000 / t;
    const std::string title = "T = " + std::to_string(t) + " threads, " +
                              std::to_string(permits) +
                              " permit(s), ns per acquire+release";
    rep.scenario(
        title,
        {{"beacon::semaphore", [&] { return contended<beacon_sem>(t, permits, ops); }},
         {"POSIX sem_t", [&] { return contended<posix_semaphore>(t, permits, ops); }},
         {"std::counting_semaphore", [&] { return contended<std_sem>(t, permits, ops); }},
         {"mutex + condvar semaphore",
          [&] { return contended<cv_semaphore>(t, permits, ops); }}});
  }
  return 0;
}
