// beacon/wait_many.hpp — wait on several objects at once (Win32
// WaitForMultipleObjects, pevents WaitForMultipleEvents), for threads and
// coroutines.
//
/// wait_any(a, b, c) blocks until one of the objects is acquired and says
/// which; wait_all(a, b, c) blocks until all of them are acquired at one
/// instant. The objects are any mix of auto_reset_event, manual_reset_event,
/// countdown_event, semaphore and once_event receivers (concrete, or the
/// type-erased once_receiver<T>, passed by reference), as many as you like.
/// An object is "acquired" as its own wait() acquires it: an auto-reset
/// signal or a semaphore permit is consumed; a manual-reset or countdown
/// event is observed set; a receiver yields its value (it is then received:
/// valid() is false).
///
/// Receivers. A receiver is ready once its sender finished (sent, sent an
/// exception, or was destroyed unsent); it yields what receive() would:
/// its value (T in the variant / tuple), or it throws as receive() throws:
/// beacon::disconnected (the receiver stays as it was) or the exception
/// sent (the receiver is then consumed). wait_any that picks such a receiver
/// throws and has acquired nothing else. wait_all treats it as ready; at the
/// instant all its objects are ready it acquires none of them and throws
/// for the first such receiver in argument order. A ready receiver that
/// wait_any did not pick (a lower index won) is untouched: receive it later.
/// A receiver that holds no once_event (received, moved from, empty, or a
/// type-erased local_once_event receiver) makes the wait throw
/// std::logic_error before anything is acquired; a concrete
/// local_once_event receiver does not compile (static_assert: its sender
/// runs on the waiting thread and could never reach a waiter queued with
/// other objects; co_await it alone). The forms that take receivers are
/// noexcept(false); the others stay noexcept. The span forms (wait_ref)
/// take no receivers. A multi-wait records no awaiter trace for a receiver
/// (inspect_awaiter shows an empty one while it waits).
///
/// Results. wait_any returns the index (std::size_t) when every object's
/// wait() returns void, else a std::variant of the objects' results in
/// argument order (void as std::monostate, a semaphore's semaphore_guard)
/// whose index() names the object acquired. The timed forms (wait_any_for,
/// wait_any_until) and the stop form (wait_any(stop_token, ...)) wrap that in
/// std::optional: nullopt when the time passed or a stop was requested
/// first. `co_await when_any(...)` yields what wait_any returns. The span
/// forms take a run-time list of wait_ref (as Win32 takes an array) and
/// return the index.
///
/// wait_all returns void when every object's wait() returns void, else a
/// std::tuple of the results (void as std::monostate, a semaphore's
/// semaphore_guard); wait_all_for, wait_all_until and wait_all(stop_token,
/// ...) return bool (all-void) or std::optional of the tuple: false / nullopt
/// when the time passed or a stop was requested first, and then nothing was
/// acquired. `co_await when_all(...)` yields what wait_all returns; the span
/// forms return void / bool. The same object twice: std::invalid_argument
/// (the variadic forms and when_all too), before anything is acquired.
///
/// wait_any acquires exactly one object. When several are available at once
/// it takes the lowest index (as Win32 does). A grant that reaches the
/// waiter after another object won (a set, a release) is passed on as if
/// this waiter had never queued: never lost, never doubled.
///
/// wait_all is atomic: it acquires every object at one instant, or none. No
/// other thread (a try_wait, a wait, another wait_all) ever observes some
/// objects acquired and others not, and a manual-reset or countdown event is
/// set at that instant. While it waits it reserves nothing, as Win32's
/// WaitForMultipleObjects(bWaitAll) does not: single waiters and try_waits
/// take the objects whenever they can, so a wait_all can be overtaken for as
/// long as a stream of them keeps one of its objects unavailable (in theory
/// indefinitely); it acquires as soon as all are available at an instant
/// that it gets to see (it retries at every change of the object it waits
/// on). No FIFO order is promised for wait_all, among wait_alls or against
/// single waiters. How: it holds the objects one by one in address order
/// (one CAS each; a held object cannot be consumed or made unavailable, and
/// operations that would do so wait for the hold, which never lasts longer
/// than the walk), then consumes them all, or drops the holds if one is
/// unavailable; blocked, it queues an observer entry on that object, which
/// unparks never grant anything but notify (src/wait_many.cpp gives the
/// whole argument).
///
/// How wait_any works (after Linux's futex_waitv): a blocked wait_any queues one entry
/// per object in the parking lot, all sharing one "claimed" word; the unparker that
/// reaches one first claims the word under its queue lock and grants that object,
/// unparkers of the other objects skip the claimed entries, and the waiter then withdraws
/// them. Time-outs, stop requests and a destroyed coroutine claim the word themselves
/// first, so a grant can never arrive after the waiter decided to give up; if it arrived
/// before, it is taken (or, for a destroyed coroutine, passed on).
///
/// Costs: when an object is available at once, wait_any costs its
/// try_waits and nothing else. Blocked, it queues one entry per object on the
/// caller's stack or in the coroutine frame: the variadic forms never
/// allocate; the span forms allocate above 8 objects. wait_all costs two
/// atomic operations per object when all are available (hold, then
/// consume), and queues a single entry while blocked (allocating, in every
/// form, only above 8 objects).
///
/// Memory ordering: what the thread that made the acquired object available
/// did before (set, release, the last tick, a send) happens-before the return of
/// the wait (or the coroutine's resumption), as for that object's own wait();
/// for wait_all, of every object.
///
/// Lifetime: the objects must outlive the wait (for when_any / when_all, the
/// co_await). A coroutine suspended in when_any or when_all may be
/// destroyed: its entries leave the queues and a grant already made to it is
/// passed on (a when_all's observer is never granted anything; objects
/// acquired for it whose resumption was pending on the destroying thread are
/// given back); a when_all is resumed by the thread that made its last
/// object available (that thread acquires them all for it);
/// as for every beacon awaiter, don't destroy it while another thread may be
/// resuming it. Coroutines are resumed on the thread that made them ready
/// (see parking_lot.hpp), after the library's locks are released.
///
/// Example: a worker that waits for work or for shutdown.
/// @code
///  beacon::auto_reset_event work;
///  beacon::manual_reset_event stop;
///  for (;;) {
///    if (beacon::wait_any(stop, work) == 0) break;  // stop has priority: index 0
///    do_work();
///  }
///  // Both a job and a free slot, taken together or not at all:
///  auto [job_signal, slot] = beacon::wait_all(job, slots);  // slots: a semaphore
/// @endcode
#pragma once

