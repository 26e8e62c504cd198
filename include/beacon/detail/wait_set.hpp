// detail::wait_set: the non-template core of wait_context<Token>
// (wait_context.hpp), one per backend, defined in
// src/platform/wait_context_{linux,posix,win32}.cpp. Tokens are 64 bits here;
// wait_context converts them to and from its Token.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "beacon/detail/deadline.hpp"
#include "beacon/os_event.hpp"

namespace beacon {

// Public types of wait_context.hpp, declared here for the set's members and
// wait_context's signatures; defined in wait_context.hpp after the class.
enum class io_interest;
template <class Token>
struct triggered;

namespace detail {

// One ready entry of a wait set (the token as 64 bits).
struct wait_ready {
  std::uint64_t token;
  bool readable, writable, hungup, error;
};

#if BEACON_OS_EVENT_WIN32
// The non-template core of wait_context on Windows: up to 63 handles with
// 64-bit tokens (WaitForMultipleObjects takes 64; one is the set's own
// wake-up event). Thread-safe as the others; wait() from one thread at a time.
class wait_set {
 public:
  using ready = wait_ready;
  using handle = void*;
  static constexpr std::size_t max_handles = 63;

  wait_set();  // throws std::system_error
  ~wait_set();
  wait_set(wait_set&&) noexcept;
  wait_set& operator=(wait_set&&) noexcept;

  // `is_os_event`: an auto-reset event whose signal a wait must not consume
  // (it is set again after the wait that saw it).
  void add(handle h, bool is_os_event, std::uint64_t token);
  void modify(handle h, std::uint64_t token);
  void remove(handle h);
  std::span<const ready> wait(deadline d);

 private:
  struct state;
  std::unique_ptr<state> state_;
};
#else
// The non-template core of wait_context: an epoll set (Linux) or a poll()
// list (the POSIX backend) whose tokens are 64 bits. Thread-safe:
// add/modify/remove from any thread, also while one thread waits; wait() from
// one thread at a time.
class wait_set {
 public:
  using ready = wait_ready;

  wait_set();  // throws std::system_error
  ~wait_set();
  wait_set(wait_set&&) noexcept;
  wait_set& operator=(wait_set&&) noexcept;

  void add(int fd, io_interest interest, std::uint64_t token);
  void modify(int fd, io_interest interest, std::uint64_t token);
  void remove(int fd);
  // Blocks until a registered descriptor is ready or `d` passes; returns the
  // ready ones (empty: timed out), valid until the next wait() or
  // destruction.
  std::span<const ready> wait(deadline d);
  int native_handle() const noexcept;

 private:
  struct state;                   // epoll descriptor or poll list, buffers
  std::unique_ptr<state> state_;  // null when moved-from
};
#endif

}  // namespace detail

}  // namespace beacon
