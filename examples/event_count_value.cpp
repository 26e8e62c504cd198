// The async-event README example "Send a non-zero value asynchronously"
// (the async-event crate's README), in beacon: a thread stores a value in
// an atomic and notifies an event_count; a coroutine waits until the value is
// non-zero and takes it. Then the same wait from a blocked thread, which
// async-event (async only) does not have.
//
// The README's other example, the single-slot MPMC channel, is
// examples/event_count_slot_channel.hpp, run by event_count_channel.cpp.
#include <beacon/event_count.hpp>
#include <beacon/manual_reset_event.hpp>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <thread>

#include "detached.hpp"

namespace {

// Far longer than the example needs even on a loaded sanitizer run, and below
// ctest's 60 s time-out, so a lost wake-up fails with a message, not a hang.
constexpr auto patience = std::chrono::seconds(30);

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "FAILED: %s\n", what);
  std::_Exit(EXIT_FAILURE);
}

using example::detached;  // examples/detached.hpp

// The predicate of both waits: the value once it is non-zero.
std::optional<std::size_t> non_zero(const std::atomic<std::size_t>& value) {
  // A relaxed load is sufficient here: event_count's waits insert the fences
  // that pair with those of notify*().
  const std::size_t v = value.load(std::memory_order_relaxed);
  if (v != 0) return v;
  return std::nullopt;
}

// The README's `block_on(async move { ... })`: the coroutine reports its
// result through `received` and `done`, on which main blocks.
detached wait_until_set(const std::atomic<std::size_t>& value, beacon::event_count& event,
                        std::size_t& received, beacon::manual_reset_event& done) {
  received = co_await event.async_wait([&] { return non_zero(value); });
  done.set();
}

void set_concurrently(std::atomic<std::size_t>& value, beacon::event_count& event) {
  // A relaxed store is sufficient here: notify*() inserts the fences.
  value.store(42, std::memory_order_relaxed);
  event.notify_one();
}

bool from_a_coroutine() {
  std::atomic<std::size_t> value{0};
  beacon::event_count event;
  std::size_t received = 0;
  beacon::manual_reset_event done;

  // Started before the setter, so it finds 0 and really suspends; the
  // setter's notify_one() then resumes it inline, on the setter's thread.
  wait_until_set(value, event, received, done);
  std::thread setter([&] { set_concurrently(value, event); });

  if (!done.wait_for(patience)) fail("the notify did not resume the coroutine");
  setter.join();
  std::printf("coroutine received %zu\n", received);
  return received == 42;
}

bool from_a_thread() {
  std::atomic<std::size_t> value{0};
  beacon::event_count event;

  std::thread setter([&] { set_concurrently(value, event); });
  const std::optional<std::size_t> v =
      event.wait_for(patience, [&] { return non_zero(value); });
  if (!v) fail("the notify did not release the waiting thread");
  setter.join();
  std::printf("thread received %zu\n", *v);
  return *v == 42;
}

}  // namespace

int main() {
  const bool a = from_a_coroutine();
  const bool b = from_a_thread();
  return a && b ? EXIT_SUCCESS : EXIT_FAILURE;
}