#include <array>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <optional>
#include <span>
#include <stop_token>
#include <vector>
#include "beacon/source_location.hpp"

#include "beacon/detail/wait_many.hpp"

namespace beacon {

/// A non-owning reference to an auto_reset_event, manual_reset_event,
/// countdown_event or semaphore, for the span forms (run-time lists). Each
/// of those converts to it implicitly. A semaphore permit acquired through a
/// wait_ref is the caller's to release(): it leaves the semaphore's
/// capacity as semaphore_guard::forget() does, so the later release() does
/// not exceed max(). Trivially copyable; it must not outlive its object.
class wait_ref {
 public:
  /// A reference to `w`.
  template <class W>
  requires(detail::multi_waitable<W> && !detail::once_receiver_v<W>) wait_ref(W& w)
  noexcept  // NOLINT(google-explicit-constructor): implicit by design
      : object_(&w), ops_(&detail::ops_of<W>::table) {}

  /// Acquires the object if it can without blocking, as its try_wait would.
  bool try_wait() const noexcept {
    if (!ops_->try_acquire(object_)) return false;
    ops_->keep(object_);
    return true;
  }
  /// Whether both refer to the same object.
  friend bool operator==(const wait_ref& a, const wait_ref& b) noexcept {
    return a.object_ == b.object_;
  }

