// beacon/semaphore.hpp — a bounded, FIFO counting semaphore with RAII
// permits (rsevents-extra Semaphore, Win32 CreateSemaphore).
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

#include "beacon/detail/parked_wait.hpp"
#include "beacon/waitable.hpp"

namespace beacon {
namespace detail {

// The semaphore's permit protocol on any atomic 64-bit word: the permits
// available now, handed directly to the longest waiter while any is queued.
template <template <class> class Atom>
struct semaphore_core {
  using value_type = std::uint64_t;
  static constexpr value_type parked_bit = 1;
  static constexpr value_type one = 2;  // permits live above parked_bit

  // (available << 1) | parked_bit. While parked_bit is set, released permits
  // bypass `available` and go to queued waiters (hand-off), so a thread that
  // polls try_acquire cannot overtake one that sleeps. A waiter only parks
  // while available == 0, and the releaser that empties the queue clears
  // parked_bit under the queue lock.
  Atom<value_type> bits;

  constexpr explicit semaphore_core(std::size_t initial) noexcept : bits(initial * one) {}

  Atom<value_type>& word() noexcept { return bits; }
  static bool ready(value_type s) noexcept { return s >= one; }
  std::size_t available() const noexcept {
    return static_cast<std::size_t>(bits.load(std::memory_order_relaxed) / one);
  }

  bool try_acquire() noexcept {
    value_type s = bits.load(std::memory_order_relaxed);
    while (s >= one) {
      // J: acquire pairs with K in release().
      if (bits.compare_exchange_weak(s, s - one, std::memory_order_acquire,
                                     std::memory_order_relaxed))
        return true;
    }
    return false;
  }

  // A coroutine handed a permit was destroyed before it ran: give it back.
  void pass_on() noexcept { release(1); }

  // Makes n permits available: the first to queued waiters in FIFO order
  // (each unparked waiter owns its permit), the rest into the count.
  void release(std::size_t n) noexcept {
    value_type s = bits.load(std::memory_order_relaxed);
    while (!(s & parked_bit)) {
      // K: release pairs with J.
      if (bits.compare_exchange_weak(s, s + n * one, std::memory_order_release,
                                     std::memory_order_relaxed))
        return;
    }
    std::size_t left = n;
    parking_lot::unpark_filter(
        &bits,
        [&](parking_lot::token) {
          if (left == 0) return parking_lot::filter_op::stop;
          --left;
          return parking_lot::filter_op::unpark;
        },
        [&](parking_lot::unpark_result r) {
          // Under the queue lock: no waiter can join or leave meanwhile.
          value_type add = static_cast<value_type>(left) * one;
          value_type s2 = bits.load(std::memory_order_relaxed);
          value_type next;
          do {
            next = (s2 + add) & (r.have_more ? ~value_type{0} : ~parked_bit);
          } while (!bits.compare_exchange_weak(s2, next, std::memory_order_release,  // K
                                               std::memory_order_relaxed));
          return parking_lot::default_token;
        });
  }
};

}  // namespace detail

class semaphore;

/// A permit taken from a semaphore: gives it back when destroyed, unless
/// forget() was called. Move-only; a moved-from or forgotten guard owns
/// nothing. Must not outlive its semaphore.
class [[nodiscard]] semaphore_guard {
 public:
  /// Takes over `o`'s permit; `o` then owns nothing.
  semaphore_guard(semaphore_guard&& o) noexcept : sem_(std::exchange(o.sem_, nullptr)) {}
  /// Gives back this guard's permit, if any, then takes over `o`'s.
  semaphore_guard& operator=(semaphore_guard&& o) noexcept {
    if (this != &o) {
      reset();
      sem_ = std::exchange(o.sem_, nullptr);
    }
    return *this;
  }
  /// Gives the permit back (to the longest waiter, if any), unless forgotten
  /// or moved from.
  ~semaphore_guard() { reset(); }

  /// Keeps the permit taken for good: it leaves the semaphore's capacity, and
  /// release() can add it back (rsevents-extra SemaphoreGuard::forget).
  void forget() noexcept;
  /// Whether this guard holds a permit.
  explicit operator bool() const noexcept { return sem_ != nullptr; }

