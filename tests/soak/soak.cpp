// beacon_soak — a stress binary: many threads run each primitive for a while
// and check its invariants as they go, so a bug fails the run (or, if it
// hangs, a watchdog fails it) instead of waiting for a unit test that happens
// to hit the right interleaving.
//
// Usage:
//   beacon_soak [--threads N] [--seconds S] [--ops N] [--seed N] [--only NAMES]
//               [--list]
//     --threads N   threads per workload (default: the CPUs, at least 2)
//     --seconds S   how long each workload runs (default 10; decimals allowed)
//     --ops N       or stop a workload after N operations, counted over all its
//                   threads, if that comes first (default: no limit)
//     --seed N      seeds every choice the threads make (default: random; the
//                   seed is printed, so a failing run can be repeated)
//     --only NAMES  run only these workloads (comma-separated; see --list)
//   One line per workload: name, threads, operations, seconds, ops/s, result.
//   Exit status: 0 all invariants held; 1 a violation (the first one found is
//   printed); 2 bad arguments; 3 a workload hung (its threads still running
//   seconds * 2 + 30 s after it started; they are named, then the process
//   ends with std::_Exit, since a hung thread cannot be joined).
//   CI runs `beacon_soak --threads 4 --seconds 2` (ctest soak_short, label
//   stress); for a soak, run a Release build for minutes per workload.
//
// The workloads (each checks, beyond "nothing hangs"):
//   auto_reset_event    one token circulates per lane between two events,
//                       producers -> consumers -> producers: a wait that
//                       succeeds finds the token where it must be (no signal
//                       doubled), and at the end exactly one event of the pair
//                       is set (no signal lost).
//   manual_reset_event  a controller sets and resets, with a phase counter: no
//                       wait returns true unless the event was set at some
//                       moment inside its window, and no waiter stays queued
//                       after a set().
//   semaphore           threads inside <= permits at every moment, also
//                       through forget() + release(n > 1); count() returns to
//                       its initial value (no permit lost or doubled).
//   countdown_event     rounds over three countdowns re-armed in turn: a
//                       waiter returns only after all of its round's ticks,
//                       with the count at zero.
//   event_count         a bounded MPMC channel (the Vyukov ring of
//                       examples/event_count_channel.hpp + two event_counts):
//                       every item produced is consumed exactly once (count and
//                       a hash over the items), in order per producer as one
//                       consumer sees them.
//   once_event          one-shot channels of every binding (make_once, pool by
//                       reference and shared, event shared) between threads,
//                       with dropped senders and receivers: each receiver ends
//                       with its own value (its sender sent) or `disconnected`
//                       (its sender dropped), never both, never another's;
//                       every value constructed is destroyed exactly once.
// An operation: a token hand-off, a wait that returned true or a generation,
// a permit taken, a round passed by a thread, an item pushed or popped, a
// channel resolved. Every workload mixes the wait forms: wait(), try_wait(),
// wait_for and wait_until with short time-outs (a timed wait must never
// report a time-out early), wait(std::stop_token) and co_await. Nothing
// sleeps to synchronise: threads wait on the primitive under test, or on a
// per-thread flag that a coroutine sets when it ends.
//
// A soak finds what happens often enough under load; a race window of a few
// instructions (a set() meeting the time-out of the last waiter, say) may
// not be hit in minutes. tests/checker explores such schedules exhaustively.
#include <beacon/auto_reset_event.hpp>
#include <beacon/countdown_event.hpp>
#include <beacon/detail/platform.hpp>  // cpu_relax
#include <beacon/event_count.hpp>
#include <beacon/manual_reset_event.hpp>
#include <beacon/once_event.hpp>
#include <beacon/parking_lot.hpp>
#include <beacon/semaphore.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "../../examples/detached.hpp"
#include "../../examples/event_count_channel.hpp"
#include "../support/command_line.hpp"
#include "../support/task.hpp"
#include "../support/tracked_value.hpp"

namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;
using std::chrono::steady_clock;
using std::chrono::system_clock;

// ---------------------------------------------------------------------------
// Options

struct options {
  int threads = std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  double seconds = 10;
  std::uint64_t ops = 0;  // 0: no limit
  std::uint64_t seed = 0;
  std::vector<std::string> only;
  bool list = false;
};

// ---------------------------------------------------------------------------
// Randomness: splitmix64, cheap and good enough to pick wait forms.

constexpr std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9E37'79B9'7F4A'7C15u;
  x = (x ^ (x >> 30)) * 0xBF58'476D'1CE4'E5B9u;
  x = (x ^ (x >> 27)) * 0x94D0'49BB'1331'11EBu;
  return x ^ (x >> 31);
}

class rng {
 public:
  explicit rng(std::uint64_t seed) noexcept : s_(seed) {}
  std::uint64_t next() noexcept { return mix(s_++); }
  // Uniform enough in [0, n) for n far below 2^32.
  unsigned below(unsigned n) noexcept { return static_cast<unsigned>(next() % n); }
  bool one_in(unsigned n) noexcept { return below(n) == 0; }

 private:
  std::uint64_t s_;
};

// ---------------------------------------------------------------------------
// The state of one workload run, shared by its threads and the driver.

class run_context {
 public:
  run_context(std::string name, const options& o)
      : name_(std::move(name)), threads_(o.threads), ops_limit_(o.ops), seed_(o.seed) {}

  const std::string& name() const noexcept { return name_; }
  int threads() const noexcept { return threads_; }
  std::uint64_t seed() const noexcept { return seed_; }

  // seq_cst, so that a thread that increments a counter and then sees no stop
  // is seen by a thread that sees the stop and then reads the counter (the
  // once_event workload's exit relies on it).
  bool stopping() const noexcept { return stop_.load(); }
  void request_stop() {
    stop_.store(true);
    std::lock_guard g(m_);
    cv_.notify_all();
  }

  // Records a violation (the first is kept) and stops the run.
  void fail(const std::string& what) {
    {
      std::lock_guard g(m_);
      if (failure_.empty()) failure_ = what;
    }
    failed_.store(true);
    request_stop();
  }
  bool failed() const noexcept { return failed_.load(); }
  std::string failure() const {
    std::lock_guard g(m_);
    return failure_;
  }

  void add_ops(std::uint64_t n) {
    const std::uint64_t total = ops_.fetch_add(n, std::memory_order_relaxed) + n;
    if (ops_limit_ != 0 && total >= ops_limit_ && !stopping()) request_stop();
  }
  std::uint64_t ops() const noexcept { return ops_.load(std::memory_order_relaxed); }

  void thread_started() {
    std::lock_guard g(m_);
    ++running_;
  }
  void thread_finished() {
    std::lock_guard g(m_);
    --running_;
    cv_.notify_all();
  }
  // Until `t`, a stop request, or every thread finished.
  void wait_for_stop(steady_clock::time_point t) {
    std::unique_lock g(m_);
    cv_.wait_until(g, t, [&] { return stop_.load() || running_ == 0; });
  }
  // Until every thread finished (true) or `t` (false).
  bool wait_for_threads(steady_clock::time_point t) {
    std::unique_lock g(m_);
    return cv_.wait_until(g, t, [&] { return running_ == 0; });
  }

