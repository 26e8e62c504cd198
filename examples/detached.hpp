// The smallest coroutine type, shared by the examples: it starts at once,
// is never awaited, and frees its frame when it ends. A coroutine of this
// type that co_awaits a beacon primitive is resumed on the thread that
// makes the primitive ready (set(), notify*(), send()...).
#pragma once

#include <coroutine>
#include <exception>

namespace example {

struct detached {
  struct promise_type {
    detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};

}  // namespace example
