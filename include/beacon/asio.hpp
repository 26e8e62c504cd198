// beacon/asio.hpp — every beacon waitable as an Asio asynchronous operation
// (standalone Asio, or Boost.Asio with BEACON_ASIO_USE_BOOST defined).
//
/// @file
/// Optional component (CMake target beacon::asio, built where Asio's headers
/// are found; nothing in the core depends on it). Standalone Asio 1.22 or
/// later; Boost.Asio from Boost 1.77 (cancellation slots), selected with
/// BEACON_ASIO_USE_BOOST (CI runs the Asio tests against Boost 1.81 too;
/// with Boost.System's error_code a beacon::errc is a wrapped
/// std::error_code: compare it with `==`, and convert it back to
/// std::error_code for its category's name). An older Boost is an `#error`.
///
/// Contract:
/// * `beacon::async_wait(w, token)` for auto_reset_event, manual_reset_event,
///   countdown_event and semaphore, `beacon::async_wait(ec, pred, token)` for
///   event_count and `beacon::async_wait(os_ev, token)` for os_event (Linux:
///   a readiness wait on a clone of its descriptor in the reactor, then
///   try_wait(); re-armed if another waiter took the signal first).
/// * Completion signatures: `void(error_code)` for the events, countdown and
///   a bool predicate; `void(error_code, semaphore_guard)` for a semaphore;
///   `void(error_code, T)` for a predicate returning std::optional<T>. On an
///   error the value is default-constructed (an empty guard).
/// * Any completion token: callbacks, use_awaitable, use_future, deferred
///   (asio::experimental::deferred in Asio 1.22), awaitable_operators.
/// * The handler runs through its associated executor (a plain callback's is
///   the system executor: bind it with asio::bind_executor to run it on an
///   io_context), never inline inside set() / release() / notify*(), never
///   inside the initiating call, also when the wait can succeed at once:
///   the completion is always posted. A pending wait is outstanding work.
/// * Cancellation (the handler's cancellation slot; any type, all treated as
///   terminal): withdraws the waiter from the parking lot, passes on a grant
///   that already arrived (an auto-reset signal, a semaphore permit) and
///   completes with operation_aborted. A wait whose completion was already
///   posted when the cancellation came completes normally (Asio's rule); a
///   semaphore_guard dropped unused by the receiver (e.g. the loser of `||`)
///   returns its permit, but an auto-reset signal delivered that way is
///   consumed. An event_count wait is withdrawn with notify_all() (its waiters
///   re-check their predicates and re-queue), and passes a notification that
///   reached it on with notify_one().
/// * Destroying the execution context with waits pending frees their
///   handlers without running them and swallows no grant (each is withdrawn;
///   a grant that had arrived is passed on; a posted completion destroyed
///   unrun passes its grant on too).
/// * An exception thrown by an event_count predicate ends the wait; it is
///   rethrown where the handler would have run (out of io_context::run()).
/// * Clang with libstdc++: Asio 1.22 enables co_await for Clang only with the
///   old coroutine TS headers; this header (and the beacon::asio target, as
///   compile definitions) define ASIO_HAS_CO_AWAIT / ASIO_HAS_STD_COROUTINE
///   where `<coroutine>` is there. Include beacon/asio.hpp before asio, or
///   link beacon::asio, for use_awaitable to exist with Clang.
///
/// * Once receivers: `beacon::async_wait(rx, token)` → `void(error_code, T)`;
///   errc::disconnected / errc::exception_sent (beacon::error_category())
///   as errors, the receiver then left as it is (see that overload).
///
/// Memory ordering: as the primitive's own wait: the set() / release() /
/// tick() / notify that granted the wait happens-before the handler runs
/// (through the lot's hand-off and the executor's post).
///
/// Lifetime: the waitable must outlive every wait pending on it (until its
/// handler ran or was destroyed).
///
/// @code
///  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
///    auto permit = co_await beacon::async_wait(slots, asio::use_awaitable);
///    co_await beacon::async_wait(ready, asio::use_awaitable);
///  }, asio::detached);
/// @endcode
#pragma once

#if defined(BEACON_ASIO_USE_BOOST)
#if defined(__clang__) && defined(__cpp_impl_coroutine) && __has_include(<coroutine>)
#if !defined(BOOST_ASIO_HAS_CO_AWAIT) && !defined(BOOST_ASIO_DISABLE_CO_AWAIT)
#define BOOST_ASIO_HAS_CO_AWAIT 1
#endif
#if !defined(BOOST_ASIO_HAS_STD_COROUTINE) && !defined(BOOST_ASIO_DISABLE_STD_COROUTINE)
#define BOOST_ASIO_HAS_STD_COROUTINE 1
#endif
#endif
#include <boost/version.hpp>
#include <utility>  // Boost.Asio's awaitable.hpp uses std::exchange without it
#if BOOST_VERSION < 107700
#error "beacon/asio.hpp needs Boost.Asio 1.77 or later (cancellation slots)"
#endif
#include <boost/asio.hpp>
#else
#if defined(__clang__) && defined(__cpp_impl_coroutine) && __has_include(<coroutine>)
#if !defined(ASIO_HAS_CO_AWAIT) && !defined(ASIO_DISABLE_CO_AWAIT)
#define ASIO_HAS_CO_AWAIT 1
#endif
#if !defined(ASIO_HAS_STD_COROUTINE) && !defined(ASIO_DISABLE_STD_COROUTINE)
#define ASIO_HAS_STD_COROUTINE 1
#endif
#endif
#include <asio.hpp>
#endif

