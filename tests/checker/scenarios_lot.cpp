// Checker scenarios: the parking lot itself (park / unpark / time-out and
// the coroutine entries' cancel), driven through its public API.
#include <atomic>
#include <coroutine>
#include <cstdint>
#include <memory>

#include "beacon/parking_lot.hpp"
#include "checker.hpp"

namespace beacon::checker {
namespace {

namespace lot = beacon::parking_lot;

struct lot_state {
  std::atomic<std::uint32_t> word{0};
  lot::park_result parked{};
  lot::unpark_result unparked{};
};

// An unpark racing a parker's time-out: the parker reports `unparked`
// exactly when the unparker says it woke someone, and gets its token.
const registrar unpark_vs_timeout{
    {"parking_lot: unpark_one vs timed park", 3, [] {
       auto s = std::make_shared<lot_state>();
       return execution{
           {[s] {
              s->parked = lot::park(
                  &s->word, [] { return true; }, [] {}, [](bool) {}, lot::default_token,
                  deadline::after(timed));
            },
            [s] {
              s->unparked =
                  lot::unpark_one(&s->word, [](lot::unpark_result) { return 7; });
            }},
           [s] {
             const bool woke = s->parked.status == lot::park_status::unparked;
             expect(woke == (s->unparked.unparked == 1),
                    "park and unpark disagree on who woke whom");
             expect(!woke || s->parked.unpark_token == 7, "unpark token lost");
             expect(lot::queued(&s->word) == 0, "an entry was left queued");
           }};
     }}};

// The gate of parking_lot.hpp's example (a flag and a parked bit, validated
// under the queue lock), opened while one waiter parks and another times out.
struct gate_state {
  std::atomic<std::uint8_t> state{0};  // bit 0: open; bit 1: a thread is parked
  bool through0 = false;
  bool through1 = false;