 private:
  friend class semaphore;
  explicit semaphore_guard(semaphore* s) noexcept : sem_(s) {}
  void reset() noexcept;
  semaphore* sem_;
};

/// A counting semaphore bounded by a maximum, FIFO, with RAII permits.
///
/// Contract (design §2.3, §2.7):
/// * capacity = permits available + permits held by live guards; it never
///   exceeds max(). semaphore(initial, max) starts with `initial` available
///   (initial > max: std::invalid_argument). A guard's destruction returns
///   its permit; guard.forget() removes it from the capacity; release(n)
///   adds n permits to the capacity and to the available count, and throws
///   std::invalid_argument (changing nothing) if the capacity would exceed
///   max(); try_release(n) returns false instead.
/// * A released permit goes to the longest waiter directly (FIFO hand-off):
///   while threads or coroutines are queued, try_wait() cannot take it.
/// * Waits: wait() → semaphore_guard; try_wait(), wait_for(), wait_until(),
///   wait(stop_token) → std::optional<semaphore_guard>; co_await → guard.
///   A timed wait ends at its deadline, however often it is woken.
/// * Counts are limited to max_supported() (2^32 - 1); larger values are
///   rejected with std::invalid_argument, never truncated.
/// * Acquiring or releasing with nobody waiting is one CAS (two words are
///   touched by release(n) and forget(): the capacity, then the count).
///
/// Memory ordering: a permit's release (guard destruction or release())
/// happens-before the acquisition that obtains that permit.
///
/// Lifetime: not copyable or movable; destroy it once no guard is alive, no
/// thread is in a member function and no coroutine is suspended on it.
///
/// @code
///  beacon::semaphore slots{4, 4};        // four concurrent connections
///  auto permit = slots.wait();           // blocks while four are out
///  use_connection();                     // permit returned at scope exit
/// @endcode
class semaphore {
  using core_type = detail::semaphore_core<std::atomic>;

 public:
  /// The largest max() and count supported: 2^32 - 1.
  static constexpr std::size_t max_supported() noexcept {
    return std::numeric_limits<std::uint32_t>::max();
  }

  /// `initial` permits available, at most `max`; throws std::invalid_argument if
  /// initial > max or max > max_supported().
  semaphore(std::size_t initial, std::size_t max)
      : core_(checked(initial, max)), limits_(pack(initial, max)) {}
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;

  /// Blocks until it obtains a permit (FIFO: the longest waiter gets the next).
  semaphore_guard wait() noexcept {
    if (!core_.try_acquire()) detail::parked_wait(core_, deadline::never());
    return semaphore_guard(this);
  }
  /// A permit if one is available now, else nullopt; never blocks.
  std::optional<semaphore_guard> try_wait() noexcept {
    return guard_if(core_.try_acquire());
  }
  /// Blocks for at most `d` (rounded up; zero or negative: try once); nullopt on
  /// time-out.
  template <class Rep, class Period>
  std::optional<semaphore_guard> wait_for(
      const std::chrono::duration<Rep, Period>& d) noexcept {
    return guard_if(detail::wait_for_impl(core_, deadline::after(d)));
  }
  /// Blocks until `t` on its clock (a past time: try once); nullopt on time-out.
  template <class Clock, class Duration>
  std::optional<semaphore_guard> wait_until(
      const std::chrono::time_point<Clock, Duration>& t) noexcept {
    return guard_if(detail::wait_until_impl(core_, t));
  }
  /// Blocks until it obtains a permit or a stop is requested (nullopt).
  std::optional<semaphore_guard> wait(const std::stop_token& stop) noexcept {
    return guard_if(detail::wait_stop_impl(core_, stop));
  }

  /// `co_await sem` yields a semaphore_guard.
  class awaiter : public detail::parked_awaiter<core_type> {
   public:
    /// The awaiter of `co_await s`.
    explicit awaiter(semaphore& s) noexcept : parked_awaiter(s.core_), sem_(s) {}
    /// The permit the wait obtained.
    semaphore_guard await_resume() const noexcept { return semaphore_guard(&sem_); }

   private:
    semaphore& sem_;
  };
  /// `co_await sem` suspends the coroutine until it obtains a permit.
  awaiter operator co_await() noexcept { return awaiter(*this); }

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

 private:
  friend class semaphore_guard;

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
  std::optional<semaphore_guard> guard_if(bool ok) noexcept {
    if (ok) return semaphore_guard(this);
    return std::nullopt;
  }

  core_type core_;
  // (max << 32) | capacity. max never changes; capacity changes only in
  // try_release (up, bounded by max) and forget (down). Relaxed: it orders
  // nothing; permits' visibility goes through core_.
  std::atomic<std::uint64_t> limits_;
};

inline void semaphore_guard::reset() noexcept {
  if (semaphore* s = std::exchange(sem_, nullptr)) s->core_.release(1);
}

inline void semaphore_guard::forget() noexcept {
  if (semaphore* s = std::exchange(sem_, nullptr))
    s->limits_.fetch_sub(1, std::memory_order_relaxed);
}

static_assert(sizeof(semaphore) <= 16, "a semaphore is at most 16 bytes");
static_assert(waitable<semaphore>);

}  // namespace beacon
