// The parking lot's scale (issue 14 part 1, issue 13 item 12): what an
// unpark costs as the waiters of other addresses grow (Google Benchmark; see
// bench/harness.hpp).
//
// Scenarios, each a set() on an auto_reset_event that resumes the coroutine
// awaiting it (which awaits again), in ns per set():
//   1. one coroutine per event, N events parked (N = 1k ... 262k), the
//      events set in a random order, and again in the order they were
//      created (what a prefetcher can follow); the peer is the same at 1k
//      events, so the ratio is the growth of the cost with N (goal: at most
//      2x). Two floors beside it: "memory floor", the same coroutines
//      (frames of the same size) resumed in the same order with no event and
//      no lot, what touching N frames costs; "lot floor", the same with the
//      least an address-keyed lot must do (find the address in a flat table
//      without a lock, take the coroutine out, resume it, put it back);
//   2. the event shares its bucket with an address that has 100k coroutine
//      waiters; the peer is the same with no other waiter (goal: 1x).
// And the cost of looking (issue 17, beacon/inspect.hpp), in ns per call:
//   3. describe_waiters() with 10k coroutines parked, one per event; the
//      peer is for_each_waiter's snapshot alone (no text).
#include <algorithm>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "../tests/support/bucket_mate.hpp"
#include "beacon/auto_reset_event.hpp"
#include "beacon/inspect.hpp"
#include "beacon/parking_lot.hpp"
#include "harness.hpp"

