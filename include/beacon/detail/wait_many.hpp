// The internals of beacon/wait_many.hpp: a type-erased view of one waitable
// object (wait_ops), the engine that queues a multi-waiter on several objects
// through the parking lot's wait_group (src/wait_many.cpp), and the helpers
// that turn an index into the variadic forms' results.
#pragma once

#include <array>
#include <coroutine>
#include <cstddef>
#include <optional>
#include <span>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include "beacon/auto_reset_event.hpp"
#include "beacon/countdown_event.hpp"
#include "beacon/deadline.hpp"
#include "beacon/detail/parked_wait.hpp"
#include "beacon/manual_reset_event.hpp"
#include "beacon/once_event.hpp"
#include "beacon/parking_lot.hpp"
#include "beacon/semaphore.hpp"

namespace beacon {
class wait_ref;
}
namespace beacon::detail {
template <class W>
wait_ref ref_of(W& w) noexcept;  // wait_many.hpp
}

namespace beacon::detail {

// The objects the multi-waits accept (their cores are parked-bit cores; a
// receiver's is once_wait_core over its event's state word). A
// local_once_event's receiver matches too, so that rx_ops's static_assert
// says why it is refused rather than overload resolution failing silently.
template <class W>
concept multi_waitable = std::is_same_v<W, auto_reset_event> ||
    std::is_same_v<W, manual_reset_event> || std::is_same_v<W, countdown_event> ||
    std::is_same_v<W, semaphore> || once_receiver_v<W>;

// Whether every object's acquisition is noexcept (a receiver's is not: it
// throws disconnected or the exception sent, as receive() does).
template <class... Ws>
inline constexpr bool nothrow_acquire = !(once_receiver_v<Ws> || ...);

template <class W>
using core_of =
    std::remove_reference_t<decltype(waitable_access::core(std::declval<W&>()))>;

// What the engine needs of one object, type-erased (one table per type).
struct wait_ops {
  bool (*try_acquire)(void*) noexcept;
  const void* (*address)(void*) noexcept;
  bool (*mark_parked)(void*) noexcept;  // validate() of a park on address
  void (*leave)(void*, bool) noexcept;  // timed_out / cancel callback
  void (*pass_on)(void*) noexcept;      // give back a grant nobody will use
  void (*keep)(void*) noexcept;         // a wait_ref acquisition: see wait_ref
  parking_lot::token (*park_token)(void*) noexcept;
  // wait_all's holds (event_cores.hpp, hold_result).
  hold_result (*try_hold)(void*) noexcept;
  void (*commit_hold)(void*) noexcept;
  void (*release_hold)(void*) noexcept;
  // Receivers only (null otherwise): ready, but with no value to yield (the
  // sender was destroyed unsent, or sent an exception). A wait_all that
  // holds such a receiver commits nothing: see rx_ops.
  bool (*broken)(void*) noexcept;
};

template <class W>
struct ops_of {
  static auto& core(void* p) noexcept {
    return waitable_access::core(*static_cast<W*>(p));
  }
  static bool try_acquire(void* p) noexcept { return core(p).try_acquire(); }
  static const void* address(void* p) noexcept { return &core(p).word(); }
  static bool mark_parked(void* p) noexcept { return detail::mark_parked(core(p)); }
  static void leave(void* p, bool was_last) noexcept { detail::leave(core(p), was_last); }
  static void pass_on(void* p) noexcept { core(p).pass_on(); }
  static void keep(void* p) noexcept {
    // A semaphore permit taken through a wait_ref is the caller's to
    // release(): it leaves the capacity, as forget() does.
    if constexpr (std::is_same_v<W, semaphore>)
      waitable_access::granted(*static_cast<W*>(p)).forget();
  }
  // A multi-waiter takes its wake-up as its grant, as a coroutine does (it
  // is woken once and does not go back for a permit that went to the
  // count), so it parks with the token of a waiter that must be handed its
  // grant where the core tells the two apart (the eventually fair semaphore).
  static parking_lot::token park_token(void* p) noexcept {
    if constexpr (requires { core_of<W>::async_park_token(); })
      return core_of<W>::async_park_token();
    else
      return park_token_of(core(p));
  }
  static hold_result try_hold(void* p) noexcept { return core(p).try_hold(); }
  static void commit_hold(void* p) noexcept { core(p).commit_hold(); }
  static void release_hold(void* p) noexcept { core(p).release_hold(); }
  static constexpr wait_ops table{&try_acquire, &address,      &mark_parked, &leave,
                                  &pass_on,     &keep,         &park_token,  &try_hold,
                                  &commit_hold, &release_hold, nullptr};
};

// A once_event receiver R (concrete or type-erased, by reference: the
// receiver must outlive the wait and is used by nobody else meanwhile). Its
// core is once_wait_core over its event's state word, the address its own
// receive() parks on, so the sender's transition (once_finish_parked: an
// unpark_one on that address, under the queue lock) meets the multi-waiter's
// entry exactly as it meets a receiving thread, claims its group, or skips it
// when another object won (then the value simply stays in the event).
//
// Acquiring a receiver consumes nothing in the event: "ready" is tx_done,
// which only the sender sets, once, and which nothing but this receiver's
// own take (after the wait) ever ends. So:
// * pass_on has nothing to give back: a grant a multi-waiter does not use
//   (wait_any won elsewhere, a destroyed when_any) leaves the value in the
//   event, receivable later;
// * wait_all needs no held bit: a receiver ready at its hold is ready until
//   the commit and after, since nobody else can consume it (the receiver is
//   the wait's), so try_hold is the acquire load of tx_done, and commit_hold
//   and release_hold do nothing. The wait's result then takes the value.
// * A ready receiver with no value (disconnected, or an exception sent) is
//   "broken": wait_any that picks it throws as receive() does (disconnected,
//   or the exception, consuming the receiver); wait_all, at the instant all
//   its objects are ready, commits none of them and throws likewise for the
//   first broken receiver in argument order (a broken receiver stays broken,
//   so the result can tell, after the engine, that nothing was committed).
// No trace: a multi-waiter's entries record no awaiter trace (inspect_awaiter
// shows an empty one, for_each_waiter an empty `trace`), since the trace would
// have to outlive the entry.
template <class R>
struct rx_ops {
  static_assert(receiver_can_block<R>(),
                "beacon: wait_any / wait_all / when_any / when_all do not take a "
                "local_once_event receiver: its sender runs on the same thread and "
                "cannot reach a waiter queued with other objects. Use co_await "
                "std::move(rx) or try_receive(), or a once_event.");
  static R& rx(void* p) noexcept { return *static_cast<R*>(p); }
  // The receiver was checked valid (check_object) before the wait began.
  static once_wait_core core(void* p) noexcept {
    return once_wait_core(once_access::wait_word(rx(p)));
  }
  static bool try_acquire(void* p) noexcept { return core(p).try_acquire(); }
  static const void* address(void* p) noexcept { return once_access::wait_word(rx(p)); }
  static bool mark_parked(void* p) noexcept {
    once_wait_core c = core(p);
    return detail::mark_parked(c);
  }
  static void leave(void* p, bool was_last) noexcept {
    once_wait_core c = core(p);
    detail::leave(c, was_last);
  }
  static void pass_on(void*) noexcept {}
  static void keep(void*) noexcept {}
  static parking_lot::token park_token(void*) noexcept {
    return parking_lot::default_token;
  }
  static hold_result try_hold(void* p) noexcept {
    return try_acquire(p) ? hold_result::held : hold_result::unavailable;
  }
  static void commit_hold(void*) noexcept {}
  static void release_hold(void*) noexcept {}
  static bool broken(void* p) noexcept {
    // Relaxed: after try_acquire's acquire load saw tx_done (final).
    return !(once_access::wait_word(rx(p))->load(std::memory_order_relaxed) &
             once_bits::value);
  }
  static constexpr wait_ops table{&try_acquire, &address,      &mark_parked, &leave,
                                  &pass_on,     &keep,         &park_token,  &try_hold,
                                  &commit_hold, &release_hold, &broken};
};

// The ops table of W.
template <class W>
constexpr const wait_ops* ops_table() noexcept {
  if constexpr (once_receiver_v<W>)
    return &rx_ops<W>::table;
  else
    return &ops_of<W>::table;
}

// Before a wait begins: a receiver must hold a once_event (not received
// from, moved from, nor a type-erased local receiver): std::logic_error.
template <class W>
void check_object(W& w) {
  if constexpr (once_receiver_v<W>) {
    (void)rx_ops<W>::table;  // the static_assert, for every form
    if (!once_access::wait_word(w))
      throw std::logic_error(
          "beacon: wait_any / wait_all: a receiver that holds no once_event (already "
          "received, moved from, empty, or a local_once_event's)");
  }
}

// The fast-path try of one object.
template <class W>
bool try_acquire_of(W& w) noexcept {
  if constexpr (once_receiver_v<W>)
    return rx_ops<W>::try_acquire(&w);
  else
    return waitable_access::core(w).try_acquire();
}

// The engine, over a run-time list (src/wait_many.cpp). `entries` has one
// queue entry per object.
struct wait_many_engine {
  // wait_any for a thread: the index acquired, or nullopt when `until`
  // passed or a stop was requested first. Call it after a failed fast path.
  static std::optional<std::size_t> any_blocking(std::span<const wait_ref> objs,
                                                 std::span<parking_lot::waiter> entries,
                                                 deadline until,
                                                 const std::stop_token* stop) noexcept;
  // The first object (lowest index) whose try_acquire succeeds, or objs.size().
  static std::size_t try_any(std::span<const wait_ref> objs) noexcept;

