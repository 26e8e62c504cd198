// A minimal coroutine task for the tests and the soak (no GoogleTest here, so
// the soak, a plain executable, can use it too).
#pragma once

#include <atomic>
#include <coroutine>
#include <exception>
#include <utility>

namespace beacon_test {

// A coroutine that starts at once and can be observed from other threads:
// `finished()` becomes true after the body ran to its end (the frame is then
// suspended at its final point and safe to destroy).
class task {
 public:
  struct promise_type {
    std::atomic<bool> finished{false};
    task get_return_object() {
      return task{std::coroutine_handle<promise_type>::from_promise(*this)};
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

  task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  task& operator=(task&&) = delete;
  ~task() {
    if (h_) h_.destroy();
  }
  bool finished() const { return h_.promise().finished.load(std::memory_order_acquire); }
  // Destroys the coroutine now (suspended or finished).
  void destroy() {
    h_.destroy();
    h_ = {};
  }

 private:
  explicit task(std::coroutine_handle<promise_type> h) : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

}  // namespace beacon_test
