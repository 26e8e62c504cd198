// The events' benchmark: beacon::auto_reset_event and manual_reset_event
// beside their peers (Google Benchmark; see bench/harness.hpp).
//
// Peers: a raw futex event in two variants ("sleep at once", and "spin then
// sleep" as long as beacon spins at most) as the near-limit references,
// std::mutex + std::condition_variable + bool, std::binary_semaphore, and
// std::atomic<std::uint32_t>::wait / notify.
//
// Scenarios:
//   1. cross-core ping-pong: two threads (->Threads(2)) pinned to different
//      CPUs bounce a signal through two events; ns per round trip (only
//      with two usable CPUs or more);
//   2. same-core ping-pong: the same, both threads pinned to one CPU;
//   3. uncontended set + wait in one thread;
//   4. try_wait on an unset auto-reset event, and wait() on a set
//      manual-reset event (both should cost one load);
//   5. broadcast: K threads wait, the benchmark's thread releases them all;
//      ns per round until every waiter has passed, for every K of
//      BEACON_BENCH_THREADS (default 1, 2, 4, 8, 16): a "latency vs thread
//      count" series, oversubscribed (the title says so) when K + 1 threads
//      exceed the usable CPUs.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <latch>
#include <mutex>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include "beacon/auto_reset_event.hpp"
#include "beacon/manual_reset_event.hpp"
#include "harness.hpp"

