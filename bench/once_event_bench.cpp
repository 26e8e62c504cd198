// The one-shot events' benchmark: beacon::once_event, local_once_event and
// their pools beside std::promise / std::future and a raw one-shot built on
// std::atomic_flag (test_and_set + notify_one, wait), the limit for a
// one-shot that can block (Google Benchmark; see bench/harness.hpp).
//
// Scenarios:
//   1. one thread: create + bind + send + receive an int (the event on the
//      stack), ns per message;
//   2. one thread, pooled vs unpooled: once_event_pool, make_once (one heap
//      allocation), local_once_event_pool, local_once_event; each also
//      counts its heap allocations per message (the counter allocs_per_msg;
//      operator new is replaced here to count);
//   3. two threads, the receiver really blocked: the sender waits until the
//      receiver has called receive() and slept 200 us (past every spin), then
//      sends; the median over 60 messages of the ns from the send() call to
//      the receiver running again (one iteration per repetition; beacon's
//      counter `parked` is the share of sends that found its receiver parked
//      in the lot). On two CPUs this is the kernel's (and a VM's) cross-CPU
//      wake-up, the same for every candidate; on one CPU a context switch;
//   4. two threads, a stream: one thread sends a run of one-shot messages,
//      the other receives them in order (it finds most ready, or spins
//      briefly); ns per message;
//   5. the pool's free list: its spin lock beside a lock-free Treiber stack
//      with a tagged head (ABA-safe), rent + return in one thread and on two
//      threads at once (->Threads(2)) — the measurement behind
//      detail/once_pool.hpp's choice.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "../tests/support/counting_new.hpp"
#include "beacon/local_once_event.hpp"
#include "beacon/once_event.hpp"
#include "harness.hpp"

// ---------------------------------------------------------------------------
// Allocation counting: a per-thread counter (no atomic, so counting does not
// slow the candidates that allocate).

namespace {
thread_local long tl_allocations = 0;
}  // namespace

// Counts on the calling thread, the one that runs the allocating peer.
void beacon_test::count_allocation() noexcept { ++tl_allocations; }