#include <atomic>
#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>

#include "beacon/auto_reset_event.hpp"
#include "beacon/countdown_event.hpp"
#include "beacon/event_count.hpp"
#include "beacon/manual_reset_event.hpp"
#include "beacon/once_event.hpp"
#include "beacon/parking_lot.hpp"
#include "beacon/semaphore.hpp"
#if defined(__linux__)
#include "beacon/os_event.hpp"
#endif

namespace beacon {

/// The errors of beacon's asynchronous operations (async_wait on a once
/// receiver), in beacon::error_category().
enum class errc {
  /// The sender was destroyed without sending (receive() would throw
  /// beacon::disconnected); the receiver is left as it was.
  disconnected = 1,
  /// The sender sent an exception (send_exception); it stays in the
  /// receiver: its try_receive() rethrows it (and consumes the receiver).
  exception_sent = 2,
};

/// beacon's error category ("beacon"): beacon::errc values.
inline const std::error_category& error_category() noexcept {
  struct category final : std::error_category {
    const char* name() const noexcept override { return "beacon"; }
    std::string message(int e) const override {
      switch (static_cast<errc>(e)) {
        case errc::disconnected:
          return "the sender was destroyed without sending";
        case errc::exception_sent:
          return "the sender sent an exception (the receiver rethrows it)";
      }
      return "unknown beacon error";
    }
  };
  static const category c;  // one per program: an inline function's static
  return c;
}

/// A std::error_code of beacon::error_category().
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace beacon

/// @cond BEACON_INTERNALS  (the component's internals: not part of the API)
// beacon::errc converts to std::error_code (make_error_code above).
template <>
struct std::is_error_code_enum<beacon::errc> : std::true_type {};

namespace beacon::detail {

#if defined(BEACON_ASIO_USE_BOOST)
namespace net = ::boost::asio;
using net_error_code = ::boost::system::error_code;
#else
namespace net = ::asio;
using net_error_code = ::std::error_code;
#endif

// The unpark token of a withdrawal; every releaser of the cores hands out
// default_token, so a woken operation knows whether it was granted.
inline constexpr parking_lot::token asio_withdrawn_token = 1;

// Park tokens of pending operations: unique for the life of the process, so
// a withdrawal never takes another operation's entry (not even one at the
// address of a freed operation).
inline std::uint64_t asio_next_op_id() noexcept {
  static std::atomic<std::uint64_t> next{1};  // only increases; relaxed: uniqueness only
  return next.fetch_add(1, std::memory_order_relaxed);
}

// What a withdrawal needs: copied out under the service's mutex, so it can
// run without touching the operation (which may complete meanwhile).
struct asio_withdraw_info {
  void (*fn)(void* target, std::uint64_t id) noexcept = nullptr;
  void* target = nullptr;  // the core or the event_count
  std::uint64_t id = 0;
};

class asio_wait_service;

// A pending operation, as the service tracks it.
class asio_op_base {
 public:
  asio_op_base(const asio_op_base&) = delete;
  asio_op_base& operator=(const asio_op_base&) = delete;

 protected:
  asio_op_base(void (*withdraw)(void*, std::uint64_t) noexcept, void* target) noexcept
      : info_{withdraw, target, asio_next_op_id()} {}
  virtual ~asio_op_base() = default;
  // How it ends: delivered (the wait succeeded), aborted (cancelled or
  // withdrawn: pass on a grant that arrived) or discarded (the context is
  // shutting down: pass on a grant, destroy the handler unrun).
  enum class verdict : std::uint8_t { deliver, abort, discard };
  // Finishes with `v` (posts or discards, then deletes *this).
  virtual void finish(verdict v) noexcept = 0;

  asio_withdraw_info info_;
  // false -> true once, under the service's mutex (cancellation or
  // shutdown); read without it by the parking validation, under the queue
  // lock that the withdrawal takes after setting it (so a wait that queues
  // after a cancellation sees it and does not park). Relaxed: the locks order it.
  std::atomic<bool> cancel_requested_{false};

 private:
  friend class asio_wait_service;
  // Guarded by the service's mutex.
  asio_op_base* prev_ = nullptr;
  asio_op_base* next_ = nullptr;
  bool linked_ = false;
  std::thread::id withdrawer_{};  // a thread inside this op's withdrawal
  bool deferred_ = false;         // woken inside that withdrawal, on its thread
  verdict deferred_verdict_ = verdict::deliver;
};

// One per execution context: the pending waits of handlers whose executor
// belongs to it, so that cancellation can find them and shutdown withdraw
// them. Protocol (why a grant is neither lost nor doubled): an operation is
// woken exactly once, by whoever dequeues its entry under the queue lock,
// either a releaser (a grant) or a withdrawal (no grant), and the woken
// operation decides under this mutex whether it delivers, aborts (passing a
// grant on) or is discarded. A withdrawal runs outside the mutex; the
// operation cannot finish on another thread until the withdrawal returned
// (it waits for it), so what the withdrawal touches (the event_count) is
// still alive; woken inside the withdrawal on the same thread, it leaves the
// finishing to the withdrawer.
class asio_wait_service final : public net::execution_context::service {
 public:
  using key_type = asio_wait_service;
  static inline net::execution_context::id id;

