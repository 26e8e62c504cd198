// A consumer of an installed or embedded beacon: a worker thread and the
// main thread meet through an auto-reset event and a countdown.
#include <beacon/beacon.hpp>

#include <chrono>
#include <thread>

int main() {
  beacon::auto_reset_event ready;
  beacon::countdown_event done{1};
  std::thread worker([&] {
    ready.wait();
    done.tick();
  });
  ready.set();
  const bool ok = done.wait_for(std::chrono::seconds(20));
  worker.join();
  return ok ? 0 : 1;
}
