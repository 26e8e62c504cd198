// event_count's helpers that its class declaration needs first: what a
// predicate may return, how a result is stored, and the seq_cst fence that
// notify and wait pair (see event_count.hpp for the contract).
#pragma once

#include <atomic>
#include <concepts>
#include <optional>
#include <type_traits>
#include <utility>

namespace beacon::detail {

template <class T>
struct is_std_optional : std::false_type {};
template <class T>
struct is_std_optional<std::optional<T>> : std::true_type {};

// What an event_count predicate may return (event_count.hpp states it for
// users): std::optional<T> (engaged = satisfied, the value is the wait's
// result), or any boolean-testable type (bool, int, pointers, anything
// implicitly convertible to bool whose negation is too), which is turned
// into a bool at once. Types only explicitly convertible (std::unique_ptr,
// std::function) are refused: their value would be lost in the bool.
template <class Pred>
using ec_raw_outcome = std::remove_cvref_t<std::invoke_result_t<Pred&>>;

template <class R>
concept ec_boolean_testable = std::convertible_to<R, bool> && requires(R&& r) {
  { !std::forward<R>(r) } -> std::convertible_to<bool>;
};

template <class Pred>
inline constexpr bool ec_valid_predicate = is_std_optional<ec_raw_outcome<Pred>>::value ||
                                           ec_boolean_testable<ec_raw_outcome<Pred>>;

// The outcome a wait works with: the optional as returned, else bool.
template <class Pred>
using ec_outcome = std::conditional_t<is_std_optional<ec_raw_outcome<Pred>>::value,
                                      ec_raw_outcome<Pred>, bool>;

// Calls the predicate and gives its outcome as ec_outcome<Pred>.
template <class Pred>
ec_outcome<Pred> ec_call(Pred& p) {
  if constexpr (is_std_optional<ec_raw_outcome<Pred>>::value)
    return p();
  else
    return static_cast<bool>(p());
}

// Whether a wait with predicate `Pred` cannot throw: the predicate cannot,
// nor can turning its result into a bool, nor moving its outcome into the
// wait's result (a value whose move may throw must not terminate the
// program from a noexcept wait).
template <class Pred>
inline constexpr bool ec_nothrow_wait =
    std::is_nothrow_invocable_v<Pred&>&&
        std::is_nothrow_move_constructible_v<ec_outcome<Pred>> &&
    (is_std_optional<ec_raw_outcome<Pred>>::value ||
     std::is_nothrow_convertible_v<std::invoke_result_t<Pred&>, bool>);

// Stores a satisfied outcome into `dst` (optional<T> needs only a move
// constructor, not assignment).
template <class R>
void ec_store(R& dst, R&& src) noexcept(std::is_nothrow_move_constructible_v<R>) {
  if constexpr (std::is_same_v<R, bool>)
    dst = src;
  else
    dst.emplace(std::move(*src));
}

class ec_async_base;
struct ec_async_access;

// A seq_cst fence. ThreadSanitizer does not model fences (GCC warns with
// -Wtsan) but still executes this one; nothing it checks depends on it, as
// the predicate's state is atomic and data goes through release/acquire.
#if defined(__SANITIZE_THREAD__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtsan"
#endif
inline void ec_fence() noexcept { std::atomic_thread_fence(std::memory_order_seq_cst); }
#if defined(__SANITIZE_THREAD__)
#pragma GCC diagnostic pop
#endif

}  // namespace beacon::detail