  explicit asio_wait_service(net::execution_context& context)
      : net::execution_context::service(context) {}

  // Registers a pending operation; false when the context shuts down.
  bool add(asio_op_base& op) {
    std::lock_guard lock(m_);
    if (shutting_down_) return false;
    op.next_ = head_;
    op.prev_ = nullptr;
    if (head_) head_->prev_ = &op;
    head_ = &op;
    op.linked_ = true;
    ++active_;
    return true;
  }

  // The operation was woken (granted or withdrawn) or finished by itself;
  // decides how it ends and finishes it (maybe through its withdrawer).
  void settle(asio_op_base& op, bool aborted) noexcept {
    std::unique_lock lock(m_);
    const std::thread::id self = std::this_thread::get_id();
    // A withdrawal on another thread may still touch the waitable: wait
    // for it to return before the handler can run.
    cv_.wait(lock, [&] {
      return op.withdrawer_ == std::thread::id{} || op.withdrawer_ == self;
    });
    unlink(op);
    const auto v = shutting_down_ ? asio_op_base::verdict::discard
                   : (aborted || op.cancel_requested_.load(std::memory_order_relaxed))
                       ? asio_op_base::verdict::abort
                       : asio_op_base::verdict::deliver;
    if (op.withdrawer_ == self) {  // inside our own withdrawal: it finishes
      op.deferred_ = true;
      op.deferred_verdict_ = v;
      return;
    }
    lock.unlock();
    op.finish(v);
    done();
  }

  // The cancellation slot's handler: withdraws the operation `id` if pending.
  void cancel(std::uint64_t id) noexcept {
    std::unique_lock lock(m_);
    asio_op_base* op = head_;
    while (op && op->info_.id != id)
      op = op->next_;
    if (!op || op->cancel_requested_.load(std::memory_order_relaxed)) return;
    withdraw(lock, *op);
  }

  void shutdown() override {
    std::unique_lock lock(m_);
    shutting_down_ = true;
    while (asio_op_base* op = head_) {
      unlink(*op);
      withdraw(lock, *op);
      lock.lock();
    }
    // Woken operations finishing on other threads (a set() racing the
    // shutdown): they post to a scheduler that is not shut down yet.
    cv_.wait(lock, [&] { return active_ == 0; });
  }

 private:
  void unlink(asio_op_base& op) noexcept {
    if (!op.linked_) return;
    (op.prev_ ? op.prev_->next_ : head_) = op.next_;
    if (op.next_) op.next_->prev_ = op.prev_;
    op.linked_ = false;
  }
  // Called with `lock` held on a pending operation; returns with it released.
  void withdraw(std::unique_lock<std::mutex>& lock, asio_op_base& op) noexcept {
    op.cancel_requested_.store(true, std::memory_order_relaxed);
    op.withdrawer_ = std::this_thread::get_id();
    const asio_withdraw_info info = op.info_;
    lock.unlock();
    info.fn(info.target, info.id);  // may wake op here (then it defers to us)
    lock.lock();
    op.withdrawer_ = std::thread::id{};
    const bool deferred = std::exchange(op.deferred_, false);
    const auto v = op.deferred_verdict_;
    lock.unlock();
    cv_.notify_all();  // an operation woken on another thread waits for us
    if (deferred) {
      op.finish(v);
      done();
    }
  }
  void done() noexcept {
    std::lock_guard lock(m_);
    // Under the lock: once active_ is 0 the shutdown may go on and the
    // service be destroyed.
    if (--active_ == 0 && shutting_down_) cv_.notify_all();
  }

  std::mutex m_;
  std::condition_variable cv_;
  asio_op_base* head_ = nullptr;  // pending (registered, not yet woken) operations
  std::size_t active_ = 0;        // registered and not yet finished
  bool shutting_down_ = false;
};

template <class Executor>
net::execution_context& asio_context_of(const Executor& ex) {
  if constexpr (net::execution::is_executor<Executor>::value)
    return net::query(ex, net::execution::context);
  else
    return ex.context();
}

// The handler and its result, posted to the handler's executor. Destroyed
// unrun (the context shut down), it passes its grant on.
template <class Handler, class... Values>
class asio_completion {
 public:
  using slot_type = net::associated_cancellation_slot_t<Handler>;

