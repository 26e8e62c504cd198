// Scenarios of the interleaving checker: each names a protocol, a few
// threads driving the real primitive, and the invariants that must hold in
// every schedule (see scheduler.hpp for how schedules are explored).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "../support/task.hpp"
#include "scheduler.hpp"

namespace beacon::checker {

using namespace std::chrono_literals;

// A timed wait's limit: it never passes on the clock during a check, so the
// wait ends by time-out only when the scheduler chooses (at any point).
inline constexpr auto timed = 1h;

struct scenario {
  std::string name;
  int preemption_bound;
  std::function<execution()> make;
};

inline std::vector<scenario>& scenarios() {
  static std::vector<scenario> all;
  return all;
}

// `const registrar r{{"name", bound, make}};` adds a scenario at start-up.
struct registrar {
  explicit registrar(scenario s) { scenarios().push_back(std::move(s)); }
};

// The tests' coroutine task (starts at once, destroyed with its owner; see
// support/task.hpp), over a plain flag: a test thread's final store to an
// atomic would be a scheduling point of its own, and the check reads the
// flag only after every thread has finished.
struct plain_flag {
  bool value;
  void store(bool v, std::memory_order) noexcept { value = v; }
  bool load(std::memory_order) const noexcept { return value; }
};
using task = beacon_test::basic_task<plain_flag>;

}  // namespace beacon::checker