  void open() {
    if (state.exchange(1, std::memory_order_release) & 2) lot::unpark_all(&state);
  }
  bool wait(deadline until) {
    while (!(state.load(std::memory_order_acquire) & 1)) {
      const lot::park_result r = lot::park(
          &state,
          [&] {
            std::uint8_t v = state.load(std::memory_order_relaxed);
            do {
              if (v & 1) return false;
            } while (!state.compare_exchange_weak(v, static_cast<std::uint8_t>(v | 2),
                                                  std::memory_order_relaxed));
            return true;
          },
          [] {}, [](bool) {}, lot::default_token, until);
      if (r.status == lot::park_status::timed_out)
        return (state.load(std::memory_order_acquire) & 1) != 0;
    }
    return true;
  }
};

const registrar gate{
    {"parking_lot: unpark_all vs park vs timed park", 2, [] {
       auto s = std::make_shared<gate_state>();
       return execution{
           {[s] { s->through0 = s->wait(deadline::never()); },
            [s] { s->through1 = s->wait(deadline::after(timed)); }, [s] { s->open(); }},
           [s] {
             expect(s->through0, "the untimed waiter was not released");
             expect(lot::queued(&s->state) == 0, "an entry was left queued");
           }};
     }}};

// A rehash racing a park and an unpark: the gate's untimed waiter must be
// released whichever table it queued in and whichever the opener searched
// (a lost wake-up is a deadlock). The table is made small (4 buckets) before
// the threads start, so that the rehash's locking of every bucket is a few
// scheduling points; the tables retired by the previous schedule are freed
// then, while no thread is inside the lot. The gate is one whose address
// falls in bucket 0 of both tables, so that every run (and a replay, in
// another process) contends on the same buckets: the schedules are the same.
// The `k`th gate (from 0) of a static array whose address falls in bucket 0.
gate_state* gate_in_bucket_zero(int k = 0) {
  static gate_state slots[256];
  for (gate_state& g : slots) {
    const auto h =
        reinterpret_cast<std::uintptr_t>(&g.state) * UINT64_C(0x9E3779B97F4A7C15);
    if (h >> 61 == 0 && k-- == 0) return std::construct_at(&g);
  }
  fail("not enough gates in bucket 0");
}

execution rehash_race_on(gate_state* s) {
  return {{[s] { s->through0 = s->wait(deadline::never()); }, [s] { s->open(); },
           [] { lot::detail::rehash_for_testing(8); }},
          [s] {
            expect(s->through0, "the waiter was not released");
            expect(lot::queued(&s->state) == 0, "an entry was left queued");
            expect(lot::detail::bucket_count_for_testing() == 8,
                   "the rehash did not happen");
          }};
}

const registrar rehash_race{{"parking_lot: rehash vs park vs unpark", 2, [] {
                               lot::detail::rehash_for_testing(4);
                               lot::detail::free_retired_tables_for_testing();
                               return rehash_race_on(gate_in_bucket_zero());
                             }}};

// The same with the gate's queue beyond its bucket's three slots
// (src/parking_lot.cpp, bucket): three coroutine entries on other addresses
// of bucket 0 are queued before the threads start, so the waiter's queue is
// made in the overflow chain; the rehash moves it from there, and the
// opener finds it there or in the new table. The fillers are withdrawn
// after the run, and must all still be queued.
const registrar rehash_overflow_race{
    {"parking_lot: rehash vs park vs unpark, queue in the overflow chain", 2, [] {
       lot::detail::rehash_for_testing(4);
       lot::detail::free_retired_tables_for_testing();
       gate_state* s = gate_in_bucket_zero(0);
       static lot::waiter fillers[3];
       for (int i = 0; i < 3; ++i)
         if (!lot::park_async(
                 &gate_in_bucket_zero(i + 1)->state, [] { return true; }, fillers[i],
                 std::noop_coroutine(), lot::default_token))
           fail("a filler did not queue");
       execution run = rehash_race_on(s);
       run.check = [s, check = std::move(run.check)] {
         int withdrawn = 0;
         for (lot::waiter& f : fillers)
           withdrawn += lot::cancel(f, [](bool) {}) == lot::cancel_status::removed;
         check();
         expect(withdrawn == 3, "a queue of the crowded bucket was lost");
       };
       return run;
     }}};

// Coroutine entries: two coroutines queued on one address before the
// threads start; the first to be resumed withdraws the other (the when_any
// pattern), on the resuming thread, while a thread parks and times out on
// the same address. The withdrawn coroutine never runs, and cancel() says
// whether the wake had already chosen it (woken: unpark_all) or not
// (removed: unpark_one); never not_waiting, as both were queued.
struct when_any_state {
  std::atomic<std::uint32_t> word{0};
  lot::waiter entry[2];
  int resumed[2] = {0, 0};
  lot::cancel_status cancelled[2] = {lot::cancel_status::not_waiting,
                                     lot::cancel_status::not_waiting};
  task coroutine[2];
  lot::park_result parked{};
  std::size_t woken = 0;
};

struct park_awaiter {
  when_any_state& s;
  int i;
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    return lot::park_async(
        &s.word, [] { return true; }, s.entry[i], h);
  }
  void await_resume() const noexcept {}
};

task racer(when_any_state& s, int i) {
  co_await park_awaiter{s, i};
  ++s.resumed[i];
  if (s.resumed[1 - i] != 0) co_return;
  s.cancelled[1 - i] = lot::cancel(s.entry[1 - i], [](bool) {});
  expect(s.cancelled[1 - i] != lot::cancel_status::not_waiting,
         "cancel() missed an entry that was queued or about to be resumed");
}

execution when_any_execution(bool all) {
  auto s = std::make_shared<when_any_state>();
  for (int i = 0; i < 2; ++i)
    s->coroutine[i] = racer(*s, i);
  return execution{
      {[s] {
         s->parked = lot::park(
             &s->word, [] { return true; }, [] {}, [](bool) {}, lot::default_token,
             deadline::after(timed));
       },
       [s, all] {
         s->woken = all ? lot::unpark_all(&s->word) : lot::unpark_one(&s->word).unparked;
       }},
      [s, all] {
        expect(s->resumed[0] == 1, "the first coroutine did not run once");
        expect(s->resumed[1] == 0, "a withdrawn coroutine ran");
        expect(s->cancelled[1] ==
                   (all ? lot::cancel_status::woken : lot::cancel_status::removed),
               "cancel() misreported the entry it withdrew");
        const bool thread_woken = s->parked.status == lot::park_status::unparked;
        expect(!thread_woken || all, "unpark_one woke two waiters");
        expect(s->woken == (all ? 2u : 1u) + (thread_woken ? 1u : 0u),
               "unpark counted wrong");
        expect(lot::queued(&s->word) == 0, "an entry was left queued");
      }};
}

const registrar when_any_all{
    {"parking_lot: coroutines, unpark_all vs cancel vs timed park", 3,
     [] { return when_any_execution(true); }}};
const registrar when_any_one{
    {"parking_lot: coroutines, unpark_one vs cancel vs timed park", 3,
     [] { return when_any_execution(false); }}};

// Wake slots (src/parking_lot.cpp): the gate's unpark_all wakes the threads
// parked on it with one wake of their slot, while the second one's park may
// time out, after which it waits on another gate whose address shares the
// slot (with the same bit as the first thread, so every wake of one reaches
// the other: spurious wake-ups, which it must sleep through until its own
// time-out). The untimed waiter must be released (a lost wake-up is a
// deadlock), and a timed one that was dequeued must take its wake.
struct slot_mate_gates {
  gate_state gates[257];
  gate_state* a = nullptr;
  gate_state* b = nullptr;  // shares a's wake slot
  bool through_b = false;
  slot_mate_gates() {
    for (int i = 0; i < 257 && !b; ++i)
      for (int j = 0; j < i && !b; ++j)
        if (lot::detail::wake_slot_for_testing(&gates[i].state) ==
            lot::detail::wake_slot_for_testing(&gates[j].state)) {
          a = &gates[j];
          b = &gates[i];
        }
  }
};

const registrar wake_slot_race{
    {"parking_lot: wake slot, unpark_all vs timed park vs slot mate", 2, [] {
       auto s = std::make_shared<slot_mate_gates>();
       if (!s->b) fail("no two gates share a wake slot");
       return execution{
           {[s] {
              lot::detail::set_wake_bit_for_testing(0);
              s->a->through0 = s->a->wait(deadline::never());
            },
            [s] {
              lot::detail::set_wake_bit_for_testing(0);
              s->a->through1 = s->a->wait(deadline::after(timed));
              s->through_b = s->b->wait(deadline::after(timed));
            },
            [s] { s->a->open(); }},
           [s] {
             expect(s->a->through0, "the untimed waiter was not released");
             expect(!s->through_b, "the slot mate's gate let a waiter through");
             expect(lot::queued(&s->a->state) == 0 && lot::queued(&s->b->state) == 0,
                    "an entry was left queued");
           }};
     }}};

}  // namespace
}  // namespace beacon::checker
