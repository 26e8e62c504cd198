// wait_context on the POSIX backend: detail::wait_set over poll(). See
// include/beacon/wait_context.hpp ("Other backends").
//
// The registrations are a list in this process, guarded by a mutex. A wait
// copies the list, adds the set's private wake-up pipe in front, and polls
// the copy. Why a change made while a thread waits is never missed: add(),
// modify() and remove() change the list under the mutex and then write a
// byte to the wake-up pipe; a waiter whose copy predates the change has the
// pipe's read end in its poll, so its poll returns (at once, if the byte
// came before the poll started), and it polls a fresh copy. A byte written
// with no waiter stays in the pipe and only makes the next wait copy the
// list once more.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <mutex>
#include <system_error>
#include <vector>

#include "beacon/wait_context.hpp"
#include "fault.hpp"
#include "registrations.hpp"

namespace beacon::detail {
namespace fault = platform::fault;

namespace {

[[noreturn]] void throw_errno(int err, const char* what) {
  throw std::system_error(err, std::system_category(), what);
}

short poll_events_of(io_interest interest) {
  switch (interest) {
    case io_interest::none:
      return 0;  // POLLHUP and POLLERR are reported regardless
    case io_interest::read:
#ifdef POLLRDHUP
      return POLLIN | POLLRDHUP;
#else
      return POLLIN;
#endif
    case io_interest::write:
      return POLLOUT;
    case io_interest::read_write:
#ifdef POLLRDHUP
      return POLLIN | POLLRDHUP | POLLOUT;
#else
      return POLLIN | POLLOUT;
#endif
  }
  throw_errno(EINVAL, "beacon::wait_context: io_interest");
}

void close_quietly(int fd) noexcept {
  if (fd >= 0) (void)::close(fd);
}

}  // namespace

// One registration.
struct poll_entry {
  int fd;
  short events;
  std::uint64_t token;
};

// The registrations (under `mutex`), and:
struct wait_set::state : platform::registrations<poll_entry, &poll_entry::fd> {
  // The wake-up pipe: non-blocking both ends, close-on-exec.
  int wake_rd = -1, wake_wr = -1;
  // Owned by the waiting thread (one at a time).
  std::vector<pollfd> polled;
  std::vector<ready> result;

  ~state() {
    close_quietly(wake_rd);
    close_quietly(wake_wr);
  }

  // Wakes a waiting poll (if any) to look at the changed list.
  void poke() noexcept {
    const char byte = 1;
    (void)::write(wake_wr, &byte, 1);  // EAGAIN: full, a wake-up is pending anyway
  }
  void drain() noexcept {
    char buf[64];
    while (::read(wake_rd, buf, sizeof buf) > 0) {
    }
  }
};

wait_set::wait_set() : state_(std::make_unique<state>()) {
  int fds[2];
  if (::pipe(fds) != 0) throw_errno(errno, "beacon::wait_context: pipe");
  state_->wake_rd = fds[0];
  state_->wake_wr = fds[1];
  for (int fd : fds)
    if (::fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
      throw_errno(errno, "beacon::wait_context: fcntl");  // ~state closes both
}

wait_set::~wait_set() = default;
wait_set::wait_set(wait_set&&) noexcept = default;
wait_set& wait_set::operator=(wait_set&&) noexcept = default;

int wait_set::native_handle() const noexcept { return -1; }  // no nesting (documented)

void wait_set::add(int fd, io_interest interest, std::uint64_t token) {
  static constexpr const char* what = "beacon::wait_context::add";
  if (!state_) throw_errno(EBADF, what);
  const short events = poll_events_of(interest);
  if (fd < 0 || ::fcntl(fd, F_GETFD) < 0) throw_errno(EBADF, what);
  {
    const std::lock_guard lock(state_->mutex);
    if (state_->find(fd) != nullptr) throw_errno(EEXIST, what);
    state_->entries.push_back({fd, events, token});
  }
  state_->poke();
}

void wait_set::modify(int fd, io_interest interest, std::uint64_t token) {
  static constexpr const char* what = "beacon::wait_context::modify";
  if (!state_) throw_errno(EBADF, what);
  const short events = poll_events_of(interest);
  {
    const std::lock_guard lock(state_->mutex);
    state::entry* e = state_->find(fd);
    if (e == nullptr) throw_errno(ENOENT, what);
    e->events = events;
    e->token = token;
  }
  state_->poke();
}

void wait_set::remove(int fd) {
  if (!state_) throw_errno(EBADF, "beacon::wait_context::remove");
  if (state_->remove(fd)) state_->poke();
}

std::span<const wait_set::ready> wait_set::wait(deadline d) {
  static constexpr const char* what = "beacon::wait_context::wait";
  if (!state_) throw_errno(EBADF, what);
  state& s = *state_;
  for (;;) {
    // A fresh copy of the list each round: changes since the last round
    // (their byte is in the wake-up pipe) are in it.
    s.drain();
    {
      const std::lock_guard lock(s.mutex);
      s.polled.clear();
      s.polled.push_back({s.wake_rd, POLLIN, 0});
      for (const auto& e : s.entries)
        s.polled.push_back({e.fd, e.events, 0});
    }
    int timeout = -1;
    const bool last_look = !d.is_never() && d.remaining_ns() == 0;
    if (last_look) {
      timeout = 0;
    } else if (!d.is_never()) {
      // Milliseconds, rounded up, so poll never times out early.
      timeout = static_cast<int>(
          std::min<std::int64_t>((d.remaining_ns() + 999'999) / 1'000'000, INT_MAX));
    }
    const int n = fault::interruptible([&] {
      return ::poll(s.polled.data(), static_cast<nfds_t>(s.polled.size()), timeout);
    });
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, what);
    }
    s.result.clear();
    if (n > 0) {
      const std::lock_guard lock(s.mutex);
      for (std::size_t i = 1; i < s.polled.size(); ++i) {
        const pollfd& p = s.polled[i];
        if (p.revents == 0) continue;
        // Tokens as they are now: an entry removed or modified since the
        // copy is reported as it is now, or not at all.
        state::entry* e = s.find(p.fd);
        if (e == nullptr) continue;
        if (p.revents & POLLNVAL) {
          // Closed without remove(): dropped, as epoll drops it.
          s.entries.erase(s.entries.begin() + (e - s.entries.data()));
          continue;
        }
        bool hup = (p.revents & POLLHUP) != 0;
#ifdef POLLRDHUP
        hup = hup || (p.revents & POLLRDHUP) != 0;
#endif
        s.result.push_back({e->token, (p.revents & POLLIN) != 0,
                            (p.revents & POLLOUT) != 0, hup, (p.revents & POLLERR) != 0});
      }
    }
    if (!s.result.empty() || last_look) break;
    // Nothing to report: timed out (the loop re-checks our clock and ends
    // with a last look), woken by a change, or only dropped entries.
  }
  return {s.result.data(), s.result.size()};
}

}  // namespace beacon::detail
