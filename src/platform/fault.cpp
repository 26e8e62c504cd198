// The fault-injection stream (see fault.hpp).
#include "fault.hpp"

#include <atomic>
#include <cstdlib>

namespace beacon::detail::platform::fault {

#if defined(BEACON_FAULT_INJECTION)
namespace {

std::uint64_t seed() noexcept {
  static const std::uint64_t s = [] {
    const char* v = std::getenv("BEACON_FAULT_SEED");
    return v ? std::strtoull(v, nullptr, 10) : std::uint64_t{1};
  }();
  return s;
}

}  // namespace

bool inject() noexcept {
  // Each thread gets its own stream, derived from the seed and the order in
  // which threads first get here, so a single-threaded run replays exactly.
  static std::atomic<std::uint64_t> threads{0};
  thread_local std::uint64_t state =
      (seed() + 0x9E3779B97F4A7C15 * (threads.fetch_add(1) + 1)) | 1;
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return (state & 3) == 0;
}
#endif

}  // namespace beacon::detail::platform::fault
