// A non-owning, non-allocating reference to a callable (after WebKit's
// ScopedLambdaRef and P0792 std::function_ref). The parking lot's public
// templates pass their callbacks through it to the compiled part, so headers
// stay small and no park allocates.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace beacon::detail {

template <class Sig>
class function_ref;

template <class R, class... Args>
class function_ref<R(Args...)> {
 public:
  // Lifetime: refers to `f`, which must outlive every call through *this.
  // Implicit on purpose: a reference type. The constraint keeps it from
  // hiding the copy constructor.
  template <class F,
            std::enable_if_t<!std::is_same_v<std::remove_cvref_t<F>, function_ref> &&
                                 std::is_invocable_r_v<R, F&, Args...>,
                             int> = 0>
  function_ref(F&& f) noexcept  // NOLINT(bugprone-forwarding-reference-overload)
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* o, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(o))(
              std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

}  // namespace beacon::detail
