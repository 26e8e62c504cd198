// os_event and wait_context beside the raw system calls they wrap.
//
//  * ping-pong: two threads (then two processes) pass a token back and forth
//    through two events; ns per round trip. Peers: raw eventfds read
//    blocking, raw non-blocking eventfds waited on with poll() (the calls
//    os_event makes), and a pair of pipes.
//  * wait_context: N registered events, one signalled per operation
//    (signal, wait, consume); ns per operation. Peers: raw epoll on the same
//    descriptors, and poll() over all of them.
// Knobs: BEACON_BENCH_REPS, BEACON_BENCH_QUICK (a tenth of the rounds),
// BEACON_BENCH_JSON (see harness.hpp).
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "beacon/os_event.hpp"
#include "beacon/wait_context.hpp"
#include "harness.hpp"

namespace {

// ---- ping-pong ----------------------------------------------------------

// Two one-way channels: the timer side pings `a` and waits on `b`, the
// partner waits on `a` and pings `b`.
struct beacon_channel {
  beacon::os_event a, b;
  void ping_a() { a.signal(); }
  void wait_a() { a.wait(); }
  void ping_b() { b.signal(); }
  void wait_b() { b.wait(); }
};

struct eventfd_channel {
  int a = ::eventfd(0, EFD_CLOEXEC), b = ::eventfd(0, EFD_CLOEXEC);  // blocking reads
  ~eventfd_channel() {
    ::close(a);
    ::close(b);
  }
  static void put(int fd) {
    const std::uint64_t one = 1;
    if (::write(fd, &one, sizeof one) != sizeof one) std::abort();
  }
  static void take(int fd) {
    std::uint64_t v;
    if (::read(fd, &v, sizeof v) != sizeof v) std::abort();
  }
  void ping_a() { put(a); }
  void wait_a() { take(a); }
  void ping_b() { put(b); }
  void wait_b() { take(b); }
};

// The system calls os_event makes, without os_event: a non-blocking eventfd
// waited on with poll() and then read. It shows what the wrapper itself
// costs; the gap to the blocking read above is the price of the extra poll()
// that lets several waiters share one event safely.
struct eventfd_poll_channel {
  int a = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
      b = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ~eventfd_poll_channel() {
    ::close(a);
    ::close(b);
  }
  static void take(int fd) {
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, -1) != 1) std::abort();
      std::uint64_t v;
      if (::read(fd, &v, sizeof v) == sizeof v) return;
    }
  }
  void ping_a() { eventfd_channel::put(a); }
  void wait_a() { take(a); }
  void ping_b() { eventfd_channel::put(b); }
  void wait_b() { take(b); }
};

struct pipe_channel {
  int a[2], b[2];
  pipe_channel() {
    if (::pipe2(a, O_CLOEXEC) != 0 || ::pipe2(b, O_CLOEXEC) != 0) std::abort();
  }
  ~pipe_channel() {
    for (int fd : {a[0], a[1], b[0], b[1]})
      ::close(fd);
  }
  static void put(int fd) {
    if (::write(fd, "x", 1) != 1) std::abort();
  }
  static void take(int fd) {
    char c;
    if (::read(fd, &c, 1) != 1) std::abort();
  }
  void ping_a() { put(a[1]); }
  void wait_a() { take(a[0]); }
  void ping_b() { put(b[1]); }
  void wait_b() { take(b[0]); }
};

// The partner echoes `rounds + 1` times (one warm-up round first).
template <class Channel>
void echo(Channel& ch, long rounds) {
  for (long i = 0; i <= rounds; ++i) {
    ch.wait_a();
    ch.ping_b();
  }
}

template <class Channel>
double timed_rounds(Channel& ch, long rounds) {
  ch.ping_a();  // warm-up round: the partner is running and has echoed once
  ch.wait_b();
  return bench::ns_per_op(rounds, [&] {
    ch.ping_a();
    ch.wait_b();
  });
}

template <class Channel>
double ping_pong_threads(long rounds) {
  Channel ch;
  std::thread partner([&] { echo(ch, rounds); });
  const double ns = timed_rounds(ch, rounds);
  partner.join();
  return ns;
}

template <class Channel>
double ping_pong_processes(long rounds) {
  Channel ch;  // created before fork: the child inherits the descriptors
  const pid_t pid = ::fork();
  if (pid == 0) {
    echo(ch, rounds);
    ::_exit(0);
  }
  if (pid < 0) std::abort();
  const double ns = timed_rounds(ch, rounds);
  int status;
  ::waitpid(pid, &status, 0);
  return ns;
}

