// The CPU facts on Windows (see platform.hpp and cpu.cpp): the CPUs of the
// process affinity mask, and SwitchToThread to give the CPU away.
#include <windows.h>

#include <bit>
#include <thread>

#include "beacon/detail/platform.hpp"

namespace beacon::detail::platform {

unsigned usable_cpus() noexcept {
  // The mask covers the process's processor group (at most 64 CPUs); a
  // process spans one group unless it asks for more.
  DWORD_PTR process = 0, system = 0;
  if (::GetProcessAffinityMask(::GetCurrentProcess(), &process, &system) && process != 0)
    return static_cast<unsigned>(std::popcount(static_cast<std::uint64_t>(process)));
  return std::thread::hardware_concurrency();  // 0 if unknown
}

unsigned cgroup_cpu_limit(std::string_view, std::string_view) noexcept { return 0; }

void yield() noexcept { (void)::SwitchToThread(); }

}  // namespace beacon::detail::platform
