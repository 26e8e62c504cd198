// Checker scenarios: wait_any / when_any (beacon/wait_many.hpp): one
// multi-waiter queued on several objects through one claimed word.
#include <memory>
#include <optional>

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

}  // namespace
}  // namespace beacon::checker
