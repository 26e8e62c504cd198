// The interleaving checker's scheduler: see scheduler.hpp. Compiled without
// instrumentation: nothing here is a scheduling point.
#include "scheduler.hpp"

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>

namespace beacon::checker {
namespace {

enum class run_state : std::uint8_t { runnable, blocked, finished };

struct test_thread {
  run_state state = run_state::runnable;
  const volatile void* blocked_on = nullptr;  // the word it waits on, if blocked
  std::uint32_t mask = ~0u;                   // the bits it listens for there
  bool timed = false;                         // blocked in a wait with a deadline
  bool timed_out = false;      // resumed because the scheduler let the deadline pass
  bool spinning = false;       // blocked in yield() until another thread writes `address`
  std::uint64_t order = 0;     // when it blocked: wake_one wakes in FIFO order
  const char* what = "start";  // its last scheduling point, for reports
  const volatile void* address = nullptr;
  const void* code = nullptr;
};

struct option {
  int thread;
  bool timeout;  // let its deadline pass (it is blocked in a timed wait)
};

struct step_record {
  std::uint32_t options;
  std::uint32_t chosen;
  std::uint32_t preemptions_before;
  bool preemptive;  // any choice but the first costs a preemption
};

struct failure_signal {};  // unwinds fail() on the main thread

// The state of the one execution running now.
struct scheduler {
  std::mutex m;
  std::condition_variable cv;
  std::vector<test_thread> threads;
  int current = -1;  // who holds the baton; -1: nobody (main thread)
  int registered = 0;
  int finished = 0;
  bool failed = false;
  std::string failure;
  std::vector<std::uint32_t> prefix;  // choices to replay
  std::vector<step_record> steps;     // choices made
  std::uint32_t preemptions = 0;
  std::uint64_t order = 0;
  std::uint64_t max_steps = 0;
  bool trace = false;
};

scheduler sched;
thread_local int self = -1;  // index of the calling test thread; -1 elsewhere

std::string describe(int i) {
  const test_thread& t = sched.threads[static_cast<std::size_t>(i)];
  char buf[200];
  const char* st = t.state == run_state::finished  ? "finished"
                   : t.state == run_state::blocked ? "blocked"
                                                   : "runnable";
  std::snprintf(buf, sizeof buf, "  thread %d: %s; at %s %p (code %p)\n", i, st, t.what,
                const_cast<const void*>(t.address), t.code);
  return buf;
}

void record_failure(const std::string& what) {
  if (sched.failed) return;
  sched.failed = true;
  sched.failure = what + "\n";
  for (int i = 0; i < static_cast<int>(sched.threads.size()); ++i)
    sched.failure += describe(i);
}

// Blocks the calling test thread for good (after a failure).
[[noreturn]] void stall(std::unique_lock<std::mutex>& lk) {
  sched.cv.notify_all();
  for (;;)
    sched.cv.wait(lk);
}

// A scheduling point of thread `me` (-1: the main thread starting the
// execution): chooses who runs next and, if it is another thread, hands
// over the baton and waits to get it back. A switch away from `me` while it
// could go on is a preemption; other switches are free.
void decide(std::unique_lock<std::mutex>& lk, int me) {
  auto& ts = sched.threads;
  const int n = static_cast<int>(ts.size());
  option opts[16];
  std::uint32_t count = 0;
  const bool me_continues =
      me >= 0 && ts[static_cast<std::size_t>(me)].state == run_state::runnable;
  if (me_continues) opts[count++] = {me, false};
  for (int i = 0; i < n; ++i) {
    const test_thread& t = ts[static_cast<std::size_t>(i)];
    if (i != me && t.state == run_state::runnable) opts[count++] = {i, false};
  }
  for (int i = 0; i < n; ++i) {
    const test_thread& t = ts[static_cast<std::size_t>(i)];
    if (t.state == run_state::blocked && t.timed) opts[count++] = {i, true};
  }
  if (count == 0) {
    if (sched.finished == n) {  // the execution is over
      sched.current = -1;
      sched.cv.notify_all();
      return;
    }
    // Nobody can run and someone has not finished: a thread finished and
    // left others asleep (a lost wake-up), or all are asleep (deadlock).
    record_failure(
        sched.finished > 0
            ? "lost wake-up: a thread is still blocked after the others finished"
            : "deadlock: every thread is blocked");
    stall(lk);
  }
  const std::size_t step = sched.steps.size();
  const std::uint32_t idx = step < sched.prefix.size() ? sched.prefix[step] : 0;
  if (idx >= count) {
    record_failure("replay diverged: the scenario is not deterministic");
    if (me >= 0) stall(lk);
    sched.cv.notify_all();
    return;
  }
  sched.steps.push_back({count, idx, sched.preemptions, me_continues});
  if (me_continues && idx > 0) ++sched.preemptions;
  if (sched.steps.size() > sched.max_steps) {
    record_failure("livelock: no end after max_steps scheduling points");
    if (me >= 0) stall(lk);
    sched.cv.notify_all();
    return;
  }
  const option o = opts[idx];
  test_thread& next = ts[static_cast<std::size_t>(o.thread)];
  if (sched.trace) {
    const test_thread* t = me >= 0 ? &ts[static_cast<std::size_t>(me)] : nullptr;
    std::printf("step %zu: thread %d at %s %p (code %p) -> thread %d%s\n", step, me,
                t ? t->what : "start", t ? const_cast<const void*>(t->address) : nullptr,
                t ? t->code : nullptr, o.thread,
                o.timeout ? " (its deadline passes)" : "");
  }
  if (o.timeout) {
    next.state = run_state::runnable;
    next.timed_out = true;
    next.blocked_on = nullptr;
  }
  sched.current = o.thread;
  if (o.thread == me) return;
  sched.cv.notify_all();
  if (me < 0 || ts[static_cast<std::size_t>(me)].state == run_state::finished) return;
  sched.cv.wait(lk, [&] { return sched.current == me; });
}

void run_thread(int id, const std::function<void()>& body) {
  self = id;
  {
    std::unique_lock<std::mutex> lk(sched.m);
    ++sched.registered;
    sched.cv.notify_all();
    sched.cv.wait(lk, [&] { return sched.current == id; });
  }
  try {
    body();
  } catch (const std::exception& e) {
    fail(std::string("uncaught exception: ") + e.what());
  } catch (...) {
    fail("uncaught exception");
  }
  std::unique_lock<std::mutex> lk(sched.m);
  sched.threads[static_cast<std::size_t>(id)].state = run_state::finished;
  sched.threads[static_cast<std::size_t>(id)].what = "finished";
  ++sched.finished;
  decide(lk, id);
  self = -1;
}

std::vector<std::uint32_t> parse_schedule(const std::string& s) {
  std::vector<std::uint32_t> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t end = s.find(',', pos);
    if (end == std::string::npos) end = s.size();
    const std::string item = s.substr(pos, end - pos);
    const std::size_t colon = item.find(':');
    if (colon != std::string::npos) {
      const auto step = static_cast<std::size_t>(std::stoul(item.substr(0, colon)));
      const auto choice = static_cast<std::uint32_t>(std::stoul(item.substr(colon + 1)));
      if (out.size() <= step) out.resize(step + 1, 0);
      out[step] = choice;
    }
    pos = end + 1;
  }
  return out;
}

std::string format_schedule(const std::vector<step_record>& steps) {
  std::string s;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].chosen == 0) continue;
    if (!s.empty()) s += ',';
    s += std::to_string(i) + ':' + std::to_string(steps[i].chosen);
  }
  return s.empty() ? "0:0" : s;
}

