// A consumer of an installed or embedded beacon: a worker thread and the
// main thread meet through an auto-reset event and a countdown. It also
// builds against the README's FetchContent tag (v0.1.0), so it uses only
// what that release has.
#include <beacon/beacon.hpp>

#include <chrono>
#include <thread>

// The TSan consumer adds no flag itself: the package must have passed it.
#if defined(BEACON_CONSUMER_EXPECT_TSAN) && !defined(__SANITIZE_THREAD__)
#if !defined(__has_feature)
#error "the beacon package did not pass -fsanitize=thread to its consumer"
#elif !__has_feature(thread_sanitizer)
#error "the beacon package did not pass -fsanitize=thread to its consumer"
#endif
#endif

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
