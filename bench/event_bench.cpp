// The events' benchmark: beacon::auto_reset_event and manual_reset_event
// beside their peers, in one run (see bench/harness.hpp for the method).
//
// Peers: a raw futex event in two variants ("sleep at once", and "spin then
// sleep" with beacon's spin count) as the near-limit references,
// std::mutex + std::condition_variable + bool, std::binary_semaphore, and
// std::atomic<std::uint32_t>::wait / notify.
//
// Scenarios:
//   1. cross-core ping-pong: two threads pinned to different CPUs bounce a
//      signal through two events; ns per round trip (skipped on one CPU);
//   2. same-core ping-pong: the same, both threads pinned to one CPU;
//   3. uncontended set + wait in one thread;
//   4. try_wait on an unset auto-reset event, and wait() on a set
//      manual-reset event (both should cost one load);
//   5. broadcast: K threads wait, the main thread releases them all; ns per
//      round until every waiter has passed. Run for every K of
//      BEACON_BENCH_THREADS (default 1, 2, 4, 8, 16): a "latency vs thread
//      count" series; when K + 1 threads exceed the usable CPUs it is
//      oversubscribed, and the title says so.
//
// Knobs (environment; the shared ones are in harness.hpp):
//   BEACON_BENCH_REPS=<n>    repetitions per candidate (default 7)
//   BEACON_BENCH_QUICK=1     quick development run (3 repetitions, short runs)
//   BEACON_BENCH_K=<n>       broadcast to this K only, not the series (also
//                            `--k=<n>` on the command line)
//   BEACON_BENCH_THREADS=<l> the series' K values (comma-separated)
//   BEACON_BENCH_RUN_MS=<n>  target length of one timed run (default 60)
//   BEACON_BENCH_SPIN=<ns>   spin time of the spin-then-sleep futex
//                            reference (default beacon::detail::max_spin_ns)
//   BEACON_BENCH_FILTER=<s>  run only the scenarios whose title contains s
//   BEACON_BENCH_JSON=<file> append the medians as JSON lines
// A watchdog ends the process with status 1, naming the run, when one run
// takes longer than 10 s: a hang in the benchmark is a bug.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <semaphore>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "beacon/auto_reset_event.hpp"
#include "beacon/detail/parked_wait.hpp"
#include "beacon/manual_reset_event.hpp"
#include "harness.hpp"

namespace {

using bench::env_int;
using bench::watch;
using bench::watchdog;

using clock_type = std::chrono::steady_clock;

// Keeps the compiler from dropping a value it computed and, through the
// memory clobber, from merging or hoisting work across loop iterations.
template <class T>
inline void keep(T v) {
  asm volatile("" : : "r"(v) : "memory");
}
inline void clobber() { asm volatile("" : : : "memory"); }

inline void cpu_relax() { beacon::detail::platform::cpu_relax(); }

// ---------------------------------------------------------------------------
// Candidates with calibrated batch sizes: `body(n)` performs n operations and
// returns ns per operation. The first call grows n until a batch takes a
// measurable time, then fixes n so that one run lasts about `target_ms`.

using bench::body_fn;
using bench::wanted;

double g_target_ms = 60;
// The spin of the "spin then sleep" futex reference, in ns: beacon's maximum
// by default (beacon adapts it per thread; the reference always spins it).
long g_reference_spin = beacon::detail::max_spin_ns;

bench::candidate make(const std::string& scenario, std::string name, body_fn body,
                      double target_ms = g_target_ms) {
  return bench::calibrated(scenario, std::move(name), std::move(body), target_ms);
}

// ---------------------------------------------------------------------------
// Raw futex helpers (private futexes).

long futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE,
                 expected, nullptr, nullptr, 0);
}

long futex_wake(std::atomic<std::uint32_t>& word, int count) {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE,
                 count, nullptr, nullptr, 0);
}

// ---------------------------------------------------------------------------
// The peers, as auto-reset events with set() / wait() / try_wait().

