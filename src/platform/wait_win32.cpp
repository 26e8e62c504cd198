// Windows backend: WaitOnAddress / WakeByAddressSingle / WakeByAddressAll
// (Windows 8 and later; the synchronization library).
//
// Why no wake-up is lost: WaitOnAddress compares *address with the expected
// value inside the kernel's wait-on-address lock and sleeps only if they are
// equal; a waker changes the word before calling WakeByAddress*, which takes
// the same lock. So either the waiter sees the new value, or it is asleep
// when the wake comes.
#include <windows.h>

#include <algorithm>
#include <cstdint>

#include "beacon/detail/platform.hpp"
#include "fault.hpp"

namespace beacon::detail::platform {

bool wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
          deadline d) noexcept {
  if (fault::inject()) return true;  // a spurious wake-up (fault-injection builds)
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  DWORD ms = INFINITE;
  if (!d.is_never()) {
    const std::int64_t left = d.remaining_ns();
    if (left == 0) return false;
    // Relative milliseconds, rounded up so the wait never ends early; below
    // INFINITE, which would mean "no limit".
    ms = static_cast<DWORD>(
        std::min<std::int64_t>((left + 999'999) / 1'000'000, INFINITE - 1));
  }
  auto* address = const_cast<std::atomic<std::uint32_t>*>(&word);
  if (::WaitOnAddress(address, &expected, sizeof expected, ms)) return true;
  // ERROR_TIMEOUT: the relative time ran out. A wait cut short by a capped
  // timeout, or one whose timer fired early, is re-armed by the caller,
  // which loops with the same absolute deadline as long as it has not passed.
  return !d.passed();
}

// No masked waits in WaitOnAddress: the mask is ignored (a wait listens for
// everything, a masked wake wakes every waiter of the word), which is
// correct but wakes too many, so the parking lot keeps one word per parked
// thread here.
bool masked_waits() noexcept { return false; }

bool wait_masked(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                 std::uint32_t, deadline d) noexcept {
  return wait(word, expected, d);
}

void wake_masked(const std::atomic<std::uint32_t>& word, std::uint32_t) noexcept {
  ::WakeByAddressAll(const_cast<std::atomic<std::uint32_t>*>(&word));
}

// Every word beacon waits on has one waiter at a time (a parked entry's own
// wake word), so a single wake is the whole wake. (An earlier version used
// WakeByAddressAll here while a soak hang under Wine was suspected on this
// parker; the hang was the soak's own std::atomic<bool>::wait, see
// tests/soak/soak.cpp `completion`.)
void wake_one(const std::atomic<std::uint32_t>& word) noexcept {
  ::WakeByAddressSingle(const_cast<std::atomic<std::uint32_t>*>(&word));
}

void wake_all(const std::atomic<std::uint32_t>& word) noexcept {
  ::WakeByAddressAll(const_cast<std::atomic<std::uint32_t>*>(&word));
}

}  // namespace beacon::detail::platform
