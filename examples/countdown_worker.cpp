// The rsevents-extra README example of CountdownEvent (the crate's
// announcement, "rsevents-extra: CountdownEvent"), in beacon: a worker thread blocks
// until a countdown of 42 has elapsed, while the main thread ticks it down
// from inside a longer loop (on every i with i % 7 == 3).
//
// The loop stops at i = 294, i.e. after exactly 42 ticks: ticking a beacon
// countdown below zero is a precondition violation (asserted in debug
// builds; see countdown_event.hpp), not a no-op.
#include <beacon/countdown_event.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace {

// Far longer than the example needs even on a loaded sanitizer run, and below
// ctest's 60 s time-out, so a lost wake-up fails with a message, not a hang.
constexpr auto patience = std::chrono::seconds(30);

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "FAILED: %s\n", what);
  std::_Exit(EXIT_FAILURE);
}

}  // namespace

int main() {
  constexpr int count = 42;
  beacon::countdown_event countdown{count};
  // Written by main before each tick and read by the worker once released:
  // a plain int, because what a thread did before its tick() is visible to
  // the thread whose wait saw the count reach zero.
  int ticks_done = 0;
  bool released = false;
  int ticks_seen = -1;

  std::thread worker([&] {
    std::puts("Worker thread reporting for duty!");
    // block here until all the countdown has elapsed
    released = countdown.wait_for(patience);
    ticks_seen = ticks_done;
    if (released)
      std::puts("Worker thread can now do something because the countdown finished!");
  });

  for (int i = 0; i < 7 * count; ++i) {
    if (i % 7 == 3) {
      ++ticks_done;
      countdown.tick();
    }
  }
  worker.join();  // bounded: the worker's wait gives up after `patience`

  if (!released) fail("the 42nd tick did not release the worker");
  if (ticks_seen != count) fail("the worker was released before the last tick");
  if (countdown.count() != 0) fail("the count is not zero after 42 ticks");
  // Waits do not consume: the countdown stays set until it is reset.
  if (!countdown.try_wait()) fail("a finished countdown did not stay set");
  return EXIT_SUCCESS;
}