 private:
  friend struct detail::wait_many_engine;
  template <class W>
  friend wait_ref detail::ref_of(W& w) noexcept;
  wait_ref(void* object, const detail::wait_ops* ops) noexcept
      : object_(object), ops_(ops) {}
  void* object_;
  const detail::wait_ops* ops_;
};

namespace detail {
// Any object of the variadic forms (receivers too) as a wait_ref.
template <class W>
wait_ref ref_of(W& w) noexcept {
  return wait_ref(static_cast<void*>(std::addressof(w)), ops_table<W>());
}
}  // namespace detail

namespace detail {
// The variadic and span forms of wait_any over one blocking engine call.
template <class... Ws>
std::optional<std::size_t> any_index(deadline until, const std::stop_token* stop,
                                     Ws&... ws) noexcept(nothrow_acquire<Ws...>) {
  (check_object(ws), ...);
  if (const std::size_t i = try_any_inline(ws...); i < sizeof...(Ws)) return i;
  if (until.passed() || (stop && stop->stop_requested())) return std::nullopt;
  const std::array<wait_ref, sizeof...(Ws)> objs{ref_of(ws)...};
  std::array<parking_lot::waiter, sizeof...(Ws)> entries;
  for (parking_lot::waiter& e : entries)
    e.set_site({"wait_any", {}});  // inspect.hpp: no call site after a pack
  return wait_many_engine::any_blocking(objs, entries, until, stop);
}

template <class... Ws>
std::optional<any_result<Ws...>> maybe_any(std::optional<std::size_t> i,
                                           Ws&... ws) noexcept(nothrow_acquire<Ws...>) {
  if (!i) return std::nullopt;
  return make_any_result(*i, ws...);
}

template <class F>
auto with_entries(std::size_t n, F&& f) {
  if (n <= 8) {
    std::array<parking_lot::waiter, 8> small;
    return f(std::span<parking_lot::waiter>(small.data(), n));
  }
  std::vector<parking_lot::waiter> big(n);
  return f(std::span<parking_lot::waiter>(big));
}

std::optional<std::size_t> span_any(std::span<const wait_ref> objs, deadline until,
                                    const std::stop_token* stop,
                                    beacon::source_location loc = {});

// The variadic and span forms of wait_all: true when all were acquired.
template <class... Ws>
bool all_wait(deadline until, const std::stop_token* stop, Ws&... ws) {
  (check_object(ws), ...);
  std::array<wait_ref, sizeof...(Ws)> objs{ref_of(ws)...};
  wait_many_engine::sort_unique(objs);
  if (wait_many_engine::try_all(objs)) return true;
  if (until.passed() || (stop && stop->stop_requested())) return false;
  return wait_many_engine::all_blocking(objs, until, stop);
}

template <class... Ws>
maybe_all_result<Ws...> maybe_all(bool ok, Ws&... ws) noexcept(nothrow_acquire<Ws...>) {
  if constexpr (all_void<Ws...>) {
    ((void)ws, ...);
    return ok;
  } else {
    if (!ok) return std::nullopt;
    return make_all_result(ws...);
  }
}

bool span_all(std::span<const wait_ref> objs, deadline until, const std::stop_token* stop,
              beacon::source_location loc = {});
}  // namespace detail

/// Blocks until one of `ws` is acquired; returns its index, or a variant of
/// the results (see the file comment).
template <detail::multi_waitable... Ws>
requires(sizeof...(Ws) > 0) detail::any_result<Ws...> wait_any(Ws&... ws)
noexcept(detail::nothrow_acquire<Ws...>) {
  return detail::make_any_result(*detail::any_index(deadline::never(), nullptr, ws...),
                                 ws...);
}

/// wait_any for at most `d` (rounded up); nullopt if nothing was acquired.
template <class Rep, class Period, detail::multi_waitable... Ws>
requires(sizeof...(Ws) > 0) std::optional<detail::any_result<Ws...>> wait_any_for(
    const std::chrono::duration<Rep, Period>& d, Ws&... ws)
noexcept(detail::nothrow_acquire<Ws...>) {
  return detail::maybe_any(detail::any_index(deadline::after(d), nullptr, ws...), ws...);
}

/// wait_any until `t` on its clock; nullopt if nothing was acquired.
template <class Clock, class Duration, detail::multi_waitable... Ws>
requires(sizeof...(Ws) > 0) std::optional<detail::any_result<Ws...>> wait_any_until(
    const std::chrono::time_point<Clock, Duration>& t, Ws&... ws)
noexcept(detail::nothrow_acquire<Ws...>) {
  (detail::check_object(ws), ...);
  if (const std::size_t i = detail::try_any_inline(ws...); i < sizeof...(Ws))
    return detail::make_any_result(i, ws...);
  return detail::maybe_any(
      detail::wait_until_clock(t,
                               [&](deadline d) -> std::optional<std::size_t> {
                                 return detail::any_index(d, nullptr, ws...);
                               }),
      ws...);
}

/// wait_any until a stop is requested on `stop` (nullopt); an object
/// available at once is acquired even if stop was already requested.
template <detail::multi_waitable... Ws>
requires(sizeof...(Ws) >
         0) std::optional<detail::any_result<Ws...>> wait_any(const std::stop_token& stop,
                                                              Ws&... ws)
noexcept(detail::nothrow_acquire<Ws...>) {
  return detail::maybe_any(detail::any_index(deadline::never(), &stop, ws...), ws...);
}

/// Run-time lists: blocks until one of `objs` is acquired; its index.
/// Throws std::invalid_argument if `objs` is empty.
std::size_t wait_any(std::span<const wait_ref> objs,
                     beacon::source_location loc = beacon::source_location::current());
/// Span form with a time limit; nullopt when it passed.
template <class Rep, class Period>
std::optional<std::size_t> wait_any_for(
    const std::chrono::duration<Rep, Period>& d, std::span<const wait_ref> objs,
    beacon::source_location loc = beacon::source_location::current()) {
  return detail::span_any(objs, deadline::after(d), nullptr, loc);
}
/// Span form with a deadline; nullopt when it passed.
template <class Clock, class Duration>
std::optional<std::size_t> wait_any_until(
    const std::chrono::time_point<Clock, Duration>& t, std::span<const wait_ref> objs,
    beacon::source_location loc = beacon::source_location::current()) {
  return detail::wait_until_clock(t, [&](deadline d) -> std::optional<std::size_t> {
    return detail::span_any(objs, d, nullptr, loc);
  });
}
/// Span form ended by a stop request (nullopt).
std::optional<std::size_t> wait_any(
    const std::stop_token& stop, std::span<const wait_ref> objs,
    beacon::source_location loc = beacon::source_location::current());

/// Blocks until every one of `ws` is acquired, all at one instant (see the
/// file comment); returns void, or a tuple of the results. Throws
/// std::invalid_argument, acquiring nothing, if an object occurs twice.
template <detail::multi_waitable... Ws>
requires(sizeof...(Ws) > 0) detail::all_result<Ws...> wait_all(Ws&... ws) {
  (void)detail::all_wait(deadline::never(), nullptr, ws...);
  return detail::make_all_result(ws...);
}

/// wait_all for at most `d` (rounded up); false / nullopt if the time passed
/// first (then nothing was acquired).
template <class Rep, class Period, detail::multi_waitable... Ws>
requires(sizeof...(Ws) > 0) detail::maybe_all_result<Ws...> wait_all_for(
    const std::chrono::duration<Rep, Period>& d, Ws&... ws) {
  return detail::maybe_all(detail::all_wait(deadline::after(d), nullptr, ws...), ws...);
}

/// wait_all until `t` on its clock; false / nullopt if it passed first.
template <class Clock, class Duration, detail::multi_waitable... Ws>
requires(sizeof...(Ws) > 0) detail::maybe_all_result<Ws...> wait_all_until(
    const std::chrono::time_point<Clock, Duration>& t, Ws&... ws) {
  return detail::maybe_all(
      detail::wait_until_clock(
          t, [&](deadline d) -> bool { return detail::all_wait(d, nullptr, ws...); }),
      ws...);
}

/// wait_all until a stop is requested on `stop` (false / nullopt); objects
/// all available at once are acquired even if stop was already requested.
template <detail::multi_waitable... Ws>
requires(sizeof...(Ws) >
         0) detail::maybe_all_result<Ws...> wait_all(const std::stop_token& stop,
                                                     Ws&... ws) {
  return detail::maybe_all(detail::all_wait(deadline::never(), &stop, ws...), ws...);
}

/// Run-time lists: blocks until all of `objs` are acquired at one instant.
/// Throws std::invalid_argument if `objs` is empty or names an object twice.
void wait_all(std::span<const wait_ref> objs,
              beacon::source_location loc = beacon::source_location::current());
/// Span form with a time limit; false (nothing acquired) when it passed.
template <class Rep, class Period>
bool wait_all_for(const std::chrono::duration<Rep, Period>& d,
                  std::span<const wait_ref> objs,
                  beacon::source_location loc = beacon::source_location::current()) {
  return detail::span_all(objs, deadline::after(d), nullptr, loc);
}
/// Span form with a deadline; false (nothing acquired) when it passed.
template <class Clock, class Duration>
bool wait_all_until(const std::chrono::time_point<Clock, Duration>& t,
                    std::span<const wait_ref> objs,
                    beacon::source_location loc = beacon::source_location::current()) {
  return detail::wait_until_clock(
      t, [&](deadline d) -> bool { return detail::span_all(objs, d, nullptr, loc); });
}
/// Span form ended by a stop request (false: nothing acquired).
bool wait_all(const std::stop_token& stop, std::span<const wait_ref> objs,
              beacon::source_location loc = beacon::source_location::current());

/// The awaiter of `co_await when_any(ws...)`: yields what wait_any returns.
/// Lives in the coroutine frame with one queue entry per object.
template <class... Ws>
class [[nodiscard]] when_any_awaiter {
 public:
  /// An awaiter over `ws` (see when_any).
  explicit when_any_awaiter(Ws&... ws) noexcept(detail::nothrow_acquire<Ws...>)
      : ws_(ws...), objs_{detail::ref_of(ws)...} {
    (detail::check_object(ws), ...);
  }
  when_any_awaiter(const when_any_awaiter&) = delete;
  when_any_awaiter& operator=(const when_any_awaiter&) = delete;
  /// Destroyed while suspended: withdraws the entries, passes on a grant.
  ~when_any_awaiter() {
    if (suspended_) detail::wait_many_engine::any_abandon(objs_, entries_, group_);
  }

