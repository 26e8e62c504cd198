// event_count's helpers that its class declaration needs first: what a
// predicate may return, how a result is stored, and the seq_cst fence that
// notify and wait pair (see event_count.hpp for the contract).
#pragma once

#include <atomic>
#include <optional>
#include <type_traits>
#include <utility>

namespace beacon::detail {

template <class T>
struct is_std_optional : std::false_type {};
template <class T>
struct is_std_optional<std::optional<T>> : std::true_type {};

// What an event_count predicate may return: bool, or std::optional<T> whose
// engaged state means "satisfied" and whose value is the wait's result.
template <class Pred>
using ec_outcome = std::remove_cvref_t<std::invoke_result_t<Pred&>>;

template <class R>
inline constexpr bool ec_valid_outcome =
    std::is_same_v<R, bool> || is_std_optional<R>::value;

// Whether a wait with predicate `Pred` cannot throw: the predicate cannot,
// and neither can moving its outcome into the wait's result (a value whose
// move may throw must not terminate the program from a noexcept wait).
template <class Pred>
inline constexpr bool ec_nothrow_wait = std::is_nothrow_invocable_v<Pred&>&&
    std::is_nothrow_move_constructible_v<ec_outcome<Pred>>;

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
