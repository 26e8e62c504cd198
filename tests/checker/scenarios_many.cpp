// Checker scenarios: wait_any / when_any (beacon/wait_many.hpp): one
// multi-waiter queued on several objects through one claimed word; and the
// atomic wait_all / when_all: holds taken in address order, an observer
// entry on the object that blocks it.
#include <memory>
#include <optional>
#include <variant>

#include "beacon/once_event.hpp"
#include "beacon/wait_many.hpp"
#include "checker.hpp"

namespace beacon::checker {
namespace {

struct any_state {
  auto_reset_event a;
  auto_reset_event b;
  auto_reset_event go;
  std::optional<std::size_t> got;
  bool taken1 = false;
  task waiter;
  task driver;
};

// Two setters race for one wait_any: it takes exactly one signal; the other
// stays set (a grant that arrives after the win is passed on, not dropped).
const registrar any_two_setters{
    {"wait_any: vs two setters", 3, [] {
       auto s = std::make_shared<any_state>();
       return execution{
           {[s] { s->got = wait_any(s->a, s->b); }, [s] { s->a.set(); },
            [s] { s->b.set(); }},
           [s] {
             const int left = int{s->a.try_wait()} + int{s->b.try_wait()};
             expect(s->got.has_value(), "the waiter returned nothing");
             expect(left == 1, left == 0 ? "a signal was lost" : "a signal was doubled");
           }};
     }}};

// A timed wait_any that may give up while a set grants it: the signal is
// either taken (and reported) or still there, never both, never neither.
const registrar any_timed{
    {"wait_any: times out while granted", 3, [] {
       auto s = std::make_shared<any_state>();
       return execution{
           {[s] { s->got = wait_any_for(timed, s->a, s->b); }, [s] { s->a.set(); }}, [s] {
             const bool left = s->a.try_wait();
             expect(!s->b.try_wait(), "b set from nowhere");
             expect(s->got.has_value() != left,
                    s->got ? "signal doubled: taken and still set"
                           : "signal lost by a timed-out wait_any");
             expect(!s->got || *s->got == 0, "the wrong index");
           }};
     }}};

task await_any(any_state& s) { s.got = co_await when_any(s.a, s.b); }

// A driver coroutine, resumed by `go`, grants `a` to the when_any coroutine
// (its resumption then pends on the driver's thread) and destroys it at once
// (as a when_any of coroutines would); meanwhile a timed single waiter
// queues on `a` too. The signal is passed on: taken by the single waiter or
// still set, exactly once; the destroyed coroutine took nothing.
task drive(any_state& s) {
  co_await s.go;
  s.a.set();
  s.waiter.destroy();
}

const registrar any_coroutine_cancelled{
    {"when_any: coroutine destroyed after a grant", 3, [] {
       auto s = std::make_shared<any_state>();
       s->waiter = await_any(*s);
       s->driver = drive(*s);
       return execution{
           {[s] { s->go.set(); }, [s] { s->taken1 = s->a.wait_for(timed); }}, [s] {
             const int n = int{s->taken1} + int{s->a.try_wait()};
             expect(!s->got, "a destroyed coroutine reported a result");
             expect(n == 1, n == 0 ? "a grant was lost" : "a grant was doubled");
             expect(
                 parking_lot::queued(&detail::waitable_access::core(s->a).word()) == 0 &&
                     parking_lot::queued(&detail::waitable_access::core(s->b).word()) ==
                         0,
                 "an entry stayed queued");
           }};
     }}};

struct all_state {
  auto_reset_event a{state::set};
  auto_reset_event b{state::set};
  auto_reset_event c{state::set};
  manual_reset_event m{state::set};
  bool got1 = false, got2 = false, took_a = false, took_b = false;
  task waiter;
};

// A wait_all(a, b) races a thread that takes a, then b, with try_wait. The
// wait_all takes both at one instant or neither, so the taker sees both or
// neither: never a taken by the wait_all and b still there (pevents #9).
const registrar all_vs_try_wait{
    {"wait_all: vs a try_wait on one of its objects", 3, [] {
       auto s = std::make_shared<all_state>();
       return execution{
           {[s] { s->got1 = wait_all_for(timed, s->a, s->b); },
            [s] {
              s->took_a = s->a.try_wait();
              s->took_b = s->b.try_wait();
            }},
           [s] {
             expect(s->took_a == s->took_b, "a partial acquisition was observed");
             expect(s->got1 != s->took_a,
                    s->got1 ? "a signal was doubled" : "a signal was lost");
             expect(!s->a.try_wait() && !s->b.try_wait(), "a signal was left behind");
           }};
     }}};

// Two wait_alls on overlapping sets, (a, b) and (b, c): b goes to one of them;
// the other times out having taken nothing.
const registrar all_vs_all{
    {"wait_all: vs wait_all on overlapping sets", 3, [] {
       auto s = std::make_shared<all_state>();
       return execution{
           {[s] { s->got1 = wait_all_for(timed, s->a, s->b); },
            [s] { s->got2 = wait_all_for(timed, s->c, s->b); }},
           [s] {
             expect(!(s->got1 && s->got2), "b was acquired twice");
             expect(s->a.try_wait() != s->got1, "a: taken without b, or lost");
             expect(s->c.try_wait() != s->got2, "c: taken without b, or lost");
             expect(s->b.try_wait() != (s->got1 || s->got2), "b lost or doubled");
           }};
     }}};

// A blocked wait_all(a, b) and two setters: it is woken (a lost notification
// deadlocks) and takes both.
const registrar all_two_setters{
    {"wait_all: vs two setters", 3, [] {
       auto s = std::make_shared<all_state>();
       s->a.reset();
       s->b.reset();
       return execution{
           {[s] { wait_all(s->a, s->b); }, [s] { s->a.set(); }, [s] { s->b.set(); }},
           [s] {
             expect(!s->a.try_wait() && !s->b.try_wait(), "a signal was doubled");
             expect(
                 parking_lot::queued(&detail::waitable_access::core(s->a).word()) == 0 &&
                     parking_lot::queued(&detail::waitable_access::core(s->b).word()) ==
                         0,
                 "an entry stayed queued");
           }};
     }}};

// A manual-reset event must be set at the wait_all's instant: a reset
// followed by a try_wait on the other object cannot both miss the wait_all's
// acquisition and find the signal gone.
const registrar all_manual_reset{
    {"wait_all: manual-reset set at that instant (vs reset)", 3, [] {
       auto s = std::make_shared<all_state>();
       return execution{{[s] { s->got1 = wait_all_for(timed, s->m, s->a); },
                         [s] {
                           s->m.reset();
                           s->took_a = s->a.try_wait();
                         }},
                        [s] {
                          expect(s->got1 != s->took_a, s->got1
                                                           ? "acquired after the reset"
                                                           : "a signal was lost");
                        }};
     }}};

task await_all(all_state& s) {
  co_await when_all(s.a, s.b);
  s.got1 = true;
}

// A when_all coroutine and two setters: the setter that completes the set
// acquires both for it and resumes it, exactly once.
const registrar all_coroutine{{"when_all: vs two setters", 3, [] {
                                 auto s = std::make_shared<all_state>();
                                 s->a.reset();
                                 s->b.reset();
                                 s->waiter = await_all(*s);
                                 return execution{
                                     {[s] { s->a.set(); }, [s] { s->b.set(); }}, [s] {
                                       expect(s->got1, "the coroutine was not resumed");
                                       expect(!s->a.try_wait() && !s->b.try_wait(),
                                              "a signal was doubled");
                                     }};
                               }}};

// once_event receivers among the objects: the sender's transition meets the
// multi-waiter's entry on the event's word (claims the group, or skips it
// when the other object won: the value then stays in the event).
struct rx_state {
  auto_reset_event a;
  using channel = decltype(make_once<int>());
  channel ch{make_once<int>()};
  std::optional<std::size_t> got;
  int value = -1;
};

// A setter and a sender race for one wait_any: exactly one object is
// acquired; the other stays available (the set in the event, the value in
// the receiver).
const registrar any_receiver{
    {"wait_any: receiver vs a setter", 3, [] {
       auto s = std::make_shared<rx_state>();
       return execution{
           {[s] {
              auto r = wait_any(s->a, s->ch.receiver);
              s->got = r.index();
              if (r.index() == 1) s->value = std::get<1>(r);
            },
            [s] { s->a.set(); }, [s] { std::move(s->ch.sender).send(7); }},
           [s] {
             expect(s->got.has_value(), "the waiter returned nothing");
             const bool set_left = s->a.try_wait();
             const bool value_left = s->ch.receiver.valid();
             if (*s->got == 0) {
               expect(!set_left, "the signal was doubled");
               expect(value_left && s->ch.receiver.receive() == 7,
                      "the value was lost by a wait_any that did not pick it");
             } else {
               expect(s->value == 7 && !value_left, "the value was not received once");
               expect(set_left, "the signal was lost");
             }
           }};
     }}};

// wait_all over an event and a receiver, with the set and the send racing:
// both acquired at once, the value received once.
const registrar all_receiver{
    {"wait_all: receiver and event vs sender and setter", 3, [] {
       auto s = std::make_shared<rx_state>();
       return execution{{[s] { s->value = std::get<1>(wait_all(s->a, s->ch.receiver)); },
                         [s] { s->a.set(); }, [s] { std::move(s->ch.sender).send(7); }},
                        [s] {
                          expect(s->value == 7, "the value was not received");
                          expect(!s->a.try_wait(), "the signal was doubled");
                          expect(!s->ch.receiver.valid(),
                                 "the receiver was not consumed");
                        }};
     }}};

}  // namespace
}  // namespace beacon::checker
