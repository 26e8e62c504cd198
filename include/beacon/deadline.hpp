// beacon/deadline.hpp — the absolute steady-clock deadline every timed wait
// in beacon ends up as. Included by waitable.hpp (which, with this header,
// holds "the waitable concept, state, deadlines"); a header of its own so
// that parking_lot.hpp and os_event.hpp need not pull in the concept.
//
/// @class beacon::deadline
/// An absolute point on the steady clock (CLOCK_MONOTONIC on Linux), in
/// nanoseconds since its epoch, or never(). Every timed wait converts its
/// duration or time point to one deadline once, up front, so a retry after a
/// spurious wake-up or EINTR never extends it.
///
/// Contract:
/// * Conversions saturate: any duration or time point of any representation
///   (`duration<double>::max()`, `time_point<system_clock, hours>` centuries
///   ahead, `time_point::min()`) maps to a finite or never() deadline without
///   overflow; a zero or negative duration, or a time point already past,
///   gives a deadline that has passed ("try once").
/// * Rounding is always up, so a wait bounded by a deadline never gives up
///   before the requested time has passed.
/// * A time point of another clock maps to now + (t - Clock::now()): callers
///   re-check that clock after a time-out (a clock that jumps must not end a
///   wait early); beacon's own waits do (detail::wait_until_clock).
///
/// Memory ordering: none. A deadline is a plain value; reading the clock
/// synchronizes with nothing.
///
/// Public because the parking lot takes one (parking_lot::park), so that
/// primitives built on the lot share these conversions. A retry loop keeps
/// one deadline, so its retries never stretch the wait:
/// @code
///   const auto d = beacon::deadline::after(std::chrono::milliseconds(5));
///   while (!ready()) {
///     if (beacon::parking_lot::park(&word, validate, [] {}, [](bool) {},
///                                   beacon::parking_lot::default_token, d)
///             .status == beacon::parking_lot::park_status::timed_out)
///       return false;
///   }
/// @endcode
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace beacon {

/// An absolute steady-clock deadline in nanoseconds since the steady clock's
/// epoch; `never()` waits without a time limit (see the file comment).
struct deadline {
  /// Nanoseconds since the steady clock's epoch; `never_ns` for never().
  std::int64_t ns;

  /// The `ns` of never().
  static constexpr std::int64_t never_ns = std::numeric_limits<std::int64_t>::max();
  /// A deadline that never passes: wait without a time limit.
  static constexpr deadline never() noexcept { return {never_ns}; }
  /// Whether this is never().
  constexpr bool is_never() const noexcept { return ns == never_ns; }
  /// The steady clock's time now, as a deadline (one that has passed).
  static deadline now() noexcept {
    return {std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::steady_clock::now().time_since_epoch())
                .count()};
  }
  /// Whether the steady clock has reached the deadline (never for never()).
  /// A deadline at or before the clock's epoch (what after() gives for a
  /// duration <= 0) has passed without a clock read.
  bool passed() const noexcept { return ns <= 0 || (!is_never() && now().ns >= ns); }
  /// Nanoseconds left (0 when passed); `never_ns` for `never`.
  std::int64_t remaining_ns() const noexcept {
    if (ns <= 0) return 0;
    if (is_never()) return never_ns;
    const std::int64_t left = ns - now().ns;
    return left > 0 ? left : 0;
  }
  /// now + `d` of any representation, rounded up and saturating: `d` <= 0 gives
  /// a deadline that has passed ("try once"), one too far ahead never().
  template <class Rep, class Period>
  static deadline after(const std::chrono::duration<Rep, Period>& d) noexcept;
  /// The deadline for `t` of any clock, saturating: exact for the steady clock;
  /// for another, now + (t - Clock::now()), so callers re-check that clock after
  /// a time-out (a clock that jumps must not end a wait early).
  template <class Clock, class Duration>
  static deadline at(const std::chrono::time_point<Clock, Duration>& t) noexcept;
};

// ---- the conversions behind after() and at() -------------------------------

