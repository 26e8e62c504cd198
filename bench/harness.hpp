// A small benchmark harness for side-by-side comparisons in one run.
//
// Method: every scenario runs each candidate `reps` times, interleaved
// (A B C A B C ...), so drift in machine load hits every candidate alike; a
// run reports nanoseconds per operation and the table shows the median of the
// runs. The first candidate of a scenario is beacon's; the table gives the
// ratio beacon / peer for every peer (below 1.0 = beacon is faster).
// BEACON_BENCH_JSON=<file> appends the medians as JSON lines.
#pragma once

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace bench {

// One implementation of a scenario: `run()` performs a timed batch and
// returns nanoseconds per operation.
struct candidate {
  std::string name;
  std::function<double()> run;
};

// Times `ops` calls of `fn` and returns nanoseconds per call.
template <class F>
double ns_per_op(long ops, F&& fn) {
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < ops; ++i)
    fn();
  const auto stop = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::nano>(stop - start).count() /
         static_cast<double>(ops);
}

// A few nanoseconds of work the compiler cannot remove: the "critical
// section" of contended benchmarks.
inline void cpu_work(int iterations) {
  for (int i = 0; i < iterations; ++i)
    asm volatile("" ::: "memory");
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
// their number); returns false when pinning is not possible.
inline bool pin_this_thread(int cpu) {
  const int wanted = cpu % usable_cpus();
  for (int c = 0, seen = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &process_cpus)) continue;
    if (seen++ == wanted) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(c, &one);
      return pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0;
    }
  }
  return false;
}

// Lets the calling thread run on every CPU the process may use again.
inline void unpin_this_thread() {
  pthread_setaffinity_np(pthread_self(), sizeof process_cpus, &process_cpus);
}

// The value of the environment variable `name` as an int, or `fallback`.
inline int env_int(const char* name, int fallback) {
  const char* s = std::getenv(name);
  return s && *s ? std::atoi(s) : fallback;
}

// Ends the process with status 1, naming the run, when one run takes longer
// than 10 s: a hang in a benchmark is a bug (a lost wake-up in a peer or in
// beacon), and the report must not wait for it forever.
class watchdog {
 public:
  static watchdog& get() {
    static watchdog* w = new watchdog;  // never destroyed: its thread is detached
    return *w;
  }
  void begin(const std::string& what) {
    std::lock_guard g(m_);
    what_ = what;
    started_ = std::chrono::steady_clock::now();
    active_ = true;
  }
  void end() {
    std::lock_guard g(m_);
    active_ = false;
  }

 private:
  watchdog() {
    std::thread([this] {
      for (;;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        std::lock_guard g(m_);
        if (active_ &&
            std::chrono::steady_clock::now() - started_ > std::chrono::seconds(10)) {
          std::fflush(stdout);
          std::fprintf(stderr,
                       "\nwatchdog: run \"%s\" took longer than 10 s; giving up\n",
                       what_.c_str());
          std::fflush(stderr);
          std::_Exit(1);
        }
      }
    }).detach();
  }
  std::mutex m_;
  std::string what_;
  std::chrono::steady_clock::time_point started_;
  bool active_ = false;
};

// Watches one run for its lifetime.
struct watch {
  explicit watch(const std::string& what) { watchdog::get().begin(what); }
  ~watch() { watchdog::get().end(); }
  watch(const watch&) = delete;
  watch& operator=(const watch&) = delete;
};

class report {
 public:
  explicit report(std::string title, int reps = 7)
      : title_(std::move(title)), reps_(reps) {
    if (const char* r = std::getenv("BEACON_BENCH_REPS"))
      reps_ = std::max(1, std::atoi(r));
    std::printf("\n== %s (median of %d interleaved runs, ns/op; ratio = beacon / peer)\n",
                title_.c_str(), reps_);
  }

  // Runs the candidates interleaved and prints one block: the first is
  // beacon's, every other one is a peer it is compared with.
  void scenario(const std::string& name, const std::vector<candidate>& cands) {
    std::vector<std::vector<double>> samples(cands.size());
    for (int r = 0; r < reps_; ++r)
      for (std::size_t i = 0; i < cands.size(); ++i)
        samples[i].push_back(cands[i].run());
    std::vector<double> med;
    for (auto& s : samples) {
      std::sort(s.begin(), s.end());
      med.push_back(s[s.size() / 2]);
    }
    int width = 36;  // the names' column: as wide as the longest name
    for (const auto& c : cands)
      width = std::max(width, static_cast<int>(c.name.size()));
    std::printf("%-44s\n", name.c_str());
    for (std::size_t i = 0; i < cands.size(); ++i) {
      if (i == 0)
        std::printf("    %-*s %12.1f\n", width, cands[i].name.c_str(), med[i]);
      else
        std::printf("    %-*s %12.1f   beacon/peer = %.3f\n", width,
                    cands[i].name.c_str(), med[i], med[0] / med[i]);
      emit_json(name, cands[i].name, med[i], i == 0 ? 1.0 : med[0] / med[i]);
    }
    std::fflush(stdout);
  }

 private:
  void emit_json(const std::string& scenario, const std::string& impl, double ns,
                 double ratio) const {
    const char* path = std::getenv("BEACON_BENCH_JSON");
    if (!path) return;
    if (FILE* f = std::fopen(path, "a")) {
      std::fprintf(
          f,
          "{\"report\":\"%s\",\"scenario\":\"%s\",\"impl\":\"%s\",\"median_ns\":%.3f,"
          "\"beacon_over_impl\":%.4f,\"cpus\":%d}\n",
          title_.c_str(), scenario.c_str(), impl.c_str(), ns, ratio, usable_cpus());
      std::fclose(f);
    }
  }

  std::string title_;
  int reps_;
};

}  // namespace bench
