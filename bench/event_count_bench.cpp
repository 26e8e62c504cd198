// The eventcount benchmark: beacon::event_count beside its peers, in one run
// (see bench/harness.hpp for the method).
//
// Scenarios:
//   1. notify with no waiter, after a relaxed store to the predicate's
//      state (the producer's fast path): beacon's notify_one (a fence and a
//      load) vs a folly-style EventCount notify (one fetch_add on the epoch,
//      then a futex wake if waiters) vs std::mutex + std::condition_variable
//      (lock, store, unlock, notify_one);
//   2. bounded MPMC channel throughput, P producers -> P consumers, 1->1,
//      2->2 and 8->8 threads: examples/event_count_channel.hpp (Vyukov ring +
//      two event_counts) vs a std::mutex + two std::condition_variable queue
//      of the same capacity (256); ns per item sent and received.
//
// Knobs (environment):
//   BEACON_BENCH_REPS=<n>    repetitions per candidate (default 7)
//   BEACON_BENCH_RUN_MS=<n>  target length of one timed run (default 40)
//   BEACON_BENCH_QUICK=1     quick development run (3 repetitions, short runs)
//   BEACON_BENCH_FILTER=<s>  run only the scenarios whose title contains s
//   BEACON_BENCH_JSON=<file> append the medians as JSON lines
// A watchdog ends the process with status 1 when one run takes longer than
// 10 s: a hang in the benchmark is a bug.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../examples/event_count_channel.hpp"
#include "beacon/event_count.hpp"
#include "harness.hpp"

namespace {

using bench::watchdog;

using clock_type = std::chrono::steady_clock;

double g_target_ms = 40;
using bench::wanted;

// A candidate whose body(n) performs n operations and returns ns per op; the
// first call grows n until one run lasts about g_target_ms.
bench::candidate calibrated(std::string name, bench::body_fn body) {
  const std::string scenario = "event_count";
  return bench::calibrated(scenario, std::move(name), std::move(body), g_target_ms);
}

// ---------------------------------------------------------------------------
// Peers

// folly::EventCount's notify: the epoch and the waiter count share a word;
// every notify increments the epoch (one fetch_add) and wakes the futex if
// the count it saw was non-zero.
class folly_style_event_count {
 public:
  void notify() noexcept {
    const std::uint64_t prev = val_.fetch_add(add_epoch, std::memory_order_acq_rel);
    if (prev & waiter_mask) wake();
  }

 private:
  static constexpr std::uint64_t add_epoch = std::uint64_t{1} << 32;
  static constexpr std::uint64_t waiter_mask = 0xFFFF'FFFF;
  void wake() noexcept {
    // The epoch is the futex word (upper half, little-endian).
    auto* epoch = reinterpret_cast<std::uint32_t*>(&val_) + 1;
    syscall(SYS_futex, epoch, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }
  std::atomic<std::uint64_t> val_{0};
};

// The textbook bounded queue: one mutex, two condition variables.
template <class T>
class mutex_condvar_queue {
 public:
  explicit mutex_condvar_queue(std::size_t capacity) : buf_(capacity) {}
  void send(T v) {
    std::unique_lock lk(m_);
    not_full_.wait(lk, [&] { return count_ < buf_.size(); });
    buf_[(head_ + count_) % buf_.size()] = v;
    ++count_;
    lk.unlock();
    not_empty_.notify_one();
  }
  T recv() {
    std::unique_lock lk(m_);
    not_empty_.wait(lk, [&] { return count_ > 0; });
    T v = buf_[head_];
    head_ = (head_ + 1) % buf_.size();
    --count_;
    lk.unlock();
    not_full_.notify_one();
    return v;
  }

 private:
  std::mutex m_;
  std::condition_variable not_full_, not_empty_;
  std::vector<T> buf_;
  std::size_t head_ = 0, count_ = 0;
};

// ---------------------------------------------------------------------------
// Scenario 1: notify with nobody waiting

template <class F>
double notify_loop(long n, F&& notify) {
  static std::atomic<long> state{0};  // the predicate's state, relaxed
  return bench::ns_per_op(n, [&] {
    state.store(state.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    notify();
  });
}

void notify_without_waiters(bench::report& r) {
  auto ec = std::make_shared<beacon::event_count>();
  auto folly = std::make_shared<folly_style_event_count>();
  struct mcv {
    std::mutex m;
    std::condition_variable cv;
    long flag = 0;
  };
  auto m = std::make_shared<mcv>();
  r.scenario(
      "notify, no waiter (after a relaxed store)",
      {calibrated("beacon::event_count::notify_one",
                  [=](long n) { return notify_loop(n, [&] { ec->notify_one(); }); }),
       calibrated("folly-style notify (fetch_add)",
                  [=](long n) { return notify_loop(n, [&] { folly->notify(); }); }),
       calibrated("mutex + condvar notify_one", [=](long n) {
         return notify_loop(n, [&] {
           {
             std::lock_guard g(m->m);
             ++m->flag;
           }
           m->cv.notify_one();
         });
       })});
}

// ---------------------------------------------------------------------------
// Scenario 2: bounded channel throughput

constexpr std::size_t channel_capacity = 256;

// P producers send `per` items each, P consumers receive `per` each; returns
// ns per item (wall time / total items).
template <class Channel>
double channel_run(int pairs, long per) {
  Channel ch(channel_capacity);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(2 * pairs));
  std::atomic<std::uint64_t> sink{0};
  for (int p = 0; p < pairs; ++p) {
    threads.emplace_back([&] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire))
        std::this_thread::yield();
      for (long i = 0; i < per; ++i)
        ch.send(static_cast<std::uint64_t>(i));
    });
    threads.emplace_back([&] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire))
        std::this_thread::yield();
      std::uint64_t sum = 0;
      for (long i = 0; i < per; ++i)
        sum += ch.recv();
      sink.fetch_add(sum);
    });
  }
  while (ready.load() < 2 * pairs)
    std::this_thread::yield();
  const auto start = clock_type::now();
  go.store(true, std::memory_order_release);
  for (auto& t : threads)
    t.join();
  const auto stop = clock_type::now();
  const auto expected = static_cast<std::uint64_t>(pairs) *
                        static_cast<std::uint64_t>(per) *
                        static_cast<std::uint64_t>(per - 1) / 2;
  if (sink.load() != expected) {
    std::fprintf(stderr, "channel lost or duplicated values\n");
    std::_Exit(1);
  }
  return std::chrono::duration<double, std::nano>(stop - start).count() /
         (static_cast<double>(per) * pairs);
}

void channel_throughput(bench::report& r, int pairs) {
  const std::string title = "bounded channel (capacity 256), " + std::to_string(pairs) +
                            " -> " + std::to_string(pairs) + " threads, ns per item";
  if (!wanted(title)) return;
  r.scenario(title,
             {calibrated("ring + beacon::event_count",
                         [=](long n) {
                           return channel_run<example::bounded_channel<std::uint64_t>>(
                               pairs, std::max(1L, n / pairs));
                         }),
              calibrated("mutex + 2 condvars", [=](long n) {
                return channel_run<mutex_condvar_queue<std::uint64_t>>(
                    pairs, std::max(1L, n / pairs));
              })});
}

}  // namespace

int main() {
  g_target_ms = bench::run_ms(40);
  std::printf("event_count benchmark: %d usable CPUs\n", bench::usable_cpus());
  bench::report r("beacon::event_count");
  notify_without_waiters(r);
  for (int pairs : {1, 2, 8})
    channel_throughput(r, pairs);
  return 0;
}