 private:
  const std::string name_;
  const int threads_;
  const std::uint64_t ops_limit_;
  const std::uint64_t seed_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  std::atomic<std::uint64_t> ops_{0};
  mutable std::mutex m_;
  std::condition_variable cv_;
  std::string failure_;
  int running_ = 0;
};

std::string format(const char* fmt, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

// Set by a coroutine as its last act; its thread blocks on it meanwhile. It
// lives as long as the workload, never on a thread's stack: the coroutine's
// notify may still run after its thread went on.
class completion {
 public:
  void arm() noexcept {
    std::lock_guard g(m_);
    done_ = false;
  }
  void signal() noexcept {
    std::lock_guard g(m_);
    done_ = true;
    cv_.notify_one();
  }
  void wait() {
    std::unique_lock g(m_);
    cv_.wait(g, [&] { return done_; });
  }

 private:
  // Not std::atomic<bool>::wait: libstdc++ 12 without a futex (mingw-w64)
  // can miss a notify_one in its proxy-waiter pool (GCC PR 106183); the soak
  // under Wine hung on it, not on beacon.
  std::mutex m_;
  std::condition_variable cv_;
  bool done_ = false;
};

// What one thread of a workload carries: its random choices, its operation
// count (published in batches, so that counting does not contend), its
// completion flag and its time-out tally.
struct thread_env {
  thread_env(run_context& c, int i, std::uint64_t seed)
      : ctx(c), index(i), random(seed) {}
  thread_env(const thread_env&) = delete;
  thread_env& operator=(const thread_env&) = delete;

  run_context& ctx;
  const int index;
  rng random;
  completion done;
  std::uint64_t timeouts = 0;
  std::uint64_t unpublished_ops = 0;

  bool stopping() const noexcept { return ctx.stopping(); }
  void count_op(std::uint64_t n = 1) {
    unpublished_ops += n;
    if (unpublished_ops >= 256) publish_ops();
  }
  void publish_ops() {
    if (unpublished_ops != 0) ctx.add_ops(unpublished_ops);
    unpublished_ops = 0;
  }

  // A short time-out: 0 (try once) up to 500 us, so that time-outs race the
  // hand-offs and a stopping run is not held up.
  nanoseconds timeout() noexcept {
    static constexpr nanoseconds spread[] = {0ns, 1us, 5us, 20us, 100us, 500us};
    return spread[random.below(std::size(spread))];
  }

  // Runs a timed wait `f` of duration `d` and checks that a time-out is never
  // reported before `d` has passed.
  template <class F>
  auto timed(nanoseconds d, F&& f) {
    const auto t0 = steady_clock::now();
    auto r = f();
    if (!r) {
      ++timeouts;
      const auto took = steady_clock::now() - t0;
      if (took < d)
        ctx.fail(format("a timed wait of %lld ns reported a time-out after %lld ns",
                        static_cast<long long>(d.count()),
                        static_cast<long long>(nanoseconds(took).count())));
    }
    return r;
  }
};

// A workload: thread_main runs on each of ctx.threads() threads; check_final
// runs once they have all returned.
class workload {
 public:
  workload() = default;
  workload(const workload&) = delete;
  workload& operator=(const workload&) = delete;
  virtual ~workload() = default;
  virtual void thread_main(thread_env& t) = 0;
  virtual void check_final(run_context& /*ctx*/) {}
  virtual std::string role(int /*index*/) const { return "thread"; }
  virtual std::string summary() const { return {}; }
};

// A coroutine that starts at once and frees itself when it ends (the
// examples' type); the caller learns of its end through a `completion`.
using example::detached;

// A coroutine that starts at once and is destroyed by its owner (also while
// suspended).
using owned_task = beacon_test::task;
using beacon_test::tracked;  // counts its live instances: each must be destroyed once

// ---------------------------------------------------------------------------
// Wait forms shared by the bool waitables (events, countdown).

template <class E>
detached co_wait(E& ev, completion& c) {
  co_await ev;
  c.signal();
}

// One wait of a random form on a bool waitable; whether it succeeded. wait(),
// wait(stop_token) with no stop requested and co_await always succeed.
template <class E>
bool wait_once(E& ev, thread_env& t) {
  switch (t.random.below(8)) {
    case 0:
      ev.wait();
      return true;
    case 1:
      for (int i = 0; i < 32; ++i) {
        if (ev.try_wait()) return true;
        beacon::detail::platform::cpu_relax();
      }
      return false;
    case 2: {
      const nanoseconds d = t.timeout();
      return t.timed(d, [&] { return ev.wait_for(d); });
    }
    case 3: {
      const nanoseconds d = t.timeout();
      return t.timed(d, [&] { return ev.wait_until(steady_clock::now() + d); });
    }
    case 4:  // another clock; not timed: the system clock may be adjusted
      return ev.wait_until(system_clock::now() + t.timeout());
    case 5: {
      const std::stop_source never;
      if (!ev.wait(never.get_token()))
        t.ctx.fail("wait(stop_token) returned false with no stop requested");
      return true;
    }
    default:
      t.done.arm();
      co_wait(ev, t.done);
      t.done.wait();
      return true;
  }
}

// Waits in random forms until a wait succeeds.
template <class E>
void acquire(E& ev, thread_env& t) {
  while (!wait_once(ev, t)) {
  }
}

// ---------------------------------------------------------------------------
// auto_reset_event: one token per lane, passed producer -> consumer through
// `data` and back through `credit`. A set() with the other event set would
// collapse and lose count, so each lane has exactly one token and only its
// holder sets: then every successful wait must find the token on its side
// (else a signal was doubled or invented), and at the end exactly one of the
// two events holds it (else it was lost). The live counts that decide who
// may leave at the end are changed only by the holder, so they need no lock.

class auto_reset_workload final : public workload {
 public:
  explicit auto_reset_workload(run_context& ctx)
      : lanes_(static_cast<std::size_t>(std::max(1, ctx.threads() / 4))) {
    for (int i = 0; i < ctx.threads(); ++i) {
      lane& l = lane_of(i);
      (is_producer(i) ? l.producers : l.consumers)
          .fetch_add(1, std::memory_order_relaxed);
    }
  }

  std::string role(int i) const override {
    return format("%s of lane %d", is_producer(i) ? "producer" : "consumer",
                  i % static_cast<int>(lanes_.size()));
  }

  void thread_main(thread_env& t) override {
    lane& l = lane_of(t.index);
    if (is_producer(t.index))
      pass(t, l, l.credit, at_credit, held_by_producer, l.data, at_data, l.producers,
           l.consumers);
    else
      pass(t, l, l.data, at_data, held_by_consumer, l.credit, at_credit, l.consumers,
           l.producers);
  }

  void check_final(run_context& ctx) override {
    for (std::size_t k = 0; k < lanes_.size(); ++k) {
      lane& l = lanes_[k];
      const int w = l.where.load(std::memory_order_relaxed);
      const bool data_set = l.data.try_wait();
      const bool credit_set = l.credit.try_wait();
      if (data_set + credit_set != 1 || (w == at_data) != data_set ||
          (w == at_credit) != credit_set)
        ctx.fail(format(
            "lane %zu ended with the token %s, data %s, credit %s: a signal "
            "was lost or doubled",
            k, where_name(w), data_set ? "set" : "unset", credit_set ? "set" : "unset"));
      passes_ += l.passes.load(std::memory_order_relaxed);
    }
  }

  std::string summary() const override {
    return format("%zu lanes, %llu hand-offs", lanes_.size(),
                  static_cast<unsigned long long>(passes_));
  }

 private:
  enum where_t : int { at_credit, held_by_producer, at_data, held_by_consumer };
  static const char* where_name(int w) {
    static constexpr const char* names[] = {"at credit", "held by a producer", "at data",
                                            "held by a consumer"};
    return w >= 0 && w < 4 ? names[w] : "nowhere";
  }

  struct lane {
    beacon::auto_reset_event data;                        // producers -> consumers
    beacon::auto_reset_event credit{beacon::state::set};  // consumers -> producers
    std::atomic<int> where{at_credit};
    std::atomic<int> producers{0}, consumers{0};  // live; changed by the holder only
    std::atomic<std::uint64_t> passes{0};
  };

  lane& lane_of(int i) { return lanes_[static_cast<std::size_t>(i) % lanes_.size()]; }
  bool is_producer(int i) const {
    return (static_cast<std::size_t>(i) / lanes_.size()) % 2 == 0;
  }

  // Takes the token from `in`, hands it on through `out`, until stopping and
  // allowed to leave: one may leave while others of its side remain, or when
  // the other side has at most one left (the last pair leaves in turn, the
  // consumer first, then the producer, whose final set stays in `data`).
  void pass(thread_env& t, lane& l, beacon::auto_reset_event& in, int in_side, int held,
            beacon::auto_reset_event& out, int out_side, std::atomic<int>& mine,
            std::atomic<int>& theirs) {
    const bool consumer = in_side == at_data;
    for (;;) {
      acquire(in, t);
      const int w = l.where.exchange(held, std::memory_order_relaxed);
      if (w != in_side) {
        t.ctx.fail(format("a %s's wait succeeded with the token %s: a signal was doubled",
                          consumer ? "consumer" : "producer", where_name(w)));
        return;  // the protocol is broken; the driver gives up after a grace period
      }
      const int m = mine.load(std::memory_order_relaxed);
      const int o = theirs.load(std::memory_order_relaxed);
      const bool leave = t.stopping() && (m > 1 || (consumer ? o <= 1 : o == 0));
      if (leave) mine.store(m - 1, std::memory_order_relaxed);
      l.passes.fetch_add(1, std::memory_order_relaxed);
      t.count_op();
      l.where.store(out_side, std::memory_order_relaxed);
      out.set();  // the release that hands the counts above to the next holder
      if (leave) return;
    }
  }

  std::vector<lane> lanes_;
  std::uint64_t passes_ = 0;
};

// ---------------------------------------------------------------------------
// manual_reset_event: per lane a controller sets and resets, bumping `phase`
// to odd before set() and to even after reset(). A waiter reads the phase
// before and after its wait: if a wait succeeded and both reads saw the same
// even phase, the event was never set in between (a reset() completed before
// the first read, and the next set() had not begun by the second). After
// set() returns, nobody may still be queued (set releases every waiter
// blocked at that moment); the final set() releases everyone for good.

class manual_reset_workload final : public workload {
 public:
  explicit manual_reset_workload(run_context& ctx)
      : lanes_(static_cast<std::size_t>(std::max(1, ctx.threads() / 4))) {}

  std::string role(int i) const override {
    return format("%s of lane %d", is_controller(i) ? "controller" : "waiter",
                  i % static_cast<int>(lanes_.size()));
  }

  void thread_main(thread_env& t) override {
    lane& l = lanes_[static_cast<std::size_t>(t.index) % lanes_.size()];
    if (is_controller(t.index))
      control(t, l);
    else
      wait_loop(t, l);
  }

  std::string summary() const override {
    std::uint64_t g = 0;
    for (const lane& l : lanes_)
      g += l.phase.load(std::memory_order_relaxed) / 2;
    return format("%zu lanes, %llu generations, %llu waits returned true", lanes_.size(),
                  static_cast<unsigned long long>(g),
                  static_cast<unsigned long long>(successes_.load()));
  }

 private:
  struct lane {
    beacon::manual_reset_event ev;
    std::atomic<std::uint64_t> phase{0};  // even: reset done, next set not begun
  };

  bool is_controller(int i) const { return static_cast<std::size_t>(i) < lanes_.size(); }

  static void control(thread_env& t, lane& l) {
    while (!t.stopping()) {
      // Mostly let waiters block first; sometimes set with nobody queued.
      if (!t.random.one_in(4))
        for (int i = 0; i < 256 && beacon::parking_lot::queued(&l.ev) == 0; ++i)
          std::this_thread::yield();
      l.phase.fetch_add(1);  // odd: a set may happen from here on
      l.ev.set();
      if (const std::size_t q = beacon::parking_lot::queued(&l.ev); q != 0) {
        t.ctx.fail(format("%zu waiters still queued after set() returned", q));
        break;
      }
      if (!t.random.one_in(2))  // else reset at once: set() must still release all
        for (unsigned i = t.random.below(4); i > 0; --i)
          std::this_thread::yield();
      l.ev.reset();
      l.phase.fetch_add(1);  // even: reset done
      t.count_op();
    }
    l.phase.fetch_add(1);
    l.ev.set();  // for good: every waiter gets out
  }

  void wait_loop(thread_env& t, lane& l) {
    std::uint64_t ok = 0;
    while (!t.stopping()) {
      const std::uint64_t p0 = l.phase.load();
      const bool set = t.random.one_in(9) ? l.ev.is_set() : wait_once(l.ev, t);
      if (!set) continue;
      const std::uint64_t p1 = l.phase.load();
      if (p0 == p1 && p0 % 2 == 0) {
        t.ctx.fail(
            format("a wait returned true in phase %llu, in which the event was "
                   "never set",
                   static_cast<unsigned long long>(p0)));
        break;
      }
      ++ok;
      t.count_op();
      // Pace: on a set event every wait returns at once, and a waiter that
      // kept spinning on it would hold the CPU the controller needs to reset
      // it (on 2 CPUs, for a whole time slice). Give way until the phase
      // moves on, or a little while.
      for (int i = 0; i < 64 && l.phase.load() == p1 && !t.stopping(); ++i)
        std::this_thread::yield();
    }
    successes_.fetch_add(ok, std::memory_order_relaxed);
  }

  std::vector<lane> lanes_;
  std::atomic<std::uint64_t> successes_{0};
};

// ---------------------------------------------------------------------------
// semaphore: holders counted inside (incremented after acquiring, decremented
// before giving back) never exceed the permits; some threads take several
// permits, forget() them and give them back with release(n), try_release(n).

class semaphore_workload final : public workload {
 public:
  explicit semaphore_workload(run_context& ctx)
      : permits_(static_cast<std::size_t>(std::max(1, ctx.threads() / 2))),
        sem_(permits_, permits_) {}

  void thread_main(thread_env& t) override {
    while (!t.stopping()) {
      if (permits_ >= 2 && t.random.one_in(8))
        take_several(t);
      else
        take_one(t);
      if (t.random.one_in(64)) check_bounds(t);
      t.count_op();
    }
  }

  void check_final(run_context& ctx) override {
    if (sem_.count() != permits_ || sem_.max() != permits_ || holders_.load() != 0 ||
        max_holders_.load() > static_cast<long>(permits_))
      ctx.fail(
          format("semaphore(%zu, %zu) ended with count %zu, max %zu, %ld holders, "
                 "%ld at most: a permit was lost or doubled",
                 permits_, permits_, sem_.count(), sem_.max(), holders_.load(),
                 max_holders_.load()));
  }

  std::string summary() const override {
    return format("%zu permits, at most %ld held, %llu release(n > 1)", permits_,
                  max_holders_.load(),
                  static_cast<unsigned long long>(multi_releases_.load()));
  }

  void enter(run_context& ctx, long n) {
    const long h = holders_.fetch_add(n, std::memory_order_relaxed) + n;
    if (h > static_cast<long>(permits_))
      ctx.fail(format("%ld holders inside a semaphore of %zu permits", h, permits_));
    long m = max_holders_.load(std::memory_order_relaxed);
    while (h > m &&
           !max_holders_.compare_exchange_weak(m, h, std::memory_order_relaxed)) {
    }
  }
  void leave(long n) { holders_.fetch_sub(n, std::memory_order_relaxed); }

 private:
  static detached co_take(semaphore_workload& self, run_context& ctx, completion& c) {
    {
      beacon::semaphore_guard g = co_await self.sem_;
      self.enter(ctx, 1);
      self.leave(1);
    }
    c.signal();
  }

  // A permit in a random form, or nullopt (try_wait and time-outs).
  std::optional<beacon::semaphore_guard> take_permit(thread_env& t) {
    switch (t.random.below(6)) {
      case 0:
        return sem_.wait();
      case 1:
        return sem_.try_wait();
      case 2: {
        const nanoseconds d = t.timeout();
        return t.timed(d, [&] { return sem_.wait_for(d); });
      }
      case 3: {
        const nanoseconds d = t.timeout();
        return t.timed(d, [&] { return sem_.wait_until(steady_clock::now() + d); });
      }
      case 4: {
        const std::stop_source never;
        auto g = sem_.wait(never.get_token());
        if (!g) t.ctx.fail("semaphore::wait(stop_token) failed with no stop requested");
        return g;
      }
      default:
        return sem_.wait_until(system_clock::now() + t.timeout());
    }
  }

  void take_one(thread_env& t) {
    if (t.random.one_in(7)) {  // co_await: inside on whichever thread gave the permit
      t.done.arm();
      co_take(*this, t.ctx, t.done);
      t.done.wait();
      return;
    }
    std::optional<beacon::semaphore_guard> g;
    while (!(g = take_permit(t))) {
    }
    enter(t.ctx, 1);
    if (t.random.one_in(8)) std::this_thread::yield();  // hold it a little
    switch (t.random.below(4)) {
      case 0: {  // pass it between guards, then give it back (once)
        leave(1);
        beacon::semaphore_guard other = std::move(*g);
        *g = std::move(other);  // *g held nothing: nothing given back yet
        g.reset();
        break;
      }
      case 1:  // forget it, then add it back
        leave(1);
        g->forget();
        if (!sem_.try_release(1)) t.ctx.fail("try_release(1) failed after forget()");
        break;
      default:
        leave(1);
        g.reset();
    }
  }

  // Several permits, the first blocking, the rest with a time-out (so two
  // threads holding some each cannot deadlock), given back by forget() and
  // one release(n).
  void take_several(thread_env& t) {
    const std::size_t want =
        2 + t.random.below(static_cast<unsigned>(std::min<std::size_t>(permits_, 4) - 1));
    std::vector<beacon::semaphore_guard> held;
    held.reserve(want);
    held.push_back(sem_.wait());
    enter(t.ctx, 1);
    while (held.size() < want) {
      const nanoseconds d = t.timeout();
      auto g = t.timed(d, [&] { return sem_.wait_for(d); });
      if (!g) {  // give up: back one by one
        leave(static_cast<long>(held.size()));
        return;
      }
      enter(t.ctx, 1);
      held.push_back(std::move(*g));
    }
    leave(static_cast<long>(want));
    for (auto& g : held)
      g.forget();
    held.clear();
    if (t.random.one_in(2)) {
      sem_.release(want);
    } else if (!sem_.try_release(want)) {
      t.ctx.fail(
          format("try_release(%zu) failed after forgetting %zu permits", want, want));
    }
    multi_releases_.fetch_add(1, std::memory_order_relaxed);
  }

  // Past max() is refused and changes nothing, whatever is held right now.
  void check_bounds(thread_env& t) {
    if (sem_.try_release(permits_ + 1)) t.ctx.fail("try_release(max + 1) succeeded");
    try {
      sem_.release(permits_ + 1);
      t.ctx.fail("release(max + 1) did not throw");
    } catch (const std::invalid_argument&) {
    }
  }

  const std::size_t permits_;
  beacon::semaphore sem_;
  std::atomic<long> holders_{0};
  std::atomic<long> max_holders_{0};
  std::atomic<std::uint64_t> multi_releases_{0};
};

// ---------------------------------------------------------------------------
// countdown_event: every thread ticks and then waits, round after round, on
// three countdowns used in turn. Thread 0 re-arms the countdown of round r-1
// once it passed round r: by then every thread has ticked round r, so all
// have left round r-1, and none can tick it for round r+2 before thread 0
// ticks round r+1. A waiter of round r must see all its round's ticks (a
// counter bumped before each tick) and the count at zero.

class countdown_workload final : public workload {
 public:
  explicit countdown_workload(run_context& ctx)
      : n_(static_cast<std::size_t>(ctx.threads())),
        ces_{beacon::countdown_event(n_), beacon::countdown_event(n_),
             beacon::countdown_event(n_)} {}

  void thread_main(thread_env& t) override {
    for (std::uint64_t r = 0;; ++r) {
      const std::size_t k = r % 3;
      // Thread 0 names the last round; the others see it once they pass that
      // round (it is written before thread 0's tick, which they wait for).
      if (t.index == 0 && t.stopping() &&
          last_round_.load(std::memory_order_relaxed) == never)
        last_round_.store(r, std::memory_order_relaxed);
      ticks_[k].fetch_add(1, std::memory_order_relaxed);
      ces_[k].tick();
      acquire(ces_[k], t);
      const std::uint64_t seen = ticks_[k].load(std::memory_order_relaxed);
      const std::uint64_t expected = n_ * (r / 3 + 1);
      const std::size_t count = ces_[k].count();
      if (seen != expected || count != 0) {
        t.ctx.fail(format(
            "round %llu: a waiter returned after %llu of %llu ticks, count %zu",
            static_cast<unsigned long long>(r), static_cast<unsigned long long>(seen),
            static_cast<unsigned long long>(expected), count));
        // Release this round's other waiters; the run is failed anyway.
        ces_[k].reset(0);
        return;
      }
      t.count_op();
      if (t.index == 0 && r >= 1) rearm(ces_[(r - 1) % 3], t);
      if (last_round_.load(std::memory_order_relaxed) <= r) {
        if (t.index == 0) rounds_ = r + 1;
        return;
      }
    }
  }

  std::string role(int /*index*/) const override { return "ticks and waits"; }

  std::string summary() const override {
    return format("%llu rounds", static_cast<unsigned long long>(rounds_));
  }

 private:
  static constexpr std::uint64_t never = std::numeric_limits<std::uint64_t>::max();

  void rearm(beacon::countdown_event& ce, thread_env& t) const {
    switch (t.random.below(3)) {
      case 0:
        ce.reset(n_);
        break;
      case 1:  // from one short
        ce.reset(n_ - 1);
        ce.increment();
        break;
      default:  // from zero, which increment() must unset again
        ce.reset(0);
        ce.increment(n_);
    }
    if (ce.count() != n_ || ce.try_wait())
      t.ctx.fail(format("re-armed countdown has count %zu (want %zu)", ce.count(), n_));
  }

  const std::size_t n_;
  std::array<beacon::countdown_event, 3> ces_;
  std::array<std::atomic<std::uint64_t>, 3> ticks_{};
  std::atomic<std::uint64_t> last_round_{never};
  std::uint64_t rounds_ = 0;
};

// ---------------------------------------------------------------------------
// event_count: a bounded MPMC channel (Vyukov's ring; a blocked producer
// waits on not_full, a blocked consumer on not_empty). Items are
// (producer << 40) | sequence. Each side counts its items and sums a hash of
// them: equal counts and sums mean every item was consumed exactly once.
// Per producer, one consumer must see increasing sequence numbers (the ring
// is FIFO). The last producer to finish sends one stop item per consumer.

class event_count_workload final : public workload {
 public:
  explicit event_count_workload(run_context& ctx)
      : producers_(std::max(1, ctx.threads() / 2)),
        consumers_(ctx.threads() - producers_),
        ring_(std::size_t{1} << (mix(ctx.seed()) % 4)),  // 1, 2, 4 or 8 cells
        live_producers_(producers_),
        stats_(static_cast<std::size_t>(ctx.threads())) {}

  std::string role(int i) const override {
    return i < producers_ ? "producer" : "consumer";
  }

  void thread_main(thread_env& t) override {
    if (t.index < producers_)
      produce(t);
    else
      consume(t);
  }

  void check_final(run_context& ctx) override {
    side produced, consumed;
    for (int i = 0; i < ctx.threads(); ++i) {
      side& s = i < producers_ ? produced : consumed;
      s.items += stats_[static_cast<std::size_t>(i)].items;
      s.hash += stats_[static_cast<std::size_t>(i)].hash;
    }
    items_ = consumed.items;
    if (produced.items != consumed.items || produced.hash != consumed.hash)
      ctx.fail(
          format("%llu items produced, %llu consumed (hash %s): an item was lost or "
                 "doubled",
                 static_cast<unsigned long long>(produced.items),
                 static_cast<unsigned long long>(consumed.items),
                 produced.hash == consumed.hash ? "equal" : "differs"));
    if (auto v = ring_.try_pop())
      ctx.fail(format("item %llx left in the ring", static_cast<unsigned long long>(*v)));
    if (not_full_.waiters() != 0 || not_empty_.waiters() != 0)
      ctx.fail(format("waiters still registered: %zu on not_full, %zu on not_empty",
                      not_full_.waiters(), not_empty_.waiters()));
  }

  std::string summary() const override {
    return format("%d -> %d, %zu cells, %llu items", producers_, consumers_,
                  ring_.capacity(), static_cast<unsigned long long>(items_));
  }

 private:
  static constexpr std::uint64_t stop_item = ~std::uint64_t{0};
  struct side {
    std::uint64_t items = 0;
    std::uint64_t hash = 0;
  };

  template <class Pred>
  static detached co_wait_ec(beacon::event_count& ec, Pred p, completion& c) {
    co_await ec.async_wait(std::move(p));
    c.signal();
  }
  template <class Pred, class T>
  static detached co_wait_ec_value(beacon::event_count& ec, Pred p, T& out,
                                   completion& c) {
    out = co_await ec.async_wait(std::move(p));
    c.signal();
  }

  // Waits in a random form until `p` succeeds; its result (p's for optional).
  template <class Pred>
  auto wait_until_true(beacon::event_count& ec, Pred p, thread_env& t) {
    using R = std::invoke_result_t<Pred&>;
    for (;;) {
      R r{};
      switch (t.random.below(7)) {
        case 0:
          if constexpr (std::is_same_v<R, bool>) {
            ec.wait(p);
            r = true;
          } else {
            r.emplace(ec.wait(p));
          }
          break;
        case 1:
          r = p();  // the caller's own try, no wait
          break;
        case 2: {
          const nanoseconds d = t.timeout();
          r = t.timed(d, [&] { return ec.wait_for(d, p); });
          break;
        }
        case 3: {
          const nanoseconds d = t.timeout();
          r = t.timed(d, [&] { return ec.wait_until(steady_clock::now() + d, p); });
          break;
        }
        case 4: {
          const std::stop_source never;
          r = ec.wait(never.get_token(), p);
          if (!r)
            t.ctx.fail("event_count::wait(stop_token) failed with no stop requested");
          break;
        }
        case 5:
          r = ec.wait_until(system_clock::now() + t.timeout(), p);
          break;
        default:
          t.done.arm();
          if constexpr (std::is_same_v<R, bool>) {
            co_wait_ec(ec, p, t.done);
            t.done.wait();
            r = true;
          } else {
            typename R::value_type v{};
            co_wait_ec_value(ec, p, v, t.done);
            t.done.wait();
            r.emplace(v);
          }
      }
      if (r) return r;
    }
  }

  // Pushes `v`, blocking while the ring is full, and notifies; returns how
  // many items it pushed (now and then a second one, v + 1, while at it).
  int push(std::uint64_t v, thread_env& t) {
    wait_until_true(
        not_full_, [&] { return ring_.try_push(v); }, t);
    // One notify per item: event_count passes each to a waiter that checks.
    // Now and then push a second item and notify(2), or wake everybody
    // (harmless: a woken consumer that finds nothing queues again).
    if (v != stop_item && t.random.one_in(4)) {
      std::uint64_t next = v + 1;
      if (ring_.try_push(next)) {
        record(t, v);
        record(t, v + 1);
        not_empty_.notify(2);
        return 2;
      }
    }
    record(t, v);
    if (t.random.one_in(32))
      not_empty_.notify_all();
    else
      not_empty_.notify_one();
    return 1;
  }

  void record(thread_env& t, std::uint64_t v) {
    if (v == stop_item) return;
    stats_[static_cast<std::size_t>(t.index)].items += 1;
    stats_[static_cast<std::size_t>(t.index)].hash += mix(v);
    t.count_op();
  }

  void produce(thread_env& t) {
    const std::uint64_t base = std::uint64_t(t.index) << 40;
    std::uint64_t seq = 0;
    while (!t.stopping())
      seq += static_cast<std::uint64_t>(push(base | seq, t));
    if (live_producers_.fetch_sub(1) == 1)
      for (int i = 0; i < consumers_; ++i)
        push(stop_item, t);
  }

  void consume(thread_env& t) {
    std::vector<std::uint64_t> last(static_cast<std::size_t>(producers_), 0);
    std::vector<bool> any(static_cast<std::size_t>(producers_), false);
    for (;;) {
      const std::uint64_t v = *wait_until_true(
          not_empty_, [&] { return ring_.try_pop(); }, t);
      if (t.random.one_in(32))
        not_full_.notify_all();
      else
        not_full_.notify_one();
      if (v == stop_item) return;
      const std::uint64_t producer = v >> 40;
      const std::uint64_t seq = v & ((std::uint64_t{1} << 40) - 1);
      if (producer >= static_cast<std::uint64_t>(producers_)) {
        t.ctx.fail(format("consumed item %llx that no producer made",
                          static_cast<unsigned long long>(v)));
        return;
      }
      const auto p = static_cast<std::size_t>(producer);
      if (any[p] && seq <= last[p]) {
        t.ctx.fail(format("producer %llu's item %llu consumed after its item %llu",
                          static_cast<unsigned long long>(producer),
                          static_cast<unsigned long long>(seq),
                          static_cast<unsigned long long>(last[p])));
        return;
      }
      any[p] = true;
      last[p] = seq;
      stats_[static_cast<std::size_t>(t.index)].items += 1;
      stats_[static_cast<std::size_t>(t.index)].hash += mix(v);
      t.count_op();
    }
  }

  const int producers_;
  const int consumers_;
  example::mpmc_ring<std::uint64_t> ring_;
  beacon::event_count not_full_;
  beacon::event_count not_empty_;
  std::atomic<int> live_producers_;
  std::vector<side> stats_;  // one per thread, written by it alone
  std::uint64_t items_ = 0;
};

// ---------------------------------------------------------------------------
// once_event: every thread creates one-shot channels, keeps the sender and
// posts the receiver (with the channel's id) to a random thread's mailbox,
// itself included; it resolves the receivers in its own mailbox. Whether a
// sender sends or is dropped is a function of the id, so the receiver knows
// which outcome is right. A thread never blocks while it holds an unsent
// sender (it resolves them all first), so every blocked receiver's sender is
// held by a thread that is running and will resolve it.

class once_workload final : public workload {
  using event = beacon::once_event<tracked>;
  using pool = beacon::once_event_pool<tracked>;
  using any_sender = std::variant<event::managed_sender, pool::sender_by_ref,
                                  pool::sender_by_shared, event::sender_by_shared>;
  using any_receiver = std::variant<event::managed_receiver, pool::receiver_by_ref,
                                    pool::receiver_by_shared, event::receiver_by_shared>;

 public:
  explicit once_workload(run_context& ctx)
      : seed_(ctx.seed()), per_thread_(static_cast<std::size_t>(ctx.threads())) {
    tracked::reset_counts();
  }

  void thread_main(thread_env& t) override {
    per_thread& me = mine(t);
    for (;;) {
      bool created = false;
      if (!t.stopping()) created = create(t, me);
      bool resolved = false;
      if (std::optional<parcel> p = take_parcel(me)) {
        std::visit([&](auto& rx) { resolve(rx, p->id, t, me); }, p->rx);
        p.reset();  // the receiver is gone before it stops counting as in flight
        in_flight_.fetch_sub(1);
        t.count_op();
        resolved = true;
      }
      // Resolve the senders when nothing new was made, or a few at a time, so
      // that receivers find them both unsent and sent.
      if (!created || me.pending.size() >= me.flush_at) flush(me);
      if (t.stopping() && me.pending.empty() && in_flight_.load() == 0) return;
      if (!created && !resolved) std::this_thread::yield();  // draining: others work
    }
  }

  void check_final(run_context& ctx) override {
    for (const per_thread& p : per_thread_) {
      total_.created += p.s.created;
      total_.sent += p.s.sent;
      total_.tx_dropped += p.s.tx_dropped;
      total_.received += p.s.received;
      total_.disconnected += p.s.disconnected;
      total_.rx_dropped += p.s.rx_dropped;
    }
    const stats& s = total_;
    if (s.sent + s.tx_dropped != s.created ||
        s.received + s.disconnected + s.rx_dropped != s.created || s.received > s.sent ||
        s.disconnected > s.tx_dropped)
      ctx.fail(
          format("%llu channels: %llu sent, %llu senders dropped; %llu received, "
                 "%llu disconnected, %llu receivers dropped",
                 ull(s.created), ull(s.sent), ull(s.tx_dropped), ull(s.received),
                 ull(s.disconnected), ull(s.rx_dropped)));
    if (pool_.size() != 0 || shared_pool_->size() != 0)
      ctx.fail(format("pool events still live: %zu by reference, %zu shared",
                      pool_.size(), shared_pool_->size()));
    if (tracked::live.load() != 0 || tracked::destroyed_twice.load() != 0)
      ctx.fail(format("%ld values never destroyed, %ld destroyed twice",
                      tracked::live.load(), tracked::destroyed_twice.load()));
  }

  std::string summary() const override {
    const stats& s = total_;
    return format(
        "%llu channels, %llu received, %llu disconnected, %llu receivers dropped",
        ull(s.created), ull(s.received), ull(s.disconnected), ull(s.rx_dropped));
  }

 private:
  static unsigned long long ull(std::uint64_t v) { return v; }

  struct parcel {
    any_receiver rx;
    std::uint64_t id;
  };
  struct unsent {
    any_sender tx;
    std::uint64_t id;
  };
  struct stats {
    std::uint64_t created = 0, sent = 0, tx_dropped = 0;
    std::uint64_t received = 0, disconnected = 0, rx_dropped = 0;
  };
  struct per_thread {
    std::mutex m;
    std::deque<parcel> mailbox;  // under m
    // Only the owning thread (or a coroutine it waits for) touches these.
    std::vector<unsent> pending;
    std::size_t flush_at = 1;
    std::uint64_t next_id = 0;
    stats s;
  };

  per_thread& mine(const thread_env& t) {
    return per_thread_[static_cast<std::size_t>(t.index)];
  }
  bool sends(std::uint64_t id) const noexcept { return (mix(id ^ seed_) & 3) != 0; }

  std::pair<any_sender, any_receiver> bind(thread_env& t) {
    switch (t.random.below(4)) {
      case 0: {
        auto [tx, rx] = beacon::make_once<tracked>();
        return {std::move(tx), std::move(rx)};
      }
      case 1: {
        auto [tx, rx] = pool_.bind_by_ref();
        return {std::move(tx), std::move(rx)};
      }
      case 2: {
        auto [tx, rx] = pool::bind_by_shared(shared_pool_);
        return {std::move(tx), std::move(rx)};
      }
      default: {
        auto [tx, rx] = event::bind_by_shared(std::make_shared<event>());
        return {std::move(tx), std::move(rx)};
      }
    }
  }

  // Makes a channel unless stopping (then false). Counted in flight before
  // the stop check: a thread that sees the stop and then in_flight_ == 0
  // knows that no channel is being made.
  // A full mailbox (its thread is slow or descheduled) also refuses, so that
  // memory stays bounded.
  bool create(thread_env& t, per_thread& me) {
    per_thread& to =
        per_thread_[t.random.below(static_cast<unsigned>(per_thread_.size()))];
    in_flight_.fetch_add(1);
    if (t.stopping() || mailbox_size(to) >= 256) {
      in_flight_.fetch_sub(1);
      return false;
    }
    const std::uint64_t id = (std::uint64_t(t.index) << 40) | me.next_id++;
    auto [tx, rx] = bind(t);
    me.s.created += 1;
    if (t.random.one_in(16)) {  // a receiving coroutine destroyed while suspended
      abandon_suspended(std::move(rx), id, t, me);
      me.pending.push_back({std::move(tx), id});
      in_flight_.fetch_sub(1);
      t.count_op();
      return true;
    }
    {
      std::lock_guard g(to.m);
      to.mailbox.push_back({std::move(rx), id});
    }
    me.pending.push_back({std::move(tx), id});
    if (me.pending.size() == 1) me.flush_at = 1 + t.random.below(4);
    return true;
  }

  static std::size_t mailbox_size(per_thread& p) {
    std::lock_guard g(p.m);
    return p.mailbox.size();
  }

  std::optional<parcel> take_parcel(per_thread& me) {
    std::lock_guard g(me.m);
    if (me.mailbox.empty()) return std::nullopt;
    parcel p = std::move(me.mailbox.front());
    me.mailbox.pop_front();
    return p;
  }

  // Sends or drops every pending sender, as its id says. A send may resume a
  // receiving coroutine here, inline.
  void flush(per_thread& me) {
    std::vector<unsent> batch;
    batch.swap(me.pending);
    for (unsent& u : batch) {
      if (sends(u.id)) {
        std::visit(
            [&](auto& tx) {
              std::move(tx).send(tracked(static_cast<std::int64_t>(u.id)));
            },
            u.tx);
        me.s.sent += 1;
      } else {
        auto gone = std::move(u.tx);  // destroyed unsent: disconnects the receiver
        me.s.tx_dropped += 1;
      }
    }
  }

  void got_value(const tracked& v, std::uint64_t id, thread_env& t, per_thread& me) {
    me.s.received += 1;
    if (!sends(id))
      t.ctx.fail(format("channel %llx: received a value from a sender that was dropped",
                        ull(id)));
    else if (static_cast<std::uint64_t>(v.v) != id)
      t.ctx.fail(format("channel %llx: received channel %llx's value", ull(id),
                        ull(static_cast<std::uint64_t>(v.v))));
  }
  void got_disconnected(std::uint64_t id, thread_env& t, per_thread& me) {
    me.s.disconnected += 1;
    if (sends(id))
      t.ctx.fail(format("channel %llx: disconnected, but its sender sent", ull(id)));
  }

  template <class Rx>
  static detached co_receive(Rx rx, std::uint64_t id, once_workload& self, thread_env& t,
                             per_thread& me) {
    try {
      const tracked v = co_await std::move(rx);
      self.got_value(v, id, t, me);
    } catch (const beacon::disconnected&) {
      self.got_disconnected(id, t, me);
    }
    t.done.signal();
  }

  template <class Rx>
  static owned_task co_receive_owned(Rx rx) {
    try {
      (void)co_await std::move(rx);
    } catch (const beacon::disconnected&) {
    }
  }

  // The sender is ours and unsent, so nothing can resume the coroutine while
  // we destroy it: its awaiter must leave the queue and drop the receiver.
  template <class Rx>
  void abandon_suspended(Rx rx, std::uint64_t id, thread_env& t, per_thread& me) {
    std::visit(
        [&](auto& r) {
          owned_task task = co_receive_owned(std::move(r));
          if (task.finished())
            t.ctx.fail(format(
                "channel %llx: a receiver completed before its sender acted", ull(id)));
        },
        rx);
    me.s.rx_dropped += 1;
  }

  // After the one outcome, every further receive must say so: a taken value
  // throws logic_error, a disconnection throws disconnected again.
  template <class Rx>
  void check_again(Rx& rx, bool had_value, std::uint64_t id, thread_env& t) {
    try {
      (void)rx.try_receive();
      t.ctx.fail(format("channel %llx: a second receive succeeded", ull(id)));
    } catch (const beacon::disconnected&) {
      if (had_value)
        t.ctx.fail(format("channel %llx: disconnected after its value", ull(id)));
    } catch (const std::logic_error&) {
      if (!had_value)
        t.ctx.fail(format("channel %llx: logic_error after disconnected", ull(id)));
    }
  }

  template <class Rx>
  void resolve(Rx& rx, std::uint64_t id, thread_env& t, per_thread& me) {
    std::optional<tracked> v;
    try {
      switch (t.random.below(8)) {
        case 0: {  // drop it unreceived
          auto gone = std::move(rx);
          me.s.rx_dropped += 1;
          return;
        }
        case 1:  // poll without blocking, then block
          for (int i = 0; i < 4 && !v; ++i)
            v = rx.try_receive();
          if (!v) {
            flush(me);
            v.emplace(rx.receive());
          }
          break;
        case 2:
        case 3: {  // timed, then give up (drop) or block
          flush(me);
          for (int i = 0; i < 3 && !v; ++i) {
            const nanoseconds d = t.timeout();
            v = t.timed(d, [&] {
              return i == 1 ? rx.receive_until(steady_clock::now() + d)
                            : rx.receive_for(d);
            });
          }
          if (!v) {
            if (t.random.one_in(2)) {
              auto gone = std::move(rx);
              me.s.rx_dropped += 1;
              return;
            }
            v.emplace(rx.receive());
          }
          break;
        }
        case 4: {
          flush(me);
          const std::stop_source never;
          v = rx.receive(never.get_token());
          if (!v) t.ctx.fail("receive(stop_token) failed with no stop requested");
          break;
        }
        case 5:
        case 6:  // co_await: resumed by the sender's thread
          flush(me);
          t.done.arm();
          co_receive(std::move(rx), id, *this, t, me);
          t.done.wait();
          return;
        default:
          flush(me);
          v.emplace(rx.receive());
      }
    } catch (const beacon::disconnected&) {
      got_disconnected(id, t, me);
      check_again(rx, false, id, t);
      return;
    }
    if (v) {
      got_value(*v, id, t, me);
      check_again(rx, true, id, t);
    }
  }

  const std::uint64_t seed_;
  pool pool_;
  std::shared_ptr<pool> shared_pool_ = std::make_shared<pool>();
  std::vector<per_thread> per_thread_;
  std::atomic<long> in_flight_{0};
  stats total_;
};

// ---------------------------------------------------------------------------
// The driver.

struct workload_info {
  const char* name;
  std::unique_ptr<workload> (*make)(run_context&);
};

template <class W>
std::unique_ptr<workload> make(run_context& ctx) {
  return std::make_unique<W>(ctx);
}

constexpr workload_info workloads[] = {
    {"auto_reset_event", &make<auto_reset_workload>},
    {"manual_reset_event", &make<manual_reset_workload>},
    {"semaphore", &make<semaphore_workload>},
    {"countdown_event", &make<countdown_workload>},
    {"event_count", &make<event_count_workload>},
    {"once_event", &make<once_workload>},
};

// Runs one workload; false on a violation. Ends the process if it hangs.
bool run(const workload_info& w, std::size_t number, const options& o) {
  run_context ctx(w.name, options{o.threads,
                                  o.seconds,
                                  o.ops,
                                  mix(o.seed ^ (number * 0x1'0000'0001u)),
                                  {},
                                  false});
  std::unique_ptr<workload> state = w.make(ctx);
  std::vector<std::unique_ptr<thread_env>> envs;
  envs.reserve(static_cast<std::size_t>(o.threads));
  for (int i = 0; i < o.threads; ++i)
    envs.push_back(
        std::make_unique<thread_env>(ctx, i, mix(ctx.seed() + std::uint64_t(i))));
  std::vector<std::atomic<bool>> finished(static_cast<std::size_t>(o.threads));

  const auto start = steady_clock::now();
  const auto budget = std::chrono::duration_cast<steady_clock::duration>(
      std::chrono::duration<double>(o.seconds));
  const auto hang_limit = start + 2 * budget + 30s;
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(o.threads));
  for (int i = 0; i < o.threads; ++i) {
    ctx.thread_started();
    threads.emplace_back([&, i] {
      thread_env& t = *envs[static_cast<std::size_t>(i)];
      try {
        state->thread_main(t);
      } catch (const std::exception& e) {
        ctx.fail(format("%s %d threw: %s", state->role(i).c_str(), i, e.what()));
      }
      t.publish_ops();
      finished[static_cast<std::size_t>(i)].store(true);
      ctx.thread_finished();
    });
  }
  ctx.wait_for_stop(start + budget);
  ctx.request_stop();
  // A broken protocol may keep threads waiting after a violation: give them
  // a moment, then report the violation anyway.
  const auto give_up =
      ctx.failed() ? std::min(hang_limit, steady_clock::now() + 5s) : hang_limit;
  if (!ctx.wait_for_threads(give_up)) {
    std::fflush(stdout);
    if (ctx.failed())
      std::fprintf(stderr, "%s: FAILED: %s (some threads did not finish)\n", w.name,
                   ctx.failure().c_str());
    else
      std::fprintf(stderr,
                   "%s: HUNG: threads still running %.0f s after the start (a waiter "
                   "was never released):\n",
                   w.name, std::chrono::duration<double>(hang_limit - start).count());
    for (int i = 0; i < o.threads; ++i)
      if (!finished[static_cast<std::size_t>(i)].load())
        std::fprintf(stderr, "  thread %d (%s)\n", i, state->role(i).c_str());
    std::fflush(stderr);
    std::_Exit(ctx.failed() ? 1 : 3);
  }
  for (auto& t : threads)
    t.join();
  const double secs = std::chrono::duration<double>(steady_clock::now() - start).count();
  state->check_final(ctx);  // also after a violation: it tallies the summary

  std::uint64_t timeouts = 0;
  for (const auto& e : envs)
    timeouts += e->timeouts;
  const std::uint64_t ops = ctx.ops();
  std::printf(
      "%-19s threads %3d  ops %12llu  %6.2f s  ops/s %11.0f  %s  (%s; %llu time-outs)\n",
      w.name, o.threads, static_cast<unsigned long long>(ops), secs,
      secs > 0 ? static_cast<double>(ops) / secs : 0.0, ctx.failed() ? "FAILED" : "ok",
      state->summary().c_str(), static_cast<unsigned long long>(timeouts));
  if (ctx.failed()) std::printf("  %s: %s\n", w.name, ctx.failure().c_str());
  std::fflush(stdout);
  return !ctx.failed();
}

