// Runs the two channels built on beacon::event_count:
//  1. a bounded MPMC channel (examples/event_count_channel.hpp): four
//     producer threads, three consumer threads and one consumer coroutine
//     share 40,000 values through 16 cells; every value arrives once;
//  2. async-event's single-slot channel (examples/event_count_slot_channel.hpp):
//     two threads play ping-pong through two slots.
#include <atomic>
#include <coroutine>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <thread>
#include <vector>

#include "detached.hpp"
#include "event_count_channel.hpp"
#include "event_count_slot_channel.hpp"

namespace {

using example::detached;  // examples/detached.hpp

constexpr std::uint64_t stop_value = ~std::uint64_t{0};

detached coroutine_consumer(example::bounded_channel<std::uint64_t>& ch,
                            std::atomic<std::uint64_t>& sum,
                            std::atomic<std::uint64_t>& count, std::atomic<bool>& done) {
  for (;;) {
    const std::uint64_t v = co_await ch.async_recv();  // resumed on a producer's thread
    if (v == stop_value) break;
    sum.fetch_add(v, std::memory_order_relaxed);
    count.fetch_add(1, std::memory_order_relaxed);
  }
  done.store(true, std::memory_order_release);
}

bool bounded_channel_demo() {
  constexpr int producers = 4, thread_consumers = 3, per_producer = 10'000;
  example::bounded_channel<std::uint64_t> ch(16);
  std::atomic<std::uint64_t> sum{0}, count{0};
  std::atomic<bool> coroutine_done{false};
  coroutine_consumer(ch, sum, count, coroutine_done);

  std::vector<std::thread> threads;
  threads.reserve(thread_consumers);
  for (int c = 0; c < thread_consumers; ++c)
    threads.emplace_back([&] {
      for (;;) {
        const std::uint64_t v = ch.recv();
        if (v == stop_value) return;
        sum.fetch_add(v, std::memory_order_relaxed);
        count.fetch_add(1, std::memory_order_relaxed);
      }
    });
  std::vector<std::thread> senders;
  senders.reserve(producers);
  for (std::uint64_t p = 0; p < producers; ++p)
    senders.emplace_back([&, p] {
      for (std::uint64_t i = 1; i <= per_producer; ++i)
        ch.send(p * per_producer + i);
    });
  for (auto& t : senders)
    t.join();
  for (int c = 0; c < thread_consumers + 1; ++c)
    ch.send(stop_value);  // one per consumer, the coroutine included
  for (auto& t : threads)
    t.join();
  while (!coroutine_done.load(std::memory_order_acquire))
    std::this_thread::yield();  // it has its stop value; it finishes at once

  const std::uint64_t n = std::uint64_t{producers} * per_producer;
  const bool ok = count.load() == n && sum.load() == n * (n + 1) / 2;
  std::printf("bounded channel: %llu values through 16 cells, sum %s\n",
              static_cast<unsigned long long>(count.load()), ok ? "correct" : "WRONG");
  return ok;
}

bool slot_channel_demo() {
  constexpr std::uint64_t last = 10'000;
  example::slot_channel<std::uint64_t> ping, pong;
  std::thread echo([&] {
    for (;;) {
      const std::uint64_t v = ping.recv();
      if (v >= last) return;
      pong.send(v + 1);
    }
  });
  bool ok = true;
  std::uint64_t v = 1;
  while (v < last) {
    ping.send(v);
    const std::uint64_t w = pong.recv();
    ok = ok && w == v + 1;
    v = w;
  }
  ping.send(last);  // ends the echo thread
  echo.join();
  std::printf("slot channel: %llu round trips, %s\n",
              static_cast<unsigned long long>(last - 1),
              ok ? "in order" : "OUT OF ORDER");
  return ok;
}

}  // namespace

int main() {
  const bool a = bounded_channel_demo();
  const bool b = slot_channel_demo();
  return a && b ? 0 : 1;
}