// A raw futex auto-reset event (Drepper's three states, "Futexes Are Tricky"):
//   0 unset, nobody sleeps; 1 set; 2 unset and threads may sleep.
// set() makes the word 1 and issues FUTEX_WAKE only when it was 2. A waiter
// that found the event unset marks 2 before sleeping and, having once gone
// to the slow path, consumes a set state into 2 rather than 0: other
// sleepers may remain, and the next set() must wake them (at worst one
// needless FUTEX_WAKE). Spin: before that, spin for up to g_reference_spin
// ns (beacon's max_spin_ns) waiting for the set state.
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
      const auto until = clock_type::now() + std::chrono::nanoseconds(g_reference_spin);
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
// 1, 2: ping-pong. Thread A sets e1 and waits e2; thread B waits e1 and sets
// e2. Returns ns per round trip.

template <class E>
double ping_pong(long rounds, int cpu_a, int cpu_b) {
  E e1{}, e2{};
  const long warm = std::min(rounds / 8 + 1, 2000L);
  double ns = 0;
  std::thread b([&] {
    bench::pin_this_thread(cpu_b);
    for (long i = 0; i < warm + rounds; ++i) {
      e1.wait();
      e2.set();
    }
  });
  std::thread a([&] {
    bench::pin_this_thread(cpu_a);
    for (long i = 0; i < warm; ++i) {
      e1.set();
      e2.wait();
    }
    const auto start = clock_type::now();
    for (long i = 0; i < rounds; ++i) {
      e1.set();
      e2.wait();
    }
    const auto stop = clock_type::now();
    ns = std::chrono::duration<double, std::nano>(stop - start).count() /
         static_cast<double>(rounds);
  });
  a.join();
  b.join();
  return ns;
}

template <class E>
body_fn ping_pong_body(int cpu_a, int cpu_b) {
  return [=](long n) { return ping_pong<E>(n, cpu_a, cpu_b); };
}

void ping_pong_scenario(bench::report& rep, const std::string& title, int cpu_a,
                        int cpu_b) {
  if (!wanted(title)) return;
  rep.scenario(title, {
                          make(title, "beacon::auto_reset_event",
                               ping_pong_body<beacon::auto_reset_event>(cpu_a, cpu_b)),
                          make(title, "raw futex event, sleep at once",
                               ping_pong_body<futex_event<false>>(cpu_a, cpu_b)),
                          make(title, "raw futex event, spin then sleep",
                               ping_pong_body<futex_event<true>>(cpu_a, cpu_b)),
                          make(title, "std::mutex + condition_variable",
                               ping_pong_body<cv_event>(cpu_a, cpu_b)),
                          make(title, "std::binary_semaphore",
                               ping_pong_body<semaphore_event>(cpu_a, cpu_b)),
                          make(title, "std::atomic<uint32_t>::wait/notify_one",
                               ping_pong_body<atomic_wait_event>(cpu_a, cpu_b)),
                      });
}

// ---------------------------------------------------------------------------
// 3: set then wait, one thread, nobody else.

template <class E>
body_fn set_wait_body() {
  return [](long n) {
    E e{};
    return bench::ns_per_op(n, [&] {
      e.set();
      e.wait();
    });
  };
}

void set_wait_scenario(bench::report& rep) {
  const std::string t = "uncontended set + wait (one thread), ns per pair";
  if (!wanted(t)) return;
  const double ms = g_target_ms * 0.8;
  rep.scenario(
      t, {
             make(t, "beacon::auto_reset_event",
                  set_wait_body<beacon::auto_reset_event>(), ms),
             make(t, "raw futex event", set_wait_body<futex_event<false>>(), ms),
             make(t, "std::mutex + condition_variable", set_wait_body<cv_event>(), ms),
             make(t, "std::binary_semaphore", set_wait_body<semaphore_event>(), ms),
             make(t, "std::atomic<uint32_t>::wait/notify_one",
                  set_wait_body<atomic_wait_event>(), ms),
         });
}

// ---------------------------------------------------------------------------
// 4: the one-load paths.