  asio_completion(Handler&& h, slot_type slot, net_error_code ec,
                  void (*pass_on)(void*) noexcept, void* pass_on_arg, Values&&... v)
      : handler_(std::move(h)),
        slot_(slot),
        ec_(ec),
        values_(std::move(v)...),
        pass_on_(pass_on),
        pass_on_arg_(pass_on_arg) {}
  asio_completion(asio_completion&& o) noexcept
      : handler_(std::move(o.handler_)),
        slot_(o.slot_),
        ec_(o.ec_),
        values_(std::move(o.values_)),
        pass_on_(o.pass_on_),
        pass_on_arg_(std::exchange(o.pass_on_arg_, nullptr)) {}
  asio_completion& operator=(asio_completion&&) = delete;
  ~asio_completion() {
    if (pass_on_arg_) pass_on_(pass_on_arg_);
  }

  void operator()() {
    if (slot_.is_connected()) slot_.clear();
    pass_on_arg_ = nullptr;  // delivered
    std::apply(
        [&](auto&&... v) { std::move(handler_)(ec_, std::forward<decltype(v)>(v)...); },
        std::move(values_));
  }

 private:
  Handler handler_;
  slot_type slot_;
  net_error_code ec_;
  std::tuple<Values...> values_;
  void (*pass_on_)(void*) noexcept;
  void* pass_on_arg_;
};

template <class Handler, class... Values>
void asio_post(Handler&& h, net_error_code ec, void (*pass_on)(void*) noexcept,
               void* pass_on_arg, Values&&... v) {
  auto ex = net::get_associated_executor(h);
  auto slot = net::get_associated_cancellation_slot(h);
  net::post(ex, asio_completion<std::decay_t<Handler>, std::decay_t<Values>...>(
                    std::move(h), slot, ec, pass_on, pass_on_arg, std::move(v)...));
}

// The slot's handler: refers to the operation by id through the service, so
// an emit after the operation finished finds nothing.
struct asio_cancel_handler {
  asio_cancel_handler(asio_wait_service* s, std::uint64_t i) noexcept
      : service(s), id(i) {}
  asio_wait_service* service;
  std::uint64_t id;
  void operator()(net::cancellation_type type) const noexcept {
    if (type != net::cancellation_type::none) service->cancel(id);
  }
};

// How asio_park ended: the entry is queued (from then on the operation may
// be gone: whoever dequeues it settles it), a cancellation came first, or
// the waitable became ready meanwhile (acquired: the caller owns it).
enum class asio_parked : std::uint8_t { queued, cancelled, acquired };

// Queues an operation's lot entry on `core` (a parked-bit core, see
// detail/parked_wait.hpp) with its unique token `id`, unless a cancellation
// came first: the withdrawal sets `cancel_requested` before it takes this
// queue lock to look for the entry, so a park validated after it sees the
// flag and a park before it is found and withdrawn. One protocol for every
// operation that waits in the lot.
template <class Core>
asio_parked asio_park(Core& core, parking_lot::waiter& entry,
                      std::coroutine_handle<> resumer, std::uint64_t id,
                      const std::atomic<bool>& cancel_requested) noexcept {
  for (;;) {
    if (parking_lot::park_async(
            &core.word(),
            [&] {
              return !cancel_requested.load(std::memory_order_relaxed) &&
                     mark_parked(core);
            },
            entry, resumer, id))
      return asio_parked::queued;
    if (cancel_requested.load(std::memory_order_relaxed)) return asio_parked::cancelled;
    if (core.try_acquire()) return asio_parked::acquired;
  }
}

// The context's wait service for handler `h` (its associated executor's).
template <class Handler>
asio_wait_service& asio_service_for(const Handler& h) {
  return net::use_service<asio_wait_service>(
      asio_context_of(net::get_associated_executor(h)));
}

// Registers a new pending operation with its service and, where its handler
// has a cancellation slot, connects the slot; returns it released (from here
// its wait owns it), or null when the context is shutting down (the
// operation and its handler are destroyed unrun).
template <class Op>
Op* asio_register(std::unique_ptr<Op> op) {
  if (!op->svc_.add(*op)) return nullptr;
  auto slot = net::get_associated_cancellation_slot(op->handler_);
  if (slot.is_connected())
    slot.template emplace<asio_cancel_handler>(&op->svc_, op->info_.id);
  return op.release();
}

// A coroutine started suspended whose only job is to be what the parking lot
// resumes: its body calls back into the operation, then its frame frees
// itself.
struct asio_resumer {
  struct promise_type {
    asio_resumer get_return_object() noexcept {
      return {std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
  std::coroutine_handle<promise_type> handle;
};

template <class Op>
asio_resumer asio_resume(Op* op) {
  op->on_woken();
  co_return;
}

template <class Handler>
using asio_tracked_executor_t = std::decay_t<decltype(net::prefer(
    net::get_associated_executor(std::declval<Handler&>()),
    net::execution::outstanding_work.tracked))>;

// A wait on a parked-bit core (events, countdown, semaphore).
template <class W, class Handler>
class asio_core_op final : public asio_op_base {
  template <class Op>
  friend Op* asio_register(std::unique_ptr<Op> op);
  using core_type =
      std::remove_reference_t<decltype(waitable_access::core(std::declval<W&>()))>;
  using grant_type = decltype(waitable_access::grant(std::declval<W&>()));

 public:
  static void start(W& w, Handler&& h) {
    core_type& core = waitable_access::core(w);
    if (core.try_acquire()) {  // ready: still posted, never run inline
      deliver(w, std::move(h));
      return;
    }
    asio_wait_service& svc = asio_service_for(h);
    if (auto* op = asio_register(
            std::unique_ptr<asio_core_op>(new asio_core_op(w, std::move(h), svc))))
      op->park();
  }

  ~asio_core_op() override {
    if (resumer_) resumer_.destroy();  // never resumed
  }

  void on_woken() noexcept {  // on the thread that dequeued our entry
    resumer_ = nullptr;       // its frame frees itself after this call
    granted_ = entry_.unpark_token() == parking_lot::default_token;
    svc_.settle(*this, !granted_);
  }

 private:
  asio_core_op(W& w, Handler&& h, asio_wait_service& svc)
      : asio_op_base(&withdraw, &waitable_access::core(w)),
        w_(w),
        handler_(std::move(h)),
        work_(net::prefer(net::get_associated_executor(handler_),
                          net::execution::outstanding_work.tracked)),
        svc_(svc),
        resumer_(asio_resume(this).handle) {}
  // Queues the entry; from a true park_async on, *this may be gone.
  void park() noexcept {
    core_type& core = waitable_access::core(w_);
    entry_.set_site({name_of<core_type>(), {}});  // inspect.hpp
    switch (asio_park(core, entry_, resumer_, info_.id, cancel_requested_)) {
      case asio_parked::queued:
        return;
      case asio_parked::cancelled:
        svc_.settle(*this, true);
        return;
      case asio_parked::acquired:
        granted_ = true;
        svc_.settle(*this, false);
        return;
    }
  }

  // Under the queue lock: takes our entry out if still queued; the woken
  // entry is resumed on this thread with asio_withdrawn_token.
  static void withdraw(void* target, std::uint64_t id) noexcept {
    core_type& core = *static_cast<core_type*>(target);
    bool found = false;
    parking_lot::unpark_filter(
        &core.word(),
        [&](parking_lot::token t) {
          if (found) return parking_lot::filter_op::stop;
          if (t != id) return parking_lot::filter_op::skip;
          found = true;
          return parking_lot::filter_op::unpark;
        },
        [&](parking_lot::unpark_result r) {
          if (r.unparked) leave(core, !r.have_more);  // only then is `core` ours to touch
          return asio_withdrawn_token;
        });
  }

  static void pass_on_core(void* core) noexcept {
    static_cast<core_type*>(core)->pass_on();
  }

  // Posts the successful completion (the grant taken).
  static void deliver(W& w, Handler&& h) {
    if constexpr (std::is_same_v<W, auto_reset_event>)  // an exclusive signal
      asio_post(std::move(h), net_error_code{}, &pass_on_core, &waitable_access::core(w));
    else if constexpr (std::is_void_v<grant_type>)  // a broadcast: nothing to pass on
      asio_post(std::move(h), net_error_code{}, &pass_on_core, nullptr);
    else
      asio_post(std::move(h), net_error_code{}, &pass_on_core, nullptr,
                waitable_access::grant(w));
  }

  void finish(verdict v) noexcept override {
    if (v != verdict::deliver && granted_) core_of().pass_on();  // nobody takes it
    try {
      if (v == verdict::deliver) {
        deliver(w_, std::move(handler_));
      } else if (v == verdict::abort) {
        if constexpr (std::is_void_v<grant_type>)
          asio_post(std::move(handler_), net::error::operation_aborted, &pass_on_core,
                    nullptr);
        else
          asio_post(std::move(handler_), net::error::operation_aborted, &pass_on_core,
                    nullptr, grant_type{});
      }
    } catch (...) {
      // post allocates; if it fails the handler is dropped, as at shutdown.
    }
    delete this;  // releases the outstanding work, after the post
  }

  core_type& core_of() noexcept { return waitable_access::core(w_); }

  W& w_;
  Handler handler_;
  asio_tracked_executor_t<Handler> work_;
  asio_wait_service& svc_;
  std::coroutine_handle<> resumer_;
  parking_lot::waiter entry_;
  bool granted_ =
      false;  // set by the thread that woke or completed the wait, before settle
};

// A beacon::errc as the handler's error code type.
inline net_error_code asio_error(errc e) noexcept {
#if defined(BEACON_ASIO_USE_BOOST)
  // Boost.System adopts a std::error_code (its category wrapped) from 1.65 on.
  return net_error_code(make_error_code(e));
#else
  return make_error_code(e);
#endif
}

// The completion of a receiver's wait, posted to the handler's executor once
// the sender finished. It takes the value only when it runs, so that one
// destroyed unrun (the context shut down) leaves the value in the receiver:
// nothing is swallowed. The receiver (and its event) is alive until then
// (the contract: it outlives the wait until the handler ran or was destroyed).
// Run: the value (receiver consumed), or errc::disconnected /
// errc::exception_sent with a default-constructed T (the receiver left as it
// is: its try_receive() rethrows the exception sent).
template <class Handler, class R>
class asio_rx_completion {
 public:
  using slot_type = net::associated_cancellation_slot_t<Handler>;
  using value_type = typename R::value_type;

  asio_rx_completion(Handler&& h, slot_type slot, R* rx)
      : handler_(std::move(h)), slot_(slot), rx_(rx) {}
  asio_rx_completion(asio_rx_completion&&) noexcept = default;
  asio_rx_completion& operator=(asio_rx_completion&&) = delete;

  void operator()() {
    if (slot_.is_connected()) slot_.clear();
    // Relaxed: the op read tx_done with acquire (or was woken through the
    // lot's hand-off) before it posted, and the post orders that before us.
    const std::uint8_t s = once_access::wait_word(*rx_)->load(std::memory_order_relaxed);
    if (s & once_bits::value) {
      value_type v = once_access::take_ready(*rx_);  // may throw (T's move): out of run()
      std::move(handler_)(net_error_code{}, std::move(v));
    } else {
      std::move(handler_)(
          asio_error((s & once_bits::error) ? errc::exception_sent : errc::disconnected),
          value_type{});
    }
  }

 private:
  Handler handler_;
  slot_type slot_;
  R* rx_;
};

// A wait on a once_event receiver R (concrete or type-erased), as
// asio_core_op waits on a core: its own entry in the lot on the event's
// state word (the address receive() parks on), with this operation's unique
// park token, so that a cancellation on any thread withdraws exactly this
// entry under the queue lock (unpark_filter). Whoever dequeues the entry
// first decides, once: the sender (once_finish_parked's unpark_one: tx_done
// set in the same critical section; default_token, a grant) or the
// withdrawal (asio_withdrawn_token, no grant). Awaiting the receiver's own
// co_await instead would not do: its awaiter's withdrawal (parking_lot::
// cancel) is only safe on the thread that would resume it, and a cancellation
// slot fires on any thread. "Granted" consumes nothing (the value stays in the
// event until the completion runs), so an aborted, discarded or cancelled
// wait passes nothing on: the value stays receivable.
template <class R, class Handler>
class asio_rx_op final : public asio_op_base {
  template <class Op>
  friend Op* asio_register(std::unique_ptr<Op> op);

 public:
  static void start(R& rx, Handler&& h) {
    once_state* word = once_access::wait_word(rx);
    if (once_wait_core(word).try_acquire()) {  // ready: still posted, never inline
      deliver(rx, std::move(h));
      return;
    }
    asio_wait_service& svc = asio_service_for(h);
    if (auto* op = asio_register(
            std::unique_ptr<asio_rx_op>(new asio_rx_op(rx, word, std::move(h), svc))))
      op->park();
  }

  ~asio_rx_op() override {
    if (resumer_) resumer_.destroy();  // never resumed
  }

  void on_woken() noexcept {  // on the thread that dequeued our entry
    resumer_ = nullptr;       // its frame frees itself after this call
    svc_.settle(*this, entry_.unpark_token() != parking_lot::default_token);
  }

 private:
  asio_rx_op(R& rx, once_state* word, Handler&& h, asio_wait_service& svc)
      : asio_op_base(&withdraw, word),
        rx_(rx),
        word_(word),
        handler_(std::move(h)),
        work_(net::prefer(net::get_associated_executor(handler_),
                          net::execution::outstanding_work.tracked)),
        svc_(svc),
        resumer_(asio_resume(this).handle) {}

  // Queues the entry; from a true park_async on, *this may be gone.
  void park() noexcept {
    once_wait_core core(word_);
    entry_.set_site({once_wait_core::name, {}});  // inspect.hpp
    // mark_parked (in asio_park): `parked` set under the queue lock only
    // while tx_done is not, so the sender's transition either comes first (we
    // do not park: try_acquire succeeds) or finds `parked` and dequeues us
    // under this lock (once_event.hpp: "Waking a parked receiver").
    switch (asio_park(core, entry_, resumer_, info_.id, cancel_requested_)) {
      case asio_parked::queued:
        return;
      case asio_parked::cancelled:
        svc_.settle(*this, true);
        return;
      case asio_parked::acquired:
        svc_.settle(*this, false);
        return;
    }
  }

  // Under the queue lock: takes our entry out if still queued (clearing
  // `parked`, as a timed-out receiver does); the woken entry is resumed on
  // this thread with asio_withdrawn_token. The event is alive: the receiver,
  // which keeps it, outlives the wait.
  static void withdraw(void* target, std::uint64_t id) noexcept {
    auto* word = static_cast<once_state*>(target);
    bool found = false;
    parking_lot::unpark_filter(
        word,
        [&](parking_lot::token t) {
          if (found) return parking_lot::filter_op::stop;
          if (t != id) return parking_lot::filter_op::skip;
          found = true;
          return parking_lot::filter_op::unpark;
        },
        [&](parking_lot::unpark_result r) {
          if (r.unparked) {
            once_wait_core core(word);
            leave(core, !r.have_more);
          }
          return asio_withdrawn_token;
        });
  }

  static void deliver(R& rx, Handler&& h) {
    auto ex = net::get_associated_executor(h);
    auto slot = net::get_associated_cancellation_slot(h);
    net::post(ex, asio_rx_completion<Handler, R>(std::move(h), slot, &rx));
  }

  void finish(verdict v) noexcept override {
    // Nothing to pass on in any verdict: nothing was taken from the event.
    try {
      if (v == verdict::deliver)
        deliver(rx_, std::move(handler_));
      else if (v == verdict::abort)
        asio_post(std::move(handler_), net::error::operation_aborted, nullptr, nullptr,
                  typename R::value_type{});
    } catch (...) {
      // post allocates; if it fails the handler is dropped, as at shutdown.
    }
    delete this;  // releases the outstanding work, after the post
  }

  R& rx_;
  once_state* word_;
  Handler handler_;
  asio_tracked_executor_t<Handler> work_;
  asio_wait_service& svc_;
  std::coroutine_handle<> resumer_;
  parking_lot::waiter entry_;
};

// A wait on an event_count: a bridge coroutine awaits ec.async_wait() with
// a predicate that also ends the wait when a cancellation was requested.
template <class Pred, class Handler>
class asio_ec_op final : public asio_op_base {
  template <class Op>
  friend Op* asio_register(std::unique_ptr<Op> op);
  using outcome = ec_outcome<Pred>;  // bool or std::optional<T>
  // What the bridge's predicate yields once it succeeds: the user's outcome,
  // false / nullopt when the wait was cancelled instead.
  struct checked {
    asio_ec_op* op;
    std::optional<outcome> operator()() {
      // Relaxed: event_count's fences order the withdrawal's store before
      // its notify_all() against this check (as any predicate state).
      if (op->cancel_requested_.load(std::memory_order_relaxed)) return outcome{};
      outcome r = detail::ec_call(op->pred_);
      if (!r) return std::nullopt;
      return std::optional<outcome>(std::move(r));
    }
  };

 public:
  static void start(event_count& ec, Pred&& p, Handler&& h) {
    asio_wait_service& svc = asio_service_for(h);
    std::unique_ptr<asio_ec_op> op(new asio_ec_op(ec, std::move(p), std::move(h), svc));
    op->bridge_ = run(op.get()).handle;
    // From here the bridge owns *op: it settles it on whatever thread
    // satisfies the predicate (possibly this one, at once).
    if (auto* o = asio_register(std::move(op)))
      std::exchange(o->bridge_, nullptr).resume();
  }
  ~asio_ec_op() override {
    if (bridge_) bridge_.destroy();  // never started
  }

 private:
  asio_ec_op(event_count& ec, Pred&& p, Handler&& h, asio_wait_service& svc)
      : asio_op_base(&withdraw, &ec),
        ec_(ec),
        pred_(std::move(p)),
        handler_(std::move(h)),
        work_(net::prefer(net::get_associated_executor(handler_),
                          net::execution::outstanding_work.tracked)),
        svc_(svc) {}
  static asio_resumer run(asio_ec_op* op) {
    bool aborted = false;
    try {
      outcome r = co_await op->ec_.async_wait(checked{op});
      if (r)
        op->result_.emplace(std::move(r));
      else
        aborted = true;
    } catch (...) {
      op->error_ = std::current_exception();
    }
    // A notify that chose this waiter is not dropped: pass it on (an extra
    // notification is always harmless). Before settling: once the handler
    // can run, the event_count may be gone.
    if (aborted) op->ec_.notify_one();
    op->svc_.settle(*op, aborted);
  }

  static void withdraw(void* target, std::uint64_t) noexcept {
    static_cast<event_count*>(target)->notify_all();
  }

  void finish(verdict v) noexcept override {
    if (v == verdict::abort && (result_ || error_)) v = verdict::deliver;  // consumed
    try {
      if (v == verdict::deliver && error_) {
        auto slot = net::get_associated_cancellation_slot(handler_);
        net::post(net::get_associated_executor(handler_), [slot, e = error_]() mutable {
          if (slot.is_connected()) slot.clear();
          std::rethrow_exception(e);
        });
      } else if (v == verdict::deliver) {
        if constexpr (std::is_same_v<outcome, bool>)
          asio_post(std::move(handler_), net_error_code{}, nullptr, nullptr);
        else
          asio_post(std::move(handler_), net_error_code{}, nullptr, nullptr,
                    std::move(**result_));
      } else if (v == verdict::abort) {
        if constexpr (std::is_same_v<outcome, bool>)
          asio_post(std::move(handler_), net::error::operation_aborted, nullptr, nullptr);
        else
          asio_post(std::move(handler_), net::error::operation_aborted, nullptr, nullptr,
                    typename outcome::value_type{});
      }
    } catch (...) {
      // post allocates; if it fails the handler is dropped, as at shutdown.
    }
    delete this;
  }

  event_count& ec_;
  Pred pred_;
  Handler handler_;
  asio_tracked_executor_t<Handler> work_;
  asio_wait_service& svc_;
  std::coroutine_handle<> bridge_;
  std::optional<outcome> result_;
  std::exception_ptr error_;
};

#if defined(__linux__)
// os_event: readiness of a clone of its descriptor in the reactor, then
// try_wait(); another waiter may have consumed the signal: wait again.
// Cancellation and shutdown are the descriptor wait's own.
struct asio_os_event_op {
  const os_event* ev;
  std::unique_ptr<net::posix::stream_descriptor> fd;

  template <class Self>
  void operator()(Self& self, net_error_code ec = {}) {
    if (!fd) {
      fd = std::make_unique<net::posix::stream_descriptor>(
          net::get_associated_executor(self), ev->try_clone().release());
    } else if (ec) {
      fd.reset();
      self.complete(ec);
      return;
    } else if (ev->try_wait()) {
      fd.reset();
      self.complete(net_error_code{});
      return;
    }
    fd->async_wait(net::posix::stream_descriptor::wait_read, std::move(self));
  }
};
#endif

}  // namespace beacon::detail
/// @endcond

namespace beacon {

/// Waits asynchronously on an auto_reset_event, manual_reset_event,
/// countdown_event (completion `void(error_code)`) or semaphore
/// (`void(error_code, semaphore_guard)`); see the file comment.
template <class W, class CompletionToken>
requires std::is_same_v<W, auto_reset_event> || std::is_same_v<W, manual_reset_event> ||
    std::is_same_v<W, countdown_event> || std::is_same_v<W, semaphore>
auto async_wait(W& w, CompletionToken&& token) {
  using grant = decltype(detail::waitable_access::grant(w));
  auto init = [](auto handler, W* target) {
    detail::asio_core_op<W, decltype(handler)>::start(*target, std::move(handler));
  };
  if constexpr (std::is_void_v<grant>)
    return detail::net::async_initiate<CompletionToken, void(detail::net_error_code)>(
        init, token, &w);
  else
    return detail::net::async_initiate<CompletionToken, void(detail::net_error_code,
                                                             grant)>(init, token, &w);
}

/// Waits asynchronously on a once_event receiver (concrete or the
/// type-erased once_receiver<T>, by reference: it must outlive the wait until
/// the handler ran or was destroyed): completion `void(error_code, T)`. The
/// value is taken when the handler runs (the receiver is then received);
/// errc::disconnected (sender destroyed unsent) and errc::exception_sent
/// (send_exception: a handler cannot be thrown at; the exception stays in the
/// receiver, whose try_receive() rethrows it) complete with a
/// default-constructed T and leave the receiver as it is, as does
/// operation_aborted (cancellation) and a context destroyed with the wait
/// pending. T must be default constructible (the error completions' value).
/// Throws std::logic_error, initiating nothing, for a receiver that holds no
/// once_event (received, moved from, empty, or a type-erased
/// local_once_event receiver); a concrete local_once_event receiver does not
/// compile (its sender runs on the same thread: co_await it directly).
template <class R, class CompletionToken>
requires detail::once_receiver_v<R>
auto async_wait(R& rx, CompletionToken&& token) {
  using T = typename R::value_type;
  static_assert(std::is_default_constructible_v<T>,
                "beacon::async_wait on a receiver needs a default-constructible T "
                "(the value of its error completions)");
  static_assert(detail::receiver_can_block<R>(),
                "beacon::async_wait does not take a local_once_event receiver: its "
                "sender runs on the same thread; co_await std::move(rx) instead");
  if (!detail::once_access::wait_word(rx))
    throw std::logic_error(
        "beacon::async_wait: a receiver that holds no once_event (already received, "
        "moved from, empty, or a local_once_event's)");
  auto init = [](auto handler, R* target) {
    detail::asio_rx_op<R, decltype(handler)>::start(*target, std::move(handler));
  };
  return detail::net::async_initiate<CompletionToken, void(detail::net_error_code, T)>(
      init, token, &rx);
}

/// Waits asynchronously until `pred()` succeeds (see event_count): completion
/// `void(error_code)` for a bool predicate, `void(error_code, T)` for one
/// returning std::optional<T>. The predicate runs on the initiating thread
/// first, then on notifying threads (never the handler's executor).
template <class Pred, class CompletionToken>
auto async_wait(event_count& ec, Pred pred, CompletionToken&& token) {
  using outcome = detail::ec_outcome<Pred>;
  static_assert(detail::ec_valid_predicate<Pred>,
                "an event_count predicate returns std::optional<T> or something "
                "boolean-testable (see event_count.hpp)");
  auto init = [](auto handler, event_count* target, Pred p) {
    detail::asio_ec_op<Pred, decltype(handler)>::start(*target, std::move(p),
                                                       std::move(handler));
  };
  if constexpr (std::is_same_v<outcome, bool>)
    return detail::net::async_initiate<CompletionToken, void(detail::net_error_code)>(
        init, token, &ec, std::move(pred));
  else
    return detail::net::async_initiate<
        CompletionToken, void(detail::net_error_code, typename outcome::value_type)>(
        init, token, &ec, std::move(pred));
}

#if defined(__linux__)
/// Waits asynchronously for the os_event and consumes its signal:
/// `void(error_code)`. Needs an I/O executor (the handler's associated
/// executor: an io_context's, or use_awaitable's).
template <class CompletionToken>
auto async_wait(const os_event& ev, CompletionToken&& token) {
  return detail::net::async_compose<CompletionToken, void(detail::net_error_code)>(
      detail::asio_os_event_op{&ev, nullptr}, token);
}
#endif

}  // namespace beacon
