// Finding two addresses that share a parking-lot bucket, for the test and
// the benchmark of a crowded bucket (no GoogleTest here).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace beacon_test {

// Up to `count` offsets d in [1, span), smallest first, such that base + d
// falls in the same bucket as base for every table of up to 2^20 buckets
// (the lot indexes its table by the top bits of a Fibonacci hash of the
// address); fewer if the span holds fewer (about one per MiB).
inline std::vector<std::size_t> bucket_mate_offsets(const unsigned char* base,
                                                    std::size_t span, std::size_t count) {
  const auto top = [](const void* a) {
    return (reinterpret_cast<std::uintptr_t>(a) * UINT64_C(0x9E3779B97F4A7C15)) >> 44;
  };
  std::vector<std::size_t> found;
  for (std::size_t d = 1; d < span && found.size() < count; ++d)
    if (top(base + d) == top(base)) found.push_back(d);
  return found;
}

// The smallest such offset; 0 if there is none.
inline std::size_t bucket_mate_offset(const unsigned char* base, std::size_t span) {
  const std::vector<std::size_t> d = bucket_mate_offsets(base, span, 1);
  return d.empty() ? 0 : d.front();
}

}  // namespace beacon_test
