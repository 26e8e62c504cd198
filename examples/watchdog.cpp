// A watchdog for hangs: when a program's progress counter stops moving for a
// while (2 s by default; the first argument, in milliseconds, changes it),
// print who waits on what with beacon::describe_waiters(): every parked
// thread and coroutine, the primitive it waits on, since when and from which
// line.
//
// The program here is a producer and a consumer that take turns through two
// auto-reset events, with a planted bug: the consumer forgets to answer the
// last item, so the producer waits forever. The watchdog's report names the
// producer's wait (this file, its line); then, so that the example ends, the
// watchdog answers in the consumer's place (a real one would log and abort).
//
//   $ ./watchdog          # stalls for 2 s, then prints the report
//   $ ./watchdog 100      # the same after 100 ms (what the test run uses)
#include <beacon/auto_reset_event.hpp>
#include <beacon/inspect.hpp>
#include <beacon/manual_reset_event.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "FAILED: %s\n", what);
  std::_Exit(EXIT_FAILURE);
}

}  // namespace

int main(int argc, char** argv) {
  using clock = std::chrono::steady_clock;
  const std::chrono::milliseconds stall{argc > 1 ? std::atoi(argv[1]) : 2000};
  if (stall.count() <= 0) fail("usage: watchdog [stall threshold in ms]");

  constexpr int items = 10;
  std::atomic<std::uint64_t> progress{0};  // bumped by every step of the work
  beacon::auto_reset_event item_ready;     // producer -> consumer
  beacon::auto_reset_event reply;          // consumer -> producer
  beacon::manual_reset_event finished;     // tells the watchdog to stop
  std::atomic<bool> consumer_gone{false};  // for the rescue only (see below)

  std::thread consumer([&] {
    for (int i = 0; i < items; ++i) {
      item_ready.wait();
      progress.fetch_add(1, std::memory_order_relaxed);
      if (i != items - 1) reply.set();  // the bug: no reply to the last item
    }
    consumer_gone.store(true);
  });
  std::thread producer([&] {
    for (int i = 0; i < items; ++i) {
      item_ready.set();
      reply.wait();  // hangs on the last item: the watchdog's report shows this line
      progress.fetch_add(1, std::memory_order_relaxed);
    }
  });

  std::string report;
  std::thread watchdog([&] {
    std::uint64_t last = progress.load(std::memory_order_relaxed);
    clock::time_point last_change = clock::now();
    // Wakes a few times per threshold to look at the counter; `finished`
    // ends it at once.
    while (!finished.wait_for(stall / 4)) {
      const std::uint64_t now = progress.load(std::memory_order_relaxed);
      if (now != last) {
        last = now;
        last_change = clock::now();
        continue;
      }
      if (clock::now() - last_change < stall) continue;
      const std::string now_waiting = beacon::describe_waiters();
      std::printf("watchdog: no progress for %lld ms; who waits on what:\n%s",
                  static_cast<long long>(stall.count()), now_waiting.c_str());
      std::fflush(stdout);
      last_change = clock::now();
      // Rescue the producer so that the example ends; only once the
      // consumer is gone, i.e. the hang is the planted one (on a loaded
      // machine the threshold may pass while the two merely run slowly).
      if (consumer_gone.load()) {
        report = now_waiting;
        reply.set();
      }
    }
  });

  consumer.join();
  producer.join();
  finished.set();
  watchdog.join();

  // The report named the producer's wait: the primitive and this file.
  if (report.find("auto_reset_event") == std::string::npos)
    fail("the report does not name the event");
  if (report.find("watchdog.cpp:") == std::string::npos)
    fail("the report does not name the call site");
  if (!beacon::describe_waiters().empty()) fail("waiters left at the end");
  std::printf("watchdog: done\n");
  return 0;
}
