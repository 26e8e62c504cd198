// The README's quick example: a worker thread and a coroutine wait on the
// same auto-reset event; the main thread signals each once.
#include <beacon/beacon.hpp>

#include <coroutine>
#include <cstdio>
#include <exception>
#include <thread>

#include "detached.hpp"

namespace {

using example::detached;  // examples/detached.hpp

beacon::auto_reset_event work_ready;
beacon::manual_reset_event all_done;
int results = 0;

detached coroutine_worker() {
  co_await work_ready;  // suspends; resumed by the set() that releases it
  std::puts("coroutine: got the signal");
  ++results;
}

}  // namespace

int main() {
  std::thread worker([] {
    work_ready.wait();  // blocks until set() hands it the signal
    std::puts("thread: got the signal");
    all_done.wait();
  });
  coroutine_worker();  // queued on the same event, behind or ahead of the thread
  work_ready.set();    // releases exactly one waiter
  work_ready.set();    // and the other one
  all_done.set();
  worker.join();
  return results == 1 ? 0 : 1;
}
