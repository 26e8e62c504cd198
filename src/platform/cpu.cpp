// The CPU facts the spin policy (include/beacon/detail/spin.hpp) builds on:
// how many CPUs the process may use, whether that is more than one, and how
// to give a CPU away (see platform.hpp); the registration of fork handlers
// (at_fork); and the coarse clock the lot stamps parked entries with
// (coarse_now_ns, for beacon/inspect.hpp), one for every parker. On Linux, how many CPUs
// the process may use comes from its affinity mask and its cgroup's CPU quota
// (containers, taskset, systemd CPUQuota=); elsewhere from
// std::thread::hardware_concurrency(); on Windows (cpu_win32.cpp) from the process
// affinity mask.
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <initializer_list>
#include <string_view>
#include <thread>

#include "beacon/detail/platform.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#endif
#ifdef __linux__
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#endif

namespace beacon::detail::platform {
namespace {

// Parses a non-negative decimal number at the start of `text` (after
// leading blanks); advances `text` past it. Returns -1 when there is none.
std::int64_t parse_count(std::string_view& text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\n'))
    text.remove_prefix(1);
  std::int64_t v = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || v < 0) return -1;
  text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  return v;
}

}  // namespace

unsigned cpus_of_quota(std::int64_t quota, std::int64_t period) noexcept {
  if (quota <= 0 || period <= 0) return 0;  // no limit ("max", -1) or nonsense
  const std::int64_t cpus = quota / period + (quota % period != 0);  // cannot overflow
  return static_cast<unsigned>(std::min<std::int64_t>(cpus, 1 << 20));
}

unsigned cpus_of_cpu_max(std::string_view text) noexcept {
  // "max 100000" (no limit) or "<quota> <period>", microseconds.
  const std::int64_t quota = parse_count(text);
  const std::int64_t period = parse_count(text);
  return cpus_of_quota(quota, period);
}

