// The platform layer of the interleaving checker: replaces
// src/platform/wait_*.cpp and cpu.cpp (see beacon/detail/platform.hpp) with
// the deterministic scheduler's blocking, so that a parked thread sleeps
// until the scheduler resumes it, and its deadline passes only when the
// scheduler chooses. Nothing spins: multi_cpu() is false, so the spin policy
// (detail/spin.hpp, src/spin.cpp) gives every wait a budget of zero and it
// parks at once, and a contended spin_lock yields (a switch to another
// thread). So each schedule is a sequence of atomic operations and
// park/unpark points.
#include <chrono>

#include "beacon/detail/platform.hpp"
#include "scheduler.hpp"

namespace beacon::detail::platform {

namespace {
const volatile std::uint32_t* raw(const std::atomic<std::uint32_t>& word) noexcept {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  return reinterpret_cast<const volatile std::uint32_t*>(&word);
}
}  // namespace

bool wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
          deadline d) noexcept {
  if (!checker::hooks::active()) return !d.passed();  // not a test thread: spurious
  return checker::hooks::wait(raw(word), expected, ~0u, !d.is_never(),
                              __builtin_return_address(0));
}

void wake_one(const std::atomic<std::uint32_t>& word) noexcept {
  checker::hooks::wake(raw(word), ~0u, false, __builtin_return_address(0));
}

void wake_all(const std::atomic<std::uint32_t>& word) noexcept {
  checker::hooks::wake(raw(word), ~0u, true, __builtin_return_address(0));
}

// Masked waits as the futex backend has them (so the checker explores the
// parking lot's wake slots, the protocol shipped on Linux).
bool masked_waits() noexcept { return true; }

bool wait_masked(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                 std::uint32_t mask, deadline d) noexcept {
  if (!checker::hooks::active()) return !d.passed();  // not a test thread: spurious
  return checker::hooks::wait(raw(word), expected, mask, !d.is_never(),
                              __builtin_return_address(0));
}

void wake_masked(const std::atomic<std::uint32_t>& word, std::uint32_t mask) noexcept {
  checker::hooks::wake(raw(word), mask, true, __builtin_return_address(0));
}

bool multi_cpu() noexcept { return false; }
void yield() noexcept { checker::hooks::yield(); }
// The checker never forks.
void at_fork(void (*)(), void (*)(), void (*)()) noexcept {}

std::int64_t coarse_now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace beacon::detail::platform