options parse(int argc, char** argv) {
  using beacon_test::usage_error;
  options o;
  o.seed = std::random_device{}();
  beacon_test::command_line args(argc, argv);
  while (args.next()) {
    if (args.is("--threads")) {
      o.threads = static_cast<int>(args.number(2, 1024));
    } else if (args.is("--seconds")) {
      o.seconds = args.positive(1e6);
    } else if (args.is("--ops")) {
      o.ops = args.number();
    } else if (args.is("--seed")) {
      o.seed = args.number();
    } else if (args.is("--only")) {
      const std::string value = args.value();
      for (std::size_t b = 0; b <= value.size();) {
        const std::size_t e = std::min(value.find(',', b), value.size());
        std::string name = value.substr(b, e - b);
        if (std::none_of(std::begin(workloads), std::end(workloads),
                         [&](const workload_info& w) { return name == w.name; }))
          throw usage_error("--only: no workload named '" + name + "' (see --list)");
        o.only.push_back(std::move(name));
        b = e + 1;
      }
    } else if (args.is("--list")) {
      o.list = true;
    } else if (args.is("--help") || args.is("-h")) {
      throw usage_error("stress the beacon primitives and check their invariants");
    } else {
      args.unknown();
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  try {
    o = parse(argc, argv);
  } catch (const beacon_test::usage_error& e) {
    std::fprintf(stderr,
                 "beacon_soak: %s\n"
                 "usage: beacon_soak [--threads N] [--seconds S] [--ops N] [--seed N] "
                 "[--only NAME[,NAME...]] [--list]\n",
                 e.what());
    return 2;
  }
  if (o.list) {
    for (const workload_info& w : workloads)
      std::printf("%s\n", w.name);
    return 0;
  }
  std::printf("beacon_soak: %d threads, %g s per workload, ops %s, seed %llu\n",
              o.threads, o.seconds, o.ops ? std::to_string(o.ops).c_str() : "unlimited",
              static_cast<unsigned long long>(o.seed));
  std::fflush(stdout);
  bool ok = true;
  for (std::size_t i = 0; i < std::size(workloads); ++i) {
    const workload_info& w = workloads[i];
    if (!o.only.empty() &&
        std::find(o.only.begin(), o.only.end(), w.name) == o.only.end())
      continue;
    ok = run(w, i, o) && ok;
  }
  std::printf("beacon_soak: %s\n", ok ? "all invariants held" : "FAILED");
  return ok ? 0 : 1;
}
