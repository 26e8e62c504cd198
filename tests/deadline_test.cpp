// Conversions of durations and time points to steady deadlines: saturating,
// rounding up, never overflowing. The public header first: it stands alone.
#include "beacon/deadline.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <limits>

#include "beacon/auto_reset_event.hpp"
#include "beacon/detail/deadline.hpp"
#include "beacon/manual_reset_event.hpp"
#include "beacon/waitable.hpp"

#ifdef __linux__
#include "beacon/wait_context.hpp"
#endif

namespace {

using namespace std::chrono;
using beacon::deadline;
using beacon::detail::saturating_ns;
constexpr auto int64_max = std::numeric_limits<std::int64_t>::max();
constexpr auto int64_min = std::numeric_limits<std::int64_t>::min();

static_assert(beacon::waitable<beacon::auto_reset_event>);
static_assert(beacon::waitable<beacon::manual_reset_event>);
static_assert(!beacon::waitable<int>);

TEST(deadline, saturating_ns_is_exact_for_ordinary_durations) {
  EXPECT_EQ(saturating_ns(milliseconds(5)), 5'000'000);
  EXPECT_EQ(saturating_ns(seconds(-3)), -3'000'000'000);
  EXPECT_EQ(saturating_ns(nanoseconds(7)), 7);
}

TEST(deadline, saturating_ns_saturates_huge_durations) {
  EXPECT_EQ(saturating_ns(hours::max()), int64_max);
  EXPECT_EQ(saturating_ns(nanoseconds::max()), int64_max);
  EXPECT_EQ(saturating_ns(duration<double>::max()), int64_max);
  EXPECT_EQ(saturating_ns(duration<float, std::ratio<3600>>::max()), int64_max);
  EXPECT_EQ(saturating_ns(hours::min()), int64_min);
  EXPECT_EQ(saturating_ns(duration<double>(std::numeric_limits<double>::lowest())),
            int64_min);
  EXPECT_EQ(saturating_ns(duration<unsigned long long, std::kilo>::max()), int64_max);
}

TEST(deadline, saturating_ns_rounds_up_sub_nanosecond_parts) {
  EXPECT_EQ(saturating_ns(duration<long long, std::pico>(1)), 1);
  EXPECT_EQ(saturating_ns(duration<long long, std::pico>(1001)), 2);
  EXPECT_EQ(saturating_ns(duration<double>(1e-10)), 1);
  EXPECT_EQ(saturating_ns(duration<double, std::milli>(0.5)), 500'000);
  EXPECT_EQ(saturating_ns(duration<double>(std::numeric_limits<double>::quiet_NaN())), 0);
}

// Regression: a period that is not a whole number of nanoseconds took the
// integer path, which rounded one 1/60 s frame down (a wait could end
// early) and overflowed its intermediate for ~3e11 frames.
TEST(deadline, non_integral_periods_round_up_and_do_not_overflow) {
  using frames = duration<long long, std::ratio<1, 60>>;
  EXPECT_EQ(saturating_ns(frames(1)), 16'666'667);
  EXPECT_EQ(saturating_ns(frames(60)), 1'000'000'000);
  EXPECT_EQ(saturating_ns(frames(-1)), -16'666'666);
  const std::int64_t big = saturating_ns(frames(300'000'000'000LL));  // ~158 years
  EXPECT_GT(big, 4'999'000'000'000'000'000LL);
  EXPECT_EQ(saturating_ns(frames::max()), int64_max);
  EXPECT_TRUE(deadline::after(frames(300'000'000'000LL)).remaining_ns() > 0);
}

TEST(deadline, after_huge_durations_is_never) {
  EXPECT_TRUE(deadline::after(hours::max()).is_never());
  EXPECT_TRUE(deadline::after(duration<double>::max()).is_never());
  EXPECT_TRUE(deadline::after(nanoseconds::max()).is_never());
}

TEST(deadline, after_zero_or_negative_has_passed) {
  EXPECT_TRUE(deadline::after(0s).passed());
  EXPECT_TRUE(deadline::after(-5s).passed());
  EXPECT_TRUE(deadline::after(hours::min()).passed());
  EXPECT_TRUE(
      deadline::after(duration<double>(std::numeric_limits<double>::lowest())).passed());
}

TEST(deadline, after_is_not_early) {
  const auto before = steady_clock::now();
  const deadline d = deadline::after(1h);  // far enough that no stall passes it
  EXPECT_GE(d.ns, duration_cast<nanoseconds>((before + 1h).time_since_epoch()).count());
  EXPECT_FALSE(d.passed());
}

TEST(deadline, at_any_clock_and_any_range) {
  EXPECT_TRUE(deadline::at(steady_clock::time_point::max()).is_never());
  EXPECT_TRUE(deadline::at(system_clock::time_point::max()).is_never());
  EXPECT_TRUE(deadline::at(steady_clock::time_point::min()).passed());
  EXPECT_TRUE(deadline::at(system_clock::time_point::min()).passed());
  // Centuries ahead in hours on the system clock: far in the future, no overflow.
  const time_point<system_clock, hours> far{hours(24 * 365 * 900)};
  const deadline d = deadline::at(far);
  EXPECT_TRUE(d.is_never() || d.remaining_ns() > int64_max / 4);
  const time_point<system_clock, hours> long_ago{hours(-24 * 365 * 900)};
  EXPECT_TRUE(deadline::at(long_ago).passed());
  EXPECT_TRUE(deadline::at(time_point<system_clock, duration<double>>::max()).is_never());
}

TEST(deadline, at_system_clock_maps_to_the_same_remaining_time) {
  const deadline d = deadline::at(system_clock::now() + 1h);
  // Within a minute of an hour: a stall of less than a minute cannot fail it.
  EXPECT_GT(d.remaining_ns(), duration_cast<nanoseconds>(59min).count());
  EXPECT_LE(d.remaining_ns(), duration_cast<nanoseconds>(1h).count());
}

TEST(deadline, wait_until_clock_rearms_until_its_clock_says_so) {
  // A non-steady clock's deadline: each attempt times out, and the helper
  // keeps going while the clock has not reached t.
  int attempts = 0;
  const auto t = system_clock::now() + 30ms;
  const bool r = beacon::detail::wait_until_clock(t, [&](deadline d) {
    ++attempts;
    while (!d.passed()) {
    }
    return false;
  });
  EXPECT_FALSE(r);
  EXPECT_GE(system_clock::now(), t);
  EXPECT_GE(attempts, 1);
}

// Clocks whose epoch is far from now (design: "any clock"). A FILETIME-style
// clock counts 100 ns ticks since 1601; a double-seconds clock sits 1e12 s
// from its epoch. Regression: deadline::at converted t and Clock::now() to
// nanoseconds separately; both saturated, so every deadline had "passed".
struct filetime_clock {
  using rep = std::int64_t;
  using period = std::ratio<1, 10'000'000>;
  using duration = std::chrono::duration<rep, period>;
  using time_point = std::chrono::time_point<filetime_clock>;
  [[maybe_unused]] static constexpr bool is_steady = false;
  static time_point now() noexcept {
    // 1601-01-01 to 1970-01-01 in 100 ns ticks, as Win32's FILETIME.
    constexpr rep offset = 116'444'736'000'000'000;
    return time_point(duration_cast<duration>(system_clock::now().time_since_epoch()) +
                      duration(offset));
  }
};
struct far_double_clock {
  using duration = std::chrono::duration<double>;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<far_double_clock>;
  [[maybe_unused]] static constexpr bool is_steady = false;
  static time_point now() noexcept {
    return time_point(duration(1e12) +
                      duration_cast<duration>(steady_clock::now().time_since_epoch()));
  }
};

template <class Clock>
void expect_an_hour_ahead() {
  const deadline d = deadline::at(Clock::now() + 1h);
  // A double 1e12 s from its epoch has ~0.1 ms steps: within a minute is plenty.
  EXPECT_GT(d.remaining_ns(), duration_cast<nanoseconds>(59min).count());
  EXPECT_LE(d.remaining_ns(), duration_cast<nanoseconds>(61min).count());
  EXPECT_TRUE(deadline::at(Clock::now() - 1h).passed());
}

TEST(deadline, at_a_clock_far_from_its_epoch_keeps_the_remaining_time) {
  expect_an_hour_ahead<filetime_clock>();
  expect_an_hour_ahead<far_double_clock>();
}

// t - Clock::now() must not overflow when t is at the far end of a coarse
// representation (73 billion years of seconds, the hours limits).
TEST(deadline, at_the_limits_of_a_coarse_representation_saturates) {
  EXPECT_TRUE(deadline::at(time_point<system_clock, seconds>::min()).passed());
  EXPECT_TRUE(deadline::at(time_point<system_clock, hours>::min()).passed());
  EXPECT_TRUE(deadline::at(time_point<system_clock, seconds>::max()).is_never());
  EXPECT_TRUE(deadline::at(time_point<system_clock, hours>::max()).is_never());
  EXPECT_TRUE(deadline::at(time_point<filetime_clock, hours>::max()).is_never());
  EXPECT_TRUE(deadline::at(time_point<filetime_clock, hours>::min()).passed());
}

template <class Clock>
void expect_wait_until_waits(beacon::auto_reset_event& e) {
  const auto start = steady_clock::now();
  EXPECT_FALSE(e.wait_until(Clock::now() + 30ms));
  EXPECT_GE(steady_clock::now() - start, 29ms);  // the double clock's ~0.1 ms steps
}

TEST(deadline, wait_until_on_a_clock_far_from_its_epoch_waits) {
  beacon::auto_reset_event e;
  expect_wait_until_waits<filetime_clock>(e);
  expect_wait_until_waits<far_double_clock>(e);
}

#ifdef __linux__
// Regression: wait_context::wait_until re-armed while `Clock::now() < t`,
// a comparison that overflows for a coarse time point near its limits (the
// nanoseconds of hours::min()), so it could keep re-arming a wait that had
// timed out. It now shares detail::wait_until_clock with the other waits.
TEST(deadline, wait_context_wait_until_a_coarse_time_point_at_its_limit_tries_once) {
  beacon::wait_context<int> ctx;
  using coarse = time_point<system_clock, hours>;
  EXPECT_TRUE(ctx.wait_until(coarse::min()).empty());
  EXPECT_TRUE(ctx.wait_until(coarse(hours(-24 * 365 * 900))).empty());
  const auto t = system_clock::now() + 20ms;
  EXPECT_TRUE(ctx.wait_until(t).empty());
  EXPECT_GE(system_clock::now(), t);  // and never gives up early
}
// Regression: with a clock far from its epoch wait_context::wait_until
// re-armed a wait that had "passed" at once, in a busy loop (a 300 ms wait
// burnt ~300 ms of CPU). It now sleeps in one kernel wait.
TEST(deadline, wait_context_wait_until_a_far_epoch_clock_sleeps) {
  beacon::wait_context<int> ctx;
  const std::clock_t cpu0 = std::clock();
  const auto start = steady_clock::now();
  EXPECT_TRUE(ctx.wait_until(filetime_clock::now() + 300ms).empty());
  EXPECT_GE(steady_clock::now() - start, 299ms);
  const double cpu_ms =
      1000.0 * static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
  EXPECT_LT(cpu_ms, 100.0);  // a busy loop burns ~300 ms (less only if starved)
  // 73 billion years back on a seconds clock: returns at once, no overflow.
  EXPECT_TRUE(ctx.wait_until(time_point<system_clock, seconds>::min()).empty());
}
#endif

}  // namespace
