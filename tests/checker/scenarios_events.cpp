// Checker scenarios: auto_reset_event and manual_reset_event (the
// parked-bit protocol of detail/parked_wait.hpp on the parking lot).
#include <memory>

#include "beacon/auto_reset_event.hpp"
#include "beacon/manual_reset_event.hpp"
#include "checker.hpp"

namespace beacon::checker {
namespace {

struct auto_state {
  auto_reset_event e;
  auto_reset_event ack;
  bool got0 = false;
  bool got1 = false;
};

// One set, one waiter: the signal is consumed exactly once.
const registrar auto_set_wait{
    {"auto_reset: set vs wait", 3, [] {
       auto s = std::make_shared<auto_state>();
       return execution{{[s] {
                           s->e.wait();
                           s->got0 = true;
                         },
                         [s] { s->e.set(); }},
                        [s] {
                          expect(s->got0, "the waiter returned without the signal");
                          expect(!s->e.try_wait(), "the signal was consumed twice");
                        }};
     }}};

// A timed wait that may give up: either it took the signal, or the signal
// is still there, never both and never neither.
const registrar auto_timed{
    {"auto_reset: set vs timed-out wait", 3, [] {
       auto s = std::make_shared<auto_state>();
       return execution{
           {[s] { s->got0 = s->e.wait_for(timed); }, [s] { s->e.set(); }}, [s] {
             const bool left = s->e.try_wait();
             expect(s->got0 != left, s->got0 ? "signal doubled: taken and still set"
                                             : "signal lost by a timed-out wait");
           }};
     }}};

// Two waiters (one timed) and two signals, the second sent once the first
// was taken: exactly two are consumed or left.
const registrar auto_two{
    {"auto_reset: two waiters (one timed), two sets", 2, [] {
       auto s = std::make_shared<auto_state>();
       return execution{
           {[s] {
              s->e.wait();
              s->got0 = true;
              s->ack.set();
            },
            [s] {
              s->got1 = s->e.wait_for(timed);
              if (s->got1) s->ack.set();
            },
            [s] {
              s->e.set();
              s->ack.wait();
              s->e.set();
            }},
           [s] {
             const int n = int{s->got0} + int{s->got1} + int{s->e.try_wait()};
             expect(n == 2, n > 2 ? "a signal was doubled" : "a signal was lost");
           }};
     }}};

// reset() against a waiter: after set(); reset(), the event ends unset
// whether or not the waiter took the signal.
const registrar auto_reset{
    {"auto_reset: set, reset vs timed wait", 3, [] {
       auto s = std::make_shared<auto_state>();
       return execution{{[s] { s->got0 = s->e.wait_for(timed); },
                         [s] {
                           s->e.set();
                           s->e.reset();
                         }},
                        [s] { expect(!s->e.try_wait(), "set after set(); reset()"); }};
     }}};

struct manual_state {
  manual_reset_event e;
  bool got0 = false;
  bool got1 = false;
};

// A broadcast reaches every waiter.
const registrar manual_set{
    {"manual_reset: set wakes every waiter", 2, [] {
       auto s = std::make_shared<manual_state>();
       return execution{{[s] {
                           s->e.wait();
                           s->got0 = true;
                         },
                         [s] {
                           s->e.wait();
                           s->got1 = true;
                         },
                         [s] { s->e.set(); }},
                        [s] {
                          expect(s->got0 && s->got1, "a waiter was not released");
                          expect(s->e.is_set(), "set() did not stay set");
                        }};
     }}};

// reset() racing a timed waiter and set(): the waiter may or may not see
// the set; the event ends as the last call left it.
const registrar manual_reset{
    {"manual_reset: set, reset vs timed wait", 3, [] {
       auto s = std::make_shared<manual_state>();
       return execution{{[s] { s->got0 = s->e.wait_for(timed); },
                         [s] {
                           s->e.set();
                           s->e.reset();
                         }},
                        [s] { expect(!s->e.is_set(), "set after set(); reset()"); }};
     }}};

// reset() then set() against an untimed waiter: the waiter must be released
// by the set, however the reset interleaves with its parking.
const registrar manual_reset_set{
    {"manual_reset: reset, set vs wait vs wait", 2, [] {
       auto s = std::make_shared<manual_state>();
       return execution{
           {[s] {
              s->e.wait();
              s->got0 = true;
            },
            [s] { s->got1 = s->e.wait_for(timed); },
            [s] {
              s->e.reset();
              s->e.set();
            }},
           [s] { expect(s->got0 && s->e.is_set(), "the waiter missed the set"); }};
     }}};

}  // namespace
}  // namespace beacon::checker
