// The rsevents README example (the rsevents README), in
// beacon: a worker thread performs a task and signals ONE waiting thread,
// through an auto-reset event, that the result is ready. rsevents shares the
// event through an Arc; here it lives on main's stack, which outlives the
// worker because main joins it.
#include <beacon/auto_reset_event.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace {

// Far longer than the example needs even on a loaded sanitizer run, and below
// ctest's 60 s time-out, so a lost wake-up fails with a message, not a hang.
constexpr auto patience = std::chrono::seconds(30);

// Ends the process at once: after a failed wait the worker may still run, and
// returning from main would destroy its joinable std::thread.
[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "FAILED: %s\n", what);
  std::_Exit(EXIT_FAILURE);
}

int perform_some_task() { return 6 * 7; }

}  // namespace

int main() {
  // create a new, initially unset event
  beacon::auto_reset_event event{beacon::state::unset};
  // A plain int is enough: everything the worker did before set() is visible
  // to the thread whose wait consumed that set.
  int result = 0;

  // create a worker thread to complete some task
  std::thread worker([&] {
    result = perform_some_task();
    // and signal to ONE waiting thread that the result is ready
    event.set();
  });

  // wait for the spawned thread to finish the queued work
  if (!event.wait_for(patience)) fail("the worker's set() did not release main");
  if (result != 42) fail("main did not see the worker's result");
  // Auto-reset: the wait consumed the signal, so the event is unset again.
  if (event.try_wait()) fail("the wait did not consume the signal");
  worker.join();

  std::printf("worker signalled its result: %d\n", result);
  return EXIT_SUCCESS;
}
