// Checker scenarios: countdown_event (broadcast at zero, made unset again by
// increment / reset) and semaphore (both policies: FIFO hand-off of permits,
// and eventual fairness's barging).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "beacon/countdown_event.hpp"
#include "beacon/semaphore.hpp"
#include "checker.hpp"

namespace beacon::checker {
namespace {

struct countdown_state {
  explicit countdown_state(std::size_t n) : cd(n) {}
  countdown_event cd;
  bool released = false;
};

// The last of two ticks releases the waiter.
const registrar countdown_ticks{
    {"countdown: tick vs tick vs wait", 2, [] {
       auto s = std::make_shared<countdown_state>(2);
       return execution{{[s] {
                           s->cd.wait();
                           s->released = true;
                         },
                         [s] { s->cd.tick(); }, [s] { s->cd.tick(); }},
                        [s] {
                          expect(s->released, "the waiter was not released");
                          expect(s->cd.count() == 0, "a tick was lost");
                        }};
     }}};

// increment() racing the ticks: the count ends at zero and the waiter is
// released (perhaps at the first zero, perhaps at the last).
const registrar countdown_increment{
    {"countdown: increment, tick vs tick vs wait", 2, [] {
       auto s = std::make_shared<countdown_state>(1);
       return execution{{[s] {
                           s->cd.wait();
                           s->released = true;
                         },
                         [s] {
                           s->cd.increment(1);
                           s->cd.tick();
                         },
                         [s] { s->cd.tick(); }},
                        [s] {
                          expect(s->released, "the waiter was not released");
                          expect(s->cd.count() == 0, "the count is off");
                        }};
     }}};

// reset(n > 0) after zero makes the countdown unset again; a timed waiter
// racing it ends either way, and a waiter that returns saw zero.
const registrar countdown_reset{{"countdown: tick, reset, tick vs timed wait", 3, [] {
                                   auto s = std::make_shared<countdown_state>(1);
                                   return execution{
                                       {[s] { s->released = s->cd.wait_for(timed); },
                                        [s] {
                                          s->cd.tick();
                                          s->cd.reset(1);
                                          s->cd.tick();
                                        }},
                                       [s] {
                                         expect(s->cd.count() == 0, "the count is off");
                                         expect(s->cd.try_wait(), "zero but not set");
                                       }};
                                 }}};

struct semaphore_state {
  semaphore_state(std::size_t initial, std::size_t max, fairness policy)
      : sem(initial, max, policy) {}
  semaphore sem;
  bool got0 = false;
  bool got1 = false;
};

// Each semaphore scenario runs for both policies: "semaphore (fifo): ..."
// and "semaphore (eventual): ...". The eventual policy's hand-off decision
// reads the clock and the lot's randomised be_fair timer, which would make
// schedules replay differently; here it never hands off, so the eventual
// scenarios check its new path (permits to the count, woken waiters compete
// with running threads, re-park on failure) and the fifo ones the hand-off.
const bool deterministic_hand_off = [] {
  detail::semaphore_core::hand_off_rule = [](bool, std::int64_t) { return false; };
  return true;
}();

std::string semaphore_name(fairness policy, const char* what) {
  return std::string(policy == fairness::fifo ? "semaphore (fifo): "
                                              : "semaphore (eventual): ") +
         what;
}

// A permit released while the only waiter times out is never lost (it is in
// the count or with the waiter) nor doubled (the waiter returned it once).
scenario semaphore_timed(fairness policy) {
  return {semaphore_name(policy, "release vs timed-out acquire"), 3, [policy] {
            auto s = std::make_shared<semaphore_state>(0, 1, policy);
            return execution{
                {[s] {
                   const std::optional<semaphore_guard> g = s->sem.wait_for(timed);
                   s->got0 = g.has_value();
                 },
                 [s] { s->sem.release(1); }},
                [s] {
                  expect(s->sem.count() == 1,
                         s->sem.count() == 0 ? "permit lost" : "permit doubled");
                }};
          }};
}

// Two waiters, one timed, and two releases: the untimed waiter always gets
// through, permits held never exceed max(), and both come back.
scenario semaphore_two(fairness policy) {
  return {semaphore_name(policy, "release, release vs acquire vs timed acquire"), 2,
          [policy] {
            auto s = std::make_shared<semaphore_state>(0, 2, policy);
            return execution{
                {[s] {
                   const semaphore_guard g = s->sem.wait();
                   s->got0 = true;
                 },
                 [s] {
                   const std::optional<semaphore_guard> g = s->sem.wait_for(timed);
                   s->got1 = g.has_value();
                 },
                 [s] {
                   s->sem.release(1);
                   s->sem.release(1);
                 }},
                [s] {
                  expect(s->got0, "the waiter was not released");
                  expect(s->sem.count() == 2,
                         s->sem.count() < 2 ? "permit lost" : "permit doubled");
                }};
          }};
}

// try_wait racing a waiter for a released permit. fifo: it cannot take a
// permit handed to a sleeping waiter. eventual: it may take it (barging);
// the woken waiter then parks again and gets the permit when the barger's
// guard returns it. Either way the waiter gets through and exactly one
// permit exists at the end.
scenario semaphore_barging(fairness policy) {
  return {semaphore_name(policy, "release vs try_wait vs acquire"), 2, [policy] {
            auto s = std::make_shared<semaphore_state>(0, 1, policy);
            return execution{{[s] {
                                const semaphore_guard g = s->sem.wait();
                                s->got0 = true;
                              },
                              [s] {
                                s->sem.release(1);
                                std::optional<semaphore_guard> g = s->sem.try_wait();
                                s->got1 = g.has_value();
                              }},
                             [s] {
                               expect(s->got0, "the waiter was not released");
                               expect(s->sem.count() == 1, s->sem.count() == 0
                                                               ? "permit lost"
                                                               : "permit doubled");
                             }};
          }};
}

// eventual: two waiters and a thread that takes a permit with try_wait and
// gives it back. A woken waiter that finds the permit gone parks again and
// must still be woken by the later release (no lost wake-up on re-park).
scenario semaphore_repark(fairness policy) {
  return {semaphore_name(policy, "release vs try_wait, release vs acquire vs acquire"), 2,
          [policy] {
            auto s = std::make_shared<semaphore_state>(0, 1, policy);
            return execution{{[s] {
                                semaphore_guard g = s->sem.wait();
                                s->got0 = true;
                              },
                              [s] {
                                semaphore_guard g = s->sem.wait();
                                s->got1 = true;
                              },
                              [s] {
                                s->sem.release(1);
                                std::optional<semaphore_guard> g = s->sem.try_wait();
                              }},
                             [s] {
                               expect(s->got0 && s->got1, "a waiter was not released");
                               expect(s->sem.count() == 1, s->sem.count() == 0
                                                               ? "permit lost"
                                                               : "permit doubled");
                             }};
          }};
}

const registrar semaphore_scenarios[] = {
    registrar{semaphore_timed(fairness::fifo)},
    registrar{semaphore_timed(fairness::eventual)},
    registrar{semaphore_two(fairness::fifo)},
    registrar{semaphore_two(fairness::eventual)},
    registrar{semaphore_barging(fairness::fifo)},
    registrar{semaphore_barging(fairness::eventual)},
    registrar{semaphore_repark(fairness::fifo)},
    registrar{semaphore_repark(fairness::eventual)},
};

}  // namespace
}  // namespace beacon::checker
