// What every benchmark binary shares: pinning, the raw futex calls of the
// peers, a few compiler barriers, the thread-count series and the way a
// scenario is registered with Google Benchmark.
//
// A benchmark's name is "<scenario> | <implementation>": tools/bench_report.py
// splits it there and puts every scenario's first implementation (beacon's)
// beside each of the others, with the ratio beacon / peer. Its figure is ns
// per operation: 1e9 / items_per_second where a benchmark counts items (the
// two-thread ones count them on thread 0 only, so the figure is one thread's
// time per operation; the ones that time themselves, with UseManualTime),
// else the real time per iteration.
//
// Knobs (environment):
//   BEACON_BENCH_THREADS=<list> the "latency vs thread count" series' thread
//                               counts (default 1,2,4,8,16)
//   BEACON_BENCH_QUICK=1        smaller fixed batches (a tenth), for a quick
//                               development run; the repetitions and run time
//                               are Google Benchmark's flags, which
//                               tools/bench_report.py sets
#pragma once

#include <benchmark/benchmark.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace bench {

// Defined by each benchmark binary: the title of its part of the report, and
// the function that registers its benchmarks (main.cpp calls it).
extern const char* const report_title;
void register_benchmarks();

// Registers `fn` as the benchmark "<scenario> | <impl>".
template <class F>
benchmark::internal::Benchmark* add(const std::string& scenario, const std::string& impl,
                                    F&& fn) {
  return benchmark::RegisterBenchmark((scenario + " | " + impl).c_str(),
                                      std::forward<F>(fn));
}

// Keeps the compiler from dropping a value it computed and, through the
// memory clobber, from merging or hoisting work across loop iterations.
template <class T>
inline void keep(T v) {
  asm volatile("" : : "r"(v) : "memory");
}
inline void clobber() { asm volatile("" : : : "memory"); }
// The spin-wait hint of the peers' spin loops (a local copy: the library's
// own is a detail of its platform layer).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  asm volatile("yield" ::: "memory");
#else
  clobber();
#endif
}

// A few nanoseconds of work the compiler cannot remove: the "critical
// section" of contended benchmarks.
inline void cpu_work(int iterations) {
  for (int i = 0; i < iterations; ++i)
    clobber();
}

// Raw private futex calls on a 32-bit atomic word.
inline long futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE,
                 expected, nullptr, nullptr, 0);
}
inline long futex_wake(std::atomic<std::uint32_t>& word, int count) {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE,
                 count, nullptr, nullptr, 0);
}

// The CPUs the process may use, read once before main() runs, i.e. before
// any benchmark pins a thread (sched_getaffinity reports the calling
// thread's own mask, which pinning narrows).
inline const cpu_set_t process_cpus = [] {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) CPU_SET(0, &set);
  return set;
}();

inline int usable_cpus() {
  const int n = CPU_COUNT(&process_cpus);
  return n > 0 ? n : 1;
}

// Pins the calling thread to the `cpu`-th CPU the process may use (modulo
// their number) for its lifetime, then lets it run on all of them again.
class pinned {
 public:
  explicit pinned(int cpu) {
    const int wanted = cpu % usable_cpus();
    for (int c = 0, seen = 0; c < CPU_SETSIZE; ++c) {
      if (!CPU_ISSET(c, &process_cpus) || seen++ != wanted) continue;
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(c, &one);
      pthread_setaffinity_np(pthread_self(), sizeof one, &one);
      return;
    }
  }
  ~pinned() {
    pthread_setaffinity_np(pthread_self(), sizeof process_cpus, &process_cpus);
  }
  pinned(const pinned&) = delete;
  pinned& operator=(const pinned&) = delete;
};

// Whether this is a quick development run (BEACON_BENCH_QUICK=1).
inline bool quick() {
  const char* s = std::getenv("BEACON_BENCH_QUICK");
  return s && *s && std::atoi(s) != 0;
}

// A fixed batch size: `n`, or a tenth of it in a quick run.
inline long scaled(long n) { return quick() ? std::max(1L, n / 10) : n; }

// The thread counts of the "latency vs thread count" series:
// BEACON_BENCH_THREADS (comma-separated), default 1, 2, 4, 8, 16.
inline std::vector<int> thread_counts() {
  std::vector<int> counts;
  if (const char* s = std::getenv("BEACON_BENCH_THREADS")) {
    for (const char* p = s; *p;) {
      char* end = nullptr;
      const long v = std::strtol(p, &end, 10);
      if (end == p) {
        ++p;
        continue;
      }
      if (v > 0 && v <= 1024) counts.push_back(static_cast<int>(v));
      p = end;
    }
  }
  if (counts.empty()) counts = {1, 2, 4, 8, 16};
  return counts;
}

// " [oversubscribed: <threads> threads on <cpus> CPUs]" when `threads`
// runnable threads exceed the usable CPUs, else "".
inline std::string oversubscription(int threads) {
  if (threads <= usable_cpus()) return "";
  return " [oversubscribed: " + std::to_string(threads) + " threads on " +
         std::to_string(usable_cpus()) + " CPUs]";
}

// The result of a batch that times itself: the nanoseconds its timed part
// took and the operations it performed.
struct batch {
  double ns = 0;
  std::int64_t items = 0;
};

// Runs `run()` (returning a batch) once per iteration and reports what the
// batches measured: register the benchmark with UseManualTime().
template <class F>
void timed_batches(benchmark::State& state, F&& run) {
  std::int64_t items = 0;
  for (auto _ : state) {
    const batch b = run();
    state.SetIterationTime(b.ns * 1e-9);
    items += b.items;
  }
  state.SetItemsProcessed(items);
}

}  // namespace bench
