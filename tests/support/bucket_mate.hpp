// Finding two addresses that share a parking-lot bucket, for the test and
// the benchmark of a crowded bucket (no GoogleTest here).
#pragma once

#include <cstddef>
#include <cstdint>

namespace beacon_test {

// The smallest d in [1, span) such that base + d falls in the same bucket as
// base for every table of up to 2^20 buckets (the lot indexes its table by
// the top bits of a Fibonacci hash of the address); 0 if there is none.
inline std::size_t bucket_mate_offset(const unsigned char* base, std::size_t span) {
  const auto top = [](const void* a) {
    return (reinterpret_cast<std::uintptr_t>(a) * UINT64_C(0x9E3779B97F4A7C15)) >> 44;
  };
  for (std::size_t d = 1; d < span; ++d)
    if (top(base + d) == top(base)) return d;
  return 0;
}

}  // namespace beacon_test
