// event_count: the slow paths (notify with waiters, parking a thread or a
// coroutine) and the internal coroutine of async_wait. See
// include/beacon/event_count.hpp for the contract and the state word.
#include "beacon/event_count.hpp"

#include <cstddef>
#include <new>

#include "beacon/detail/wake_n.hpp"

namespace beacon {

namespace {

using parking_lot::default_token;
using parking_lot::unpark_result;

}  // namespace

namespace detail {

// Grants the internal coroutine access to ec_async_base.
struct ec_async_access {
  // Calls the predicate (again) unless it already succeeded.
  static bool check(ec_async_base& b) noexcept {
    if (!b.done_ && b.check_(b)) b.done_ = true;
    return b.done_;
  }
  static bool park(ec_async_base& b) noexcept { return b.park(); }
  static std::coroutine_handle<> user(const ec_async_base& b) noexcept { return b.user_; }
  static unsigned char* frame(ec_async_base& b) noexcept { return b.frame_; }
  static constexpr std::size_t frame_capacity = ec_async_base::frame_capacity;
  static std::coroutine_handle<> make_resumer(ec_async_base& b);
};

}  // namespace detail

namespace {

// The internal coroutine of an async wait: the parking lot resumes it (on
// the notifying thread, after the queue lock is released); it re-checks the
// predicate and, if it holds, transfers to the waiting coroutine, otherwise
// registers and parks again. So the user's coroutine is resumed only when
// its wait has succeeded, however many notifications it took.
class resumer {
 public:
  struct promise_type {
    detail::ec_async_base& self;

    explicit promise_type(detail::ec_async_base& b) noexcept : self(b) {}

    // The frame goes into the awaiter's buffer (which lives in the waiting
    // coroutine's frame) when it fits: no allocation per wait.
    static void* operator new(std::size_t n, detail::ec_async_base& b) {
      if (n <= detail::ec_async_access::frame_capacity)
        return detail::ec_async_access::frame(b);
      return ::operator new(n);
    }
    static void operator delete(void* p, std::size_t n) noexcept {
      if (n > detail::ec_async_access::frame_capacity) ::operator delete(p);
    }

    resumer get_return_object() noexcept {
      return resumer{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    // Created suspended: the first park queues it, a notify starts it.
    std::suspend_always initial_suspend() noexcept { return {}; }
    // Done: hand over to the waiting coroutine (symmetric transfer, so a
    // chain of resumptions does not grow the stack). The frame stays alive
    // until the awaiter is destroyed.
    auto final_suspend() noexcept {
      struct to_user {
        bool await_ready() noexcept { return false; }
        std::coroutine_handle<> await_suspend(
            std::coroutine_handle<promise_type> h) noexcept {
          return detail::ec_async_access::user(h.promise().self);
        }
        void await_resume() noexcept {}
      };
      return to_user{};
    }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }  // check() catches
  };

  std::coroutine_handle<> handle;
};

// Parks the internal coroutine again; does not suspend when the predicate
// succeeded while registering.
struct repark {
  detail::ec_async_base& self;
  bool await_ready() noexcept { return false; }
  // Returns the result of park() without touching *this afterwards: once
  // queued, the coroutine may be resumed (and finished) by another thread
  // before this function returns.
  bool await_suspend(std::coroutine_handle<>) noexcept {
    return detail::ec_async_access::park(self);
  }
  void await_resume() noexcept {}
};

resumer resume_loop(detail::ec_async_base& self) {
  using access = detail::ec_async_access;
  // Each resumption here follows a notify that dequeued us (and took our
  // registration with it); a repark that found the predicate satisfied
  // while registering does not suspend, and check() then reports done.
  while (!access::check(self))
    co_await repark{self};
}

}  // namespace

std::coroutine_handle<> detail::ec_async_access::make_resumer(ec_async_base& b) {
  return resume_loop(b).handle;
}

void event_count::notify_slow(std::size_t n) noexcept {
  // Under the queue lock: the notified waiters' registrations end with their
  // dequeue; if fewer than n were queued, advance the epoch so that waiters
  // registered but not queued yet do not sleep through this notification
  // (their validation, under the same lock, sees the new epoch). Relaxed:
  // the queue lock orders this against every validation; registrations that
  // race with it outside the lock only touch the count, hence the RMW.
  auto settle = [this, n](unpark_result r) {
    std::uint64_t delta = 0 - r.unparked * one_waiter;
    if (r.unparked < n) delta += one_epoch;
    if (delta != 0) state_.fetch_add(delta, std::memory_order_relaxed);
    return default_token;
  };
  if (n == 1) {
    parking_lot::unpark_one(&state_, settle);
  } else {
    detail::wake_n wake(n);
    parking_lot::unpark_filter(&state_, wake, settle);
  }
}

bool event_count::still_current(std::uint64_t key) noexcept {
  // Under the queue lock. Same epoch: no notify found the queue short since
  // we registered, and any later one takes this lock after we are queued,
  // so it will find us: sleep; our registration now rides with the entry.
  if (((state_.load(std::memory_order_relaxed) ^ key) & ~waiters_mask) == 0) return true;
  unregister_waiter();  // a notification is ours: look at the predicate instead
  return false;
}

parking_lot::park_status event_count::park(std::uint64_t key, deadline until,
                                           const std::stop_token* stop,
                                           beacon::source_location loc) noexcept {
  return parking_lot::park(
             &state_, [this, key] { return still_current(key); }, [] {},
             // Timed out or stopped before any notify chose us: leave.
             [this](bool) { unregister_waiter(); }, default_token, until, stop,
             parking_lot::wait_site{"event_count", loc})
      .status;
}

detail::ec_async_base::~ec_async_base() {
  // Destroyed while queued: leave the queue (and the count); no notify has
  // chosen us. Destroyed after a notify chose us but before our internal
  // coroutine ran (it is pending on this thread's resume queue, e.g. an
  // earlier coroutine resumed by the same notify destroys us): that notify
  // took our registration with the dequeue and counted us among the woken,
  // so it is ours to pass on, exactly once, as a notify of one; otherwise a
  // waiter queued behind us would sleep through it. A notify that finds
  // nobody registered does nothing, as the original would have done.
  if (parking_lot::cancel(entry_, [this](bool) { ec_.unregister_waiter(); }) ==
      parking_lot::cancel_status::woken)
    ec_.notify_one();
  if (resumer_) resumer_.destroy();
}

bool detail::ec_async_base::park() noexcept {
  if (!resumer_) resumer_ = ec_async_access::make_resumer(*this);
  for (;;) {
    const std::uint64_t key = ec_.register_waiter();
    if (ec_async_access::check(*this)) {
      ec_.unregister_waiter();
      return false;
    }
    entry_.set_site({"event_count", {}});  // inspect.hpp
    if (parking_lot::park_async(
            &ec_.state_, [this, key] { return ec_.still_current(key); }, entry_,
            resumer_))
      return true;  // queued: from here on *this may be resumed and gone
    if (ec_async_access::check(*this)) return false;
  }
}

}  // namespace beacon
