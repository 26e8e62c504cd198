// The interleaving checker's deterministic scheduler (CHESS / loom style).
//
// A scenario runs 2–3 threads. They are real threads, but only one runs at a
// time: each waits for the baton, and hands it over only at a scheduling
// point. The points are
//   * every atomic operation of the code under test: the checker compiles
//     the real library sources and the scenarios with -fsanitize=thread and
//     links, instead of ThreadSanitizer's run-time, tsan_hooks.cpp, whose
//     __tsan_atomic* entry points call point() and then do the operation;
//   * the platform layer (checker_platform.cpp replaces the futex one):
//     wait() blocks the thread in the scheduler until a wake_*() on the same
//     word (masked waits and wakes as the futex does them: a wake reaches
//     only the waiters whose mask shares one of its bits), or until the scheduler chooses
//     to let its deadline pass; yield() (a spin lock that found its lock held) blocks
//     until another thread writes the location its last operation read.
// So the parking lot, the primitives and the platform are the shipped code,
// run unchanged; only when each thread runs is chosen here.
//
// Exploration: depth-first over every schedule with at most `bound`
// preemptions (a switch away from a thread that could have gone on; switches
// at a blocked or finished thread are free), re-running the scenario from scratch for
// each schedule and replaying the prefix it shares with the previous one. Each scheduling
// point offers the current thread first, then the others, then the deadlines of timed
// waiters.
//
// Failures: a scenario's check (expect / fail), a deadlock (no thread can
// run while some never finished: a lost wake-up when the others finished),
// a livelock (more than max_steps points), or a replay that diverged. A
// failing schedule prints as "step:choice,..." (the non-default choices) and
// replays with --replay, with a trace of every point.
// BEACON_CHECKER_DEBUG=1 prints each schedule's prefix before running it
// (to find the schedule on which an exploration hangs).
//
// Model: operations are sequentially consistent interleavings; weaker
// orderings (a missing acquire) are ThreadSanitizer's to find, which CI also
// runs. Spurious wake-ups are the fault-injection build's.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace beacon::checker {

// One run of a scenario, made afresh for every schedule.
struct execution {
  std::vector<std::function<void()>> threads;  // the test threads, 2–3
  std::function<void()> check;                 // then, on the main thread
};

struct options {
  int preemption_bound = 2;
  std::uint64_t max_schedules = 5'000'000;
  std::uint64_t max_steps = 50'000;  // scheduling points in one execution
  std::string replay;                // a schedule to run alone, with a trace
};

struct report {
  std::uint64_t schedules = 0;   // executions run
  std::uint64_t max_points = 0;  // the most scheduling points in one
  bool failed = false;
  std::string failure;   // what went wrong, and where each thread was
  std::string schedule;  // the failing schedule, for --replay
};

// Explores every schedule of `make` within the bound; stops at the first
// failure. After a failure, threads of the failing execution may be left
// blocked for good: the caller must end the process (the checker runs each
// scenario in a child process).
report explore(const std::function<execution()>& make, const options& opt);

// Fails the current execution with `what` (from a test thread or check).
[[noreturn]] void fail(const std::string& what);
inline void expect(bool ok, const char* what) {
  if (!ok) fail(what);
}

// Hooks for tsan_hooks.cpp and checker_platform.cpp. On a thread that is not
// a test thread of a running execution, they do nothing / return at once.
namespace hooks {
// Before an atomic operation: `what` names it, `address` is its object and
// `code` the instruction after the call (for traces).
// `writes`: the operation may modify the object (every one but a load).
void point(const char* what, const volatile void* address, const void* code,
           bool writes) noexcept;
// platform::wait / wait_masked: blocks while `*word == expected`,
// listening for the bits of `mask` (~0u for a plain wait); false if the
// scheduler let the (finite) deadline pass.
bool wait(const volatile std::uint32_t* word, std::uint32_t expected, std::uint32_t mask,
          bool timed, const void* code) noexcept;
// platform::wake_one / wake_all / wake_masked, as Linux's futex does them:
// wakes the longest blocked waiter of `word` whose mask shares a bit with
// `mask` (~0u: any), or every such waiter if `all`.
void wake(const volatile std::uint32_t* word, std::uint32_t mask, bool all,
          const void* code) noexcept;
// platform::yield.
void yield() noexcept;
// Whether the caller is a test thread of a running execution.
bool active() noexcept;
}  // namespace hooks

}  // namespace beacon::checker