namespace {

using bench::clobber;
using bench::cpu_relax;
using bench::keep;
using clock_type = std::chrono::steady_clock;

// ---------------------------------------------------------------------------
// The raw one-shot: std::atomic_flag, C++20 wait / notify.

struct flag_oneshot {
  std::atomic_flag flag;
  int value = 0;
  void send(int v) noexcept {
    value = v;
    flag.test_and_set(std::memory_order_release);
    flag.notify_one();
  }
  int receive() noexcept {
    flag.wait(false, std::memory_order_acquire);
    return value;
  }
};

// The raw limit: a one-shot on one atomic word and a futex (Drepper's
// states): 0 empty, 1 sent, 2 empty with the receiver asleep. send() is one
// exchange, plus FUTEX_WAKE only when the receiver sleeps; receive() spins
// as briefly as beacon's receiver before it sleeps.
struct futex_oneshot {
  std::atomic<std::uint32_t> word{0};
  int value = 0;
  void send(int v) noexcept {
    value = v;
    if (word.exchange(1, std::memory_order_release) == 2) bench::futex_wake(word, 1);
  }
  int receive() noexcept {
    for (int spin = 0; spin < 4000 && word.load(std::memory_order_relaxed) != 1; ++spin)
      cpu_relax();
    for (;;) {
      std::uint32_t s = word.load(std::memory_order_acquire);
      if (s == 1) return value;
      if (s == 0 && !word.compare_exchange_strong(s, 2, std::memory_order_acquire))
        continue;
      bench::futex_wait(word, 2);
    }
  }
};

// ---------------------------------------------------------------------------
// 1, 2: one thread. `message(i)` creates, sends i and receives one message;
// the benchmark also reports the heap allocations per message.

template <class F>
void messages(benchmark::State& state, F&& message) {
  int i = 0;
  const long before = tl_allocations;
  for (auto _ : state)
    message(i++);
  state.counters["allocs_per_msg"] = benchmark::Counter(
      static_cast<double>(tl_allocations - before), benchmark::Counter::kAvgIterations);
}

// Sends i through a fresh pair of ends and receives it: with receive() for
// the thread-safe events, with try_receive() for the local ones (Local).
template <bool Local, class Ends>
void send_receive(Ends ends, int i) {
  auto [tx, rx] = std::move(ends);
  std::move(tx).send(i);
  if constexpr (Local)
    keep(*rx.try_receive());
  else
    keep(rx.receive());
}

// Messages through a pool's events (a few reserved first).
template <class Pool, bool Local>
void pooled(benchmark::State& state) {
  Pool pool;
  pool.reserve(8);
  messages(state, [&](int i) { send_receive<Local>(pool.bind_by_ref(), i); });
}

void stack_once(int i) {
  beacon::once_event<int> ev;
  send_receive<false>(ev.bind_by_ref(), i);
}

void promise_future(int i) {
  std::promise<int> p;
  std::future<int> f = p.get_future();
  p.set_value(i);
  keep(f.get());
}

template <class Oneshot>
void raw_oneshot(int i) {
  Oneshot o;
  clobber();
  o.send(i);
  keep(o.receive());
}

void one_thread_scenarios() {
  const std::string s1 = "one thread: create + send + receive (int), ns per message";
  bench::add(s1, "beacon once_event (on the stack, bind_by_ref)",
             [](benchmark::State& s) { messages(s, stack_once); });
  bench::add(s1, "std::promise / std::future",
             [](benchmark::State& s) { messages(s, promise_future); });
  bench::add(s1, "raw atomic-flag one-shot (word + futex: the limit)",
             [](benchmark::State& s) { messages(s, raw_oneshot<futex_oneshot>); });
  bench::add(s1, "std::atomic_flag test_and_set/notify_one + wait",
             [](benchmark::State& s) { messages(s, raw_oneshot<flag_oneshot>); });
  bench::add(s1, "raw atomic<bool> store/load (cannot block)", [](benchmark::State& s) {
    messages(s, [](int i) {
      std::atomic<bool> ready{false};
      int v;
      clobber();
      v = i;
      ready.store(true, std::memory_order_release);
      while (!ready.load(std::memory_order_acquire))
        cpu_relax();
      keep(v);
    });
  });

  const std::string s2 = "one thread, pooled vs unpooled, ns per message";
  bench::add(s2, "beacon once_event_pool (bind_by_ref)",
             pooled<beacon::once_event_pool<int>, false>);
  bench::add(s2, "beacon make_once (one heap allocation)", [](benchmark::State& s) {
    messages(s, [](int i) { send_receive<false>(beacon::make_once<int>(), i); });
  });
  bench::add(s2, "beacon once_event (stack)",
             [](benchmark::State& s) { messages(s, stack_once); });
  bench::add(s2, "beacon local_once_event_pool",
             pooled<beacon::local_once_event_pool<int>, true>);
  bench::add(s2, "beacon make_local_once", [](benchmark::State& s) {
    messages(s, [](int i) { send_receive<true>(beacon::make_local_once<int>(), i); });
  });
  bench::add(s2, "beacon local_once_event (stack)", [](benchmark::State& s) {
    messages(s, [](int i) {
      beacon::local_once_event<int> ev;
      send_receive<true>(ev.bind_by_ref(), i);
    });
  });
  bench::add(s2, "std::promise / std::future",
             [](benchmark::State& s) { messages(s, promise_future); });
}

// ---------------------------------------------------------------------------
// 3: the receiver really blocked. Per message: the receiver announces that
// it calls receive(); the sender waits for that, sleeps `blocked_for` (far
// past beacon's 20 us spin and libstdc++'s), stamps t0 and sends; the
// receiver stamps t1 when receive() returned. The batch: the median of
// t1 - t0 (a VM's idle wake-ups are erratic), as one item.

constexpr auto blocked_for = std::chrono::microseconds(200);
constexpr int blocked_messages = 60;

// Ops: receive(i) (receiver thread), send(i) (sender thread), check_parked(i)
// (sender side, right before the send: beacon counts whether its receiver is
// queued in the parking lot).
template <class Channels>
bench::batch blocked_run(Channels& ch, int receiver_cpu) {
  std::atomic<int> announced{-1};
  std::vector<clock_type::time_point> t0(blocked_messages), t1(blocked_messages);
  std::thread receiver([&] {
    bench::pinned pin(receiver_cpu);
    for (int i = 0; i < blocked_messages; ++i) {
      announced.store(i, std::memory_order_release);
      keep(ch.receive(i));
      t1[i] = clock_type::now();
    }
  });
  {
    bench::pinned pin(0);
    for (int i = 0; i < blocked_messages; ++i) {
      // yield: on one CPU the receiver needs it to run
      while (announced.load(std::memory_order_acquire) < i)
        std::this_thread::yield();
      std::this_thread::sleep_for(blocked_for);
      ch.check_parked(i);
      t0[i] = clock_type::now();
      ch.send(i);
    }
    receiver.join();
  }
  std::vector<double> ns(blocked_messages);
  for (int i = 0; i < blocked_messages; ++i)
    ns[i] = std::chrono::duration<double, std::nano>(t1[i] - t0[i]).count();
  std::nth_element(ns.begin(), ns.begin() + blocked_messages / 2, ns.end());
  return {ns[blocked_messages / 2], 1};
}

struct beacon_blocked {
  std::deque<beacon::once_event<int>> evs{blocked_messages};
  std::vector<beacon::once_event<int>::sender_by_ref> tx;
  std::vector<beacon::once_event<int>::receiver_by_ref> rx;
  beacon_blocked() {
    for (auto& e : evs) {
      auto [s, r] = e.bind_by_ref();
      tx.push_back(std::move(s));
      rx.push_back(std::move(r));
    }
  }
  int receive(int i) { return rx[i].receive(); }
  void send(int i) { std::move(tx[i]).send(i); }
  long parked = 0;  // sends that found the receiver queued in the parking lot
  void check_parked(int i) { parked += beacon::parking_lot::queued(&evs[i]) == 1; }
};

struct promise_blocked {
  std::vector<std::promise<int>> p{blocked_messages};
  std::vector<std::future<int>> f;
  promise_blocked() {
    for (auto& x : p)
      f.push_back(x.get_future());
  }
  int receive(int i) { return f[i].get(); }
  void send(int i) { p[i].set_value(i); }
  void check_parked(int) {}
};

struct flag_blocked {
  std::deque<futex_oneshot> o{blocked_messages};
  int receive(int i) { return o[i].receive(); }
  void send(int i) { o[i].send(i); }
  void check_parked(int) {}
};

template <class Channels>
void blocked(benchmark::State& state, int receiver_cpu) {
  long parked = 0;
  bench::timed_batches(state, [&] {
    Channels c;
    const bench::batch b = blocked_run(c, receiver_cpu);
    if constexpr (requires { c.parked; }) parked += c.parked;
    return b;
  });
  if constexpr (requires(Channels c) { c.parked; })
    state.counters["parked"] =
        benchmark::Counter(static_cast<double>(parked) / blocked_messages,
                           benchmark::Counter::kAvgIterations);
}

void blocked_scenario(int receiver_cpu) {
  const std::string s =
      receiver_cpu == 0
          ? "two threads on one CPU, receiver blocked: ns from send() to it running"
          : "two threads on two CPUs, receiver blocked: ns from send() to it running";
  auto add = [&](const char* impl, auto fn) {
    bench::add(s, impl, [=](benchmark::State& st) { fn(st, receiver_cpu); })
        ->Iterations(1)
        ->UseManualTime();
  };
  add("beacon once_event", blocked<beacon_blocked>);
  add("std::promise / std::future", blocked<promise_blocked>);
  add("raw atomic-flag one-shot (word + futex)", blocked<flag_blocked>);
}

// ---------------------------------------------------------------------------
// 4: a stream of one-shot messages between two threads. The channels are
// made before the timed part (for the pool: rented, so the run also returns
// them); the batch: sender start to receiver end, stream_messages items.

constexpr int stream_messages = 4000;

template <class Make, class Send, class Receive>
bench::batch stream_run(Make make_channels, Send send, Receive receive) {
  auto ch = make_channels();
  std::atomic<bool> go{false};
  clock_type::time_point start, end;
  std::thread receiver([&] {
    bench::pinned pin(1);
    while (!go.load(std::memory_order_acquire))
      cpu_relax();
    for (int i = 0; i < stream_messages; ++i)
      keep(receive(*ch, i));
    end = clock_type::now();
  });
  {
    bench::pinned pin(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    start = clock_type::now();
    go.store(true, std::memory_order_release);
    for (int i = 0; i < stream_messages; ++i)
      send(*ch, i);
    receiver.join();
  }
  return {std::chrono::duration<double, std::nano>(end - start).count(), stream_messages};
}

// Pairs of ends bound by reference, message i on pair i.
template <class Event>
struct by_ref_channels {
  std::vector<typename Event::sender_by_ref> tx;
  std::vector<typename Event::receiver_by_ref> rx;
  template <class Ends>
  void add(Ends ends) {
    auto [t, r] = std::move(ends);
    tx.push_back(std::move(t));
    rx.push_back(std::move(r));
  }
  void send(int i) { std::move(tx[i]).send(i); }
  int receive(int i) { return rx[i].receive(); }
};

void stream_scenario() {
  const std::string s = "two threads, a stream of one-shot messages, ns per message";
  using pool_t = beacon::once_event_pool<int>;
  struct pool_channels : by_ref_channels<pool_t> {
    pool_t pool;
  };
  struct event_channels : by_ref_channels<beacon::once_event<int>> {
    std::deque<beacon::once_event<int>> evs{stream_messages};
  };
  struct promise_channels {
    std::vector<std::promise<int>> p{stream_messages};
    std::vector<std::future<int>> f;
  };
  constexpr auto send = [](auto& c, int i) { c.send(i); };
  constexpr auto receive = [](auto& c, int i) { return c.receive(i); };
  auto add = [&](const char* impl, auto run) {
    bench::add(s, impl, [=](benchmark::State& st) {
      bench::timed_batches(st, run);
    })->UseManualTime();
  };
  add("beacon once_event_pool", [=] {
    return stream_run(
        [] {
          auto c = std::make_unique<pool_channels>();
          for (int i = 0; i < stream_messages; ++i)
            c->add(c->pool.bind_by_ref());
          return c;
        },
        send, receive);
  });
  add("beacon once_event", [=] {
    return stream_run(
        [] {
          auto c = std::make_unique<event_channels>();
          for (auto& e : c->evs)
            c->add(e.bind_by_ref());
          return c;
        },
        send, receive);
  });
  add("std::promise / std::future", [] {
    return stream_run(
        [] {
          auto c = std::make_unique<promise_channels>();
          for (auto& p : c->p)
            c->f.push_back(p.get_future());
          return c;
        },
        [](promise_channels& c, int i) { c.p[i].set_value(i); },
        [](promise_channels& c, int i) { return c.f[i].get(); });
  });
  add("raw atomic-flag one-shot (word + futex)", [] {
    return stream_run(
        [] { return std::make_unique<std::deque<futex_oneshot>>(stream_messages); },
        [](std::deque<futex_oneshot>& c, int i) { c[i].send(i); },
        [](std::deque<futex_oneshot>& c, int i) { return c[i].receive(); });
  });
  add("std::atomic_flag test_and_set/notify_one + wait", [] {
    return stream_run(
        [] { return std::make_unique<std::deque<flag_oneshot>>(stream_messages); },
        [](std::deque<flag_oneshot>& c, int i) { c[i].send(i); },
        [](std::deque<flag_oneshot>& c, int i) { return c[i].receive(); });
  });
}

// ---------------------------------------------------------------------------
// 5: the pool's free list. beacon's store (spin lock) beside a lock-free
// Treiber stack over the same number of nodes, its head a 64-bit word of
// {tag, index + 1} so a pop cannot be fooled by ABA.

class treiber_free_list {
 public:
  explicit treiber_free_list(std::uint32_t n) : nodes_(n) {
    for (std::uint32_t i = 0; i < n; ++i)
      push(i);
  }
  std::uint32_t pop() noexcept {  // UINT32_MAX: empty
    std::uint64_t h = head_.load(std::memory_order_acquire);
    for (;;) {
      const auto idx = static_cast<std::uint32_t>(h);
      if (idx == 0) return UINT32_MAX;
      const std::uint32_t next = nodes_[idx - 1].next.load(std::memory_order_relaxed);
      const std::uint64_t nh = ((h >> 32) + 1) << 32 | next;
      if (head_.compare_exchange_weak(h, nh, std::memory_order_acquire,
                                      std::memory_order_acquire))
        return idx - 1;
    }
  }
  void push(std::uint32_t i) noexcept {
    std::uint64_t h = head_.load(std::memory_order_relaxed);
    for (;;) {
      nodes_[i].next.store(static_cast<std::uint32_t>(h), std::memory_order_relaxed);
      const std::uint64_t nh = ((h >> 32) + 1) << 32 | (i + 1);
      if (head_.compare_exchange_weak(h, nh, std::memory_order_release,
                                      std::memory_order_relaxed))
        return;
    }
  }

 private:
  struct node {
    std::atomic<std::uint32_t> next{0};
  };
  std::vector<node> nodes_;
  alignas(64) std::atomic<std::uint64_t> head_{0};
};

using spin_store = beacon::detail::once_slab_store<beacon::once_event<int>,
                                                   beacon::detail::once_spin_lock>;

using spin_store = beacon::detail::once_slab_store<beacon::once_event<int>,
                                                   beacon::detail::once_spin_lock>;

// Rent + return on the free list `List` (one shared by every thread of the
// benchmark, made once); with two threads each pinned to its own CPU, both
// busy at once. Items counted on thread 0: one thread's ns per rent + return.
template <class List>
void rent_return(benchmark::State& state) {
  static List& list = *new List;  // made by the first run, kept for the rest
  bench::pinned pin(state.thread_index());
  for (auto _ : state)
    list.rent_return();
  if (state.thread_index() == 0) state.SetItemsProcessed(state.iterations());
}

struct spin_list {
  spin_store store;
  spin_list() { store.reserve(64); }
  void rent_return() {
    auto* s = store.rent();
    clobber();
    store.give_back(s);
  }
};

struct treiber_list {
  treiber_free_list list{64};
  void rent_return() {
    const std::uint32_t i = list.pop();
    clobber();
    list.push(i);
  }
};

void free_list_scenarios() {
  const std::string s1 = "pool free list, one thread: rent + return, ns";
  bench::add(s1, "beacon pool store (spin lock)", rent_return<spin_list>)->UseRealTime();
  bench::add(s1, "lock-free tagged Treiber stack", rent_return<treiber_list>)
      ->UseRealTime();
  if (bench::usable_cpus() < 2) return;
  const std::string s2 = "pool free list, two threads at once: rent + return, ns";
  bench::add(s2, "beacon pool store (spin lock)", rent_return<spin_list>)
      ->Threads(2)
      ->UseRealTime();
  bench::add(s2, "lock-free tagged Treiber stack", rent_return<treiber_list>)
      ->Threads(2)
      ->UseRealTime();
}

}  // namespace

const char* const bench::report_title = "beacon once events";

void bench::register_benchmarks() {
  one_thread_scenarios();
  if (bench::usable_cpus() >= 2) blocked_scenario(1);
  blocked_scenario(0);
  if (bench::usable_cpus() >= 2) stream_scenario();
  free_list_scenarios();
}