namespace {

// A coroutine that starts at once and is destroyed by its owner.
class loop_task {
 public:
  struct promise_type {
    loop_task get_return_object() {
      return loop_task{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
  loop_task(loop_task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  ~loop_task() {
    if (h_) h_.destroy();  // withdraws its entry from the lot
  }

 private:
  explicit loop_task(std::coroutine_handle<promise_type> h) : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

loop_task await_forever(beacon::auto_reset_event& e) {
  for (;;)
    co_await e;
}

// Scenario 1 and its floor: n coroutines, each started on its own object
// by `start(object)`; per iteration `wake(object)` on one of them, all n
// in turn, in one fixed random order or in the order of creation.
enum class visit { random, in_order };

template <class Object, class Start, class Wake>
void each_in_turn(benchmark::State& state, std::size_t n, visit order_of, Start start,
                  Wake wake) {
  std::vector<Object> objects(n);
  std::vector<loop_task> tasks;
  tasks.reserve(n);
  for (auto& o : objects)
    tasks.push_back(start(o));
  std::vector<std::uint32_t> order(n);
  for (std::size_t i = 0; i < n; ++i)
    order[i] = static_cast<std::uint32_t>(i);
  if (order_of == visit::random)
    std::shuffle(order.begin(), order.end(), std::mt19937{42});
  std::size_t i = 0;
  for (auto _ : state) {
    wake(objects[order[i]]);
    if (++i == n) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

// Scenario 1: n events, one coroutine each.
void one_per_event(benchmark::State& state, std::size_t n, visit order_of) {
  each_in_turn<beacon::auto_reset_event>(
      state, n, order_of, [](beacon::auto_reset_event& e) { return await_forever(e); },
      [](beacon::auto_reset_event& e) { e.set(); });
}

// The floors' awaiter: hands the handle to `keep`, and is the size of the
// lot's entry, so the floors' frames are as large as await_forever's.
template <class Keep>
struct padded_awaiter {
  Keep keep;
  unsigned char pad[sizeof(beacon::parking_lot::waiter)];
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { keep(h); }
  void await_resume() const noexcept {}
};

// Scenario 1's memory floor: n coroutines, each suspended with its handle
// in a slot of its own, resumed in the same order.
loop_task suspend_forever(std::coroutine_handle<>& slot) {
  for (;;)
    co_await padded_awaiter{[&slot](std::coroutine_handle<> h) { slot = h; }, {}};
}

void plain_resume(benchmark::State& state, std::size_t n, visit order_of) {
  each_in_turn<std::coroutine_handle<>>(
      state, n, order_of, [](std::coroutine_handle<>& h) { return suspend_forever(h); },
      [](std::coroutine_handle<>& h) { h.resume(); });
}

// Scenario 1's second floor: what any address-keyed lot must do, with
// nothing else (no lock, no FIFO, no event state). A flat open-addressing
// table (linear probing, the lot's Fibonacci hash, at most half full) maps
// each object's address to the coroutine waiting on it; a wake looks the
// address up, empties its slot and resumes the coroutine, which puts itself
// back. What grows there is the cost of reaching a table entry and a frame
// when the table and the frames no longer fit in the caches.
class address_table {
 public:
  explicit address_table(std::size_t n) {
    while ((std::size_t{1} << bits_) < 2 * n)
      ++bits_;
    size_ = std::size_t{1} << bits_;
    slots_.resize(size_);
  }
  void put(const void* key, std::coroutine_handle<> h) {
    std::size_t i = home(key);
    while (slots_[i].key)
      i = (i + 1) & (size_ - 1);
    slots_[i] = {key, h};
  }
  std::coroutine_handle<> take(const void* key) {
    std::size_t i = home(key);
    while (slots_[i].key != key)
      i = (i + 1) & (size_ - 1);
    const std::coroutine_handle<> h = slots_[i].h;
    // Backward-shift deletion: later entries of the probe run that may move
    // up into the hole do, so lookups never need tombstones.
    for (std::size_t j = i;;) {
      j = (j + 1) & (size_ - 1);
      if (!slots_[j].key) break;
      const std::size_t k = home(slots_[j].key);
      // Movable unless its home lies cyclically in (i, j].
      if (((j - k) & (size_ - 1)) >= ((j - i) & (size_ - 1))) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = {};
    return h;
  }

 private:
  struct slot {
    const void* key = nullptr;
    std::coroutine_handle<> h;
  };
  std::size_t home(const void* key) const {
    const auto h = reinterpret_cast<std::uintptr_t>(key) * UINT64_C(0x9E3779B97F4A7C15);
    return static_cast<std::size_t>(h >> (64 - bits_));
  }
  std::size_t size_ = 0;  // 2^bits_
  unsigned bits_ = 1;
  std::vector<slot> slots_;
};

loop_task wait_in_table(address_table& table, const void* key) {
  for (;;)
    co_await padded_awaiter{
        [&table, key](std::coroutine_handle<> h) { table.put(key, h); }, {}};
}

void table_resume(benchmark::State& state, std::size_t n, visit order_of) {
  address_table table(n);
  each_in_turn<unsigned char>(
      state, n, order_of,
      [&table](unsigned char& key) { return wait_in_table(table, &key); },
      [&table](unsigned char& key) { table.take(&key).resume(); });
}

// Scenario 2: `waiters` coroutines on an address in the same bucket as the
// event set (for every table up to 2^20 buckets: the lot indexes its table
// by the top bits of a Fibonacci hash of the address).
void bucket_mate(benchmark::State& state, std::size_t waiters) {
  constexpr std::size_t span = std::size_t{1} << 23;
  auto memory = std::make_unique<unsigned char[]>(span);
  const std::size_t mate_at = beacon_test::bucket_mate_offset(memory.get(), span);
  if (!mate_at) {
    state.SkipWithError("no bucket mate found");
    return;
  }
  auto* crowded = ::new (memory.get()) beacon::auto_reset_event;
  auto* mate = ::new (memory.get() + mate_at) beacon::auto_reset_event;
  std::vector<loop_task> tasks;
  tasks.reserve(waiters + 1);
  for (std::size_t i = 0; i < waiters; ++i)
    tasks.push_back(await_forever(*crowded));
  tasks.push_back(await_forever(*mate));
  for (auto _ : state)
    mate->set();
  state.SetItemsProcessed(state.iterations());
}

// Scenario 3: n coroutines parked, one per event; `text`: describe_waiters(),
// else for_each_waiter alone.
void inspect_waiters(benchmark::State& state, std::size_t n, bool text) {
  std::vector<beacon::auto_reset_event> events(n);
  std::vector<loop_task> tasks;
  tasks.reserve(n);
  for (auto& e : events)
    tasks.push_back(await_forever(e));
  std::size_t seen = 0;
  for (auto _ : state) {
    if (text) {
      std::string s = beacon::describe_waiters();
      benchmark::DoNotOptimize(s.data());
      seen = s.empty() ? 0 : n;
    } else {
      seen = 0;
      beacon::for_each_waiter([&](const beacon::waiter_info&) { ++seen; });
    }
  }
  if (seen != n) state.SkipWithError("a parked coroutine was missing");
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

const char* const bench::report_title = "beacon parking lot scale";

void bench::register_benchmarks() {
  for (const visit order_of : {visit::random, visit::in_order}) {
    const std::string order = order_of == visit::random ? "random order" : "in order";
    for (std::size_t n = 1024; n <= (std::size_t{1} << 18); n *= 4) {
      const std::string scenario = "set + resume, one coroutine per event, " +
                                   std::to_string(n / 1024) + "k parked, " + order;
      bench::add(scenario, "beacon",
                 [n, order_of](benchmark::State& s) { one_per_event(s, n, order_of); });
      bench::add(scenario, "beacon at 1k parked",
                 [order_of](benchmark::State& s) { one_per_event(s, 1024, order_of); });
      bench::add(scenario, "plain resume, no lot (memory floor)",
                 [n, order_of](benchmark::State& s) { plain_resume(s, n, order_of); });
      bench::add(scenario, "address-keyed table, no lock (lot floor)",
                 [n, order_of](benchmark::State& s) { table_resume(s, n, order_of); });
    }
  }
  const std::string mate = "set + resume, bucket mate of 100k waiters";
  bench::add(mate, "beacon", [](benchmark::State& s) { bucket_mate(s, 100'000); });
  bench::add(mate, "beacon, empty table", [](benchmark::State& s) { bucket_mate(s, 0); });
  const std::string look = "describe_waiters(), 10k coroutines parked, ns per call";
  bench::add(look, "beacon",
             [](benchmark::State& s) { inspect_waiters(s, 10'000, true); });
  bench::add(look, "for_each_waiter only (no text)",
             [](benchmark::State& s) { inspect_waiters(s, 10'000, false); });
}