void one_load_scenarios(bench::report& rep) {
  const double ms = g_target_ms * 0.8;
  if (const std::string t = "try_wait on an unset auto-reset event, ns per call";
      wanted(t)) {
    auto try_body = [](auto tag) -> body_fn {
      return [](long n) {
        typename decltype(tag)::type e{};
        return bench::ns_per_op(n, [&] { keep(e.try_wait()); });
      };
    };
    rep.scenario(t,
                 {
                     make(t, "beacon::auto_reset_event::try_wait",
                          try_body(std::type_identity<beacon::auto_reset_event>{}), ms),
                     make(
                         t, "one atomic load (acquire)",
                         [](long n) {
                           std::atomic<std::uint8_t> b{0};
                           return bench::ns_per_op(
                               n, [&] { keep(b.load(std::memory_order_acquire) & 1); });
                         },
                         ms),
                     make(t, "raw futex event try_wait",
                          try_body(std::type_identity<futex_event<false>>{}), ms),
                     make(t, "std::binary_semaphore::try_acquire",
                          try_body(std::type_identity<semaphore_event>{}), ms),
                     make(t, "std::mutex + condition_variable check",
                          try_body(std::type_identity<cv_event>{}), ms),
                     make(t, "std::atomic<uint32_t> event try_wait",
                          try_body(std::type_identity<atomic_wait_event>{}), ms),
                 });
  }
  if (const std::string t = "wait() on a set manual-reset event, ns per call";
      wanted(t)) {
    rep.scenario(t, {
                        make(
                            t, "beacon::manual_reset_event::wait",
                            [](long n) {
                              beacon::manual_reset_event e{beacon::state::set};
                              return bench::ns_per_op(n, [&] {
                                e.wait();
                                clobber();
                              });
                            },
                            ms),
                        make(
                            t, "one atomic load (acquire)",
                            [](long n) {
                              std::atomic<std::uint8_t> b{1};
                              return bench::ns_per_op(n, [&] {
                                if (!(b.load(std::memory_order_acquire) & 1))
                                  std::abort();
                                clobber();
                              });
                            },
                            ms),
                        make(
                            t, "std::atomic<uint32_t>::wait (value differs)",
                            [](long n) {
                              std::atomic<std::uint32_t> v{1};
                              return bench::ns_per_op(n, [&] {
                                v.wait(0, std::memory_order_acquire);
                                clobber();
                              });
                            },
                            ms),
                        make(
                            t, "std::latch::wait (count 0)",
                            [](long n) {
                              std::latch l{0};
                              return bench::ns_per_op(n, [&] {
                                l.wait();
                                clobber();
                              });
                            },
                            ms),
                        make(
                            t, "std::mutex + condition_variable wait",
                            [](long n) {
                              cv_event e;
                              e.set();
                              return bench::ns_per_op(n, [&] {
                                e.wait_set();
                                clobber();
                              });
                            },
                            ms),
                    });
  }
}

// ---------------------------------------------------------------------------
// 5: broadcast. K waiter threads; per round the main thread releases them
// all and waits until every one has passed; ns per round.

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
// 2^32; it never gets two rounds ahead of a waiter).
struct futex_broadcast {
  std::atomic<std::uint32_t> gen{0};
  void wait(long r) {
    const auto mine = static_cast<std::uint32_t>(r);
    while (gen.load(std::memory_order_acquire) == mine)
      futex_wait(gen, mine);
  }
  void release(long) {
    gen.fetch_add(1, std::memory_order_release);
    futex_wake(gen, INT_MAX);
  }
  void after(long) {}
};

struct atomic_broadcast {
  std::atomic<std::uint32_t> gen{0};
  void wait(long r) {
    const auto mine = static_cast<std::uint32_t>(r);
    while (gen.load(std::memory_order_acquire) == mine)
      gen.wait(mine, std::memory_order_acquire);
  }
  void release(long) {
    gen.fetch_add(1, std::memory_order_release);
    gen.notify_all();
  }
  void after(long) {}
};

