// A worker that waits for "work", "config changed" or "stop" at once (Win32
// WaitForMultipleObjects(bWaitAll = FALSE)), first as a blocked thread, then
// as a coroutine. The index says which object woke it; "stop" comes first
// so that it wins when several are ready. Last, wait_all (bWaitAll = TRUE):
// an item and a free output slot, taken together or not at all.
#include <beacon/wait_many.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "detached.hpp"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "FAILED: %s\n", what);
  std::_Exit(EXIT_FAILURE);
}

struct inbox {
  beacon::manual_reset_event stop;  // index 0: stays set once set
  beacon::auto_reset_event config;  // index 1: one signal per change
  beacon::semaphore work{0, 1000};  // index 2: one permit per item
  int items_done = 0;
  int configs_seen = 0;
};

// The thread: wait_any returns a variant (the semaphore yields a guard).
void run_thread(inbox& in) {
  for (;;) {
    auto r = beacon::wait_any(in.stop, in.config, in.work);
    switch (r.index()) {
      case 0:
        return;
      case 1:
        ++in.configs_seen;
        break;
      case 2:
        ++in.items_done;
        std::get<2>(r).forget();  // the item is consumed: its permit stays taken
        break;
    }
  }
}

// The coroutine: the same loop with co_await when_any; it runs on whichever
// thread makes one of the objects ready.
example::detached run_coroutine(inbox& in, beacon::auto_reset_event& finished) {
  for (;;) {
    auto r = co_await beacon::when_any(in.stop, in.config, in.work);
    if (r.index() == 0) break;
    if (r.index() == 1) ++in.configs_seen;
    if (r.index() == 2) {
      ++in.items_done;
      std::get<2>(r).forget();
    }
  }
  finished.set();
}

}  // namespace

int main() {
  {
    inbox in;
    std::thread worker([&] { run_thread(in); });
    for (int i = 0; i < 100; ++i)
      in.work.release();
    in.config.set();
    // Wait for the items to be taken before stopping (stop wins over work).
    while (in.work.count() != 0)
      std::this_thread::yield();
    in.stop.set();
    worker.join();
    if (in.configs_seen > 1) fail("one config change was seen twice");
    std::printf("thread: %d items, %d config changes\n", in.items_done, in.configs_seen);
  }
  {
    inbox in;
    beacon::auto_reset_event finished;
    run_coroutine(in, finished);  // suspends at once: nothing is ready
    std::thread producer([&] {
      for (int i = 0; i < 100; ++i)
        in.work.release();  // resumes the coroutine here, on the producer
      in.config.set();
      in.stop.set();
    });
    if (!finished.wait_for(std::chrono::seconds(30))) fail("the coroutine did not stop");
    producer.join();
    if (in.items_done != 100) fail("the coroutine lost an item");
    if (in.configs_seen != 1) fail("the coroutine missed the config change");
    std::printf("coroutine: %d items, %d config changes\n", in.items_done,
                in.configs_seen);
  }
  {
    beacon::semaphore items{0, 100};
    beacon::semaphore slots{2, 2};
    std::thread producer([&] {
      for (int i = 0; i < 50; ++i)
        items.release();
    });
    int done = 0;
    for (int i = 0; i < 50; ++i) {
      // Atomic: never an item taken while no slot is free, or the reverse.
      auto [item, slot] = beacon::wait_all(items, slots);
      item.forget();  // the item is consumed; the slot comes back at scope end
      ++done;
    }
    producer.join();
    if (done != 50 || slots.count() != 2 || items.count() != 0)
      fail("wait_all lost or doubled a permit");
    std::printf("wait_all: %d items, each with a slot\n", done);
  }
}
