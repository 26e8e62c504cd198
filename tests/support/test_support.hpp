// Test support: a minimal coroutine task (support/task.hpp), and bounded waits so that a
// bug makes a test fail instead of hanging. Nothing here sleeps to synchronize: tests
// wait for an observable condition (e.g. a thread being queued in the parking lot), with
// a time limit.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <exception>
#include <system_error>
#include <thread>
#include <vector>

#include "beacon/parking_lot.hpp"
#include "task.hpp"

namespace beacon_test {

using namespace std::chrono_literals;

// Generous: only a broken primitive takes this long.
inline constexpr auto patience = 20s;

// Polls `cond` (yielding) until it holds or `limit` passes; returns whether it held.
template <class Cond>
bool eventually(Cond&& cond, std::chrono::nanoseconds limit = patience) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::yield();
  }
  return true;
}

// Waits until `n` waiters are queued in the parking lot on `address`.
inline bool queued_eventually(const void* address, std::size_t n) {
  return eventually([&] { return beacon::parking_lot::queued(address) == n; });
}

// The key an event's waiters are queued on: its (only) byte.
template <class E>
const void* key(const E& e) {
  return static_cast<const void*>(&e);
}

// Joins on destruction, so a failed ASSERT cannot leave a joinable thread.
class scoped_thread {
 public:
  template <class F>
  explicit scoped_thread(F&& f) : t_(std::forward<F>(f)) {}
  scoped_thread(scoped_thread&&) = default;
  ~scoped_thread() {
    if (t_.joinable()) t_.join();
  }
  void join() { t_.join(); }
  std::thread::id get_id() const { return t_.get_id(); }

 private:
  std::thread t_;
};

// Starts `n` threads that each run `body`; they are joined when the returned
// vector is destroyed.
template <class Body>
std::vector<scoped_thread> start_threads(int n, Body body) {
  std::vector<scoped_thread> threads;
  threads.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    threads.emplace_back(body);
  return threads;
}

// The error code of the std::system_error that `f()` throws; 0 if none.
inline int error_of(auto&& f) {
  try {
    f();
  } catch (const std::system_error& e) {
    return e.code().value();
  }
  return 0;
}

}  // namespace beacon_test