template <class B>
double broadcast(long rounds, int k) {
  B b;
  arrivals arrived;
  const long warm = std::min(rounds / 8 + 1, 500L);
  const long total = warm + rounds;
  const bool spin = bench::usable_cpus() > k;
  std::vector<std::thread> waiters;
  for (int i = 0; i < k; ++i)
    waiters.emplace_back([&] {
      for (long r = 0; r < total; ++r) {
        b.wait(r);
        arrived.arrive(static_cast<std::uint32_t>(k));
      }
    });
  clock_type::time_point start;
  for (long r = 0; r < total; ++r) {
    if (r == warm) start = clock_type::now();
    arrived.reset();
    b.release(r);
    arrived.wait_all(static_cast<std::uint32_t>(k), spin);
    b.after(r);
  }
  const auto stop = clock_type::now();
  for (auto& t : waiters)
    t.join();
  return std::chrono::duration<double, std::nano>(stop - start).count() /
         static_cast<double>(rounds);
}

void broadcast_scenario(bench::report& rep, int k, bool series) {
  // K waiters and the releasing thread.
  const std::string t =
      "broadcast to K = " + std::to_string(k) + (k == 1 ? " waiter" : " waiters") +
      ", ns per round (release until all passed)" + bench::oversubscription(k + 1);
  if (!wanted(t)) return;
  auto body = [k](auto tag) -> body_fn {
    return [k](long n) { return broadcast<typename decltype(tag)::type>(n, k); };
  };
  rep.scenario(t,
               {
                   make(t, "beacon::manual_reset_event (x2, alternating)",
                        body(std::type_identity<beacon_broadcast>{})),
                   make(t, "std::mutex + condition_variable notify_all",
                        body(std::type_identity<cv_broadcast>{})),
                   make(t, "raw futex generation, FUTEX_WAKE all",
                        body(std::type_identity<futex_broadcast>{})),
                   make(t, "std::atomic<uint32_t> generation, notify_all",
                        body(std::type_identity<atomic_broadcast>{})),
               },
               series ? bench::series_point{"broadcast: K waiters released by one "
                                            "thread (ns per round)",
                                            k, k + 1 > bench::usable_cpus()}
                      : bench::series_point{});
}

}  // namespace

int main(int argc, char** argv) {
  int k = env_int("BEACON_BENCH_K", 0);
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--k=", 4) == 0) {
      k = std::atoi(argv[i] + 4);
    } else if (std::strcmp(argv[i], "-k") == 0 && i + 1 < argc) {
      k = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr,
                   "usage: %s [--k=<broadcast waiters>]\n"
                   "env: BEACON_BENCH_REPS, BEACON_BENCH_QUICK, BEACON_BENCH_K, "
                   "BEACON_BENCH_THREADS, BEACON_BENCH_RUN_MS, BEACON_BENCH_SPIN, "
                   "BEACON_BENCH_FILTER, BEACON_BENCH_JSON\n",
                   argv[0]);
      return 2;
    }
  }
  g_target_ms = bench::run_ms(60);
  g_reference_spin = std::max(
      0, env_int("BEACON_BENCH_SPIN", static_cast<int>(beacon::detail::max_spin_ns)));

  const int cpus = bench::usable_cpus();
  const auto t0 = clock_type::now();
  std::printf(
      "beacon event benchmark: %d usable CPUs, beacon max spin = %lld ns (adaptive), "
      "reference spin = %ld ns, broadcast K = %s, ~%.0f ms per run\n",
      cpus, static_cast<long long>(beacon::detail::max_spin_ns), g_reference_spin,
      k > 0 ? std::to_string(k).c_str() : "series", g_target_ms);
  bench::report rep("beacon events");

  if (cpus >= 2)
    ping_pong_scenario(rep, "cross-core ping-pong (pinned to 2 CPUs), ns per round trip",
                       0, 1);
  else
    std::printf("\ncross-core ping-pong: skipped, only one usable CPU\n");
  ping_pong_scenario(rep, "same-core ping-pong (both pinned to 1 CPU), ns per round trip",
                     0, 0);
  set_wait_scenario(rep);
  one_load_scenarios(rep);
  if (k > 0) {
    broadcast_scenario(rep, k, false);
  } else {
    for (const int waiters : bench::thread_counts())
      broadcast_scenario(rep, waiters, true);
  }

  std::printf("\ntotal %.1f s\n",
              std::chrono::duration<double>(clock_type::now() - t0).count());
  return 0;
}
