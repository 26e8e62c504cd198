// A small benchmark harness for side-by-side comparisons in one run.
//
// Method: every scenario runs each candidate `reps` times, interleaved
// (A B C A B C ...), so drift in machine load hits every candidate alike; a
// run reports nanoseconds per operation and the table shows the median of the
// runs. The first candidate of a scenario is beacon's; the table gives the
// ratio beacon / peer for every peer (below 1.0 = beacon is faster).
//
// Knobs every benchmark binary shares (environment):
//   BEACON_BENCH_REPS=<n>       repetitions per candidate (default 7, or as
//                               the binary says)
//   BEACON_BENCH_QUICK=1        a quick development run: 3 repetitions,
//                               shorter runs (a fifth of the default run
//                               time, a tenth of fixed operation counts);
//                               its figures are not for publication
//   BEACON_BENCH_THREADS=<list> thread counts of the "latency vs thread
//                               count" series (default 1,2,4,8,16)
//   BEACON_BENCH_JSON=<file>    append every candidate's median (and its
//                               min, max, repetitions) as one JSON line
// bench_report (bench/report.cpp) runs every binary and merges their JSON
// lines into one table and one JSON file.
#pragma once

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
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

// Whether this is a quick development run (BEACON_BENCH_QUICK=1).
inline bool quick() { return env_int("BEACON_BENCH_QUICK", 0) != 0; }

// The target length of one timed run in ms: BEACON_BENCH_RUN_MS, else the
// binary's default (a fifth of it in a quick run).
inline int run_ms(int fallback) {
  return std::max(
      1, env_int("BEACON_BENCH_RUN_MS", quick() ? std::max(1, fallback / 5) : fallback));
}

// A fixed operation count: `n`, or a tenth of it in a quick run.
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

// `s` as a JSON string literal.
inline std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
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

// BEACON_BENCH_FILTER: run only the scenarios whose title contains it
// (unset or empty: every scenario).
inline bool wanted(const std::string& title) {
  static const std::string filter = [] {
    const char* f = std::getenv("BEACON_BENCH_FILTER");
    return std::string(f ? f : "");
  }();
  return filter.empty() || title.find(filter) != std::string::npos;
}

// A batch: body(n) performs n operations and returns ns per operation.
using body_fn = std::function<double(long)>;

// Grows n until a batch takes a measurable time, then returns the n for
// which one run lasts about `target_ms`.
inline long calibrate(const body_fn& body, double target_ms) {
  long n = 16;
  for (;;) {
    const double ms = body(n) * static_cast<double>(n) / 1e6;
    if (ms >= target_ms / 10 || n >= (1L << 34)) {
      const double want = static_cast<double>(n) * target_ms / std::max(ms, 1e-3);
      return std::clamp(static_cast<long>(want), 16L, 1L << 36);
    }
    n *= ms < target_ms / 1000 ? 16 : 4;
  }
}

// A candidate whose batch is calibrated on its first run (about `target_ms`
// per run), every run watched by the watchdog.
inline candidate calibrated(const std::string& scenario, std::string name, body_fn body,
                            double target_ms) {
  auto n = std::make_shared<long>(0);
  const std::string what = scenario + " / " + name;
  return {std::move(name), [=] {
            watch w(what);
            if (*n == 0) *n = calibrate(body, target_ms);
            return body(*n);
          }};
}

// Where a scenario lies on a "latency vs thread count" series: the series'
// name (the same for every point of it) and this point's thread count.
struct series_point {
  std::string series;  // empty: the scenario is no series' point
  int threads = 0;
  bool oversubscribed = false;  // more runnable threads than usable CPUs
};

class report {
 public:
  explicit report(std::string title, int reps = 7)
      : title_(std::move(title)), reps_(quick() ? std::min(reps, 3) : reps) {
    if (const char* r = std::getenv("BEACON_BENCH_REPS"))
      reps_ = std::max(1, std::atoi(r));
    std::printf(
        "\n== %s (median of %d interleaved runs, ns/op; ratio = beacon / peer)%s\n",
        title_.c_str(), reps_, quick() ? " [quick run]" : "");
  }

  // Runs the candidates interleaved and prints one block: the first is
  // beacon's, every other one is a peer it is compared with.
  void scenario(const std::string& name, const std::vector<candidate>& cands,
                const series_point& point = {}) {
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
      emit_json(name, cands[i].name, samples[i], med[i], i == 0 ? 1.0 : med[0] / med[i],
                point);
    }
    std::fflush(stdout);
  }

 private:
  void emit_json(const std::string& scenario, const std::string& impl,
                 const std::vector<double>& sorted, double median, double ratio,
                 const series_point& point) const {
    const char* path = std::getenv("BEACON_BENCH_JSON");
    if (!path || !*path) return;
    std::string line = "{\"report\":" + json_string(title_) +
                       ",\"scenario\":" + json_string(scenario) +
                       ",\"impl\":" + json_string(impl);
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  ",\"median_ns\":%.3f,\"min_ns\":%.3f,\"max_ns\":%.3f,\"reps\":%d,"
                  "\"beacon_over_impl\":%.4f,\"cpus\":%d",
                  median, sorted.front(), sorted.back(), static_cast<int>(sorted.size()),
                  ratio, usable_cpus());
    line += buf;
    if (!point.series.empty()) {
      line += ",\"series\":" + json_string(point.series) +
              ",\"threads\":" + std::to_string(point.threads) +
              ",\"oversubscribed\":" + (point.oversubscribed ? "true" : "false");
    }
    if (quick()) line += ",\"quick\":true";
    line += "}\n";
    if (FILE* f = std::fopen(path, "a")) {
      std::fputs(line.c_str(), f);
      std::fclose(f);
    }
  }

  std::string title_;
  int reps_;
};

}  // namespace bench
