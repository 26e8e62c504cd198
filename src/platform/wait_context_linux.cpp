// wait_context on Linux: detail::wait_set, the non-template core behind
// beacon::wait_context<Token>. See include/beacon/wait_context.hpp.
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <system_error>
#include <vector>

#include "beacon/wait_context.hpp"
#include "fault.hpp"

namespace beacon::detail {
namespace fault = platform::fault;

namespace {

[[noreturn]] void throw_errno(int err, const char* what) {
  throw std::system_error(err, std::system_category(), what);
}

std::uint32_t epoll_events_of(io_interest interest) {
  switch (interest) {
    case io_interest::none:
      return 0;  // EPOLLHUP and EPOLLERR are reported regardless
    case io_interest::read:
      return EPOLLIN | EPOLLRDHUP;
    case io_interest::write:
      return EPOLLOUT;
    case io_interest::read_write:
      return EPOLLIN | EPOLLRDHUP | EPOLLOUT;
  }
  throw_errno(EINVAL, "beacon::wait_context: io_interest");
}

// The most entries one wait reports (12 MiB of buffer); more ready
// descriptors are reported by the following waits (epoll is level-triggered).
constexpr std::int64_t max_batch = std::int64_t{1} << 20;

// Whether epoll_pwait2 (nanosecond timeouts, Linux 5.11) may be tried; set to
// false once the kernel or a seccomp filter refuses it. Relaxed: a stale true
// costs one more refused call.
std::atomic<bool> pwait2_usable{true};

}  // namespace

struct wait_set::state {
  int epfd = -1;
  // Descriptors added and not yet removed through this set: sizes `events`.
  // An estimate, never a correctness input: a descriptor closed without
  // remove() stays counted, one added through native_handle() is not.
  // Relaxed: it only sizes the next wait's buffer; epoll itself orders the
  // registrations.
  std::atomic<std::int64_t> registered{0};
  // Owned by the waiting thread (one at a time): the kernel fills `events`,
  // `ready` holds the last result handed out.
  std::vector<epoll_event> events;
  std::vector<ready> result;

  ~state() {
    if (epfd >= 0) (void)::close(epfd);  // closed even on EINTR: never retried
  }
};

wait_set::wait_set() : state_(std::make_unique<state>()) {
  state_->epfd = ::epoll_create1(EPOLL_CLOEXEC);
  if (state_->epfd < 0) throw_errno(errno, "beacon::wait_context: epoll_create1");
}

wait_set::~wait_set() = default;
wait_set::wait_set(wait_set&&) noexcept = default;
wait_set& wait_set::operator=(wait_set&&) noexcept = default;

int wait_set::native_handle() const noexcept { return state_ ? state_->epfd : -1; }

namespace {

// epoll_ctl `op` (EPOLL_CTL_ADD or EPOLL_CTL_MOD) of `fd` with `interest` and
// `token`; throws std::system_error saying `what`.
void epoll_change(int epfd, int op, int fd, io_interest interest, std::uint64_t token,
                  const char* what) {
  epoll_event ev{};
  ev.events = epoll_events_of(interest);
  ev.data.u64 = token;
  if (::epoll_ctl(epfd, op, fd, &ev) < 0) throw_errno(errno, what);
}

}  // namespace

void wait_set::add(int fd, io_interest interest, std::uint64_t token) {
  static constexpr const char* what = "beacon::wait_context::add";
  if (!state_) throw_errno(EBADF, what);
  epoll_change(state_->epfd, EPOLL_CTL_ADD, fd, interest, token, what);
  state_->registered.fetch_add(1, std::memory_order_relaxed);
}

void wait_set::modify(int fd, io_interest interest, std::uint64_t token) {
  static constexpr const char* what = "beacon::wait_context::modify";
  if (!state_) throw_errno(EBADF, what);
  epoll_change(state_->epfd, EPOLL_CTL_MOD, fd, interest, token, what);
}

void wait_set::remove(int fd) {
  if (!state_) throw_errno(EBADF, "beacon::wait_context::remove");
  epoll_event unused{};  // kernels before 2.6.9 required a non-null pointer
  if (::epoll_ctl(state_->epfd, EPOLL_CTL_DEL, fd, &unused) == 0) {
    state_->registered.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  switch (errno) {
    case ENOENT:  // not registered (never, or removed already)
    case EBADF:   // not open: closed, or never was
    case EPERM:   // a kind epoll cannot watch, so it cannot have been added
    case EINVAL:  // the epoll descriptor itself, or a negative one
      return;     // remove() is idempotent: nothing registered, nothing to do
    default:
      throw_errno(errno, "beacon::wait_context::remove");
  }
}

std::span<const wait_set::ready> wait_set::wait(deadline d) {
  static constexpr const char* what = "beacon::wait_context::wait";
  if (!state_) throw_errno(EBADF, what);
  state& s = *state_;
  // Room for every registered descriptor, so one wait reports all that are
  // ready. Clamped: the count may be an over-estimate (see `registered`).
  const auto want = static_cast<std::size_t>(std::clamp<std::int64_t>(
      s.registered.load(std::memory_order_relaxed), 1, max_batch));
  if (s.events.size() < want) s.events.resize(want);
  const int max_events =
      static_cast<int>(std::min<std::size_t>(s.events.size(), max_batch));

  int n;
  for (;;) {
    if (d.is_never()) {
      n = fault::interruptible(
          [&] { return ::epoll_wait(s.epfd, s.events.data(), max_events, -1); });
    } else {
      // Recomputed from the absolute deadline each round: EINTR never
      // extends the wait.
      const std::int64_t left = d.remaining_ns();
      if (left == 0) {
        n = fault::interruptible([&] {
          return ::epoll_wait(s.epfd, s.events.data(), max_events, 0);
        });  // one last look
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno(errno, what);
        break;
      }
      n = -1;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
      if (pwait2_usable.load(std::memory_order_relaxed)) {
        timespec ts{static_cast<time_t>(left / 1'000'000'000),
                    static_cast<long>(left % 1'000'000'000)};
        n = fault::interruptible([&] {
          return ::epoll_pwait2(s.epfd, s.events.data(), max_events, &ts, nullptr);
        });
        if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
          pwait2_usable.store(false, std::memory_order_relaxed);
          continue;
        }
      } else
#endif
      {
        // Milliseconds, rounded up, so the kernel never times out early.
        const std::int64_t ms = std::min<std::int64_t>(left / 1'000'000 + 1, INT_MAX);
        n = fault::interruptible([&] {
          return ::epoll_wait(s.epfd, s.events.data(), max_events, static_cast<int>(ms));
        });
      }
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, what);
    }
    if (n > 0) break;
    // n == 0: the kernel timed out; the loop re-checks our clock and ends
    // with the "last look" above, so a timer firing early cannot end it.
  }

  s.result.clear();  // keeps the capacity
  for (int i = 0; i < n; ++i) {
    const epoll_event& e = s.events[static_cast<std::size_t>(i)];
    s.result.push_back({e.data.u64, (e.events & EPOLLIN) != 0, (e.events & EPOLLOUT) != 0,
                        (e.events & (EPOLLHUP | EPOLLRDHUP)) != 0,
                        (e.events & EPOLLERR) != 0});
  }
  return {s.result.data(), s.result.size()};
}

}  // namespace beacon::detail
