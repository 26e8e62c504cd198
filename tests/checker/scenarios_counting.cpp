// Checker scenarios: countdown_event (broadcast at zero, made unset again by
// increment / reset) and semaphore (FIFO hand-off of permits).
#include <memory>
#include <optional>

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
  explicit semaphore_state(std::size_t initial, std::size_t max) : sem(initial, max) {}
  semaphore sem;
  bool got0 = false;
  bool got1 = false;
};

// A permit released while the only waiter times out is never lost (it is in
// the count or with the waiter) nor doubled (the waiter returned it once).
const registrar semaphore_timed{
    {"semaphore: release vs timed-out acquire", 3, [] {
       auto s = std::make_shared<semaphore_state>(0, 1);
       return execution{{[s] {
                           const std::optional<semaphore_guard> g =
                               s->sem.wait_for(timed);
                           s->got0 = g.has_value();
                         },
                         [s] { s->sem.release(1); }},
                        [s] {
                          expect(s->sem.count() == 1,
                                 s->sem.count() == 0 ? "permit lost" : "permit doubled");
                        }};
     }}};

// Two waiters, one timed, and two releases: the untimed waiter always gets
// through, permits held never exceed max(), and both come back.
const registrar semaphore_two{
    {"semaphore: release, release vs acquire vs timed acquire", 2, [] {
       auto s = std::make_shared<semaphore_state>(0, 2);
       return execution{{[s] {
                           const semaphore_guard g = s->sem.wait();
                           s->got0 = true;
                         },
                         [s] {
                           const std::optional<semaphore_guard> g =
                               s->sem.wait_for(timed);
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
     }}};

// try_wait cannot take a permit handed to a sleeping waiter (FIFO hand-off):
// whoever holds it, exactly one permit exists.
const registrar semaphore_barging{
    {"semaphore: release vs try_wait vs acquire", 2, [] {
       auto s = std::make_shared<semaphore_state>(0, 1);
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
                          expect(s->sem.count() == 1,
                                 s->sem.count() == 0 ? "permit lost" : "permit doubled");
                        }};
     }}};

}  // namespace
}  // namespace beacon::checker
