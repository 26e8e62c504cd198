// wait_any's benchmark (beacon/wait_many.hpp) beside its peers: a mutex +
// condition_variable multi-wait (one lock, one flag per "event"), poll() on
// eventfds, and beacon's single-event wait as the reference the issue sets
// goals against (wait_any on 2 within 1.5x of a single wait when one is
// ready; a blocked wait_any woken by a set within 1.3x of a single hand-off).
//
// Scenarios, for N = 2 and 8 objects:
//   1. one object ready: set the last one, then wait_any; ns per set + wait;
//   2. ping-pong: a thread blocked in wait_any over N events is woken by a
//      set of the last one and answers on one event; ns per round trip.
// wait_all has no rows yet: it is not implemented (see the design notes).
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "beacon/auto_reset_event.hpp"
#include "beacon/wait_many.hpp"
#include "harness.hpp"

namespace {

// N auto-reset "events" under one mutex and condition variable.
template <std::size_t N>
class cv_events {
 public:
  void set(std::size_t i) {
    {
      std::lock_guard<std::mutex> l(m_);
      flags_[i] = true;
    }
    cv_.notify_all();
  }
  std::size_t wait_any() {
    std::unique_lock<std::mutex> l(m_);
    for (;;) {
      for (std::size_t i = 0; i < N; ++i)
        if (flags_[i]) {
          flags_[i] = false;
          return i;
        }
      cv_.wait(l);
    }
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::array<bool, N> flags_{};
};

// N eventfds (auto-reset: a read consumes the counter) and poll().
template <std::size_t N>
class poll_events {
 public:
  poll_events() {
    for (auto& p : fds_) {
      p.fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      p.events = POLLIN;
    }
  }
  ~poll_events() {
    for (auto& p : fds_)
      ::close(p.fd);
  }
  void set(std::size_t i) {
    const std::uint64_t one = 1;
    bench::keep(::write(fds_[i].fd, &one, sizeof one));
  }
  std::size_t wait_any() {
    for (;;) {
      ::poll(fds_.data(), N, -1);
      for (std::size_t i = 0; i < N; ++i) {
        std::uint64_t v;
        if ((fds_[i].revents & POLLIN) && ::read(fds_[i].fd, &v, sizeof v) == sizeof v)
          return i;
      }
    }
  }

 private:
  std::array<pollfd, N> fds_{};
};

template <std::size_t N>
struct beacon_events {
  std::array<beacon::auto_reset_event, N> e;
  void set(std::size_t i) { e[i].set(); }
  std::size_t wait_any() {
    return std::apply([](auto&... x) { return beacon::wait_any(x...); }, e);
  }
};

// beacon's single event, the reference (N is ignored: one event).
template <std::size_t N>
struct beacon_single {
  beacon::auto_reset_event e;
  void set(std::size_t) { e.set(); }
  std::size_t wait_any() {
    e.wait();
    return 0;
  }
};

template <class Events, std::size_t N>
void ready(benchmark::State& state) {
  Events ev;
  for (auto _ : state) {
    ev.set(N - 1);
    bench::keep(ev.wait_any());
  }
}

// Round trips: the benchmark's thread sets event N-1 of the waiter's set and
// waits for the answer on a single auto-reset event.
template <class Events, std::size_t N>
void ping_pong(benchmark::State& state) {
  Events ev;
  beacon::auto_reset_event answer;
  std::atomic<bool> quit{false};
  std::thread waiter([&] {
    for (;;) {
      ev.wait_any();
      if (quit.load(std::memory_order_relaxed)) return;
      answer.set();
    }
  });
  for (auto _ : state) {
    ev.set(N - 1);
    answer.wait();
  }
  quit = true;
  ev.set(N - 1);
  waiter.join();
}

template <std::size_t N>
void add_rows() {
  const std::string n = std::to_string(N);
  const std::string one =
      "wait_any over " + n + " events, the last one set, ns per set + wait";
  bench::add(one, "beacon::wait_any", ready<beacon_events<N>, N>);
  bench::add(one, "beacon::auto_reset_event (one event)", ready<beacon_single<N>, N>);
  bench::add(one, "mutex + condvar multi-wait", ready<cv_events<N>, N>);
  bench::add(one, "poll() on eventfds", ready<poll_events<N>, N>);
  const std::string pp =
      "blocked wait_any over " + n + " events woken by a set, ns per round trip";
  bench::add(pp, "beacon::wait_any", ping_pong<beacon_events<N>, N>)->UseRealTime();
  bench::add(pp, "beacon::auto_reset_event (one event)", ping_pong<beacon_single<N>, N>)
      ->UseRealTime();
  bench::add(pp, "mutex + condvar multi-wait", ping_pong<cv_events<N>, N>)->UseRealTime();
  bench::add(pp, "poll() on eventfds", ping_pong<poll_events<N>, N>)->UseRealTime();
}

}  // namespace

const char* const bench::report_title = "beacon wait_any (several objects)";

void bench::register_benchmarks() {
  add_rows<2>();
  add_rows<8>();
}