// ---- wait_context with N registered --------------------------------------

struct many_events {
  std::vector<beacon::os_event> events;
  beacon::wait_context<std::uint32_t> ctx;
  int epfd = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<epoll_event> epoll_buf;
  std::vector<pollfd> pfds;
  std::size_t hot;  // the one signalled

  explicit many_events(std::size_t n) : events(n), epoll_buf(n), pfds(n), hot(n / 2) {
    for (std::uint32_t i = 0; i < n; ++i) {
      const int fd = events[i].native_handle();
      ctx.add(events[i], i);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u32 = i;
      if (::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) std::abort();
      pfds[i] = {fd, POLLIN, 0};
    }
  }
  ~many_events() { ::close(epfd); }

  double beacon_op(long ops) {
    return bench::ns_per_op(ops, [&] {
      events[hot].signal();
      for (const auto& t : ctx.wait())
        if (!events[t.token].try_wait()) std::abort();
    });
  }
  double epoll_op(long ops) {
    const int fd = events[hot].native_handle();
    return bench::ns_per_op(ops, [&] {
      const std::uint64_t one = 1;
      if (::write(fd, &one, sizeof one) != sizeof one) std::abort();
      const int n =
          ::epoll_wait(epfd, epoll_buf.data(), static_cast<int>(epoll_buf.size()), -1);
      for (int i = 0; i < n; ++i) {
        std::uint64_t v;
        if (::read(
                events[epoll_buf[static_cast<std::size_t>(i)].data.u32].native_handle(),
                &v, sizeof v) != sizeof v)
          std::abort();
      }
    });
  }
  double poll_op(long ops) {
    const int fd = events[hot].native_handle();
    return bench::ns_per_op(ops, [&] {
      const std::uint64_t one = 1;
      if (::write(fd, &one, sizeof one) != sizeof one) std::abort();
      if (::poll(pfds.data(), pfds.size(), -1) < 1) std::abort();
      for (auto& p : pfds)
        if (p.revents & POLLIN) {
          std::uint64_t v;
          if (::read(p.fd, &v, sizeof v) != sizeof v) std::abort();
        }
    });
  }
};

void raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

}  // namespace

int main() {
  raise_fd_limit();
  // Round counts keep the whole report near 10 s on two busy cores.
  {
    bench::report r("os_event ping-pong (ns per round trip)");
    const long rounds = bench::scaled(2500);
    r.scenario(
        "two threads",
        {{"beacon::os_event", [=] { return ping_pong_threads<beacon_channel>(rounds); }},
         {"raw eventfd (blocking read)",
          [=] { return ping_pong_threads<eventfd_channel>(rounds); }},
         {"raw eventfd (non-blocking, poll+read)",
          [=] { return ping_pong_threads<eventfd_poll_channel>(rounds); }},
         {"pipe", [=] { return ping_pong_threads<pipe_channel>(rounds); }}});
    r.scenario("two processes",
               {{"beacon::os_event",
                 [=] { return ping_pong_processes<beacon_channel>(rounds); }},
                {"raw eventfd (blocking read)",
                 [=] { return ping_pong_processes<eventfd_channel>(rounds); }},
                {"raw eventfd (non-blocking, poll+read)",
                 [=] { return ping_pong_processes<eventfd_poll_channel>(rounds); }},
                {"pipe", [=] { return ping_pong_processes<pipe_channel>(rounds); }}});
  }
  {
    bench::report r("wait_context, one of N signalled (ns per signal+wait+consume)");
    for (std::size_t n : {std::size_t{10}, std::size_t{1000}, std::size_t{10000}}) {
      rlimit lim{};
      ::getrlimit(RLIMIT_NOFILE, &lim);
      if (lim.rlim_cur < n + 64) {
        std::printf("N = %zu: skipped (descriptor limit %llu)\n", n,
                    static_cast<unsigned long long>(lim.rlim_cur));
        continue;
      }
      many_events m(n);
      // poll() costs O(N): fewer operations keep each run near 100 ms.
      const long fast_ops = bench::scaled(10000);
      const long poll_ops = std::clamp<long>(
          static_cast<long>(bench::scaled(2'000'000) / static_cast<long>(n)), 20,
          fast_ops);
      r.scenario("N = " + std::to_string(n),
                 {{"beacon::wait_context", [&] { return m.beacon_op(fast_ops); }},
                  {"raw epoll_wait", [&] { return m.epoll_op(fast_ops); }},
                  {"poll()", [&] { return m.poll_op(poll_ops); }}});
    }
  }
  return 0;
}