namespace {

using bench::clobber;
using bench::cpu_relax;
using bench::futex_wait;
using bench::futex_wake;
using bench::keep;
using clock_type = std::chrono::steady_clock;

// The spin of the "spin then sleep" futex reference: beacon's maximum spin
// (beacon::detail::max_spin_ns, 20 us; beacon adapts its spin per thread,
// the reference always spins this long). A copy, so that the benchmark does
// not depend on where the library keeps its spin policy.
constexpr auto reference_spin = std::chrono::nanoseconds(20'000);

// ---------------------------------------------------------------------------
// The peers, as auto-reset events with set() / wait() / try_wait().

// A raw futex auto-reset event (Drepper's three states, "Futexes Are Tricky"):
//   0 unset, nobody sleeps; 1 set; 2 unset and threads may sleep.
// set() makes the word 1 and issues FUTEX_WAKE only when it was 2. A waiter
// that found the event unset marks 2 before sleeping and, having once gone
// to the slow path, consumes a set state into 2 rather than 0: other
// sleepers may remain, and the next set() must wake them (at worst one
// needless FUTEX_WAKE). Spin: before that, spin for up to reference_spin
// (beacon's maximum spin) waiting for the set state.
// Like most simple futex events, a second set() before the woken waiter ran
// collapses into the first; every use below has one waiter per event and
// never sets an event twice before it was consumed.
template <bool Spin>
class futex_event {
 public:
  void set() noexcept {
    if (state_.exchange(1, std::memory_order_release) == 2) futex_wake(state_, 1);
  }
  bool try_wait() noexcept {
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    return s == 1 && state_.compare_exchange_strong(s, 0, std::memory_order_acquire,
                                                    std::memory_order_relaxed);
  }
  void wait() noexcept {
    std::uint32_t s = 1;
    if (state_.compare_exchange_strong(s, 0, std::memory_order_acquire,
                                       std::memory_order_relaxed))
      return;
    if constexpr (Spin) {
      const auto until = clock_type::now() + reference_spin;
      do {
        for (int i = 0; i < 16; ++i) {
          cpu_relax();
          if (try_wait()) return;
        }
      } while (clock_type::now() < until);
    }
    wait_slow();
  }

 private:
  void wait_slow() noexcept {
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    for (;;) {
      if (s == 1) {
        if (state_.compare_exchange_weak(s, 2, std::memory_order_acquire,
                                         std::memory_order_relaxed))
          return;
        continue;
      }
      if (s == 0 && !state_.compare_exchange_weak(s, 2, std::memory_order_relaxed))
        continue;
      futex_wait(state_, 2);  // returns at once unless the word is still 2
      s = state_.load(std::memory_order_relaxed);
    }
  }
  std::atomic<std::uint32_t> state_{0};
};

class cv_event {
 public:
  void set() {
    {
      std::lock_guard g(m_);
      set_ = true;
    }
    cv_.notify_one();  // every user outlives its waiters
  }
  void wait() {
    std::unique_lock lk(m_);
    cv_.wait(lk, [&] { return set_; });
    set_ = false;
  }
  bool try_wait() {
    std::lock_guard g(m_);
    const bool was = set_;
    set_ = false;
    return was;
  }
  bool is_set() {
    std::lock_guard g(m_);
    return set_;
  }
  void wait_set() {  // the manual-reset wait: does not consume
    std::unique_lock lk(m_);
    cv_.wait(lk, [&] { return set_; });
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool set_ = false;
};

// Never released twice without an acquire in between in the uses below, so
// the count stays within the binary semaphore's maximum of 1.
class semaphore_event {
 public:
  void set() { s_.release(); }
  void wait() { s_.acquire(); }
  bool try_wait() { return s_.try_acquire(); }

 private:
  std::binary_semaphore s_{0};
};

class atomic_wait_event {
 public:
  void set() {
    v_.store(1, std::memory_order_release);
    v_.notify_one();
  }
  void wait() {
    for (;;) {
      std::uint32_t s = 1;
      if (v_.compare_exchange_strong(s, 0, std::memory_order_acquire,
                                     std::memory_order_relaxed))
        return;
      v_.wait(0, std::memory_order_relaxed);  // returns once v_ != 0 (or spuriously)
    }
  }
  bool try_wait() {
    std::uint32_t s = 1;
    return v_.load(std::memory_order_relaxed) == 1 &&
           v_.compare_exchange_strong(s, 0, std::memory_order_acquire,
                                      std::memory_order_relaxed);
  }

 private:
  std::atomic<std::uint32_t> v_{0};
};

// ---------------------------------------------------------------------------
// 1, 2: ping-pong. Thread 0 sets e1 and waits e2; thread 1 waits e1 and sets
// e2; both run the same number of iterations. The events outlive every run
// and are left unset by each (every set is consumed), so the next run starts
// from the same state. Items are counted on thread 0 only: ns per round trip.

// Voluntary context switches of the calling thread so far: each is a sleep
// (a futex wait that blocked), so their count per round trip tells a run
// that spun (about 0) from one that fell asleep (about 2).
long sleeps_of_this_thread() noexcept {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_nvcsw;
}

template <class E>
void ping_pong(benchmark::State& state, int cpu_a, int cpu_b) {
  static E e1, e2;
  const bool a = state.thread_index() == 0;
  bench::pinned pin(a ? cpu_a : cpu_b);
  const long slept_before = sleeps_of_this_thread();
  for (auto _ : state) {
    if (a) {
      e1.set();
      e2.wait();
    } else {
      e1.wait();
      e2.set();
    }
  }
  // Both threads' sleeps per round trip (Google Benchmark sums the threads).
  state.counters["sleeps"] =
      benchmark::Counter(static_cast<double>(sleeps_of_this_thread() - slept_before),
                         benchmark::Counter::kAvgIterations);
  if (a) state.SetItemsProcessed(state.iterations());
}

void ping_pong_scenario(const std::string& title, int cpu_a, int cpu_b) {
  auto add = [&](const char* impl, auto fn) {
    bench::add(title, impl, [=](benchmark::State& s) { fn(s, cpu_a, cpu_b); })
        ->Threads(2)
        ->UseRealTime();
  };
  add("beacon::auto_reset_event", ping_pong<beacon::auto_reset_event>);
  add("raw futex event, sleep at once", ping_pong<futex_event<false>>);
  add("raw futex event, spin then sleep", ping_pong<futex_event<true>>);
  add("std::mutex + condition_variable", ping_pong<cv_event>);
  add("std::binary_semaphore", ping_pong<semaphore_event>);
  add("std::atomic<uint32_t>::wait/notify_one", ping_pong<atomic_wait_event>);
}

// ---------------------------------------------------------------------------
// 3: set then wait, one thread, nobody else.

template <class E>
void set_wait(benchmark::State& state) {
  E e{};
  for (auto _ : state) {
    e.set();
    e.wait();
  }
}

// 4: the one-load paths.

template <class E>
void try_wait_unset(benchmark::State& state) {
  E e{};
  for (auto _ : state)
    keep(e.try_wait());
}

// Waits on a waitable that is already set; `w.wait()` must return at once.
template <class W>
void wait_set(benchmark::State& state, W& w) {
  for (auto _ : state) {
    w.wait();
    clobber();
  }
}

void one_thread_scenarios() {
  const std::string t3 = "uncontended set + wait (one thread), ns per pair";
  bench::add(t3, "beacon::auto_reset_event", set_wait<beacon::auto_reset_event>);
  bench::add(t3, "raw futex event", set_wait<futex_event<false>>);
  bench::add(t3, "std::mutex + condition_variable", set_wait<cv_event>);
  bench::add(t3, "std::binary_semaphore", set_wait<semaphore_event>);
  bench::add(t3, "std::atomic<uint32_t>::wait/notify_one", set_wait<atomic_wait_event>);

  const std::string t4 = "try_wait on an unset auto-reset event, ns per call";
  bench::add(t4, "beacon::auto_reset_event::try_wait",
             try_wait_unset<beacon::auto_reset_event>);
  bench::add(t4, "one atomic load (acquire)", [](benchmark::State& s) {
    std::atomic<std::uint8_t> b{0};
    for (auto _ : s)
      keep(b.load(std::memory_order_acquire) & 1);
  });
  bench::add(t4, "raw futex event try_wait", try_wait_unset<futex_event<false>>);
  bench::add(t4, "std::binary_semaphore::try_acquire", try_wait_unset<semaphore_event>);
  bench::add(t4, "std::mutex + condition_variable check", try_wait_unset<cv_event>);
  bench::add(t4, "std::atomic<uint32_t> event try_wait",
             try_wait_unset<atomic_wait_event>);

  const std::string t5 = "wait() on a set manual-reset event, ns per call";
  bench::add(t5, "beacon::manual_reset_event::wait", [](benchmark::State& s) {
    beacon::manual_reset_event e{beacon::state::set};
    wait_set(s, e);
  });
  bench::add(t5, "one atomic load (acquire)", [](benchmark::State& s) {
    std::atomic<std::uint8_t> b{1};
    for (auto _ : s) {
      if (!(b.load(std::memory_order_acquire) & 1)) std::abort();
      clobber();
    }
  });
  bench::add(t5, "std::atomic<uint32_t>::wait (value differs)", [](benchmark::State& s) {
    std::atomic<std::uint32_t> v{1};
    for (auto _ : s) {
      v.wait(0, std::memory_order_acquire);
      clobber();
    }
  });
  bench::add(t5, "std::latch::wait (count 0)", [](benchmark::State& s) {
    std::latch l{0};
    wait_set(s, l);
  });
  bench::add(t5, "std::mutex + condition_variable wait", [](benchmark::State& s) {
    struct set_cv {
      cv_event e;
      set_cv() { e.set(); }
      void wait() { e.wait_set(); }
    } w;
    wait_set(s, w);
  });
}

// ---------------------------------------------------------------------------
// 5: broadcast. K waiter threads; per iteration the benchmark's thread
// releases them all and waits until every one has passed; ns per round.

// How the main thread learns that all K waiters passed: the same for every
// candidate. A count of arrivals plus a "main sleeps" bit; the main thread
// spins only when a CPU is left over for it.
class arrivals {
 public:
  // Only between rounds, when every waiter has arrived and none can arrive.
  void reset() noexcept { word_.store(0, std::memory_order_relaxed); }
  void arrive(std::uint32_t k) noexcept {
    const std::uint32_t old = word_.fetch_add(1, std::memory_order_acq_rel);
    if ((old & ~sleeping) + 1 == k && (old & sleeping)) futex_wake(word_, 1);
  }
  void wait_all(std::uint32_t k, bool spin) noexcept {
    for (int i = 0; spin && i < 20000; ++i) {
      if ((word_.load(std::memory_order_acquire) & ~sleeping) == k) return;
      cpu_relax();
    }
    std::uint32_t s = word_.load(std::memory_order_acquire);
    while ((s & ~sleeping) != k) {
      if (!(s & sleeping)) {
        if (!word_.compare_exchange_weak(s, s | sleeping, std::memory_order_acquire))
          continue;
        s |= sleeping;
      }
      futex_wait(word_, s);
      s = word_.load(std::memory_order_acquire);
    }
  }

 private:
  static constexpr std::uint32_t sleeping = 1U << 31;
  std::atomic<std::uint32_t> word_{0};
};

// A broadcast candidate: wait(r) blocks until round r is released;
// release(r) releases round r; after(r) runs once all passed round r.

// Two manual-reset events used alternately: a waiter that passed round r
// waits on the other one, which was reset after round r - 1 had completed.
struct beacon_broadcast {
  beacon::manual_reset_event go[2];
  void wait(long r) { go[r & 1].wait(); }
  void release(long r) { go[r & 1].set(); }
  void after(long r) { go[r & 1].reset(); }
};

struct cv_broadcast {
  std::mutex m;
  std::condition_variable cv;
  long released = 0;  // rounds released
  void wait(long r) {
    std::unique_lock lk(m);
    cv.wait(lk, [&] { return released > r; });
  }
  void release(long r) {
    {
      std::lock_guard g(m);
      released = r + 1;
    }
    cv.notify_all();
  }
  void after(long) {}
};

// A generation word: round r is released when it moves from r to r + 1 (mod
// 2^32; it never gets two rounds ahead of a waiter). Waiters sleep on the
// word itself: with raw futex calls (Futex), or std::atomic's wait /
// notify_all.
template <bool Futex>
struct generation_broadcast {
  std::atomic<std::uint32_t> gen{0};
  void wait(long r) {
    const auto mine = static_cast<std::uint32_t>(r);
    while (gen.load(std::memory_order_acquire) == mine) {
      if constexpr (Futex)
        futex_wait(gen, mine);
      else
        gen.wait(mine, std::memory_order_acquire);
    }
  }
  void release(long) {
    gen.fetch_add(1, std::memory_order_release);
    if constexpr (Futex)
      futex_wake(gen, INT_MAX);
    else
      gen.notify_all();
  }
  void after(long) {}
};

// The K waiters live for one run: before the timed loop they start, every
// iteration is one round, and after it the last round (`stop` set) lets them
// leave.
template <class B>
void broadcast(benchmark::State& state, int k) {
  B b;
  arrivals arrived;
  std::atomic<bool> stop{false};
  const bool spin = bench::usable_cpus() > k;
  std::vector<std::thread> waiters;
  for (int i = 0; i < k; ++i)
    waiters.emplace_back([&] {
      for (long r = 0;; ++r) {
        b.wait(r);
        if (stop.load(std::memory_order_relaxed)) return;
        arrived.arrive(static_cast<std::uint32_t>(k));
      }
    });
  long r = 0;
  for (auto _ : state) {
    arrived.reset();
    b.release(r);
    arrived.wait_all(static_cast<std::uint32_t>(k), spin);
    b.after(r);
    ++r;
  }
  stop.store(true, std::memory_order_relaxed);
  b.release(r);  // the release orders `stop` before the waiters' wake-up
  for (auto& t : waiters)
    t.join();
}

void broadcast_scenario(int k) {
  // K waiters and the releasing thread.
  const std::string t =
      "broadcast to K = " + std::to_string(k) + (k == 1 ? " waiter" : " waiters") +
      ", ns per round (release until all passed)" + bench::oversubscription(k + 1);
  auto add = [&](const char* impl, auto fn) {
    bench::add(t, impl, [=](benchmark::State& s) { fn(s, k); })->UseRealTime();
  };
  add("beacon::manual_reset_event (x2, alternating)", broadcast<beacon_broadcast>);
  add("std::mutex + condition_variable notify_all", broadcast<cv_broadcast>);
  add("raw futex generation, FUTEX_WAKE all", broadcast<generation_broadcast<true>>);
  add("std::atomic<uint32_t> generation, notify_all",
      broadcast<generation_broadcast<false>>);
}

}  // namespace

const char* const bench::report_title = "beacon events";

void bench::register_benchmarks() {
  if (bench::usable_cpus() >= 2)
    ping_pong_scenario("cross-core ping-pong (pinned to 2 CPUs), ns per round trip", 0,
                       1);
  ping_pong_scenario("same-core ping-pong (both pinned to 1 CPU), ns per round trip", 0,
                     0);
  one_thread_scenarios();
  for (const int k : bench::thread_counts())
    broadcast_scenario(k);
}
