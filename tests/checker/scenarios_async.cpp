// Checker scenarios: event_count (notifications passed on by waiters that
// give up) and once_event (send / drop / receive / await, and who frees).
#include <atomic>
#include <memory>
#include <optional>

#include "beacon/event_count.hpp"
#include "beacon/once_event.hpp"
#include "checker.hpp"

namespace beacon::checker {
namespace {

// Items guarded by an event_count: a waiter's predicate takes one.
struct ec_state {
  event_count ec;
  std::atomic<int> items{0};
  int taken0 = 0;
  int taken1 = 0;

  std::optional<int> take() {
    int n = items.load(std::memory_order_acquire);
    while (n > 0)
      if (items.compare_exchange_weak(n, n - 1, std::memory_order_acquire)) return n;
    return std::nullopt;
  }
  void produce() {
    items.fetch_add(1, std::memory_order_release);
    ec.notify_one();
  }
};

// One item, one waiter: it always gets it.
const registrar ec_untimed{
    {"event_count: notify vs waiter", 3, [] {
       auto s = std::make_shared<ec_state>();
       return execution{{[s] {
                           s->ec.wait([&] { return s->take(); });
                           s->taken0 = 1;
                         },
                         [s] { s->produce(); }},
                        [s] {
                          expect(s->taken0 == 1 && s->items.load() == 0,
                                 "item lost or doubled");
                          expect(s->ec.waiters() == 0, "a waiter stayed registered");
                        }};
     }}};

// One item, one timed waiter: the item is taken by the waiter or left, once.
const registrar ec_timed{
    {"event_count: notify vs timed waiter", 3, [] {
       auto s = std::make_shared<ec_state>();
       return execution{
           {[s] { s->taken0 = s->ec.wait_for(timed, [&] { return s->take(); }) ? 1 : 0; },
            [s] { s->produce(); }},
           [s] {
             const int n = s->taken0 + s->items.load();
             expect(n == 1, n == 0 ? "item lost" : "item doubled");
             expect(s->ec.waiters() == 0, "a waiter stayed registered");
           }};
     }}};

// Two items, a waiter that may give up and one that does not: a
// notification that reached the one giving up is passed on, so the untimed
// waiter always gets its item.
const registrar ec_pass_on{
    {"event_count: notify, notify vs timed waiter vs waiter", 2, [] {
       auto s = std::make_shared<ec_state>();
       return execution{
           {[s] { s->taken0 = s->ec.wait_for(timed, [&] { return s->take(); }) ? 1 : 0; },
            [s] {
              s->ec.wait([&] { return s->take(); });
              s->taken1 = 1;
            },
            [s] {
              s->produce();
              s->produce();
            }},
           [s] {
             const int n = s->taken0 + s->taken1 + s->items.load();
             expect(n == 2, n < 2 ? "item lost" : "item doubled");
             expect(s->ec.waiters() == 0, "a waiter stayed registered");
           }};
     }}};

// Counts constructions and destructions of the values sent: each value is
// destroyed exactly once on every path.
struct counted {
  static inline int alive = 0;
  int v;
  explicit counted(int x) : v(x) { ++alive; }
  counted(counted&& o) noexcept : v(o.v) { ++alive; }
  counted& operator=(counted&&) = delete;
  ~counted() { --alive; }
};

using channel = decltype(make_once<counted>());

struct once_state {
  std::optional<channel> ch{make_once<counted>()};
  int received = -1;
  bool broken = false;
  task coroutine;
  once_state() { counted::alive = 0; }
};

void send(once_state& s) { std::move(s.ch->sender).send(counted{42}); }

const registrar once_send{
    {"once_event: send vs receive", 3, [] {
       auto s = std::make_shared<once_state>();
       return execution{
           {[s] { send(*s); }, [s] { s->received = s->ch->receiver.receive().v; }}, [s] {
             expect(s->received == 42, "wrong value received");
             s->ch.reset();
             expect(counted::alive == 0, "a value was not destroyed once");
           }};
     }}};

const registrar once_sender_drop{
    {"once_event: sender dropped vs receive", 3, [] {
       auto s = std::make_shared<once_state>();
       return execution{
           {[s] { [[maybe_unused]] auto gone = std::move(s->ch->sender); },
            [s] {
              try {
                s->received = s->ch->receiver.receive().v;
              } catch (const disconnected&) {
                s->broken = true;
              }
            }},
           [s] { expect(s->broken, "the receiver missed the sender's drop"); }};
     }}};

const registrar once_receiver_drop{
    {"once_event: send vs receiver dropped", 3, [] {
       auto s = std::make_shared<once_state>();
       return execution{
           {[s] { send(*s); },
            [s] { [[maybe_unused]] auto gone = std::move(s->ch->receiver); }},
           [s] {
             s->ch.reset();
             expect(counted::alive == 0, "a value was not destroyed once");
           }};
     }}};

// A timed receive racing the send: the value arrives exactly once, by that
// receive or by the next one.
const registrar once_timed{
    {"once_event: send vs timed receive", 3, [] {
       auto s = std::make_shared<once_state>();
       return execution{{[s] { send(*s); },
                         [s] {
                           std::optional<counted> v = s->ch->receiver.receive_for(timed);
                           s->received = v ? v->v : s->ch->receiver.receive().v;
                         }},
                        [s] {
                          expect(s->received == 42, "wrong value received");
                          s->ch.reset();
                          expect(counted::alive == 0, "a value was not destroyed once");
                        }};
     }}};

task await_value(once_state& s) { s.received = (co_await std::move(s.ch->receiver)).v; }

// A coroutine receiver suspended (or not) while the value is sent: it is
// resumed once, on the sender's thread, with the value.
const registrar once_await{
    {"once_event: send vs co_await", 3, [] {
       auto s = std::make_shared<once_state>();
       return execution{{[s] { send(*s); }, [s] { s->coroutine = await_value(*s); }},
                        [s] {
                          expect(s->coroutine.finished() && s->received == 42,
                                 "the coroutine did not get the value");
                          s->coroutine.destroy();
                          s->ch.reset();
                          expect(counted::alive == 0, "a value was not destroyed once");
                        }};
     }}};

}  // namespace
}  // namespace beacon::checker
