// A minimal coroutine task for the tests, the soak and the interleaving
// checker (no GoogleTest here, so that plain executables can use it too).
#pragma once

#include <atomic>
#include <coroutine>
#include <exception>
#include <utility>

namespace beacon_test {

// A coroutine that starts at once and is destroyed by its owner (wherever it
// is suspended); `finished()` becomes true after the body ran to its end (the
// frame is then suspended at its final point and safe to destroy).
//
// Flag keeps `finished` behind std::atomic<bool>'s store / load: an atomic, so
// that other threads may observe it (`task`). The checker passes a plain flag
// instead: its threads run one at a time, and every atomic in its scenarios
// would be a scheduling point of its own.
template <class Flag>
class basic_task {
 public:
  struct promise_type {
    Flag finished{false};
    basic_task get_return_object() {
      return basic_task{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_never initial_suspend() noexcept { return {}; }
    auto final_suspend() noexcept {
      struct final_awaiter {
        bool await_ready() noexcept { return false; }
        void await_suspend(std::coroutine_handle<promise_type> h) noexcept {
          h.promise().finished.store(true, std::memory_order_release);
        }
        void await_resume() noexcept {}
      };
      return final_awaiter{};
    }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };

  basic_task() noexcept = default;  // no coroutine: for a member assigned later
  basic_task(basic_task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  basic_task& operator=(basic_task&& o) noexcept {
    std::swap(h_, o.h_);  // o destroys what this held
    return *this;
  }
  ~basic_task() { destroy(); }
  bool finished() const { return h_.promise().finished.load(std::memory_order_acquire); }
  // Destroys the coroutine now (suspended or finished), if there is one.
  void destroy() {
    if (h_) std::exchange(h_, {}).destroy();
  }

 private:
  explicit basic_task(std::coroutine_handle<promise_type> h) : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

using task = basic_task<std::atomic<bool>>;

}  // namespace beacon_test