  // when_any's awaiter (a coroutine owner). suspend: queues the entries;
  // false when the coroutine must not suspend (then `found` is the index
  // acquired, or npos when resume() must ask the group).
  static bool any_suspend(std::span<const wait_ref> objs,
                          std::span<parking_lot::waiter> entries,
                          parking_lot::detail::wait_group& group, std::size_t& found,
                          std::coroutine_handle<> h) noexcept;
  // After the resumption: the index won; withdraws the other entries.
  static std::size_t any_resume(std::span<const wait_ref> objs,
                                std::span<parking_lot::waiter> entries,
                                parking_lot::detail::wait_group& group) noexcept;
  // The awaiter is destroyed while suspended: withdraws every entry and
  // passes on a grant that had already been made.
  static void any_abandon(std::span<const wait_ref> objs,
                          std::span<parking_lot::waiter> entries,
                          parking_lot::detail::wait_group& group) noexcept;

  // After an acquisition through a wait_ref (span forms): see wait_ops::keep.
  static void keep(const wait_ref& r) noexcept;

  // wait_all. sort_unique: puts `objs` in address order (the order of the
  // holds); std::invalid_argument if an object occurs twice. The others take
  // a sorted list. try_all: the atomic attempt (all or nothing, now).
  static void sort_unique(std::span<wait_ref> objs);
  static bool try_all(std::span<const wait_ref> objs) noexcept;
  // For a thread: true when all were acquired, false when `until` passed or
  // a stop was requested first (nothing acquired). After a failed try_all.
  // `loc` names the call site for inspect.hpp (none for the variadic forms).
  static bool all_blocking(std::span<const wait_ref> objs, deadline until,
                           const std::stop_token* stop,
                           beacon::source_location loc = {}) noexcept;
  // when_all's awaiter (a coroutine owner): its state, in the frame.
  struct all_async {
    std::span<const wait_ref> objs;  // sorted
    std::size_t blocker = 0;         // the object `entry` is queued on
    std::coroutine_handle<> coroutine;
    parking_lot::waiter entry;
    parking_lot::detail::wait_group group;
  };
  // Queues the observer (true: an unparker's notification resumes the
  // coroutine once all are acquired) or acquires all now (false).
  static bool all_suspend(all_async& st, std::coroutine_handle<> h) noexcept;
  // The awaiter is destroyed while suspended: withdraws the entry and gives
  // back an acquisition whose resumption was pending on this thread.
  static void all_abandon(all_async& st) noexcept;

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