  /// Acquires an available object at once (lowest index), without suspending.
  bool await_ready() noexcept {
    found_ = std::apply([](Ws&... ws) { return detail::try_any_inline(ws...); }, ws_);
    return found_ < sizeof...(Ws);
  }
  /// Queues one entry per object; false (resume at once) if one was
  /// acquired meanwhile.
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    suspended_ = true;
    for (parking_lot::waiter& e : entries_)
      e.set_site({"wait_any", {}});  // inspect.hpp: the frame names it
    if (detail::wait_many_engine::any_suspend(objs_, entries_, group_, found_, h))
      return true;
    if (found_ != detail::wait_many_engine::npos) suspended_ = false;
    return false;
  }
  /// The object acquired: its index, or the variant of its result.
  detail::any_result<Ws...> await_resume() noexcept(detail::nothrow_acquire<Ws...>) {
    if (suspended_) {
      suspended_ = false;
      found_ = detail::wait_many_engine::any_resume(objs_, entries_, group_);
    }
    return std::apply(
        [this](Ws&... ws) { return detail::make_any_result(found_, ws...); }, ws_);
  }

 private:
  std::tuple<Ws&...> ws_;
  std::array<wait_ref, sizeof...(Ws)> objs_;
  std::array<parking_lot::waiter, sizeof...(Ws)> entries_;
  parking_lot::detail::wait_group group_;
  std::size_t found_ = detail::wait_many_engine::npos;
  bool suspended_ = false;  // queued (or woken) and not yet resumed
};