#ifdef __linux__
namespace {

// A NUL-terminated path built from pieces, without allocating.
struct path_buffer {
  char text[1024];
  // Whether the pieces fit (they are concatenated into text).
  bool assign(std::initializer_list<std::string_view> pieces) noexcept {
    std::size_t n = 0;
    for (std::string_view p : pieces) {
      if (n + p.size() + 1 > sizeof text) return false;
      std::copy(p.begin(), p.end(), text + n);
      n += p.size();
    }
    text[n] = '\0';
    return true;
  }
};

// Reads a small file whole into `buf`; empty on any failure, and when the
// file does not fit (a cut-off text would be misread). A failure only means
// "no limit known here", so it is not reported.
template <std::size_t N>
std::string_view read_small_file(const char* path, char (&buf)[N]) noexcept {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::size_t n = 0;
  while (n < N) {
    const ssize_t r = ::read(fd, buf + n, N - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += static_cast<std::size_t>(r);
  }
  ::close(fd);
  return n < N ? std::string_view(buf, n) : std::string_view();
}

// The number at the start of the file `dir`/`leaf`, or -1 (none, unreadable,
// or negative, e.g. v1's "-1" for no quota).
std::int64_t read_count(std::string_view dir, std::string_view leaf) noexcept {
  path_buffer name;
  char buf[64];
  if (!name.assign({dir, leaf})) return -1;
  std::string_view text = read_small_file(name.text, buf);
  return parse_count(text);
}

// The CPU limit (in CPUs, rounded up; 0 for none) of one cgroup directory.
unsigned limit_v2(std::string_view dir) noexcept {
  path_buffer name;
  char buf[64];
  if (!name.assign({dir, "/cpu.max"})) return 0;
  return cpus_of_cpu_max(read_small_file(name.text, buf));
}
unsigned limit_v1(std::string_view dir) noexcept {
  const std::int64_t quota = read_count(dir, "/cpu.cfs_quota_us");
  return cpus_of_quota(quota, read_count(dir, "/cpu.cfs_period_us"));
}

// The smaller of two limits, where 0 means "no limit".
unsigned tighter(unsigned a, unsigned b) noexcept {
  return a == 0 ? b : b == 0 ? a : std::min(a, b);
}

// The tightest limit of the cgroup `path` under `mount` and of each of its
// ancestors up to the mount point: a quota anywhere above applies too. A
// path outside this cgroup namespace ("/../x") is not below the mount: only
// the mount point itself (the namespace's root) is read.
unsigned limit_upwards(std::string_view mount, std::string_view path,
                       unsigned (*limit_of)(std::string_view)) noexcept {
  if (path.find("/..") != std::string_view::npos) path = {};
  unsigned best = 0;
  for (;;) {
    path_buffer dir;
    if (dir.assign({mount, path})) best = tighter(best, limit_of(dir.text));
    const std::size_t slash = path.rfind('/');
    if (slash == std::string_view::npos) return best;
    path = path.substr(0, slash);  // "/a/b" -> "/a" -> "" (the mount point)
  }
}

// Whether the comma-separated `list` holds `name` on its own.
bool lists(std::string_view list, std::string_view name) noexcept {
  while (!list.empty()) {
    const std::size_t comma = std::min(list.find(','), list.size());
    if (list.substr(0, comma) == name) return true;
    list.remove_prefix(std::min(comma + 1, list.size()));
  }
  return false;
}

// The CPUs in the affinity mask of the process's main thread (the thread
// group leader, whichever thread asks), growing the set while the kernel has
// more possible CPUs than it holds (it then answers EINVAL). 0 if unknown.
unsigned affinity_cpus() noexcept {
  for (int n = CPU_SETSIZE; n <= (1 << 20); n *= 2) {
    cpu_set_t* set = CPU_ALLOC(n);
    if (set == nullptr) return 0;
    const std::size_t size = CPU_ALLOC_SIZE(n);
    const int r = ::sched_getaffinity(::getpid(), size, set);
    const int error = errno;
    const unsigned count = r == 0 ? static_cast<unsigned>(CPU_COUNT_S(size, set)) : 0;
    CPU_FREE(set);
    if (r == 0 || error != EINVAL) return count;
  }
  return 0;
}

}  // namespace

unsigned cgroup_cpu_limit(std::string_view proc_self_cgroup,
                          std::string_view root) noexcept {
  unsigned best = 0;
  std::string_view lines = proc_self_cgroup;
  while (!lines.empty()) {
    // "<id>:<controllers>:<path>"; the v2 line is "0::<path>".
    const std::size_t eol = std::min(lines.find('\n'), lines.size());
    const std::string_view line = lines.substr(0, eol);
    lines.remove_prefix(std::min(eol + 1, lines.size()));
    const std::size_t c1 = line.find(':');
    const std::size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    const std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
    std::string_view path = line.substr(c2 + 1);
    if (path == "/") path = {};
    if (controllers.empty()) {
      best = tighter(best, limit_upwards(root, path, limit_v2));
    } else if (lists(controllers, "cpu")) {
      // v1: mounted as <root>/cpu, or under the list's own name
      // (<root>/cpu,cpuacct) where no "cpu" link was made.
      path_buffer mount;
      unsigned limit = 0;
      if (mount.assign({root, "/cpu"})) limit = limit_upwards(mount.text, path, limit_v1);
      if (limit == 0 && controllers != "cpu" && mount.assign({root, "/", controllers}))
        limit = limit_upwards(mount.text, path, limit_v1);
      best = tighter(best, limit);
    }
  }
  return best;
}

unsigned usable_cpus() noexcept {
  unsigned cpus = affinity_cpus();
  if (cpus == 0) cpus = std::thread::hardware_concurrency();  // 0 if unknown
  char buf[8192];
  return tighter(cpus, cgroup_cpu_limit(read_small_file("/proc/self/cgroup", buf)));
}
#elif !defined(_WIN32)  // Windows: cpu_win32.cpp
unsigned cgroup_cpu_limit(std::string_view, std::string_view) noexcept { return 0; }
unsigned usable_cpus() noexcept { return std::thread::hardware_concurrency(); }
#endif

namespace {

// Decided once, when the library is loaded: from the process's mask (taskset,
// a cpuset) and quota, so that a thread pinned to one CPU, as in
// thread-per-core servers, does not turn spinning off for the others, which
// have partners on the other CPUs worth spinning for. Before the decision
// (another library's static initializer waiting on an event) it reads false:
// no spinning, which is always safe. Atomic and constant-initialized, so
// such an early read is neither an initialization-order bug nor a race.
constinit std::atomic<bool> many_cpus{false};

struct decide_at_load {
  decide_at_load() noexcept {
    many_cpus.store(usable_cpus() != 1,
                    std::memory_order_relaxed);  // unknown (0): several
  }
};
const decide_at_load decided;

}  // namespace

bool multi_cpu() noexcept { return many_cpus.load(std::memory_order_relaxed); }

#ifndef _WIN32  // Windows: SwitchToThread, in cpu_win32.cpp
void yield() noexcept { std::this_thread::yield(); }
#endif

// A read of a few ns (Linux: the coarse monotonic clock, ~1-4 ms steps),
// since every park of a coroutine pays it; elsewhere steady_clock.
std::int64_t coarse_now_ns() noexcept {
#ifdef CLOCK_MONOTONIC_COARSE
  timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
#endif
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void at_fork(void (*prepare)(), void (*parent)(), void (*child)()) noexcept {
#if defined(__unix__) || defined(__APPLE__)
  // Fails only with ENOMEM; then the lot is as it was before the handler
  // existed (a child forked while a bucket lock is held may hang).
  (void)pthread_atfork(prepare, parent, child);
#else
  (void)prepare, (void)parent, (void)child;  // no fork() here
#endif
}

}  // namespace beacon::detail::platform
