// The one-shot events' benchmark: beacon::once_event, local_once_event and
// their pools beside std::promise / std::future and a raw one-shot built on
// std::atomic_flag (test_and_set + notify_one, wait), the limit for a
// one-shot that can block. See bench/harness.hpp for the method.
//
// Scenarios:
//   1. one thread: create + bind + send + receive an int (the event on the
//      stack), ns per message;
//   2. one thread, pooled vs unpooled: once_event_pool, make_once (one heap
//      allocation), local_once_event_pool, local_once_event;
//   3. two threads, the receiver really blocked: the sender waits until the
//      receiver has called receive() and slept 200 us (past every spin), then
//      sends; median ns from the send() call to the receiver running again. On two
//      CPUs this is the kernel's (and a VM's) cross-CPU wake-up, the same
//      for every candidate; on one CPU it is a context switch;
//   4. two threads, a stream: one thread sends a run of one-shot messages,
//      the other receives them in order (it finds most ready, or spins
//      briefly); ns per message;
//   5. the pool's free list: its spin lock beside a lock-free Treiber stack
//      with a tagged head (ABA-safe), rent + return in one thread and on two
//      threads at once — the measurement behind detail/once_pool.hpp's choice;
//   6. heap allocations per message (operator new is replaced here to count).
//
// Knobs (environment): BEACON_BENCH_REPS (default 5), BEACON_BENCH_RUN_MS
// (default 30), BEACON_BENCH_QUICK, BEACON_BENCH_FILTER, BEACON_BENCH_JSON.
// A watchdog ends the process when one run takes longer than 10 s.
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "../tests/support/counting_new.hpp"
#include "beacon/detail/platform.hpp"
#include "beacon/local_once_event.hpp"
#include "beacon/once_event.hpp"
#include "harness.hpp"

// ---------------------------------------------------------------------------
// Allocation counting: a per-thread counter (no atomic, so counting does not
// slow the candidates that allocate).

namespace {

using bench::watch;
using bench::watchdog;
thread_local long tl_allocations = 0;
}  // namespace

// Counts on the calling thread, the one that runs the allocating peer.
void beacon_test::count_allocation() noexcept { ++tl_allocations; }

namespace {

using clock_type = std::chrono::steady_clock;

template <class T>
inline void keep(T v) {
  asm volatile("" : : "r"(v) : "memory");
}
inline void clobber() { asm volatile("" : : : "memory"); }
inline void cpu_relax() { beacon::detail::platform::cpu_relax(); }

double g_target_ms = 30;
using bench::body_fn;
using bench::wanted;

// A candidate whose body(n) performs n operations and returns ns per op;
// n is calibrated on the first call so one run lasts about g_target_ms.
bench::candidate make(const std::string& scenario, std::string name, body_fn body) {
  return bench::calibrated(scenario, std::move(name), std::move(body), g_target_ms);
}

// A candidate that measures itself (fixed work per run).
bench::candidate fixed(const std::string& scenario, std::string name,
                       std::function<double()> run) {
  const std::string what = scenario + " / " + name;
  return {std::move(name), [=] {
            watch w(what);
            return run();
          }};
}

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
    if (word.exchange(1, std::memory_order_release) == 2)
      syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 1,
              nullptr, nullptr, 0);
  }
  int receive() noexcept {
    for (int spin = 0; spin < 4000 && word.load(std::memory_order_relaxed) != 1; ++spin)
      cpu_relax();
    for (;;) {
      std::uint32_t s = word.load(std::memory_order_acquire);
      if (s == 1) return value;
      if (s == 0 && !word.compare_exchange_strong(s, 2, std::memory_order_acquire))
        continue;
      syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, 2,
              nullptr, nullptr, 0);
    }
  }
};

// Pinning with the process's own CPU set restored afterwards (the harness's
// unpin_this_thread() reads the calling, pinned, thread's mask).
cpu_set_t g_all_cpus;
void pin(int cpu) {  // the cpu-th CPU of the process's set (modulo its size)
  const int n = CPU_COUNT(&g_all_cpus);
  for (int c = 0, seen = 0; n > 0 && c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &g_all_cpus) || seen++ != cpu % n) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(c, &one);
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
    return;
  }
}
void unpin() { pthread_setaffinity_np(pthread_self(), sizeof g_all_cpus, &g_all_cpus); }

