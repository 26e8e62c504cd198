// Portable backend: wait-on-address emulated with std::mutex and
// std::condition_variable in a fixed table of buckets hashed by address
// (after folly's EmulatedFutex and libstdc++'s atomic wait). Selected with
// -DBEACON_PLATFORM=portable so the fallback runs in CI on Linux too.
//
// Why no wake-up is lost: a waker changes `word` before calling wake_*(),
// which takes the bucket mutex; a waiter compares `word` with `expected`
// under the same mutex and only then blocks on the condition variable
// (releasing the mutex atomically). So either the waiter sees the new value
// and returns, or it is already blocked when the waker notifies.
//
// fork(): see the handlers below; the child gets an unlocked, empty table.
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <new>

#include "beacon/detail/platform.hpp"
#include "fault.hpp"

namespace beacon::detail::platform {
namespace {

struct alignas(64) bucket {
  std::mutex mutex;
  std::condition_variable cv;
};

constexpr std::size_t bucket_count = 64;
using table_type = std::array<bucket, bucket_count>;

// Never destroyed: a thread may still be parked at exit (detached), and
// destroying a condition variable it waits on blocks forever in glibc.
// Built in static storage, so no wait ever calls operator new either.
alignas(table_type) unsigned char storage[sizeof(table_type)];

// fork(): prepare takes every bucket mutex (in index order; a thread holds
// at most one), so none is held by a thread the child will not have; the
// parent releases them; the child builds the table afresh: its mutexes
// unlocked, and condition variables with none of the vanished threads
// recorded as waiting (the child's only thread waits on none of them, and
// the lot above wakes only waiters that exist in the child).
table_type& the_table() noexcept {
  return *std::launder(reinterpret_cast<table_type*>(storage));
}
void lock_all() noexcept {
  for (bucket& b : the_table())
    b.mutex.lock();
}
void unlock_all() noexcept {
  for (bucket& b : the_table())
    b.mutex.unlock();
}
void rebuild_in_child() noexcept { ::new (static_cast<void*>(storage)) table_type; }

bucket& bucket_for(const void* address) noexcept {
  static table_type& table = []() -> table_type& {
    auto& t = *::new (static_cast<void*>(storage)) table_type;
    at_fork(lock_all, unlock_all, rebuild_in_child);
    return t;
  }();
  auto h = reinterpret_cast<std::uintptr_t>(address);
  h = (h >> 2) * UINT64_C(0x9E3779B97F4A7C15);
  return table[(h >> 32) % bucket_count];
}

}  // namespace

bool wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
          deadline d) noexcept {
  if (fault::inject()) return true;  // a spurious wake-up (fault-injection builds)
  bucket& b = bucket_for(&word);
  std::unique_lock lock(b.mutex);
  if (word.load(std::memory_order_acquire) != expected) return true;
  if (d.is_never()) {
    b.cv.wait(lock);
    return true;
  }
  const std::chrono::steady_clock::time_point until{std::chrono::nanoseconds(d.ns)};
  return b.cv.wait_until(lock, until) == std::cv_status::no_timeout || !d.passed();
}

// No masked waits: the mask is ignored (a wait listens for everything, a
// masked wake wakes every waiter of the word), which is correct but wakes
// too many, so the parking lot keeps one word per parked thread here.
bool masked_waits() noexcept { return false; }

bool wait_masked(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                 std::uint32_t, deadline d) noexcept {
  return wait(word, expected, d);
}

void wake_masked(const std::atomic<std::uint32_t>& word, std::uint32_t) noexcept {
  wake_all(word);
}

void wake_one(const std::atomic<std::uint32_t>& word) noexcept {
  // Several addresses share a bucket, so notify_one could wake the wrong
  // waiter and lose the wake-up: wake them all and let them re-check.
  wake_all(word);
}

void wake_all(const std::atomic<std::uint32_t>& word) noexcept {
  bucket& b = bucket_for(&word);
  { std::lock_guard lock(b.mutex); }
  b.cv.notify_all();
}

}  // namespace beacon::detail::platform
