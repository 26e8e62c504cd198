// One translation unit of once_traces_mixed_test, compiled twice into the
// same program: once with BEACON_AWAITER_TRACES=1 (function run_traces_1)
// and once with 0 (run_traces_0). Each uses once events in every way whose
// layout depends on the macro (a blocked receiver, an awaiting coroutine, a
// pool, the type-erased ends) and checks that its traces follow its own
// setting. Before the inline namespace the two would have shared (one
// picked by the linker) inline functions of different layouts.
#include <chrono>
#include <cstdio>
#include <thread>

#include "beacon/local_once_event.hpp"
#include "beacon/once_event.hpp"
#include "support/task.hpp"

#define BEACON_CAT2(a, b) a##b
#define BEACON_CAT(a, b) BEACON_CAT2(a, b)

namespace {

beacon_test::task await_into(beacon::once_receiver<int> rx, int& out) {
  out = co_await std::move(rx);
}

int check(bool ok, const char* what) {
  if (!ok) std::fprintf(stderr, "traces=%d: %s\n", BEACON_AWAITER_TRACES, what);
  return ok ? 0 : 1;
}

}  // namespace

int BEACON_CAT(run_traces_, BEACON_AWAITER_TRACES)() {
  int failures = check(beacon::awaiter_traces_enabled == (BEACON_AWAITER_TRACES != 0),
                       "awaiter_traces_enabled follows this unit's macro");
  {  // a coroutine awaits a pooled event through the erased receiver
    beacon::once_event_pool<int> pool;
    auto ch = pool.bind_by_ref();
    int out = 0;
    beacon_test::task t = await_into(std::move(ch.receiver), out);
    std::size_t frames = 0;
    pool.inspect_awaiters([&](beacon::awaiter_trace tr) { frames += tr.size(); });
    failures += check((frames > 0) == beacon::awaiter_traces_enabled,
                      "a suspended coroutine's trace follows the unit's macro");
    beacon::once_sender<int> tx = std::move(ch.sender);
    std::move(tx).send(5);
    failures += check(t.finished() && out == 5, "the coroutine got the value");
  }
  {  // a thread blocks in receive(); another sends
    beacon::once_event<int> ev;
    auto ch = ev.bind_by_ref();
    std::thread s([tx = std::move(ch.sender)]() mutable {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      std::move(tx).send(6);
    });
    failures += check(ch.receiver.receive() == 6, "the blocked receiver got the value");
    s.join();
  }
  {  // a local event's coroutine
    auto ch = beacon::make_local_once<int>();
    int out = 0;
    beacon_test::task t = await_into(std::move(ch.receiver), out);
    std::move(ch.sender).send(7);
    failures += check(t.finished() && out == 7, "the local coroutine got the value");
  }
  return failures;
}