namespace detail {

// Converts any duration to nanoseconds, rounding up and saturating at the
// int64 range. The comparison happens in long double, whose range covers
// every standard representation (integers up to 128 bits, double, float).
template <class Rep, class Period>
constexpr std::int64_t saturating_ns(
    const std::chrono::duration<Rep, Period>& d) noexcept {
  using ld_ns = std::chrono::duration<long double, std::nano>;
  const long double x = std::chrono::duration_cast<ld_ns>(d).count();
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  constexpr auto min = std::numeric_limits<std::int64_t>::min();
  if (!(x == x)) return 0;  // NaN: treat as "try once"
  if (x >= static_cast<long double>(max)) return max;
  if (x <= static_cast<long double>(min)) return min;
  // Exact integer arithmetic only when a tick is a whole number of
  // nanoseconds; otherwise (1/60 s, picoseconds, floating point) the long
  // double value rounded up, so a wait never ends early and an integer
  // intermediate never overflows.
  if constexpr (std::is_floating_point_v<Rep> ||
                std::ratio_divide<Period, std::nano>::den != 1) {
    const auto t = static_cast<std::int64_t>(x);  // truncates toward zero
    return static_cast<long double>(t) < x ? t + 1 : t;
  } else {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  }
}

// now + d on the steady clock, saturating; d <= 0 gives a deadline that has
// already passed ("try once"): the clock's epoch, so that neither this nor
// the caller's passed() reads the clock (a try-once wait_for(0) costs its
// try only).
template <class Rep, class Period>
deadline deadline_after(const std::chrono::duration<Rep, Period>& d) noexcept {
  const std::int64_t rel = saturating_ns(d);
  if (rel <= 0) return {0};
  const std::int64_t now = deadline::now().ns;
  if (rel >= deadline::never_ns - now) return deadline::never();
  return {now + rel};
}

// Nanoseconds from `now` to `t` of the same clock (negative: `t` has
// passed), rounded up and saturated. The difference is taken in the clock's
// own representation, before any conversion: converting `t` and `now` to
// nanoseconds separately saturates both for a clock far from its epoch (a
// FILETIME-style clock counting 100 ns ticks since 1601, a double-seconds
// clock at 1e12 s), and the difference of two saturated values is 0. Integer
// counts are scaled to their common tick exactly in 128 bits, where neither
// the scaling nor the subtraction can overflow (each side is below 2^126);
// floating-point ones subtract as they are (±inf and NaN saturate).
template <class Clock, class Duration>
std::int64_t ns_until(const std::chrono::time_point<Clock, Duration>& t,
                      const typename Clock::time_point& now) noexcept {
  using common = std::common_type_t<Duration, typename Clock::duration>;
  using rep = typename common::rep;
  if constexpr (std::is_floating_point_v<rep>) {
    return saturating_ns(common(t.time_since_epoch()) - common(now.time_since_epoch()));
  } else {
#if defined(__SIZEOF_INT128__)
    __extension__ using wide = __int128;  // GCC and Clang, 64-bit targets
#else
    using wide = long double;  // exact for the differences that matter
#endif
    // Each period is a whole multiple of the common one (std::common_type).
    constexpr auto scale_t =
        std::ratio_divide<typename Duration::period, typename common::period>::num;
    constexpr auto scale_now =
        std::ratio_divide<typename Clock::duration::period, typename common::period>::num;
    const wide diff = static_cast<wide>(t.time_since_epoch().count()) * scale_t -
                      static_cast<wide>(now.time_since_epoch().count()) * scale_now;
    using ticks = std::chrono::duration<std::int64_t, typename common::period>;
    if (diff >= static_cast<wide>(std::numeric_limits<std::int64_t>::min()) &&
        diff <= static_cast<wide>(std::numeric_limits<std::int64_t>::max()))
      return saturating_ns(ticks(static_cast<std::int64_t>(diff)));
    using wide_ticks = std::chrono::duration<long double, typename common::period>;
    return saturating_ns(wide_ticks(static_cast<long double>(diff)));
  }
}

// The steady-clock deadline that corresponds to `t`. For the steady clock it
// is exact; for any other clock it is now + (t - Clock::now()) (see
// ns_until), and callers re-check that clock after a time-out (see
// `wait_until_clock` in detail/deadline.hpp), so a clock that jumps does not
// end a wait early.
template <class Clock, class Duration>
deadline deadline_at(const std::chrono::time_point<Clock, Duration>& t) noexcept {
  if constexpr (std::is_same_v<Clock, std::chrono::steady_clock>) {
    const std::int64_t ns = saturating_ns(t.time_since_epoch());
    return {ns < 0 ? 0 : ns};
  } else {
    // time_point::max() is the conventional "forever", whatever now is.
    if (t == std::chrono::time_point<Clock, Duration>::max()) return deadline::never();
    const std::int64_t left = ns_until(t, Clock::now());
    if (left <= 0) return {0};                              // passed (see deadline_after)
    return deadline_after(std::chrono::nanoseconds(left));  // saturates to never()
  }
}

}  // namespace detail

template <class Rep, class Period>
deadline deadline::after(const std::chrono::duration<Rep, Period>& d) noexcept {
  return detail::deadline_after(d);
}
template <class Clock, class Duration>
deadline deadline::at(const std::chrono::time_point<Clock, Duration>& t) noexcept {
  return detail::deadline_at(t);
}

}  // namespace beacon
