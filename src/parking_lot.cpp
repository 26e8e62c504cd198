// The parking lot: a static table of buckets, each a lock and a FIFO list of
// waiters keyed by address. See include/beacon/parking_lot.hpp for the
// protocol and the contract.
#include "beacon/parking_lot.hpp"

#include <array>
#include <cassert>
#include <cstdint>
#include <mutex>  // std::lock_guard, over the bucket's spin_lock
#include <optional>

#include "beacon/detail/platform.hpp"
#include "beacon/detail/spin_lock.hpp"

namespace beacon::parking_lot {
namespace platform = beacon::detail::platform;

// Grants this file access to waiter's private members.
struct access {
  static waiter*& next(waiter& w) noexcept { return w.next_; }
  static waiter*& prev(waiter& w) noexcept { return w.prev_; }
  static const void*& address(waiter& w) noexcept { return w.address_; }
  static token& park_token(waiter& w) noexcept { return w.park_token_; }
  static token& unpark_token(waiter& w) noexcept { return w.unpark_token_; }
  static std::coroutine_handle<>& coroutine(waiter& w) noexcept { return w.coroutine_; }
  static std::atomic<std::uint32_t>& wake_state(waiter& w) noexcept {
    return w.wake_state_;
  }
  static std::atomic<std::uint8_t>& where(waiter& w) noexcept { return w.where_; }
  static constexpr std::uint8_t idle = waiter::idle;
  static constexpr std::uint8_t in_queue = waiter::in_queue;
  static constexpr std::uint8_t resume_pending = waiter::resume_pending;
};

namespace {

// waiter::wake_state_ values (thread waiters).
constexpr std::uint32_t sleeping = 0;
constexpr std::uint32_t woken = 1;
constexpr std::uint32_t interrupted = 2;

// One bucket of the table. This lock protects the whole bucket: never read
// or change `head`, `tail`, `fair_at` or the links of a queued waiter
// without holding it.
struct alignas(64) bucket {
  beacon::detail::spin_lock lock;  // short sections: spins, then yields
  waiter* head = nullptr;
  waiter* tail = nullptr;
  std::int64_t fair_at = 0;  // steady ns after which the next unpark is "fair"
  std::uint64_t seed = 0;    // xorshift state for the fairness timer

  void push_back(waiter& w) noexcept {
    access::next(w) = nullptr;
    access::prev(w) = tail;
    if (tail)
      access::next(*tail) = &w;
    else
      head = &w;
    tail = &w;
    access::where(w).store(access::in_queue, std::memory_order_relaxed);
  }

  void remove(waiter& w) noexcept {
    waiter* n = access::next(w);
    waiter* p = access::prev(w);
    (p ? access::next(*p) : head) = n;
    (n ? access::prev(*n) : tail) = p;
    access::next(w) = access::prev(w) = nullptr;
    // Release: a coroutine's owner that sees the entry idle (acquire, in
    // waiter::waiting()) also sees the unlinking above.
    access::where(w).store(access::idle, std::memory_order_release);
  }

  bool has(const void* address) const noexcept {
    for (waiter* w = head; w; w = access::next(*w))
      if (access::address(*w) == address) return true;
    return false;
  }

