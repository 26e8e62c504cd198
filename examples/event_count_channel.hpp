// A bounded MPMC channel: Dmitry Vyukov's bounded MPMC queue (a lock-free
// ring buffer) made blocking by two beacon::event_counts, one for each
// direction. Blocking, try, timed and co_await forms; any number of
// producers and consumers, threads and coroutines mixed.
//
// The pattern, for any lock-free structure whose try-operations fail only
// when the operation is genuinely impossible at that moment:
//   send:  not_full.wait([&] { return queue.try_push(v); });  not_empty.notify_one();
//   recv:  v = not_empty.wait([&] { return queue.try_pop(); }); not_full.notify_one();
// One successful push makes one pop possible, so one notify_one() per
// operation suffices, and event_count passes each one to a waiter that
// checks for the item (or the free cell).
//
// That premise matters: in Vyukov's original queue a pop fails while the
// producer of the next cell is between claiming it and publishing it, even if
// later cells are full; a consumer woken for one of those later cells would
// then go back to sleep with the item still queued. So, as crossbeam's
// ArrayQueue does, the try-operations here wait out an operation in progress
// on their cell (a few instructions, unless that thread was preempted) and
// fail only on a full or empty ring.
#pragma once

#include <beacon/detail/platform.hpp>
#include <beacon/event_count.hpp>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>

namespace example {

// Vyukov's bounded MPMC queue. Capacity: a power of two (1 included).
template <class T>
class mpmc_ring {
 public:
  explicit mpmc_ring(std::size_t capacity)
      : mask_(capacity - 1), cells_(std::make_unique<cell[]>(capacity)) {
    if (capacity == 0 || (capacity & (capacity - 1)) != 0)
      throw std::invalid_argument("mpmc_ring: capacity must be a power of two");
    for (std::size_t i = 0; i < capacity; ++i)
      cells_[i].seq.store(free_for(i), std::memory_order_relaxed);
  }
  mpmc_ring(const mpmc_ring&) = delete;
  mpmc_ring& operator=(const mpmc_ring&) = delete;
  ~mpmc_ring() {
    while (try_pop()) {
    }
  }

  std::size_t capacity() const noexcept { return mask_ + 1; }

  // Moves `v` in and returns true, or returns false (v untouched) if full.
  bool try_push(T& v) {
    std::size_t pos = enqueue_pos_.load(std::memory_order_relaxed);
    for (unsigned spins = 0;;) {
      cell& c = cells_[pos & mask_];
      // Acquire pairs with the release in try_pop (the cell is free).
      const std::size_t seq = c.seq.load(std::memory_order_acquire);
      const auto dif = static_cast<std::intptr_t>(seq - free_for(pos));
      if (dif == 0) {
        if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          ::new (static_cast<void*>(c.storage)) T(std::move(v));
          // Release: the value is visible to the consumer that sees it.
          c.seq.store(full_with(pos), std::memory_order_release);
          return true;
        }
      } else if (dif < 0) {
        // The cell still holds the item of the previous lap. Full, unless its
        // consumer has claimed it and is moving it out: then wait for that.
        if (dequeue_pos_.load(std::memory_order_relaxed) + capacity() <= pos)
          return false;
        backoff(spins);
        pos = enqueue_pos_.load(std::memory_order_relaxed);
      } else {
        pos = enqueue_pos_.load(std::memory_order_relaxed);  // another producer won
      }
    }
  }

  // Moves the oldest value out, or returns nullopt if empty.
  std::optional<T> try_pop() {
    std::size_t pos = dequeue_pos_.load(std::memory_order_relaxed);
    for (unsigned spins = 0;;) {
      cell& c = cells_[pos & mask_];
      // Acquire pairs with the release in try_push (the value is there).
      const std::size_t seq = c.seq.load(std::memory_order_acquire);
      const auto dif = static_cast<std::intptr_t>(seq - full_with(pos));
      if (dif == 0) {
        if (dequeue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          T* p = std::launder(reinterpret_cast<T*>(c.storage));
          std::optional<T> out(std::move(*p));
          p->~T();
          // Release: our reads of the cell are done before a producer reuses it.
          c.seq.store(free_for(pos + capacity()), std::memory_order_release);
          return out;
        }
      } else if (dif < 0) {
        // Not published. Empty, unless a producer has claimed this position
        // and is writing it: then wait for that.
        if (enqueue_pos_.load(std::memory_order_relaxed) == pos) return std::nullopt;
        backoff(spins);
        pos = dequeue_pos_.load(std::memory_order_relaxed);
      } else {
        pos = dequeue_pos_.load(std::memory_order_relaxed);  // another consumer won
      }
    }
  }

 private:
  // A cell's sequence word, for the position p it serves next: 2p while it
  // is free for p's producer, 2p + 1 once it holds p's value; consuming it
  // makes it 2(p + capacity). (Vyukov's original uses p and p + 1, which
  // cannot tell "full" from "free" when the capacity is 1.)
  static constexpr std::size_t free_for(std::size_t pos) noexcept { return 2 * pos; }
  static constexpr std::size_t full_with(std::size_t pos) noexcept { return 2 * pos + 1; }