/// `co_await when_any(ws...)` suspends the coroutine until one of `ws` is
/// acquired and yields what wait_any(ws...) returns.
template <detail::multi_waitable... Ws>
requires(sizeof...(Ws) > 0) when_any_awaiter<Ws...> when_any(Ws&... ws)
noexcept(detail::nothrow_acquire<Ws...>) { return when_any_awaiter<Ws...>(ws...); }

/// The awaiter of `co_await when_all(ws...)`: yields what wait_all returns.
/// Lives in the coroutine frame with one queue entry.
template <class... Ws>
class [[nodiscard]] when_all_awaiter {
 public:
  /// An awaiter over `ws`; std::invalid_argument if an object occurs twice.
  explicit when_all_awaiter(Ws&... ws) : ws_(ws...), objs_{detail::ref_of(ws)...} {
    (detail::check_object(ws), ...);
    detail::wait_many_engine::sort_unique(objs_);
    state_.objs = objs_;
  }
  when_all_awaiter(const when_all_awaiter&) = delete;
  when_all_awaiter& operator=(const when_all_awaiter&) = delete;
  /// Destroyed while suspended: withdraws the entry (nothing was acquired),
  /// or gives back what a retry acquired whose resumption was pending.
  ~when_all_awaiter() {
    if (suspended_) detail::wait_many_engine::all_abandon(state_);
  }

  /// Acquires all at once if they are all available now.
  bool await_ready() noexcept { return detail::wait_many_engine::try_all(objs_); }
  /// Queues an observer; false (resume at once) if all were acquired meanwhile.
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    suspended_ = true;
    if (detail::wait_many_engine::all_suspend(state_, h)) return true;
    suspended_ = false;
    return false;
  }
  /// The results (all acquired).
  detail::all_result<Ws...> await_resume() noexcept(detail::nothrow_acquire<Ws...>) {
    suspended_ = false;
    return std::apply([](Ws&... ws) { return detail::make_all_result(ws...); }, ws_);
  }

 private:
  std::tuple<Ws&...> ws_;
  std::array<wait_ref, sizeof...(Ws)> objs_;  // in address order
  detail::wait_many_engine::all_async state_;
  bool suspended_ = false;  // queued (or resumption pending) and not yet resumed
};

/// `co_await when_all(ws...)` suspends the coroutine until all of `ws` are
/// acquired at one instant and yields what wait_all(ws...) returns; throws
/// std::invalid_argument if an object occurs twice.
template <detail::multi_waitable... Ws>
requires(sizeof...(Ws) > 0) when_all_awaiter<Ws...> when_all(Ws&... ws) {
  return when_all_awaiter<Ws...>(ws...);
}

}  // namespace beacon
