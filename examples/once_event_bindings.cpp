// The `events` crate's README examples (docs.rs/events, module `once`), in
// beacon: one-shot events bound by reference, by shared pointer (the crate's
// Arc and Rc forms) and rented from pools, each in the thread-safe
// (once_event, OnceEvent) and the single-thread (local_once_event,
// LocalOnceEvent) variant. Where the crate writes `receiver.await`, a
// coroutine here does `co_await std::move(receiver)`; the first example also
// sends from another thread, so that the coroutine really suspends.
#include <beacon/local_once_event.hpp>
#include <beacon/manual_reset_event.hpp>
#include <beacon/once_event.hpp>

#include <chrono>
#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "detached.hpp"

namespace {

// Far longer than the example needs even on a loaded sanitizer run, and below
// ctest's 60 s time-out, so a lost wake-up fails with a message, not a hang.
constexpr auto patience = std::chrono::seconds(30);

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "FAILED: %s\n", what);
  std::_Exit(EXIT_FAILURE);
}

void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

using example::detached;  // examples/detached.hpp

// `let v = receiver.await.unwrap();`: the coroutine owns the receiver, stores
// what it receives in `out` and then sets `done`. A send before the co_await
// completes the coroutine inline; a later send resumes it on the sender's
// thread.
template <class Receiver, class T>
detached await_into(Receiver receiver, std::optional<T>& out,
                    beacon::manual_reset_event& done) {
  out = co_await std::move(receiver);
  done.set();
}

// Awaits `receiver` in a coroutine and returns the value; for the examples
// that send first, so the coroutine has finished when await_into returns.
template <class Receiver>
auto await_sent(Receiver receiver) {
  std::optional<typename Receiver::value_type> out;
  beacon::manual_reset_event done;
  await_into(std::move(receiver), out, done);
  check(done.try_wait(), "a value sent before co_await did not complete it at once");
  return *out;
}

void thread_safe_event() {
  // Create a thread-safe event for passing a string message
  beacon::once_event<std::string> event;
  auto [sender, receiver] = event.bind_by_ref();

  std::optional<std::string> message;
  beacon::manual_reset_event done;
  await_into(std::move(receiver), message, done);  // suspends: nothing sent yet
  // Send a message through the event, from another thread; the send resumes
  // the coroutine inline on that thread.
  std::thread t([sender = std::move(sender)]() mutable {
    std::move(sender).send("Hello, World!");
  });
  check(done.wait_for(patience), "the send did not resume the awaiting coroutine");
  t.join();
  check(message == "Hello, World!", "OnceEvent by reference: wrong message");
}

void single_thread_event() {
  // Create a local event for passing a string message
  beacon::local_once_event<std::string> event;
  auto [sender, receiver] = event.bind_by_ref();
  std::move(sender).send("Hello, World!");
  check(await_sent(std::move(receiver)) == "Hello, World!",
        "LocalOnceEvent by reference: wrong message");
}

void shared_event() {
  // Create a shared_ptr-owned event (the crate's Arc) for shared ownership
  auto event = std::make_shared<beacon::once_event<std::string>>();
  auto [sender, receiver] = beacon::once_event<std::string>::bind_by_shared(event);
  // Both ends hold the event: it outlives the caller's pointer.
  event.reset();
  std::move(sender).send("Hello, Arc!");
  // The blocking form; bounded, so that a lost value fails instead of hanging.
  check(receiver.receive_for(patience) == "Hello, Arc!",
        "OnceEvent by shared: wrong message");
}

void shared_local_event() {
  // The crate's Rc form: a shared_ptr used on one thread
  auto event = std::make_shared<beacon::local_once_event<std::string>>();
  auto [sender, receiver] =
      beacon::local_once_event<std::string>::bind_by_shared(std::move(event));
  std::move(sender).send("Hello, Rc!");
  check(await_sent(std::move(receiver)) == "Hello, Rc!",
        "LocalOnceEvent by shared: wrong message");
}

// Both pooled examples: two round trips through one pool, the second reusing
// the event the first returned (no growth, nothing live in between).
template <class Pool>
void two_rounds(Pool& pool, int second_value, const char* what) {
  {
    // First usage - creates new event
    auto [sender1, receiver1] = pool.bind_by_ref();
    std::move(sender1).send(42);
    check(await_sent(std::move(receiver1)) == 42, what);
  }
  // Event automatically returned to pool when endpoints are dropped
  check(pool.size() == 0, what);
  const std::size_t capacity = pool.capacity();
  {
    // Second usage - reuses the same event instance efficiently
    auto [sender2, receiver2] = pool.bind_by_ref();
    std::move(sender2).send(second_value);
    check(await_sent(std::move(receiver2)) == second_value, what);
  }
  // Same event reused - no additional allocation overhead
  check(pool.size() == 0 && pool.capacity() == capacity, what);
}

void pooled_events() {
  beacon::local_once_event_pool<int> local_pool;
  two_rounds(local_pool, 100, "LocalOnceEventPool: wrong value or event not reused");
  beacon::once_event_pool<int> pool;
  two_rounds(pool, 200, "OnceEventPool: wrong value or event not reused");
}

void shared_pools() {
  // Create a shared_ptr-owned pool (Arc) for shared ownership across threads
  auto pool = std::make_shared<beacon::once_event_pool<std::string>>();
  {
    auto [sender, receiver] = beacon::once_event_pool<std::string>::bind_by_shared(pool);
    std::move(sender).send("Hello from Arc pool!");
    check(await_sent(std::move(receiver)) == "Hello from Arc pool!",
          "OnceEventPool by shared: wrong message");
  }
  check(pool->size() == 0, "OnceEventPool by shared: event not returned");

  // The single-thread pool, shared_ptr-owned (Rc)
  auto local_pool = std::make_shared<beacon::local_once_event_pool<std::string>>();
  {
    auto [sender, receiver] =
        beacon::local_once_event_pool<std::string>::bind_by_shared(local_pool);
    std::move(sender).send("Hello from Rc pool!");
    check(await_sent(std::move(receiver)) == "Hello from Rc pool!",
          "LocalOnceEventPool by shared: wrong message");
  }
  check(local_pool->size() == 0, "LocalOnceEventPool by shared: event not returned");
}

}  // namespace

int main() {
  thread_safe_event();
  single_thread_event();
  shared_event();
  shared_local_event();
  pooled_events();
  shared_pools();
  std::puts("one-shot events by reference, by shared_ptr and from pools: all received");
  return EXIT_SUCCESS;
}
