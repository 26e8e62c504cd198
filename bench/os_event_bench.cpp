// os_event and wait_context beside the raw system calls they wrap (Google
// Benchmark; see bench/harness.hpp).
//
//  * ping-pong: two threads (then two processes) pass a token back and forth
//    through two events; ns per round trip. Peers: raw eventfds read
//    blocking, raw non-blocking eventfds waited on with poll() (the calls
//    os_event makes), and a pair of pipes.
//  * wait_context: N registered events, one signalled per operation
//    (signal, wait, consume); ns per operation. Peers: raw epoll on the same
//    descriptors, and poll() over all of them.
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
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

// The partner echoes every ping on `a` with a ping on `b` until it finds
// `stop` set after a ping (in shared memory: the partner may be a child
// process).
template <class Channel>
void echo(Channel& ch, const std::atomic<bool>& stop) {
  for (;;) {
    ch.wait_a();
    if (stop.load(std::memory_order_acquire)) return;
    ch.ping_b();
  }
}

// One round trip per iteration, with the partner started by `start` (which
// returns what `finish` needs to wait for its end).
template <class Channel, class Start, class Finish>
void ping_pong(benchmark::State& state, Start start, Finish finish) {
  // Shared memory for the stop flag: a forked partner sees it too.
  void* mem = ::mmap(nullptr, sizeof(std::atomic<bool>), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) std::abort();
  auto* stop = new (mem) std::atomic<bool>(false);
  {
    Channel ch;  // created before the partner: a child inherits the descriptors
    auto partner = start(ch, *stop);
    for (auto _ : state) {
      ch.ping_a();
      ch.wait_b();
    }
    stop->store(true, std::memory_order_release);
    ch.ping_a();
    finish(partner);
  }
  ::munmap(mem, sizeof(std::atomic<bool>));
}

template <class Channel>
void ping_pong_threads(benchmark::State& state) {
  ping_pong<Channel>(
      state,
      [](Channel& ch, const std::atomic<bool>& stop) {
        return std::make_unique<std::thread>([&ch, &stop] { echo(ch, stop); });
      },
      [](std::unique_ptr<std::thread>& t) { t->join(); });
}

template <class Channel>
void ping_pong_processes(benchmark::State& state) {
  ping_pong<Channel>(
      state,
      [](Channel& ch, const std::atomic<bool>& stop) {
        const pid_t pid = ::fork();
        if (pid == 0) {
          echo(ch, stop);
          ::_exit(0);
        }
        if (pid < 0) std::abort();
        return pid;
      },
      [](pid_t pid) {
        int status;
        ::waitpid(pid, &status, 0);
      });
}

void ping_pong_scenario(const std::string& title, bool processes) {
  auto add = [&](const char* impl, auto channel) {
    using C = typename decltype(channel)::type;
    bench::add(title, impl, processes ? ping_pong_processes<C> : ping_pong_threads<C>)
        ->UseRealTime();
  };
  add("beacon::os_event", std::type_identity<beacon_channel>{});
  add("raw eventfd (blocking read)", std::type_identity<eventfd_channel>{});
  add("raw eventfd (non-blocking, poll+read)",
      std::type_identity<eventfd_poll_channel>{});
  add("pipe", std::type_identity<pipe_channel>{});
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

  void beacon_op() {
    events[hot].signal();
    for (const auto& t : ctx.wait())
      if (!events[t.token].try_wait()) std::abort();
  }
  void epoll_op() {
    const int fd = events[hot].native_handle();
    {
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
    }
  }
  void poll_op() {
    const int fd = events[hot].native_handle();
    {
      const std::uint64_t one = 1;
      if (::write(fd, &one, sizeof one) != sizeof one) std::abort();
      if (::poll(pfds.data(), pfds.size(), -1) < 1) std::abort();
      for (auto& p : pfds)
        if (p.revents & POLLIN) {
          std::uint64_t v;
          if (::read(p.fd, &v, sizeof v) != sizeof v) std::abort();
        }
    }
  }
};

void raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

void wait_context_scenario(std::size_t n) {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < n + 64) return;  // not enough descriptors: no such rows
  const std::string title = "wait_context, one of N = " + std::to_string(n) +
                            " signalled, ns per signal+wait+consume";
  auto add = [&](const char* impl, void (many_events::*op)()) {
    bench::add(title, impl, [=](benchmark::State& s) {
      many_events m(n);
      for (auto _ : s)
        (m.*op)();
    })->UseRealTime();
  };
  add("beacon::wait_context", &many_events::beacon_op);
  add("raw epoll_wait", &many_events::epoll_op);
  add("poll()", &many_events::poll_op);
}

}  // namespace

const char* const bench::report_title = "os_event and wait_context";

void bench::register_benchmarks() {
  raise_fd_limit();
  ping_pong_scenario("os_event ping-pong, two threads, ns per round trip", false);
  ping_pong_scenario("os_event ping-pong, two processes, ns per round trip", true);
  for (const std::size_t n : {std::size_t{10}, std::size_t{1000}, std::size_t{10000}})
    wait_context_scenario(n);
}
