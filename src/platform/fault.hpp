// Fault injection for the platform layer (test builds only): with
// -DBEACON_FAULT_INJECTION=ON, waits return spuriously and interruptible
// system calls fail with EINTR at random, from a seeded, per-thread,
// reproducible stream (BEACON_FAULT_SEED, default 1). Every test suite must
// pass unchanged under it: beacon never relies on a wait returning only
// when woken, nor on a system call not being interrupted. In normal builds
// inject() is a constant false and costs nothing.
#pragma once

#include <cerrno>
#include <cstdint>

namespace beacon::detail::platform::fault {

#if defined(BEACON_FAULT_INJECTION)
// True for about one call in four.
bool inject() noexcept;
#else
constexpr bool inject() noexcept { return false; }
#endif

// Runs the system call `call()` (returning -1 and setting errno on
// failure), or fails it with EINTR when a fault is injected.
template <class Call>
auto interruptible(Call&& call) noexcept(noexcept(call())) -> decltype(call()) {
  if (inject()) {
    errno = EINTR;
    return -1;
  }
  return call();
}

}  // namespace beacon::detail::platform::fault
