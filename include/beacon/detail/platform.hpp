// The platform layer's interface: the only OS services beacon's in-process
// primitives use. It is a wait-on-address interface (Linux futex, Windows
// WaitOnAddress, macOS os_sync_wait_on_address), so a port is one file in
// src/platform/. Implementations:
//   src/platform/wait_futex.cpp     Linux private futexes, absolute
//                                   CLOCK_MONOTONIC deadlines (FUTEX_WAIT_BITSET)
//   src/platform/wait_portable.cpp  std::mutex + std::condition_variable in a
//                                   hashed table (after folly's EmulatedFutex)
// selected by the CMake option BEACON_PLATFORM.
#pragma once

#include <atomic>
#include <cstdint>

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

// Whether a thread that waits for another thread should spin before it
// blocks: only when the calling thread may run on more than one CPU, so that
// the thread it waits for can run meanwhile. Cached per thread, refreshed
// every few hundred calls so a later change of affinity is seen.
bool spinning_useful() noexcept;

// The processor's spin-loop hint.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace beacon::detail::platform
