// A stack trace recorded where a waiter blocks or awaits: once_event
// receivers capture one in debug builds (detail/once_protocol.hpp), and the
// parking lot's entry points at it (parking_lot::wait_site::trace) so that
// beacon/inspect.hpp can show it.
#pragma once

#include <cstddef>
#include <span>

#include "beacon/detail/platform.hpp"

namespace beacon::detail {

// Laid out alike in every build (whatever BEACON_AWAITER_TRACES says), so
// that a trace recorded in one translation unit can be read in another, and
// by the compiled library.
struct trace_record {
  static constexpr std::size_t capacity = 24;
  void* frames[capacity];
  std::size_t size = 0;
  // Records the stack, innermost first, skipping this function and the
  // one that calls it (the waiter's trace slot).
  void capture() noexcept { size = platform::capture_backtrace(frames, capacity, 2); }
  // The frames, innermost first.
  std::span<void* const> view() const noexcept { return {frames, size}; }
};

}  // namespace beacon::detail