// Runs one execution following sched.prefix. Returns false if it failed.
bool run_once(const std::function<execution()>& make) {
  execution ex = make();
  const int n = static_cast<int>(ex.threads.size());
  {
    std::lock_guard<std::mutex> lk(sched.m);
    sched.threads.assign(static_cast<std::size_t>(n), test_thread{});
    sched.current = -1;
    sched.registered = sched.finished = 0;
    sched.steps.clear();
    sched.preemptions = 0;
  }
  std::vector<std::thread> workers;
  workers.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    workers.emplace_back(run_thread, i,
                         std::cref(ex.threads[static_cast<std::size_t>(i)]));
  bool ok;
  {
    std::unique_lock<std::mutex> lk(sched.m);
    sched.cv.wait(lk, [&] { return sched.registered == n; });
    decide(lk, -1);
    sched.cv.wait(lk, [&] { return sched.finished == n || sched.failed; });
    ok = !sched.failed;
  }
  if (!ok) {
    for (auto& w : workers)
      w.detach();  // blocked for good; the process ends soon
    return false;
  }
  for (auto& w : workers)
    w.join();
  if (ex.check) {
    try {
      ex.check();
    } catch (const failure_signal&) {
      return false;
    }
  }
  return true;
}

}  // namespace

void fail(const std::string& what) {
  std::unique_lock<std::mutex> lk(sched.m);
  record_failure(what + (self >= 0 ? " (in thread " + std::to_string(self) + ")"
                                   : " (in the final check)"));
  if (self >= 0) stall(lk);
  throw failure_signal{};
}