  // About once a millisecond per bucket (randomised, as in WebKit), tell the
  // primitive to be fair.
  bool fair_due() noexcept {
    const std::int64_t now = deadline::now().ns;
    if (now < fair_at) return false;
    if (seed == 0) seed = reinterpret_cast<std::uintptr_t>(this) | 1;
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    fair_at = now + static_cast<std::int64_t>(seed % 1'000'000);
    return true;
  }
};

constexpr std::size_t bucket_count = 1024;         // a power of two
constinit std::array<bucket, bucket_count> table;  // usable at any time, never destroyed

bucket& bucket_for(const void* address) noexcept {
  // Fibonacci hashing of the address; the top bits are the best mixed.
  const auto h = reinterpret_cast<std::uintptr_t>(address) * UINT64_C(0x9E3779B97F4A7C15);
  return table[static_cast<std::size_t>(h >> 54) & (bucket_count - 1)];
}

// Coroutines made ready on this thread, resumed in FIFO order by the
// outermost drain(). A coroutine resumed by drain() that unparks another one
// only appends it here, so resumption never recurses.
struct resume_queue {
  waiter* head = nullptr;
  waiter* tail = nullptr;
  bool draining = false;
};
thread_local resume_queue resumes;

void drain() noexcept {
  resume_queue& q = resumes;
  if (q.draining) return;  // an outer drain() on this thread resumes it
  q.draining = true;
  // q.head is re-read after every resume: a resumed coroutine may withdraw
  // (cancel) entries still pending here.
  while (waiter* w = q.head) {
    q.head = access::next(*w);
    if (!q.head) q.tail = nullptr;
    // After resume() the frame holding `w` may be gone: read what we need first.
    const std::coroutine_handle<> h = access::coroutine(*w);
    access::where(*w).store(access::idle, std::memory_order_relaxed);
    h.resume();
  }
  q.draining = false;
}

// Wakes the waiters on the singly linked list `list` (linked through next_),
// which were removed from their queue under the lock that the caller has
// now released.
void wake(waiter* list) noexcept {
  bool any_coroutine = false;
  while (waiter* w = list) {
    list = access::next(*w);  // read before the wake: `w` may be gone right after
    if (access::coroutine(*w)) {
      access::next(*w) = nullptr;
      resume_queue& q = resumes;
      (q.tail ? access::next(*q.tail) : q.head) = w;
      q.tail = w;
      any_coroutine = true;
    } else {
      // C: release pairs with the acquire load in park() (D): the unparker's
      // writes and the unpark token are visible to the woken thread.
      access::wake_state(*w).store(woken, std::memory_order_release);
      // The thread may have seen `woken` already and returned, popping the
      // entry's stack frame: waking a stale address is harmless (see
      // platform::wake_one).
      platform::wake_one(access::wake_state(*w));
    }
  }
  if (any_coroutine) drain();
}

// Collects dequeued waiters in FIFO order for wake().
struct wake_list {
  waiter* head = nullptr;
  waiter* tail = nullptr;
  std::size_t count = 0;
  void push(waiter& w) noexcept {
    access::next(w) = nullptr;
    (tail ? access::next(*tail) : head) = &w;
    tail = &w;
    ++count;
  }
  void set_token(token t) noexcept {
    for (waiter* w = head; w; w = access::next(*w))
      access::unpark_token(*w) = t;
  }
};

// Removes from `b` the waiters on `address` that `choose(waiter&)` accepts
// (it returns a filter_op), in FIFO order.
template <class Choose>
wake_list dequeue(bucket& b, const void* address, Choose&& choose) noexcept {
  wake_list out;
  for (waiter* w = b.head; w;) {
    waiter* next = access::next(*w);
    if (access::address(*w) == address) {
      const filter_op op = choose(*w);
      if (op == filter_op::stop) break;
      if (op == filter_op::unpark) {
        b.remove(*w);
        // A coroutine entry stays "waiting" until it is resumed, so that
        // cancel() can still withdraw it (see cancel_status::woken).
        if (access::coroutine(*w))
          access::where(*w).store(access::resume_pending, std::memory_order_relaxed);
        out.push(*w);
      }
    }
    w = next;
  }
  return out;
}

// Interrupts a parked thread when a stop is requested.
struct interrupter {
  waiter* entry;
  void operator()() const noexcept {
    std::uint32_t expected = sleeping;
    // Only a sleeping thread is interrupted; `woken` is final and wins.
    if (access::wake_state(*entry).compare_exchange_strong(expected, interrupted,
                                                           std::memory_order_relaxed))
      platform::wake_one(access::wake_state(*entry));
  }
};

}  // namespace

namespace detail {

park_result park(const void* address, function_ref<bool()> validate,
                 function_ref<void()> before_sleep, function_ref<void(bool)> timed_out,
                 token park_token, deadline until, const std::stop_token* stop) noexcept {
  waiter self;
  access::address(self) = address;
  access::park_token(self) = park_token;
  bucket& b = bucket_for(address);
  {
    std::lock_guard g(b.lock);
    if (!validate()) return {park_status::invalid, default_token};
    b.push_back(self);
  }
  before_sleep();

  park_status why = park_status::timed_out;
  {
    // Registered after the entry is queued: a stop requested earlier runs
    // the interrupter right here, and the loop below sees `interrupted`.
    std::optional<std::stop_callback<interrupter>> on_stop;
    if (stop && stop->stop_possible()) on_stop.emplace(*stop, interrupter{&self});
    for (;;) {
      // D: acquire pairs with C in wake().
      const std::uint32_t s = access::wake_state(self).load(std::memory_order_acquire);
      if (s == woken) return {park_status::unparked, access::unpark_token(self)};
      if (s == interrupted) {
        why = park_status::stopped;
        break;
      }
      if (!platform::wait(access::wake_state(self), s, until)) break;  // deadline passed
    }
  }

  // Timed out or stopped: take ourselves out of the queue, unless an
  // unparker dequeued us first, in which case its wake is on its way and it
  // is ours (a wake-up is never dropped on the floor).
  {
    std::lock_guard g(b.lock);
    if (access::where(self).load(std::memory_order_relaxed) == access::in_queue) {
      b.remove(self);
      timed_out(!b.has(address));
      return {why, default_token};
    }
  }
  for (;;) {
    const std::uint32_t s =
        access::wake_state(self).load(std::memory_order_acquire);  // D
    if (s == woken) return {park_status::unparked, access::unpark_token(self)};
    platform::wait(access::wake_state(self), s, deadline::never());
  }
}

bool park_async(const void* address, function_ref<bool()> validate, waiter& entry,
                std::coroutine_handle<> coroutine, token park_token) noexcept {
  access::address(entry) = address;
  access::park_token(entry) = park_token;
  access::coroutine(entry) = coroutine;
  bucket& b = bucket_for(address);
  std::lock_guard g(b.lock);
  if (!validate()) return false;
  b.push_back(entry);
  return true;
}

void resume_here(waiter& entry, std::coroutine_handle<> coroutine) noexcept {
  access::coroutine(entry) = coroutine;
  access::next(entry) = nullptr;
  access::where(entry).store(access::resume_pending, std::memory_order_relaxed);
  resume_queue& q = resumes;
  (q.tail ? access::next(*q.tail) : q.head) = &entry;
  q.tail = &entry;
  drain();
}

cancel_status cancel(waiter& entry, function_ref<void(bool)> on_removed) noexcept {
  if (access::where(entry).load(std::memory_order_acquire) == access::resume_pending) {
    // Woken, not yet resumed: the entry is on this thread's resume queue
    // (withdrawing one pending on another thread would race its resumption;
    // the contract forbids that). Unlink it; O(length of the queue).
    resume_queue& q = resumes;
    waiter* prev = nullptr;
    for (waiter* w = q.head; w; prev = w, w = access::next(*w)) {
      if (w != &entry) continue;
      (prev ? access::next(*prev) : q.head) = access::next(*w);
      if (q.tail == w) q.tail = prev;
      access::next(*w) = nullptr;
      access::where(*w).store(access::idle, std::memory_order_relaxed);
      return cancel_status::woken;
    }
    // Not on this thread's queue: another thread is about to resume the
    // coroutine, which the caller is withdrawing at the same time. That race
    // is outside the contract, and no answer is safe (`woken` would make the
    // caller pass on a grant the coroutine also consumes; `not_waiting` would
    // let it destroy a frame about to be resumed): debug builds stop here.
    assert(false && "parking_lot::cancel(): resumption pending on another thread");
    return cancel_status::woken;
  }
  const void* address = access::address(entry);
  bucket& b = bucket_for(address);
  std::lock_guard g(b.lock);
  if (access::where(entry).load(std::memory_order_relaxed) != access::in_queue)
    return cancel_status::not_waiting;
  b.remove(entry);
  on_removed(!b.has(address));
  return cancel_status::removed;
}

unpark_result unpark_one(const void* address,
                         function_ref<token(unpark_result)> callback) noexcept {
  bucket& b = bucket_for(address);
  unpark_result r;
  wake_list list;
  {
    std::lock_guard g(b.lock);
    bool taken = false;
    list = dequeue(b, address, [&](waiter&) {
      if (taken) return filter_op::stop;
      taken = true;
      return filter_op::unpark;
    });
    r.unparked = list.count;
    if (r.unparked) {
      r.have_more = b.has(address);
      r.be_fair = b.fair_due();
    }
    list.set_token(callback(r));
  }
  wake(list.head);
  return r;
}

std::size_t unpark_all(const void* address, token unpark_token) noexcept {
  bucket& b = bucket_for(address);
  wake_list list;
  {
    std::lock_guard g(b.lock);
    list = dequeue(b, address, [](waiter&) { return filter_op::unpark; });
    list.set_token(unpark_token);
  }
  const std::size_t n = list.count;
  wake(list.head);
  return n;
}

unpark_result unpark_filter(const void* address, function_ref<filter_op(token)> filter,
                            function_ref<token(unpark_result)> callback) noexcept {
  bucket& b = bucket_for(address);
  unpark_result r;
  wake_list list;
  {
    std::lock_guard g(b.lock);
    list = dequeue(b, address, [&](waiter& w) { return filter(access::park_token(w)); });
    r.unparked = list.count;
    r.have_more = b.has(address);
    if (r.unparked) r.be_fair = b.fair_due();
    list.set_token(callback(r));
  }
  wake(list.head);
  return r;
}

std::size_t queued_at(const void* address) noexcept {
  bucket& b = bucket_for(address);
  std::lock_guard g(b.lock);
  std::size_t n = 0;
  for (waiter* w = b.head; w; w = access::next(*w))
    n += access::address(*w) == address;
  return n;
}

}  // namespace detail
}  // namespace beacon::parking_lot
