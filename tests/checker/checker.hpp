// Scenarios of the interleaving checker: each names a protocol, a few
// threads driving the real primitive, and the invariants that must hold in
// every schedule (see scheduler.hpp for how schedules are explored).
#pragma once

#include <chrono>
#include <coroutine>
#include <exception>
#include <functional>
#include <string>
#include <utility>
#include <vector>

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

// A coroutine that starts at once and records that it ran to its end;
// destroyed (wherever it is suspended) with its owner.
class task {
 public:
  struct promise_type {
    bool* done;
    template <class... Args>
    explicit promise_type(bool* d, Args&&...) noexcept : done(d) {}
    task get_return_object() noexcept {
      return task{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_void() noexcept { *done = true; }
    void unhandled_exception() noexcept { std::terminate(); }
  };
  task() noexcept = default;
  task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  task& operator=(task&& o) noexcept {
    std::swap(h_, o.h_);
    return *this;
  }
  ~task() {
    if (h_) h_.destroy();
  }

 private:
  explicit task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

}  // namespace beacon::checker
