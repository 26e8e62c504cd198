// Stack traces for inspect_awaiter(s) (include/beacon/once_event.hpp):
// glibc's backtrace() and backtrace_symbols(), the only calls into the C
// library's unwinder. Where <execinfo.h> is missing, traces are empty.
#include <algorithm>
#include <cstdlib>
#include <string>

#include "beacon/detail/platform.hpp"
#include "beacon/once_event.hpp"

#if __has_include(<execinfo.h>)
#include <execinfo.h>
#define BEACON_HAVE_EXECINFO 1
#else
#define BEACON_HAVE_EXECINFO 0
#endif

namespace beacon {
namespace detail::platform {

std::size_t capture_backtrace(void** frames, std::size_t capacity,
                              std::size_t skip) noexcept {
#if BEACON_HAVE_EXECINFO
  // The first backtrace() loads libgcc's unwinder (which allocates); later
  // calls neither allocate nor make system calls.
  constexpr std::size_t max = 64;
  void* buf[max];
  const int n = ::backtrace(buf, static_cast<int>(std::min(max, capacity + skip + 1)));
  // +1: this function's own frame.
  const std::size_t first = std::min<std::size_t>(static_cast<std::size_t>(n), skip + 1);
  const std::size_t count = std::min(capacity, static_cast<std::size_t>(n) - first);
  std::copy_n(buf + first, count, frames);
  return count;
#else
  (void)frames;
  (void)capacity;
  (void)skip;
  return 0;
#endif
}

}  // namespace detail::platform

std::string describe_trace(awaiter_trace trace) {
  std::string out;
#if BEACON_HAVE_EXECINFO
  if (trace.empty()) return out;
  char** names = ::backtrace_symbols(trace.data(), static_cast<int>(trace.size()));
  for (std::size_t i = 0; i < trace.size(); ++i) {
    if (names)
      out += names[i];
    else
      out += "?";
    out += '\n';
  }
  std::free(names);
#else
  (void)trace;
#endif
  return out;
}

}  // namespace beacon
