// The platform layer's interface: the only OS services beacon's in-process
// primitives use. It is a wait-on-address interface (Linux futex, Windows
// WaitOnAddress, macOS os_sync_wait_on_address), so a port is one file in
// src/platform/. Implementations:
//   src/platform/wait_futex.cpp     Linux private futexes, absolute
//                                   CLOCK_MONOTONIC deadlines (FUTEX_WAIT_BITSET)
//   src/platform/wait_portable.cpp  std::mutex + std::condition_variable in a
//                                   hashed table (after folly's EmulatedFutex)
// selected by the CMake option BEACON_PLATFORM, with src/platform/cpu.cpp
// (the spin policy). tests/checker/checker_platform.cpp replaces both with a
// deterministic scheduler's implementation, to explore interleavings.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "beacon/detail/deadline.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace beacon::detail::platform {

// Blocks while `word` holds `expected`, until woken by wake_*(), until `d`
// passes, or spuriously (callers always re-check their condition). Returns
// false only when `d` has passed. Retries after EINTR keep the same absolute
// deadline, so they never extend it.
bool wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
          deadline d) noexcept;

// Wakes one / every thread blocked in wait() on `word`. Safe to call after
// `word`'s storage was released by its owner (a woken waiter may return and
// pop its stack frame before the waker gets here): a wake on a stale address
// can only cause a spurious wake-up, which every waiter tolerates. folly's
// Futex makes the same argument.
void wake_one(const std::atomic<std::uint32_t>& word) noexcept;
void wake_all(const std::atomic<std::uint32_t>& word) noexcept;

// Whether this process may run on more than one CPU at once: on one CPU no
// other thread can make progress while we spin, so nothing in beacon spins
// there. Decided once, from usable_cpus(), when the library is loaded (so a
// thread pinned to one CPU later does not turn spinning off for everyone).
bool multi_cpu() noexcept;

// How many CPUs this process may use at once, computed afresh: on Linux the
// CPUs of its main thread's affinity mask (taskset, cpusets), lowered to its
// cgroups' CPU quota rounded up (containers, systemd CPUQuota=); elsewhere
// std::thread::hardware_concurrency(). 0 if unknown.
unsigned usable_cpus() noexcept;

// The CPU quota, in CPUs rounded up (0: none), of the cgroups listed in
// `proc_self_cgroup` (the text of /proc/self/cgroup) under the cgroup file
// systems mounted at `root`: v2's cpu.max, v1's cpu.cfs_quota_us and
// cpu.cfs_period_us under <root>/cpu; of each cgroup and its ancestors, the
// tightest. Always 0 off Linux.
unsigned cgroup_cpu_limit(std::string_view proc_self_cgroup,
                          std::string_view root = "/sys/fs/cgroup") noexcept;

// A CFS-style CPU quota in CPUs, rounded up: `quota` microseconds of CPU time
// per `period`. 0 (no limit) unless both are positive.
unsigned cpus_of_quota(std::int64_t quota, std::int64_t period) noexcept;
// The same, from the text of a cgroup v2 cpu.max file ("max 100000" means no
// limit, "150000 100000" one and a half CPUs, i.e. 2); 0 if unparsable.
unsigned cpus_of_cpu_max(std::string_view text) noexcept;

// The adaptive spin policy, per thread (after glibc's adaptive mutexes and
// WebKit's spin-then-park): how long, in nanoseconds, the calling thread
// should spin before it parks (0: do not spin), and the outcome of that spin.
// A spin that succeeds restores the full budget; one that fails shrinks it
// to a quarter, down to zero, after which only an occasional short probe is
// made. So a thread whose partner answers from another core keeps spinning,
// and a thread whose partner needs the same CPU (same-core ping-pong,
// oversubscription) stops wasting its time slice after a few waits.
std::int64_t spin_budget_ns() noexcept;
void spin_feedback(bool succeeded) noexcept;

// Lets another thread run: what a lock that spun in vain does (the holder
// may be preempted and need this CPU). A function of the platform, not a
// direct std::this_thread::yield(), so that the interleaving checker's
// platform (tests/checker/) can turn it into a switch to another thread.
void yield() noexcept;

// The processor's spin-loop hint.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace beacon::detail::platform

namespace beacon::detail::platform {
// Fills `frames` with up to `capacity` return addresses of the calling
// thread's stack, skipping the innermost `skip` frames; returns how many
// (0 where unavailable). src/platform/backtrace.cpp (glibc backtrace()).
std::size_t capture_backtrace(void** frames, std::size_t capacity,
                              std::size_t skip) noexcept;
}  // namespace beacon::detail::platform