// ---------------------------------------------------------------------------
// 1, 2: one thread.

double per_op(long n, const std::function<void(long)>& f) {
  return bench::ns_per_op(n, [&, i = 0L]() mutable { f(i++); });
}

void one_thread_scenarios(bench::report& rep) {
  const std::string s1 = "one thread: create + send + receive (int), ns per message";
  if (wanted(s1)) {
    rep.scenario(s1, {make(s1, "beacon once_event (on the stack, bind_by_ref)",
                           [](long n) {
                             return bench::ns_per_op(n, [i = 0]() mutable {
                               beacon::once_event<int> ev;
                               auto [tx, rx] = ev.bind_by_ref();
                               std::move(tx).send(i++);
                               keep(rx.receive());
                             });
                           }),
                      make(s1, "std::promise / std::future",
                           [](long n) {
                             return bench::ns_per_op(n, [i = 0]() mutable {
                               std::promise<int> p;
                               std::future<int> f = p.get_future();
                               p.set_value(i++);
                               keep(f.get());
                             });
                           }),
                      make(s1, "raw atomic-flag one-shot (word + futex: the limit)",
                           [](long n) {
                             return bench::ns_per_op(n, [i = 0]() mutable {
                               futex_oneshot o;
                               clobber();
                               o.send(i++);
                               keep(o.receive());
                             });
                           }),
                      make(s1, "std::atomic_flag test_and_set/notify_one + wait",
                           [](long n) {
                             return bench::ns_per_op(n, [i = 0]() mutable {
                               flag_oneshot o;
                               clobber();
                               o.send(i++);
                               keep(o.receive());
                             });
                           }),
                      make(s1, "raw atomic<bool> store/load (cannot block)", [](long n) {
                        return bench::ns_per_op(n, [i = 0]() mutable {
                          std::atomic<bool> ready{false};
                          int v;
                          clobber();
                          v = i++;
                          ready.store(true, std::memory_order_release);
                          while (!ready.load(std::memory_order_acquire))
                            cpu_relax();
                          keep(v);
                        });
                      })});
  }

  const std::string s2 = "one thread, pooled vs unpooled, ns per message";
  if (wanted(s2)) {
    auto pool = std::make_shared<beacon::once_event_pool<int>>();
    auto lpool = std::make_shared<beacon::local_once_event_pool<int>>();
    pool->reserve(8);
    lpool->reserve(8);
    rep.scenario(s2, {make(s2, "beacon once_event_pool (bind_by_ref)",
                           [pool](long n) {
                             return bench::ns_per_op(n, [&p = *pool, i = 0]() mutable {
                               auto [tx, rx] = p.bind_by_ref();
                               std::move(tx).send(i++);
                               keep(rx.receive());
                             });
                           }),
                      make(s2, "beacon make_once (one heap allocation)",
                           [](long n) {
                             return bench::ns_per_op(n, [i = 0]() mutable {
                               auto [tx, rx] = beacon::make_once<int>();
                               std::move(tx).send(i++);
                               keep(rx.receive());
                             });
                           }),
                      make(s2, "beacon once_event (stack)",
                           [](long n) {
                             return bench::ns_per_op(n, [i = 0]() mutable {
                               beacon::once_event<int> ev;
                               auto [tx, rx] = ev.bind_by_ref();
                               std::move(tx).send(i++);
                               keep(rx.receive());
                             });
                           }),
                      make(s2, "beacon local_once_event_pool",
                           [lpool](long n) {
                             return bench::ns_per_op(n, [&p = *lpool, i = 0]() mutable {
                               auto [tx, rx] = p.bind_by_ref();
                               std::move(tx).send(i++);
                               keep(*rx.try_receive());
                             });
                           }),
                      make(s2, "beacon make_local_once",
                           [](long n) {
                             return bench::ns_per_op(n, [i = 0]() mutable {
                               auto [tx, rx] = beacon::make_local_once<int>();
                               std::move(tx).send(i++);
                               keep(*rx.try_receive());
                             });
                           }),
                      make(s2, "beacon local_once_event (stack)",
                           [](long n) {
                             return bench::ns_per_op(n, [i = 0]() mutable {
                               beacon::local_once_event<int> ev;
                               auto [tx, rx] = ev.bind_by_ref();
                               std::move(tx).send(i++);
                               keep(*rx.try_receive());
                             });
                           }),
                      make(s2, "std::promise / std::future", [](long n) {
                        return bench::ns_per_op(n, [i = 0]() mutable {
                          std::promise<int> p;
                          std::future<int> f = p.get_future();
                          p.set_value(i++);
                          keep(f.get());
                        });
                      })});
  }
}

