// Deadline helpers for beacon's own waits. The public type, beacon::deadline,
// and its saturating conversions live in beacon/deadline.hpp, included here
// so that code including this file keeps seeing them.
#pragma once

#include <chrono>
#include <cstdint>
#include <type_traits>

#include "beacon/deadline.hpp"

namespace beacon::detail {

// Runs `attempt(deadline)` (a timed wait returning a contextually-bool result)
// until it succeeds or `Clock` reaches `t`. For the steady clock this is one
// attempt; for other clocks it re-arms after each time-out because their
// time may have jumped relative to the steady clock. Every `wait_until(t)` in
// beacon goes through here, so none compares `Clock::now() < t` itself.
template <class Clock, class Duration, class Attempt>
auto wait_until_clock(const std::chrono::time_point<Clock, Duration>& t,
                      Attempt&& attempt) {
  auto r = attempt(deadline_at(t));
  if constexpr (!std::is_same_v<Clock, std::chrono::steady_clock>) {
    // `Clock::now() < t` itself would overflow for a `t` of a coarser
    // duration near its limits; ns_until takes the difference safely.
    while (!r && ns_until(t, Clock::now()) > 0)
      r = attempt(deadline_at(t));
  }
  return r;
}

}  // namespace beacon::detail