report explore(const std::function<execution()>& make, const options& opt) {
  report r;
  sched.failed = false;
  sched.failure.clear();
  sched.max_steps = opt.max_steps;
  sched.trace = !opt.replay.empty();
  sched.prefix = sched.trace ? parse_schedule(opt.replay) : std::vector<std::uint32_t>{};
  const bool debug = std::getenv("BEACON_CHECKER_DEBUG") != nullptr;
  for (;;) {
    if (debug) {
      std::string p;
      for (std::size_t k = 0; k < sched.prefix.size(); ++k)
        if (sched.prefix[k])
          p += std::to_string(k) + ':' + std::to_string(sched.prefix[k]) + ',';
      std::fprintf(stderr, "schedule %llu: %s\n",
                   static_cast<unsigned long long>(r.schedules), p.c_str());
    }
    const bool ok = run_once(make);
    ++r.schedules;
    if (sched.steps.size() > r.max_points) r.max_points = sched.steps.size();
    if (!ok) {
      r.failed = true;
      r.failure = sched.failure;
      r.schedule = format_schedule(sched.steps);
      return r;
    }
    if (sched.trace || r.schedules >= opt.max_schedules) return r;
    // Backtrack: the deepest point with an untried choice within the bound.
    std::size_t i = sched.steps.size();
    bool more = false;
    while (i-- > 0) {
      const step_record& s = sched.steps[i];
      if (s.chosen + 1 >= s.options) continue;
      if (s.preemptive &&
          s.preemptions_before + 1 > static_cast<std::uint32_t>(opt.preemption_bound))
        continue;
      more = true;
      break;
    }
    if (!more) return r;
    sched.prefix.resize(i + 1);
    for (std::size_t k = 0; k < i; ++k)
      sched.prefix[k] = sched.steps[k].chosen;
    sched.prefix[i] = sched.steps[i].chosen + 1;
  }
}

namespace hooks {

bool active() noexcept { return self >= 0; }

void point(const char* what, const volatile void* address, const void* code,
           bool writes) noexcept {
  if (self < 0) return;
  std::unique_lock<std::mutex> lk(sched.m);
  test_thread& t = sched.threads[static_cast<std::size_t>(self)];
  t.what = what;
  t.address = address;
  t.code = code;
  decide(lk, self);
  // The operation runs as soon as we return, before any other thread: a
  // thread spinning on `address` can make progress from now on.
  if (writes)
    for (auto& other : sched.threads)
      if (other.spinning && other.address == address) {
        other.spinning = false;
        other.state = run_state::runnable;
      }
}

bool wait(const volatile std::uint32_t* word, std::uint32_t expected, std::uint32_t mask,
          bool timed, const void* code) noexcept {
  if (self < 0) return true;  // not a test thread: a spurious wake-up
  std::unique_lock<std::mutex> lk(sched.m);
  test_thread& t = sched.threads[static_cast<std::size_t>(self)];
  t.what = "platform::wait";
  t.address = word;
  t.code = code;
  decide(lk, self);  // the point; then compare and block in one step
  if (*word != expected) return true;
  t.state = run_state::blocked;
  t.blocked_on = word;
  t.mask = mask;
  t.timed = timed;
  t.timed_out = false;
  t.order = ++sched.order;
  decide(lk, self);
  const bool timed_out = t.timed_out;
  t.timed_out = false;
  return !timed_out;
}

void wake(const volatile std::uint32_t* word, std::uint32_t mask, bool all,
          const void* code) noexcept {
  if (self < 0) return;
  std::unique_lock<std::mutex> lk(sched.m);
  test_thread& me = sched.threads[static_cast<std::size_t>(self)];
  me.what = mask != ~0u ? "platform::wake_masked"
            : all       ? "platform::wake_all"
                        : "platform::wake_one";
  me.address = word;
  me.code = code;
  decide(lk, self);
  for (;;) {
    test_thread* first = nullptr;
    for (auto& t : sched.threads)
      if (t.state == run_state::blocked && t.blocked_on == word && (t.mask & mask) != 0 &&
          (!first || t.order < first->order))
        first = &t;
    if (!first) return;
    first->state = run_state::runnable;
    first->blocked_on = nullptr;
    if (!all) return;
  }
}

// A spin loop yields after its last atomic operation found the location it
// polls (a lock) unchanged: it cannot progress until another thread writes
// there, so it blocks until one does. That keeps spinning out of the
// explored schedules, and turns a spin that can never end into a reported
// deadlock.
void yield() noexcept {
  if (self < 0) {
    std::this_thread::yield();
    return;
  }
  std::unique_lock<std::mutex> lk(sched.m);
  test_thread& t = sched.threads[static_cast<std::size_t>(self)];
  t.what = "platform::yield (spinning on the location of its last point)";
  t.state = run_state::blocked;
  t.spinning = true;
  t.blocked_on = nullptr;
  t.timed = false;
  decide(lk, self);
}

}  // namespace hooks
}  // namespace beacon::checker
