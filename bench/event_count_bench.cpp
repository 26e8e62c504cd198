// The eventcount benchmark: beacon::event_count beside its peers (Google
// Benchmark; see bench/harness.hpp).
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
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../examples/event_count_channel.hpp"
#include "beacon/event_count.hpp"
#include "harness.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

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
    bench::futex_wake(*reinterpret_cast<std::atomic<std::uint32_t>*>(epoch), 1);
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
void notify_loop(benchmark::State& state, F&& notify) {
  std::atomic<long> predicate{0};  // the predicate's state, relaxed
  for (auto _ : state) {
    predicate.store(predicate.load(std::memory_order_relaxed) + 1,
                    std::memory_order_relaxed);
    notify();
  }
}

void notify_without_waiters() {
  const std::string t = "notify, no waiter (after a relaxed store)";
  bench::add(t, "beacon::event_count::notify_one", [](benchmark::State& s) {
    beacon::event_count ec;
    notify_loop(s, [&] { ec.notify_one(); });
  });
  bench::add(t, "folly-style notify (fetch_add)", [](benchmark::State& s) {
    folly_style_event_count ec;
    notify_loop(s, [&] { ec.notify(); });
  });
  bench::add(t, "mutex + condvar notify_one", [](benchmark::State& s) {
    std::mutex m;
    std::condition_variable cv;
    long flag = 0;
    notify_loop(s, [&] {
      {
        std::lock_guard g(m);
        ++flag;
      }
      cv.notify_one();
    });
  });
}

// ---------------------------------------------------------------------------
// Scenario 2: bounded channel throughput

constexpr std::size_t channel_capacity = 256;

// P producers send `per` items each, P consumers receive `per` each; returns
// the batch: its wall time and the items sent.
template <class Channel>
bench::batch channel_run(int pairs, long per) {
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
  return {std::chrono::duration<double, std::nano>(stop - start).count(), per * pairs};
}

void channel_throughput(int pairs) {
  const std::string title = "bounded channel (capacity 256), " + std::to_string(pairs) +
                            " -> " + std::to_string(pairs) + " threads, ns per item";
  const long per = bench::scaled(100'000) / pairs;
  bench::add(title, "ring + beacon::event_count", [=](benchmark::State& s) {
    bench::timed_batches(s, [&] {
      return channel_run<example::bounded_channel<std::uint64_t>>(pairs, per);
    });
  })->UseManualTime();
  bench::add(title, "mutex + 2 condvars", [=](benchmark::State& s) {
    bench::timed_batches(
        s, [&] { return channel_run<mutex_condvar_queue<std::uint64_t>>(pairs, per); });
  })->UseManualTime();
}

}  // namespace

const char* const bench::report_title = "beacon::event_count";

void bench::register_benchmarks() {
  notify_without_waiters();
  for (const int pairs : {1, 2, 8})
    channel_throughput(pairs);
}
