// A single-slot MPMC channel for non-zero values: async-event's example
// (examples/ of the async-event crate), on beacon::event_count. The slot is
// one atomic word, 0 when empty; senders wait for it to be empty, receivers
// for it to be full, each on its own event_count.
#pragma once

#include <beacon/event_count.hpp>

#include <atomic>
#include <cassert>
#include <chrono>
#include <concepts>
#include <optional>

#include "event_count_channel.hpp"  // then_notify

namespace example {

// Any number of senders and receivers; each value sent is received once.
// Memory ordering: what a sender did before send() is visible to the
// receiver of its value (release / acquire on the slot).
//
// @code
//   example::slot_channel<std::uint64_t> ch;
//   std::thread t([&] { ch.send(42); });
//   assert(ch.recv() == 42);
// @endcode
template <std::unsigned_integral T>
class slot_channel {
 public:
  constexpr slot_channel() noexcept = default;

  // Precondition for every send: v != 0.
  bool try_send(T v) noexcept {
    if (!put(v)) return false;
    not_empty_.notify_one();
    return true;
  }
  std::optional<T> try_recv() noexcept {
    std::optional<T> v = take();
    if (v) not_full_.notify_one();
    return v;
  }

  void send(T v) noexcept {
    not_full_.wait([&] { return put(v); });
    not_empty_.notify_one();
  }
  T recv() noexcept {
    const T v = not_empty_.wait([&] { return take(); });
    not_full_.notify_one();
    return v;
  }

  template <class Rep, class Period>
  bool send_for(const std::chrono::duration<Rep, Period>& d, T v) noexcept {
    if (!not_full_.wait_for(d, [&] { return put(v); })) return false;
    not_empty_.notify_one();
    return true;
  }
  template <class Rep, class Period>
  std::optional<T> recv_for(const std::chrono::duration<Rep, Period>& d) noexcept {
    std::optional<T> v = not_empty_.wait_for(d, [&] { return take(); });
    if (v) not_full_.notify_one();
    return v;
  }

  auto async_send(T v) {
    return wait_then_notify(
        not_full_, [this, v] { return put(v); }, not_empty_);
  }
  auto async_recv() {
    return wait_then_notify(
        not_empty_, [this] { return take(); }, not_full_);
  }

 private:
  bool put(T v) noexcept {
    assert(v != 0 && "slot_channel carries non-zero values");
    T empty = 0;
    // Release pairs with the acquire in take().
    return slot_.compare_exchange_strong(empty, v, std::memory_order_release,
                                         std::memory_order_relaxed);
  }
  std::optional<T> take() noexcept {
    T v = slot_.load(std::memory_order_relaxed);
    while (v != 0) {
      // Acquire pairs with the release in put().
      if (slot_.compare_exchange_weak(v, T{0}, std::memory_order_acquire,
                                      std::memory_order_relaxed))
        return v;
    }
    return std::nullopt;
  }

  std::atomic<T> slot_{0};         // 0: empty; otherwise the value sent
  beacon::event_count not_full_;   // senders wait here for an empty slot
  beacon::event_count not_empty_;  // receivers wait here for a value
};

}  // namespace example