 private:
  struct lists;
  static bool queue_or_take(all_async& st) noexcept;
  static void all_retry(void* context) noexcept;
};

// The result of a variadic wait_any over Ws: the index when every wait()
// returns void, else a variant of the results (void as std::monostate).
// void for a type that is no waitable (a stop_token, a span): clang 14 forms
// the variadic overloads' return types before it checks their constraints,
// so this must not be a hard error there.
template <class W, class = void>
struct grant_of_t {
  using type = void;
};
template <class W>
struct grant_of_t<W,
                  std::void_t<decltype(waitable_access::granted(std::declval<W&>()))>> {
  using type = decltype(waitable_access::granted(std::declval<W&>()));
};
template <class B>
struct grant_of_t<once_receiver<B>, void> {
  using type = typename once_receiver<B>::value_type;
};
template <class W>
using grant_of = typename grant_of_t<W>::type;
template <class W>
using result_of =
    std::conditional_t<std::is_void_v<grant_of<W>>, std::monostate, grant_of<W>>;
template <class... Ws>
inline constexpr bool all_void = (std::is_void_v<grant_of<Ws>> && ...);
template <class... Ws>
using any_result =
    std::conditional_t<all_void<Ws...>, std::size_t, std::variant<result_of<Ws>...>>;

// wait_all's result over Ws: void when every wait() returns void, else a
// tuple of the results (void as std::monostate).
template <class... Ws>
using all_result =
    std::conditional_t<all_void<Ws...>, void, std::tuple<result_of<Ws>...>>;
// The timed and stop forms': bool for an all-void wait_all, else an optional.
template <class... Ws>
using maybe_all_result =
    std::conditional_t<all_void<Ws...>, bool, std::optional<all_result<Ws...>>>;

template <class W>
result_of<W> result_for(W& w) noexcept(!once_receiver_v<W>) {
  if constexpr (once_receiver_v<W>)
    return once_access::take_ready(w);  // throws as receive() (rx_ops: broken)
  else if constexpr (std::is_void_v<grant_of<W>>)
    return std::monostate{};
  else
    return waitable_access::granted(w);
}

// Builds the variadic result for object `index`, acquired.
template <class... Ws>
any_result<Ws...> make_any_result(std::size_t index,
                                  Ws&... ws) noexcept(nothrow_acquire<Ws...>) {
  if constexpr (all_void<Ws...>) {
    ((void)ws, ...);
    return index;
  } else {
    using R = any_result<Ws...>;
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      std::optional<R> r;
      ((index == I ? (void)r.emplace(std::in_place_index<I>, result_for(ws)) : (void)0),
       ...);
      return std::move(*r);
    }
    (std::index_sequence_for<Ws...>{});
  }
}

// A wait_all that held a broken receiver committed nothing (rx_ops): throws
// for the first one in argument order, as its receive() would (a stable
// state: broken when held, broken now).
template <class W>
void throw_if_broken(W& w) {
  if constexpr (once_receiver_v<W>)
    if (rx_ops<W>::broken(&w)) (void)once_access::take_ready(w);
}

// Builds the variadic wait_all result, all acquired (or throws, nothing
// acquired, for a broken receiver).
template <class... Ws>
all_result<Ws...> make_all_result(Ws&... ws) noexcept(nothrow_acquire<Ws...>) {
  (throw_if_broken(ws), ...);
  if constexpr (all_void<Ws...>)
    ((void)ws, ...);
  else
    return all_result<Ws...>(result_for(ws)...);
}

// The fast path of the variadic forms: each object's own try_acquire, in
// order, inlined; the index of the first that succeeds, or sizeof...(Ws).
template <class... Ws>
std::size_t try_any_inline(Ws&... ws) noexcept {
  std::size_t i = 0;
  ((try_acquire_of(ws) || (++i, false)) || ...);
  return i;
}

}  // namespace beacon::detail
