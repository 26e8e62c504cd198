// beacon/semaphore.hpp — a bounded counting semaphore with RAII permits,
// eventually fair or strictly FIFO (rsevents-extra Semaphore, Win32
// CreateSemaphore; the fairness of Rust's parking_lot and WebKit's locks).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <utility>
#include "beacon/source_location.hpp"

#include "beacon/detail/basic_waitable.hpp"
#include "beacon/detail/event_cores.hpp"
#include "beacon/waitable.hpp"

namespace beacon {

class semaphore_guard;

/// Who gets a permit that a release makes available while threads wait.
enum class fairness : std::uint8_t {
  /// The default: the permit goes to the count and a waiter is woken to take
  /// it, so a running thread may take it first (no convoy of wake-ups under
  /// contention); about once a millisecond (the parking lot's be_fair), and
  /// whenever a woken waiter has waited about a millisecond, it is handed to
  /// the longest waiter directly. No waiter is overtaken for much longer than
  /// a millisecond, whatever other threads do.
  eventual,
  /// Every released permit goes to the longest waiter (strict FIFO
  /// hand-off): while anyone is queued, try_wait() cannot take it.
  fifo,
};

/// A counting semaphore bounded by a maximum, eventually fair (or strictly
/// FIFO), with RAII permits.
///
/// Contract:
/// * capacity = permits available + permits held by live guards; it never
///   exceeds max(). semaphore(initial, max) starts with `initial` available
///   (initial > max: std::invalid_argument). A guard's destruction returns
///   its permit; guard.forget() removes it from the capacity; release(n)
///   adds n permits to the capacity and to the available count, and throws
///   std::invalid_argument (changing nothing) if the capacity would exceed
///   max(); try_release(n) returns false instead.
/// * Fairness (beacon::fairness, fixed at construction; fairness() reports
///   it): `eventual` (the default) lets a running thread take a released
///   permit before a woken waiter does, but hands permits directly to the
///   longest waiter about once a millisecond and to any waiter that has
///   waited about a millisecond, so no waiter is overtaken for much more than
///   a millisecond. A suspended coroutine is always handed its permit.
///   `fifo` hands every released permit to the longest waiter: while threads
///   or coroutines are queued, try_wait() cannot take it.
/// * Waits: wait() → semaphore_guard; try_wait(), wait_for(), wait_until(),
///   wait(stop_token) → std::optional<semaphore_guard>; co_await → guard.
///   The waits are [[nodiscard]]: a discarded guard gives its permit back
///   at once. guard.release() gives a permit back early; wait().forget()
///   is std::counting_semaphore's acquire() (the permit stays taken).
///   A timed wait ends at its deadline, however often it is woken.
/// * Counts are limited to max_supported() (2^32 - 1); larger values are
///   rejected with std::invalid_argument, never truncated.
/// * Acquiring or releasing with nobody waiting is one CAS (two words are
///   touched by release(n) and forget(): the capacity, then the count).
/// * try_wait() may wait briefly (spins, then yields) while a wait_all
///   (wait_many.hpp) holds a permit for its atomic acquisition; it never
///   fails because of that hold.
///   Releasing with waiters queued takes the parking lot's queue lock and
///   wakes up to n of them.
///
/// Memory ordering: a permit's release (guard destruction or release())
/// happens-before the acquisition that obtains that permit.
///
/// Signal handlers: release() (and a guard's destruction) is not async-signal-safe: it
/// may take a parking-lot bucket lock, and a handler that interrupts its own thread while
/// that thread holds the lock spins forever. From a handler, call os_event::signal()
/// (os_event.hpp) and let a thread waiting on it act.
///
/// Lifetime: not copyable or movable; destroy it once no guard is alive, no
/// thread is in a member function and no coroutine is suspended on it.
///
/// @code
///  beacon::semaphore slots{4, 4};        // four concurrent connections
///  auto permit = slots.wait();           // blocks while four are out
///  use_connection();                     // permit returned at scope exit
/// @endcode
class semaphore
    : public detail::basic_waitable<detail::semaphore_core, semaphore_guard, semaphore> {
 public:
  /// The largest max() and count supported: 2^32 - 1.
  static constexpr std::size_t max_supported() noexcept {
    return std::numeric_limits<std::uint32_t>::max();
  }

  /// `initial` permits available, at most `max`, with the given fairness;
  /// throws std::invalid_argument if initial > max or max > max_supported().
  semaphore(std::size_t initial, std::size_t max,
            beacon::fairness policy = beacon::fairness::eventual)
      : basic_waitable(checked(initial, max), policy == beacon::fairness::fifo),
        limits_(pack(initial, max)) {}

  // The waits come from detail::basic_waitable; they are restated here only
  // to mark them [[nodiscard]]: a discarded guard gives its permit back at
  // once, so `(void)sem.wait()` or a bare `sem.try_wait();` is almost surely
  // a bug (std::counting_semaphore::acquire() is `sem.wait().forget()`).
  // co_await sem yields a guard too (a discarded co_await result cannot be
  // flagged; the permit is given back at once as well).

  // (Defined after semaphore_guard, which is incomplete here.)
  /// Blocks until a permit is available and takes it.
  [[nodiscard(
      "the guard gives the permit back when destroyed; keep it, or call "
      "forget()")]] semaphore_guard
  wait(beacon::source_location loc = beacon::source_location::current()) noexcept;
  /// Takes a permit if one is available now (never blocks).
  [[nodiscard(
      "the guard gives the permit back when destroyed; keep it, or call forget()")]] std::
      optional<semaphore_guard>
      try_wait() noexcept;
  /// Takes a permit, waiting at most `d`; nullopt if the time ran out.
  template <class Rep, class Period>
  [[nodiscard(
      "the guard gives the permit back when destroyed; keep it, or call forget()")]] std::
      optional<semaphore_guard>
      wait_for(const std::chrono::duration<Rep, Period>& d,
               beacon::source_location loc = beacon::source_location::current()) noexcept;
  /// Takes a permit, waiting until `t` at the latest; nullopt if it passed.
  template <class Clock, class Duration>
  [[nodiscard(
      "the guard gives the permit back when destroyed; keep it, or call forget()")]] std::
      optional<semaphore_guard>
      wait_until(
          const std::chrono::time_point<Clock, Duration>& t,
          beacon::source_location loc = beacon::source_location::current()) noexcept;
  /// Takes a permit, or gives up (nullopt) when a stop is requested first.
  [[nodiscard(
      "the guard gives the permit back when destroyed; keep it, or call forget()")]] std::
      optional<semaphore_guard>
      wait(const std::stop_token& stop,
           beacon::source_location loc = beacon::source_location::current()) noexcept;

  /// Adds n permits (capacity and count); std::invalid_argument past max().
  void release(std::size_t n = 1) {
    if (!try_release(n))
      throw std::invalid_argument(
          "beacon::semaphore::release: capacity would exceed max()");
  }
  /// Adds n permits; false (nothing changed) if the capacity would exceed max().
  bool try_release(std::size_t n = 1) noexcept {
    std::uint64_t l = limits_.load(std::memory_order_relaxed);
    do {
      if (n > max() - capacity_of(l)) return false;
    } while (!limits_.compare_exchange_weak(l, l + n, std::memory_order_relaxed));
    if (n) core_.release(n);
    return true;
  }

  /// Permits available now (a relaxed snapshot).
  std::size_t count() const noexcept { return core_.available(); }
  /// The bound on the capacity, as constructed.
  std::size_t max() const noexcept {
    return static_cast<std::size_t>(limits_.load(std::memory_order_relaxed) >> 32);
  }
  /// The fairness policy, as constructed (it lives in a bit of the count's
  /// word, so the semaphore stays 16 bytes).
  beacon::fairness fairness() const noexcept {
    return core_.fifo() ? beacon::fairness::fifo : beacon::fairness::eventual;
  }

 private:
  friend class semaphore_guard;
  friend class detail::basic_waitable<detail::semaphore_core, semaphore_guard, semaphore>;

  // The permit a successful wait obtained (basic_waitable's hook).
  semaphore_guard grant() noexcept;

  static std::size_t checked(std::size_t initial, std::size_t max) {
    if (max > max_supported())
      throw std::invalid_argument("beacon::semaphore: max beyond max_supported()");
    if (initial > max) throw std::invalid_argument("beacon::semaphore: initial > max");
    return initial;
  }
  static std::uint64_t pack(std::size_t capacity, std::size_t max) noexcept {
    return (std::uint64_t{max} << 32) | capacity;
  }
  static std::size_t capacity_of(std::uint64_t l) noexcept {
    return static_cast<std::size_t>(l & 0xFFFF'FFFFu);
  }
  // (max << 32) | capacity. max never changes; capacity changes only in
  // try_release (up, bounded by max) and forget (down). Relaxed: it orders
  // nothing; permits' visibility goes through core_.
  std::atomic<std::uint64_t> limits_;
};

/// A permit taken from a semaphore: gives it back when destroyed, unless
/// forget() was called. Move-only; a moved-from or forgotten guard owns
/// nothing. Must not outlive its semaphore.
class [[nodiscard]] semaphore_guard {
 public:
  /// A guard that owns nothing (what a failed asynchronous wait yields).
  constexpr semaphore_guard() noexcept : sem_(nullptr) {}
  /// Takes over `o`'s permit; `o` then owns nothing.
  semaphore_guard(semaphore_guard&& o) noexcept : sem_(std::exchange(o.sem_, nullptr)) {}
  /// Gives back this guard's permit, if any, then takes over `o`'s.
  semaphore_guard& operator=(semaphore_guard&& o) noexcept {
    if (this != &o) {
      release();
      sem_ = std::exchange(o.sem_, nullptr);
    }
    return *this;
  }
  /// Gives the permit back (to the longest waiter, if any), unless released,
  /// forgotten or moved from.
  ~semaphore_guard() { release(); }

  /// Gives the permit back now, as the destructor would (to the longest
  /// waiter, if any); the guard then owns nothing. Idempotent: on an empty
  /// (released, forgotten or moved-from) guard it does nothing.
  void release() noexcept;

  /// Keeps the permit taken for good: it leaves the semaphore's capacity, and
  /// release() can add it back (rsevents-extra SemaphoreGuard::forget).
  void forget() noexcept;
  /// Whether this guard holds a permit.
  explicit operator bool() const noexcept { return sem_ != nullptr; }

 private:
  friend class semaphore;
  explicit semaphore_guard(semaphore* s) noexcept : sem_(s) {}
  semaphore* sem_;
};

inline semaphore_guard semaphore::grant() noexcept { return semaphore_guard(this); }

inline semaphore_guard semaphore::wait(beacon::source_location loc) noexcept {
  return basic_waitable::wait(loc);
}
inline std::optional<semaphore_guard> semaphore::try_wait() noexcept {
  return basic_waitable::try_wait();
}
template <class Rep, class Period>
std::optional<semaphore_guard> semaphore::wait_for(
    const std::chrono::duration<Rep, Period>& d, beacon::source_location loc) noexcept {
  return basic_waitable::wait_for(d, loc);
}
template <class Clock, class Duration>
std::optional<semaphore_guard> semaphore::wait_until(
    const std::chrono::time_point<Clock, Duration>& t,
    beacon::source_location loc) noexcept {
  return basic_waitable::wait_until(t, loc);
}
inline std::optional<semaphore_guard> semaphore::wait(
    const std::stop_token& stop, beacon::source_location loc) noexcept {
  return basic_waitable::wait(stop, loc);
}

inline void semaphore_guard::release() noexcept {
  if (semaphore* s = std::exchange(sem_, nullptr)) s->core_.release(1);
}

inline void semaphore_guard::forget() noexcept {
  if (semaphore* s = std::exchange(sem_, nullptr))
    s->limits_.fetch_sub(1, std::memory_order_relaxed);
}

static_assert(sizeof(semaphore) <= 16, "a semaphore is at most 16 bytes");
static_assert(waitable<semaphore>);

}  // namespace beacon
