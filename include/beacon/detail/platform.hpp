// The platform layer's interface: every OS service that beacon's in-process
// primitives use, declared here and defined only in src/platform/ (after
// abseil's synchronization/internal/waiter_base.h, one interface, and one
// implementation selected at build time). It is a wait-on-address interface
// (Linux futex, Windows WaitOnAddress, macOS os_sync_wait_on_address), so a
// port is one file in src/platform/, plus the CPU facts the spin policy
// needs. Implementations:
//   src/platform/wait_futex.cpp     wait/wake: Linux private futexes, absolute
//                                   CLOCK_MONOTONIC deadlines (FUTEX_WAIT_BITSET)
//   src/platform/wait_portable.cpp  wait/wake: std::mutex +
//                                   std::condition_variable in a hashed table
//                                   (after folly's EmulatedFutex)
//   src/platform/cpu.cpp            multi_cpu, usable_cpus, the cgroup
//                                   quota parsing, yield, at_fork
// the wait/wake file selected by the CMake option BEACON_PLATFORM.
// tests/checker/checker_platform.cpp replaces all of them with a
// deterministic scheduler's implementation, to explore interleavings.
// src/platform/fault.hpp is the platform's own helper (fault injection in
// test builds), used by nothing above it.
//
// Three layers, each calling only the one below it:
//   primitives     the public headers but parking_lot.hpp and deadline.hpp,
//                  detail/parked_wait.hpp and the other cores in detail/,
//                  src/event_count.cpp, src/once_event.cpp
//   parking lot    parking_lot.hpp + src/parking_lot.cpp, the spin policy
//                  (detail/spin.hpp + src/spin.cpp), detail/spin_lock.hpp,
//                  detail/trace.hpp (a waiter's stack trace)
//   platform       this file + src/platform/
// beacon/deadline.hpp, a plain value type, is below all three: every layer
// uses it. No file of a lower layer includes one of a higher layer, except
// that a src/platform/ file implementing a public OS primitive (see below)
// includes that primitive's header.
//
// The walk from auto_reset_event::wait() to the futex, on Linux:
//   primitive   auto_reset_event::wait() tries its fast path (one CAS on the
//               event's byte, try_acquire()); on failure it calls
//               detail::parked_wait(core, deadline::never())
//               (detail/parked_wait.hpp), which calls into the lot twice:
//   lot         1. detail::spin_until (detail/spin.hpp) spins for the
//                  per-thread budget (detail::spin_budget_ns, src/spin.cpp),
//                  calling platform::multi_cpu() and platform::cpu_relax();
//               2. if that fails, parking_lot::park(&word, mark_parked, ...)
//                  (src/parking_lot.cpp) queues the thread under the bucket's
//                  spin_lock (which may call platform::yield()) and sleeps in
//   platform    platform::wait_masked(slot, generation, bit,
//               deadline::never()) (src/platform/wait_futex.cpp): the
//               thread sleeps on its address's wake slot, a generation word
//               shared by every thread parked on an address that hashes
//               there, listening for its own bit; the system call is
//               futex(FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG).
// The set() that wakes it walks the same way: auto_reset_core::set() ->
// parking_lot::unpark_one (lot) -> platform::wake_masked(slot, its bit)
// (platform) -> futex(FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG); an
// unpark_all makes the same one call with the bits of every thread it woke.
// (Where there are no masked waits, masked_waits() false, each parked thread
// sleeps in platform::wait on its entry's own word and is woken by
// platform::wake_one, one call per thread.)
//
// Two public primitives are OS objects themselves and do not use the lot:
// os_event (an eventfd; src/platform/os_event_linux.cpp defines the members
// os_event.hpp declares) and wait_context (epoll; wait_context.hpp declares
// its non-template core detail::epoll_set, defined in
// src/platform/wait_context_linux.cpp). Their OS code lives in src/platform/
// too, so src/platform/ is still the only code that calls the OS; their
// headers are their interface to it, and they call nothing declared here.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "beacon/deadline.hpp"

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

// Masked waits (Linux's FUTEX_WAIT_BITSET / FUTEX_WAKE_BITSET), for words
// that many threads sleep on, each listening for some bits: wait_masked
// blocks as wait() does, listening for `mask` (not 0); wake_masked wakes
// EVERY thread blocked in wait_masked on `word` whose mask shares a bit with
// `mask` (all of them, not one: another thread listening for the same bit
// could take a single wake and leave the one it was meant for asleep), and
// is safe on a stale address as wake_one is. wake_one / wake_all wake masked
// waiters too, whatever their mask.
//
// masked_waits(): whether the backend has them (the futex one). Where it has
// not, wait_masked ignores the mask and wake_masked is wake_all: correct,
// but every waiter of the word wakes, so the parking lot does not use them
// there and keeps one word per parked thread instead.
bool masked_waits() noexcept;
bool wait_masked(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                 std::uint32_t mask, deadline d) noexcept;
void wake_masked(const std::atomic<std::uint32_t>& word, std::uint32_t mask) noexcept;

// Whether this process may run on more than one CPU at once: on one CPU no
// other thread can make progress while we spin, so nothing in beacon spins
// there (the spin policy, detail/spin.hpp, and spin_lock ask this). Decided
// once, from usable_cpus(), when the library is loaded (so a thread pinned to
// one CPU later does not turn spinning off for everyone).
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

// Lets another thread run: what a lock that spun in vain does (the holder
// may be preempted and need this CPU). A function of the platform, not a
// direct std::this_thread::yield(), so that the interleaving checker's
// platform (tests/checker/) can turn it into a switch to another thread.
void yield() noexcept;

// A cheap monotonic clock, in nanoseconds, for timestamps that need only
// milliseconds (the lot's "parked since", for inspect.hpp): Linux's
// CLOCK_MONOTONIC_COARSE (read from memory the kernel updates every tick, a
// few ns; CLOCK_MONOTONIC costs ten times more under some hypervisors),
// the steady clock elsewhere. Its epoch is its own: compare it only with
// other readings of this function.
std::int64_t coarse_now_ns() noexcept;

// Registers handlers run around fork() (pthread_atfork where there is
// fork(); nothing elsewhere): `prepare` in the parent before the fork, then
// `parent` in the parent and `child` in the child after it. For the locks of
// the parking lot and of the portable parker: prepare takes them all, so the
// child's copy of them is consistent; the child resets them.
void at_fork(void (*prepare)(), void (*parent)(), void (*child)()) noexcept;

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
