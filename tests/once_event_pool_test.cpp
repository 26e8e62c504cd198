// once_event_pool and local_once_event_pool: stable addresses, return when
// both ends are gone, size(), shrink_to_fit(), no allocation after warm-up
// (global operator new is replaced here to count), bind_by_shared keeping
// the pool alive, inspect_awaiters once per live event.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "beacon/local_once_event.hpp"
#include "beacon/once_event.hpp"
#include "support/counting_new.hpp"
#include "support/test_support.hpp"
#include "support/tracked.hpp"

// ---------------------------------------------------------------------------
// Counting allocator: every operator new in the process goes through here.

namespace {
std::atomic<long> allocations{0};
}

// Allocations of the whole process: the cross-thread test counts the
// receiver thread's too.
void beacon_test::count_allocation() noexcept {
  allocations.fetch_add(1, std::memory_order_relaxed);
}

namespace {

using namespace beacon_test;
using beacon::local_once_event_pool;
using beacon::once_event_pool;

// The two pools run the same tests.
template <class Pool>
class pool_test : public tracked_values {};
using pools = ::testing::Types<once_event_pool<tracked>, local_once_event_pool<tracked>>;
class pool_names {
 public:
  template <class P>
  static std::string GetName(int) {
    return std::is_same_v<P, once_event_pool<tracked>> ? "once_event_pool"
                                                       : "local_once_event_pool";
  }
};
TYPED_TEST_SUITE(pool_test, pools, pool_names);

template <class Rx>
std::optional<int> take(Rx& rx) {
  auto v = rx.try_receive();
  if (!v) return std::nullopt;
  return v->v;
}

// Regression: reserve(n) computed the slab's size as offset + n * sizeof(slot)
// without an overflow check; reserve(SIZE_MAX) allocated 8 bytes and built
// slots past their end (heap corruption). Sizes that cannot be allocated
// throw and change nothing.
TYPED_TEST(pool_test, reserve_beyond_memory_throws_and_changes_nothing) {
  TypeParam pool;
  pool.reserve(3);
  const std::size_t capacity = pool.capacity();
  for (const std::size_t n : {SIZE_MAX, SIZE_MAX / 2, SIZE_MAX / 8}) {
    EXPECT_THROW(pool.reserve(n), std::length_error) << n;
    EXPECT_EQ(pool.capacity(), capacity);
    EXPECT_EQ(pool.size(), 0u);
  }
  auto [tx, rx] = pool.bind_by_ref();  // still usable
  std::move(tx).emplace(7);
  EXPECT_EQ(take(rx), 7);
}

TYPED_TEST(pool_test, an_event_returns_when_both_ends_are_gone) {
  TypeParam pool;
  EXPECT_EQ(pool.size(), 0u);
  {
    auto [tx, rx] = pool.bind_by_ref();
    EXPECT_EQ(pool.size(), 1u);
    std::move(tx).emplace(1);
    EXPECT_EQ(pool.size(), 1u);  // the receiver still holds it
    EXPECT_EQ(take(rx), 1);
    EXPECT_EQ(pool.size(), 0u);  // received: back at once
  }
  {
    auto [tx, rx] = pool.bind_by_ref();
    { auto gone = std::move(rx); }
    EXPECT_EQ(pool.size(), 1u);  // the sender still holds it
  }
  EXPECT_EQ(pool.size(), 0u);
}

TYPED_TEST(pool_test, a_value_never_received_is_destroyed_when_its_event_returns) {
  TypeParam pool;
  auto [tx, rx] = pool.bind_by_ptr();
  std::move(tx).emplace(2);
  EXPECT_EQ(tracked::live.load(), 1);
  { auto gone = std::move(rx); }
  EXPECT_EQ(tracked::live.load(), 0);
  EXPECT_EQ(pool.size(), 0u);
}

TYPED_TEST(pool_test, events_are_reused_at_stable_addresses) {
  TypeParam pool;
  std::set<const void*> seen;
  for (int i = 0; i < 100; ++i) {
    auto [tx, rx] = pool.bind_by_ref();
    pool.inspect_awaiters([](beacon::awaiter_trace) {});
    std::move(tx).emplace(i);
    EXPECT_EQ(take(rx), i);
  }
  // One event at a time: the LIFO free list hands the same one back.
  const std::size_t cap = pool.capacity();
  std::vector<typename TypeParam::receiver_by_ref> held;
  for (int i = 0; i < 20; ++i) {
    auto [tx, rx] = pool.bind_by_ref();
    std::move(tx).emplace(i);
    held.push_back(std::move(rx));
  }
  EXPECT_EQ(pool.size(), 20u);
  EXPECT_GE(pool.capacity(), 20u);
  EXPECT_GE(pool.capacity(), cap);
  for (std::size_t i = 0; i < held.size(); ++i)
    EXPECT_EQ(take(held[i]), int(i));
  EXPECT_EQ(pool.size(), 0u);
}

TYPED_TEST(pool_test, shrink_to_fit_frees_only_idle_slabs) {
  TypeParam pool;
  std::vector<typename TypeParam::receiver_by_ref> held;
  std::vector<typename TypeParam::sender_by_ref> senders;
  for (int i = 0; i < 100; ++i) {
    auto [tx, rx] = pool.bind_by_ref();
    senders.push_back(std::move(tx));
    held.push_back(std::move(rx));
  }
  const std::size_t full = pool.capacity();
  EXPECT_GE(full, 100u);
  pool.shrink_to_fit();  // every slab has a live event
  EXPECT_EQ(pool.capacity(), full);
  // Keep one live event; free the rest.
  senders.erase(senders.begin() + 1, senders.end());
  held.erase(held.begin() + 1, held.end());
  EXPECT_EQ(pool.size(), 1u);
  pool.shrink_to_fit();
  EXPECT_LT(pool.capacity(), full);
  EXPECT_GE(pool.capacity(), 1u);
  std::move(senders[0]).emplace(7);
  EXPECT_EQ(take(held[0]), 7);
  pool.shrink_to_fit();
  EXPECT_EQ(pool.capacity(), 0u);
  // Still usable.
  auto [tx, rx] = pool.bind_by_ref();
  std::move(tx).emplace(8);
  EXPECT_EQ(take(rx), 8);
}

TYPED_TEST(pool_test, no_allocation_after_warm_up) {
  TypeParam pool;
  pool.reserve(2);
  {  // warm up every path once (incl. the first trace capture in debug builds)
    auto [tx, rx] = pool.bind_by_ref();
    auto body = [](auto r) -> task { (void)co_await std::move(r); };
    task t = body(std::move(rx));
    std::move(tx).emplace(0);
  }
  const long before = allocations.load();
  for (int round = 0; round < 1000; ++round) {
    auto [tx, rx] = pool.bind_by_ref();
    auto [tx2, rx2] = pool.bind_by_ptr();
    std::move(tx).emplace(round);
    EXPECT_EQ(take(rx), round);
    { auto gone = std::move(tx2); }
    // (An exception object comes from __cxa_allocate_exception, not operator new.)
    EXPECT_THROW((void)rx2.try_receive(), beacon::disconnected);
  }
  EXPECT_EQ(allocations.load() - before, 0);
  EXPECT_EQ(pool.size(), 0u);
}

TEST(once_event_pool, no_allocation_per_message_across_threads) {
  once_event_pool<int> pool;
  pool.reserve(4);
  using rx_t = once_event_pool<int>::receiver_by_ref;
  // A hand-over cell the receiver thread polls: no allocation per message.
  std::atomic<rx_t*> cell{nullptr};
  std::atomic<int> received{0};
  constexpr int rounds = 2000;
  scoped_thread t([&] {
    for (int i = 0; i < rounds; ++i) {
      rx_t* rx;
      while (!(rx = cell.exchange(nullptr)))
        std::this_thread::yield();
      EXPECT_EQ(rx->receive(), i);  // blocks or spins: both allocate nothing
      received.fetch_add(1);
    }
  });
  long during = 0;
  for (int i = 0; i < rounds; ++i) {
    auto [tx, rx] = pool.bind_by_ref();
    cell.store(&rx);
    const long before = allocations.load();
    if (i % 2) std::this_thread::sleep_for(std::chrono::microseconds(50));
    std::move(tx).send(i);
    ASSERT_TRUE(eventually([&] { return received.load() == i + 1; }));
    if (i >= 10) during += allocations.load() - before;  // after warm-up
  }
  EXPECT_EQ(during, 0);
}

TYPED_TEST(pool_test, bind_by_shared_keeps_the_pool_alive) {
  auto sp = std::make_shared<TypeParam>();
  std::weak_ptr<TypeParam> w = sp;
  auto [tx, rx] = TypeParam::bind_by_shared(sp);
  EXPECT_EQ(sp->size(), 1u);
  sp.reset();
  EXPECT_FALSE(w.expired());
  std::move(tx).emplace(3);
  EXPECT_FALSE(w.expired());
  EXPECT_EQ(take(rx), 3);
  EXPECT_TRUE(w.expired());  // the last end returned the event, then let go
  EXPECT_THROW(TypeParam::bind_by_shared(nullptr), std::invalid_argument);
}

TYPED_TEST(pool_test, inspect_awaiters_calls_f_once_per_live_event) {
  TypeParam pool;
  int calls = 0;
  pool.inspect_awaiters([&](beacon::awaiter_trace) { ++calls; });
  EXPECT_EQ(calls, 0);
  auto a = pool.bind_by_ref();
  auto b = pool.bind_by_ref();
  auto c = pool.bind_by_ref();
  { auto gone = std::move(c.receiver); }
  auto body = [](auto r) -> task { (void)co_await std::move(r); };
  task t = body(std::move(b.receiver));  // b's receiver awaits
  calls = 0;
  int with_trace = 0;
  pool.inspect_awaiters([&](beacon::awaiter_trace tr) {
    ++calls;
    with_trace += !tr.empty();
  });
  EXPECT_EQ(calls, 3);  // a, b and c are live
  EXPECT_EQ(with_trace, beacon::awaiter_traces_enabled ? 1 : 0);
  std::move(b.sender).emplace(1);
  EXPECT_TRUE(t.finished());
}

// ---------------------------------------------------------------------------
// Thread-safe pool only.

TEST(once_event_pool, threads_rent_and_return_concurrently) {
  once_event_pool<int> pool;
  constexpr int per_thread = 20'000;
  auto worker = [&](int id) {
    for (int i = 0; i < per_thread; ++i) {
      auto [tx, rx] = pool.bind_by_ref();
      std::thread::id me = std::this_thread::get_id();
      (void)me;
      std::move(tx).send(id * per_thread + i);
      EXPECT_EQ(rx.receive(), id * per_thread + i);
    }
  };
  {
    scoped_thread a([&] { worker(0); });
    scoped_thread b([&] { worker(1); });
    worker(2);
  }
  EXPECT_EQ(pool.size(), 0u);
}

TEST(once_event_pool, a_blocked_receiver_is_reported_by_inspect_awaiters) {
  once_event_pool<int> pool;
  auto [tx, rx] = pool.bind_by_ref();
  scoped_thread t([rx = std::move(rx)]() mutable { EXPECT_EQ(rx.receive(), 5); });
  bool parked = false;
  ASSERT_TRUE(eventually([&] {
    std::size_t traced = 0, calls = 0;
    pool.inspect_awaiters([&](beacon::awaiter_trace tr) {
      ++calls;
      traced += !tr.empty();
    });
    EXPECT_EQ(calls, 1u);
    parked = traced == 1;
    return parked || !beacon::awaiter_traces_enabled;
  }));
  std::move(tx).send(5);
}

}  // namespace