// ---------------------------------------------------------------------------
// 3: the receiver really blocked. Per message: the receiver announces that
// it calls receive(); the sender waits for that, sleeps `blocked_for` (far
// past beacon's 20 us spin and libstdc++'s), stamps t0 and sends; the
// receiver stamps t1 when receive() returned. Result: mean t1 - t0.

constexpr auto blocked_for = std::chrono::microseconds(200);
constexpr int blocked_messages = 60;
long g_beacon_really_parked = 0, g_beacon_blocked_total = 0;

// Ops: prepare(i) (sender side, untimed), receive(i) (receiver thread),
// send(i) (sender thread), parked(i) (beacon only: whether the receiver is
// queued in the parking lot right before the send).
template <class Channels>
double blocked_run(Channels& ch, int receiver_cpu) {
  std::atomic<int> announced{-1};
  std::vector<clock_type::time_point> t0(blocked_messages), t1(blocked_messages);
  std::thread receiver([&] {
    pin(receiver_cpu);
    for (int i = 0; i < blocked_messages; ++i) {
      announced.store(i, std::memory_order_release);
      keep(ch.receive(i));
      t1[i] = clock_type::now();
    }
  });
  pin(0);
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
  unpin();
  std::vector<double> ns(blocked_messages);
  for (int i = 0; i < blocked_messages; ++i)
    ns[i] = std::chrono::duration<double, std::nano>(t1[i] - t0[i]).count();
  std::nth_element(ns.begin(), ns.begin() + blocked_messages / 2, ns.end());
  return ns[blocked_messages / 2];  // the median: a VM's idle wake-ups are erratic
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
  void check_parked(int i) {
    ++g_beacon_blocked_total;
    g_beacon_really_parked += beacon::parking_lot::queued(&evs[i]) == 1;
  }
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

void blocked_scenario(bench::report& rep, int receiver_cpu) {
  const std::string s =
      receiver_cpu == 0
          ? "two threads on one CPU, receiver blocked: ns from send() to it running"
          : "two threads on two CPUs, receiver blocked: ns from send() to it running";
  if (!wanted(s)) return;
  if (receiver_cpu != 0 && CPU_COUNT(&g_all_cpus) < 2) {
    std::printf("\n%s: skipped, one usable CPU\n", s.c_str());
    return;
  }
  g_beacon_really_parked = g_beacon_blocked_total = 0;
  rep.scenario(s, {fixed(s, "beacon once_event",
                         [=] {
                           beacon_blocked c;
                           return blocked_run(c, receiver_cpu);
                         }),
                   fixed(s, "std::promise / std::future",
                         [=] {
                           promise_blocked c;
                           return blocked_run(c, receiver_cpu);
                         }),
                   fixed(s, "raw atomic-flag one-shot (word + futex)", [=] {
                     flag_blocked c;
                     return blocked_run(c, receiver_cpu);
                   })});
  std::printf("    (beacon's receiver was parked in the lot at %ld of %ld sends)\n",
              g_beacon_really_parked, g_beacon_blocked_total);
}

// ---------------------------------------------------------------------------
// 4: a stream of one-shot messages between two threads. The channels are
// made before the timed part (for the pool: rented, so the run also returns
// them); ns per message, sender start to receiver end.

constexpr int stream_messages = 4000;

template <class Make, class Send, class Receive>
double stream_run(Make make_channels, Send send, Receive receive) {
  auto ch = make_channels();
  std::atomic<bool> go{false};
  clock_type::time_point end;
  std::thread receiver([&] {
    pin(1);
    while (!go.load(std::memory_order_acquire))
      cpu_relax();
    for (int i = 0; i < stream_messages; ++i)
      keep(receive(*ch, i));
    end = clock_type::now();
  });
  pin(0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto start = clock_type::now();
  go.store(true, std::memory_order_release);
  for (int i = 0; i < stream_messages; ++i)
    send(*ch, i);
  receiver.join();
  unpin();
  return std::chrono::duration<double, std::nano>(end - start).count() / stream_messages;
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

void stream_scenario(bench::report& rep) {
  const std::string s = "two threads, a stream of one-shot messages, ns per message";
  if (!wanted(s)) return;
  if (CPU_COUNT(&g_all_cpus) < 2) {
    std::printf("\n%s: skipped, one usable CPU\n", s.c_str());
    return;
  }
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
  rep.scenario(
      s,
      {fixed(s, "beacon once_event_pool",
             [] {
               return stream_run(
                   [] {
                     auto c = std::make_unique<pool_channels>();
                     for (int i = 0; i < stream_messages; ++i)
                       c->add(c->pool.bind_by_ref());
                     return c;
                   },
                   send, receive);
             }),
       fixed(s, "beacon once_event",
             [] {
               return stream_run(
                   [] {
                     auto c = std::make_unique<event_channels>();
                     for (auto& e : c->evs)
                       c->add(e.bind_by_ref());
                     return c;
                   },
                   send, receive);
             }),
       fixed(s, "std::promise / std::future",
             [] {
               return stream_run(
                   [] {
                     auto c = std::make_unique<promise_channels>();
                     for (auto& p : c->p)
                       c->f.push_back(p.get_future());
                     return c;
                   },
                   [](promise_channels& c, int i) { c.p[i].set_value(i); },
                   [](promise_channels& c, int i) { return c.f[i].get(); });
             }),
       fixed(s, "raw atomic-flag one-shot (word + futex)",
             [] {
               return stream_run(
                   [] {
                     return std::make_unique<std::deque<futex_oneshot>>(stream_messages);
                   },
                   [](std::deque<futex_oneshot>& c, int i) { c[i].send(i); },
                   [](std::deque<futex_oneshot>& c, int i) { return c[i].receive(); });
             }),
       fixed(s, "std::atomic_flag test_and_set/notify_one + wait", [] {
         return stream_run(
             [] { return std::make_unique<std::deque<flag_oneshot>>(stream_messages); },
             [](std::deque<flag_oneshot>& c, int i) { c[i].send(i); },
             [](std::deque<flag_oneshot>& c, int i) { return c[i].receive(); });
       })});
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

template <class F>
double on_two_threads(long n, F&& body) {  // ns per operation pair, both threads busy
  std::atomic<int> ready{0};
  double other_ns = 0;
  std::thread t([&] {
    pin(1);
    ready.fetch_add(1);
    while (ready.load() < 2)
      cpu_relax();
    other_ns = bench::ns_per_op(n, body);
  });
  pin(0);
  ready.fetch_add(1);
  while (ready.load() < 2)
    cpu_relax();
  const double mine = bench::ns_per_op(n, body);
  t.join();
  unpin();
  return (mine + other_ns) / 2;
}

void free_list_scenarios(bench::report& rep) {
  const std::string s1 = "pool free list, one thread: rent + return, ns";
  const std::string s2 = "pool free list, two threads at once: rent + return, ns";
  auto store = std::make_shared<spin_store>();
  store->reserve(64);
  auto treiber = std::make_shared<treiber_free_list>(64);
  auto spin_body = [store] {
    auto* s = store->rent();
    clobber();
    store->give_back(s);
  };
  auto treiber_body = [treiber] {
    const std::uint32_t i = treiber->pop();
    clobber();
    treiber->push(i);
  };
  if (wanted(s1))
    rep.scenario(s1, {make(s1, "beacon pool store (spin lock)",
                           [=](long n) { return bench::ns_per_op(n, spin_body); }),
                      make(s1, "lock-free tagged Treiber stack",
                           [=](long n) { return bench::ns_per_op(n, treiber_body); })});
  if (wanted(s2) && CPU_COUNT(&g_all_cpus) >= 2)
    rep.scenario(s2, {make(s2, "beacon pool store (spin lock)",
                           [=](long n) { return on_two_threads(n, spin_body); }),
                      make(s2, "lock-free tagged Treiber stack",
                           [=](long n) { return on_two_threads(n, treiber_body); })});
}

// ---------------------------------------------------------------------------
// 6: heap allocations per message, after warm-up, on the calling thread
// (every one of these allocates, if at all, on the creating thread).

template <class F>
double allocations_per_message(F&& message) {
  for (int i = 0; i < 100; ++i)
    message(i);  // warm-up
  constexpr int n = 10'000;
  const long before = tl_allocations;
  for (int i = 0; i < n; ++i)
    message(i);
  return static_cast<double>(tl_allocations - before) / n;
}

void allocation_table() {
  if (!wanted("allocations")) return;
  beacon::once_event_pool<int> pool;
  beacon::local_once_event_pool<int> lpool;
  std::printf("\n== heap allocations per message (operator new calls, after warm-up)\n");
  auto row = [](const char* name, double v) {
    std::printf("    %-44s %6.2f\n", name, v);
  };
  row("beacon once_event_pool", allocations_per_message([&](int i) {
        auto [tx, rx] = pool.bind_by_ref();
        std::move(tx).send(i);
        keep(rx.receive());
      }));
  row("beacon local_once_event_pool", allocations_per_message([&](int i) {
        auto [tx, rx] = lpool.bind_by_ref();
        std::move(tx).send(i);
        keep(*rx.try_receive());
      }));
  row("beacon once_event (stack / embedded)", allocations_per_message([](int i) {
        beacon::once_event<int> ev;
        auto [tx, rx] = ev.bind_by_ref();
        std::move(tx).send(i);
        keep(rx.receive());
      }));
  row("beacon make_once", allocations_per_message([](int i) {
        auto [tx, rx] = beacon::make_once<int>();
        std::move(tx).send(i);
        keep(rx.receive());
      }));
  row("std::promise / std::future", allocations_per_message([](int i) {
        std::promise<int> p;
        auto f = p.get_future();
        p.set_value(i);
        keep(f.get());
      }));
  // Across threads: the pool's events are rented by the sender and returned
  // by the receiver; count both threads.
  {
    constexpr int n = 4000;
    std::vector<beacon::once_event_pool<int>::receiver_by_ref> rxs;
    std::vector<beacon::once_event_pool<int>::sender_by_ref> txs;
    rxs.reserve(n);
    txs.reserve(n);
    pool.reserve(n);
    long receiver_allocs = 0;
    const long before = tl_allocations;
    for (int i = 0; i < n; ++i) {
      auto [tx, rx] = pool.bind_by_ref();
      txs.push_back(std::move(tx));
      rxs.push_back(std::move(rx));
    }
    std::thread t([&] {
      const long b = tl_allocations;
      for (int i = 0; i < n; ++i)
        keep(rxs[i].receive());
      receiver_allocs = tl_allocations - b;
    });
    for (int i = 0; i < n; ++i)
      std::move(txs[i]).send(i);
    t.join();
    row("beacon once_event_pool, two threads",
        static_cast<double>(tl_allocations - before + receiver_allocs) / n);
  }
}

}  // namespace

int main() {
  CPU_ZERO(&g_all_cpus);
  sched_getaffinity(0, sizeof g_all_cpus, &g_all_cpus);  // before any pinning
  g_target_ms = bench::run_ms(30);
  const auto t0 = clock_type::now();
  std::printf("beacon once_event benchmark: %d usable CPUs, ~%.0f ms per run\n",
              CPU_COUNT(&g_all_cpus), g_target_ms);
  bench::report rep("beacon once events", 5);
  one_thread_scenarios(rep);
  blocked_scenario(rep, 1);
  blocked_scenario(rep, 0);
  stream_scenario(rep);
  free_list_scenarios(rep);
  allocation_table();
  std::printf("\ntotal %.1f s\n",
              std::chrono::duration<double>(clock_type::now() - t0).count());
  return 0;
}
