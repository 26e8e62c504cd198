// Stack traces for inspect_awaiter(s) on Windows: CaptureStackBackTrace
// (RtlCaptureStackBackTrace). describe_trace prints the addresses with the
// module they fall in; symbol names need dbghelp and the PDB, which a
// mingw-w64 build does not have.
#include <windows.h>

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>

#include "beacon/detail/platform.hpp"
#include "beacon/once_event.hpp"

namespace beacon {
namespace detail::platform {

std::size_t capture_backtrace(void** frames, std::size_t capacity,
                              std::size_t skip) noexcept {
  // +1: this function's own frame. The API takes at most 62 frames in all on
  // older Windows (skip + count < 63).
  const DWORD to_skip = static_cast<DWORD>(std::min<std::size_t>(skip + 1, 62));
  const DWORD count = static_cast<DWORD>(std::min<std::size_t>(capacity, 62 - to_skip));
  return ::CaptureStackBackTrace(to_skip, count, frames, nullptr);
}

}  // namespace detail::platform

std::string describe_trace(awaiter_trace trace) {
  std::string out;
  for (void* frame : trace) {
    char line[MAX_PATH + 64];
    HMODULE module = nullptr;
    char name[MAX_PATH] = "?";
    if (::GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
                                 GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                             static_cast<LPCSTR>(frame), &module))
      (void)::GetModuleFileNameA(module, name, sizeof name);
    // 0x and lowercase hex, as glibc's backtrace_symbols() (mingw's "%p"
    // prints neither): describe_waiters() prints these lines too.
    std::snprintf(line, sizeof line, "%s(+0x%" PRIxPTR ") [0x%" PRIxPTR "]\n", name,
                  reinterpret_cast<std::uintptr_t>(frame) -
                      reinterpret_cast<std::uintptr_t>(module),
                  reinterpret_cast<std::uintptr_t>(frame));
    out += line;
  }
  return out;
}

}  // namespace beacon