  struct cell {
    std::atomic<std::size_t> seq{0};  // see free_for / full_with
    alignas(T) unsigned char storage[sizeof(T)];
  };

  static void backoff(unsigned& spins) {
    if (++spins < 32)
      beacon::detail::platform::cpu_relax();
    else
      std::this_thread::yield();  // the other thread may have been preempted
  }

  const std::size_t mask_;
  std::unique_ptr<cell[]> cells_;
  // Next position to push / pop; monotonic (wrapping after 2^64 operations).
  alignas(64) std::atomic<std::size_t> enqueue_pos_{0};
  alignas(64) std::atomic<std::size_t> dequeue_pos_{0};
};

// Awaits `inner` (an event_count::async_waiter), then notifies the other
// side: the co_await form of "wait for the predicate, then notify_one()".
template <class Inner>
struct then_notify {
  Inner inner;
  beacon::event_count& other;

  bool await_ready() { return inner.await_ready(); }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    return inner.await_suspend(h);
  }
  auto await_resume() {
    if constexpr (std::is_void_v<decltype(inner.await_resume())>) {
      inner.await_resume();
      other.notify_one();
    } else {
      auto v = inner.await_resume();
      other.notify_one();
      return v;
    }
  }
};

template <class Pred>
then_notify<beacon::event_count::async_waiter<Pred>> wait_then_notify(
    beacon::event_count& ec, Pred p, beacon::event_count& other) {
  return {ec.async_wait(std::move(p)), other};
}

// A bounded multi-producer multi-consumer channel. Capacity: a power of two.
//
// Every value sent is received exactly once. Blocked senders and receivers
// are served in FIFO order of their waiting (event_count), and no waiter
// sleeps while its operation is possible. Memory ordering: what a sender did
// before sending a value is visible to the receiver of that value.
//
// @code
//   example::bounded_channel<job> ch(64);
//   std::thread worker([&] { for (;;) run(ch.recv()); });
//   ch.send(job{...});                       // blocks while 64 are queued
//   task consumer() { job j = co_await ch.async_recv(); ... }
// @endcode
template <class T>
class bounded_channel {
 public:
  explicit bounded_channel(std::size_t capacity) : ring_(capacity) {}

  std::size_t capacity() const noexcept { return ring_.capacity(); }

  // Never block. try_send moves `v` only when it succeeds.
  bool try_send(T&& v) {
    if (!ring_.try_push(v)) return false;
    not_empty_.notify_one();
    return true;
  }
  bool try_send(const T& v) {
    T copy(v);
    return try_send(std::move(copy));
  }
  std::optional<T> try_recv() {
    std::optional<T> v = ring_.try_pop();
    if (v) not_full_.notify_one();
    return v;
  }

  // Block while full / empty.
  void send(T v) {
    not_full_.wait([&] { return ring_.try_push(v); });
    not_empty_.notify_one();
  }
  T recv() {
    T v = not_empty_.wait([&] { return ring_.try_pop(); });
    not_full_.notify_one();
    return v;
  }

  // Timed: false / nullopt when the time is up (never early). A failed
  // send_for leaves `v` untouched.
  template <class Rep, class Period>
  bool send_for(const std::chrono::duration<Rep, Period>& d, T&& v) {
    if (!not_full_.wait_for(d, [&] { return ring_.try_push(v); })) return false;
    not_empty_.notify_one();
    return true;
  }
  template <class Clock, class Duration>
  bool send_until(const std::chrono::time_point<Clock, Duration>& t, T&& v) {
    if (!not_full_.wait_until(t, [&] { return ring_.try_push(v); })) return false;
    not_empty_.notify_one();
    return true;
  }
  template <class Rep, class Period>
  std::optional<T> recv_for(const std::chrono::duration<Rep, Period>& d) {
    std::optional<T> v = not_empty_.wait_for(d, [&] { return ring_.try_pop(); });
    if (v) not_full_.notify_one();
    return v;
  }
  template <class Clock, class Duration>
  std::optional<T> recv_until(const std::chrono::time_point<Clock, Duration>& t) {
    std::optional<T> v = not_empty_.wait_until(t, [&] { return ring_.try_pop(); });
    if (v) not_full_.notify_one();
    return v;
  }

  // `co_await ch.async_send(v)`; `T v = co_await ch.async_recv()`. The
  // coroutine is resumed on the thread that made the operation possible.
  auto async_send(T v) {
    return wait_then_notify(
        not_full_, [this, v = std::move(v)]() mutable { return ring_.try_push(v); },
        not_empty_);
  }
  auto async_recv() {
    return wait_then_notify(
        not_empty_, [this] { return ring_.try_pop(); }, not_full_);
  }

  // Registered waiters on each side (diagnostics and tests).
  std::size_t waiting_senders() const noexcept { return not_full_.waiters(); }
  std::size_t waiting_receivers() const noexcept { return not_empty_.waiters(); }

 private:
  mpmc_ring<T> ring_;
  beacon::event_count not_full_;   // senders wait here for a free cell
  beacon::event_count not_empty_;  // receivers wait here for a value
};

}  // namespace example
