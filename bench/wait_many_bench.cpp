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
//   3. wait_all, all set: set all N, then wait_all; ns per N sets + wait_all
//      (beside N single waits one after the other, which is not atomic);
//   4. wait_all, one set: a wait_all that must fail (only the last event
//      set, a zero time limit): the cost of an attempt that rolls back.
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <chrono>
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
  // Atomic under the one lock: all flags set, then all cleared.
  bool try_all() {
    std::lock_guard<std::mutex> l(m_);
    for (bool f : flags_)
      if (!f) return false;
    flags_.fill(false);
    return true;
  }
  void wait_all() {
    std::unique_lock<std::mutex> l(m_);
    cv_.wait(l, [&] {
      for (bool f : flags_)
        if (!f) return false;
      return true;
    });
    flags_.fill(false);
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
  bool try_all() {
    return std::apply(
        [](auto&... x) {
          return beacon::wait_all_for(std::chrono::nanoseconds(0), x...);
        },
        e);
  }
  void wait_all() {
    std::apply([](auto&... x) { beacon::wait_all(x...); }, e);
  }
};

// N beacon events waited for one after the other (not atomic: the reference).
template <std::size_t N>
struct beacon_one_by_one : beacon_events<N> {
  bool try_all() {
    for (auto& x : this->e)
      if (!x.try_wait()) return false;  // (a real one would have to undo)
    return true;
  }
  void wait_all() {
    for (auto& x : this->e)
      x.wait();
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

template <class Events, std::size_t N>
void all_set(benchmark::State& state) {
  Events ev;
  for (auto _ : state) {
    for (std::size_t i = 0; i < N; ++i)
      ev.set(i);
    ev.wait_all();
  }
}

template <class Events, std::size_t N>
void one_set(benchmark::State& state) {
  Events ev;
  ev.set(N - 1);
  for (auto _ : state)
    bench::keep(ev.try_all());
}

template <std::size_t N>
void add_all_rows() {
  const std::string n = std::to_string(N);
  const std::string all =
      "wait_all over " + n + " events, all set, ns per " + n + " sets + wait_all";
  bench::add(all, "beacon::wait_all", all_set<beacon_events<N>, N>);
  bench::add(all, "beacon waits one by one (not atomic)",
             all_set<beacon_one_by_one<N>, N>);
  bench::add(all, "mutex + condvar multi-wait", all_set<cv_events<N>, N>);
  const std::string one =
      "wait_all over " + n + " events, only the last set, ns per failed attempt";
  bench::add(one, "beacon::wait_all_for(0)", one_set<beacon_events<N>, N>);
  bench::add(one, "beacon try_waits one by one (not atomic)",
             one_set<beacon_one_by_one<N>, N>);
  bench::add(one, "mutex + condvar multi-wait", one_set<cv_events<N>, N>);
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

const char* const bench::report_title = "beacon wait_any / wait_all (several objects)";

void bench::register_benchmarks() {
  add_rows<2>();
  add_rows<8>();
  add_all_rows<2>();
  add_all_rows<8>();
}
