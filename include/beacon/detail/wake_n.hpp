// The "wake up to n waiters" filter of parking_lot::unpark_filter, written
// once for semaphore::release(n) and event_count::notify(n).
#pragma once

#include <cstddef>

#include "beacon/parking_lot.hpp"

namespace beacon::detail {

// Unparks queued waiters in FIFO order until n are chosen, then stops the
// walk, so the rest stay queued in their order. Like every filter it runs
// under the queue lock; left() afterwards is how many of the n wake-ups found
// nobody to take them (read it in the unpark callback, which runs after the
// walk and under the same lock).
class wake_n {
 public:
  explicit wake_n(std::size_t n) noexcept : left_(n) {}

  parking_lot::filter_op operator()(parking_lot::token) noexcept {
    if (left_ == 0) return parking_lot::filter_op::stop;
    --left_;
    return parking_lot::filter_op::unpark;
  }

  std::size_t left() const noexcept { return left_; }

 private:
  std::size_t left_;  // wake-ups not handed out yet
};

}  // namespace beacon::detail
