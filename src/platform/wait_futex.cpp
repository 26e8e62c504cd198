// Linux backend: private futexes with absolute CLOCK_MONOTONIC deadlines.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>

#include "beacon/detail/platform.hpp"
#include "fault.hpp"

namespace beacon::detail::platform {
namespace {

long futex(const std::atomic<std::uint32_t>& word, int op, std::uint32_t val,
           const timespec* timeout, std::uint32_t mask) noexcept {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  return syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(&word), op, val,
                 timeout, nullptr, mask);
}

}  // namespace

bool masked_waits() noexcept { return true; }

bool wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
          deadline d) noexcept {
  return wait_masked(word, expected, FUTEX_BITSET_MATCH_ANY, d);
}

bool wait_masked(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                 std::uint32_t mask, deadline d) noexcept {
  if (fault::inject()) return true;  // a spurious wake-up (fault-injection builds)
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time (the steady
  // clock's), so an EINTR or spurious return never stretches the deadline.
  timespec abs{};
  const timespec* timeout = nullptr;
  if (!d.is_never()) {
    if (d.ns <= 0) return false;
    abs.tv_sec = static_cast<time_t>(d.ns / 1'000'000'000);
    abs.tv_nsec = static_cast<long>(d.ns % 1'000'000'000);
    timeout = &abs;
  }
  const long r =
      futex(word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected, timeout, mask);
  if (r == -1 && errno == ETIMEDOUT) return false;
  // 0 (woken, maybe spuriously), EAGAIN (value differed), EINTR: the caller
  // re-checks its condition and calls again with the same deadline.
  return true;
}

void wake_one(const std::atomic<std::uint32_t>& word) noexcept {
  futex(word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, nullptr, 0);
}

void wake_all(const std::atomic<std::uint32_t>& word) noexcept {
  futex(word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX, nullptr, 0);
}

// FUTEX_WAKE wakes waiters whatever their bitset (it is FUTEX_WAKE_BITSET
// with MATCH_ANY); this one only those listening for a bit of `mask`, and
// every one of them (INT_MAX): see platform.hpp for why not one.
void wake_masked(const std::atomic<std::uint32_t>& word, std::uint32_t mask) noexcept {
  futex(word, FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG, INT_MAX, nullptr, mask);
}

}  // namespace beacon::detail::platform
