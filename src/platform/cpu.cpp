// Which CPUs the calling thread may use: decides whether spinning can help.
#include <thread>

#include "beacon/detail/platform.hpp"

#if defined(__linux__)
#include <sched.h>
#endif

namespace beacon::detail::platform {
namespace {

unsigned query_usable_cpus() noexcept {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    return n > 0 ? static_cast<unsigned>(n) : 1U;
  }
#endif
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? n : 1U;
}

// Refreshing costs one system call; every 256 slow-path waits it is noise,
// and a thread that is pinned (or unpinned) later is seen soon after.
constexpr unsigned refresh_interval = 256;

}  // namespace

bool spinning_useful() noexcept {
  thread_local unsigned cpus = 0;
  thread_local unsigned calls_left = 0;
  if (calls_left-- == 0) {
    cpus = query_usable_cpus();
    calls_left = refresh_interval;
  }
  return cpus > 1;
}

}  // namespace beacon::detail::platform
