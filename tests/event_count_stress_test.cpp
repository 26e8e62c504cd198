// Stress runs of beacon::event_count and the channels built on it: several
// producers and consumers (threads and coroutines), every value received
// exactly once; relaxed-state ping-pong (a lost wake-up hangs it); time-out
// and stop races that must pass a notification on. Every wait is bounded,
// so a bug fails a test instead of hanging it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <stop_token>
#include <thread>
#include <vector>

#include "../examples/event_count_channel.hpp"
#include "../examples/event_count_slot_channel.hpp"
#include "beacon/event_count.hpp"
#include "support/test_support.hpp"

namespace {

using namespace std::chrono;
using namespace beacon_test;
using beacon::event_count;

constexpr std::uint64_t stop_value = ~std::uint64_t{0};

std::uint64_t encode(unsigned producer, unsigned i) {
  return (std::uint64_t{producer} << 32) | i;
}

// Every value of every producer, seen exactly once.
class ledger {
 public:
  ledger(unsigned producers, unsigned per_producer)
      : per_(per_producer),
        seen_(std::make_unique<std::atomic<std::uint8_t>[]>(std::size_t{producers} *
                                                            per_producer)),
        size_(std::size_t{producers} * per_producer) {}
  void record(std::uint64_t v) {
    const auto p = static_cast<unsigned>(v >> 32);
    const auto i = static_cast<unsigned>(v & 0xFFFF'FFFF);
    const std::size_t at = std::size_t{p} * per_ + i;
    ASSERT_LT(at, size_) << "value out of range: " << v;
    const std::uint8_t before = seen_[at].fetch_add(1, std::memory_order_relaxed);
    EXPECT_EQ(before, 0) << "duplicate: producer " << p << " item " << i;
  }
  void expect_each_once() const {
    std::size_t missing = 0;
    for (std::size_t k = 0; k < size_; ++k)
      missing += seen_[k].load() != 1;
    EXPECT_EQ(missing, 0u) << "values lost or duplicated";
  }

 private:
  unsigned per_;
  std::unique_ptr<std::atomic<std::uint8_t>[]> seen_;
  std::size_t size_;
};

struct channel_case {
  unsigned producers, consumers, capacity, per_producer;
};

class bounded_channel_stress : public ::testing::TestWithParam<channel_case> {};

// Producers and consumers mix every form: blocking, try (polling), short
// timed waits that time out and retry, long timed waits that must succeed.
TEST_P(bounded_channel_stress, every_value_arrives_exactly_once) {
  const channel_case c = GetParam();
  example::bounded_channel<std::uint64_t> ch(c.capacity);
  ledger book(c.producers, c.per_producer);
  std::vector<scoped_thread> threads;
  for (unsigned p = 0; p < c.producers; ++p)
    threads.emplace_back([&, p] {
      for (unsigned i = 0; i < c.per_producer; ++i) {
        const std::uint64_t v = encode(p, i);
        switch ((p + i) % 4) {
          case 0:
            ch.send(v);
            break;
          case 1:
            while (!ch.try_send(std::uint64_t{v}))
              std::this_thread::yield();
            break;
          case 2:
            while (!ch.send_for(microseconds(50 + i % 200), std::uint64_t{v})) {
            }
            break;
          default:
            ASSERT_TRUE(ch.send_for(patience, std::uint64_t{v})) << "sender stuck";
        }
      }
    });
  std::vector<scoped_thread> consumers;
  for (unsigned k = 0; k < c.consumers; ++k)
    consumers.emplace_back([&, k] {
      for (unsigned n = 0;; ++n) {
        std::optional<std::uint64_t> v;
        switch ((k + n) % 3) {
          case 0:
            v = ch.recv_for(patience);
            ASSERT_TRUE(v) << "receiver stuck";
            break;
          case 1:
            while (!(v = ch.try_recv()))
              std::this_thread::yield();
            break;
          default:
            while (!(v = ch.recv_for(microseconds(50 + n % 200)))) {
            }
        }
        if (*v == stop_value) return;
        book.record(*v);
      }
    });
  for (auto& t : threads)
    t.join();
  for (unsigned k = 0; k < c.consumers; ++k)
    ASSERT_TRUE(ch.send_for(patience, std::uint64_t{stop_value}));
  for (auto& t : consumers)
    t.join();
  book.expect_each_once();
  EXPECT_EQ(ch.try_recv(), std::nullopt);
  EXPECT_EQ(ch.waiting_senders() + ch.waiting_receivers(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    shapes, bounded_channel_stress,
    ::testing::Values(channel_case{1, 1, 1, 50'000}, channel_case{2, 2, 2, 25'000},
                      channel_case{4, 4, 4, 10'000}, channel_case{8, 8, 16, 5'000},
                      channel_case{8, 2, 2, 5'000}, channel_case{2, 8, 64, 20'000}));

// Thread producers feed coroutine consumers (resumed on the producers'
// threads), and coroutine producers feed thread consumers (resumed on the
// consumers' threads), through one channel each.
TEST(bounded_channel_stress_coroutines, coroutines_on_either_side_lose_nothing) {
  constexpr unsigned producers = 4, consumers = 4, per = 10'000;
  for (const bool coroutine_consumers : {true, false}) {
    example::bounded_channel<std::uint64_t> ch(4);
    ledger book(producers, per);
    std::vector<task> tasks;
    std::vector<scoped_thread> threads;
    if (coroutine_consumers) {
      auto consumer = [&]() -> task {
        for (;;) {
          const std::uint64_t v = co_await ch.async_recv();
          if (v == stop_value) co_return;
          book.record(v);
        }
      };
      for (unsigned k = 0; k < consumers; ++k)
        tasks.push_back(consumer());
      for (unsigned p = 0; p < producers; ++p)
        threads.emplace_back([&, p] {
          for (unsigned i = 0; i < per; ++i)
            ASSERT_TRUE(ch.send_for(patience, encode(p, i)));
        });
      for (auto& t : threads)
        t.join();
      for (unsigned k = 0; k < consumers; ++k)
        ASSERT_TRUE(ch.send_for(patience, std::uint64_t{stop_value}));
    } else {
      auto producer = [&](unsigned p) -> task {
        for (unsigned i = 0; i < per; ++i)
          co_await ch.async_send(encode(p, i));
      };
      for (unsigned k = 0; k < consumers; ++k)
        threads.emplace_back([&] {
          for (;;) {
            const auto v = ch.recv_for(patience);
            ASSERT_TRUE(v) << "receiver stuck";
            if (*v == stop_value) return;
            book.record(*v);
          }
        });
      for (unsigned p = 0; p < producers; ++p)
        tasks.push_back(producer(p));
      ASSERT_TRUE(eventually([&] {
        for (auto& t : tasks)
          if (!t.finished()) return false;
        return true;
      })) << "coroutine producers stuck";
      for (unsigned k = 0; k < consumers; ++k)
        ASSERT_TRUE(ch.send_for(patience, std::uint64_t{stop_value}));
      for (auto& t : threads)
        t.join();
    }
    ASSERT_TRUE(eventually([&] {
      for (auto& t : tasks)
        if (!t.finished()) return false;
      return true;
    })) << "coroutines stuck";
    book.expect_each_once();
    EXPECT_EQ(ch.waiting_senders() + ch.waiting_receivers(), 0u);
  }
}

TEST(slot_channel_stress, every_value_arrives_exactly_once) {
  constexpr unsigned producers = 4, consumers = 4, per = 20'000;
  example::slot_channel<std::uint64_t> ch;
  ledger book(producers, per);
  std::vector<scoped_thread> threads;
  for (unsigned p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      for (unsigned i = 0; i < per; ++i) {
        const std::uint64_t v = encode(p, i) + 1;  // non-zero
        if (i % 2)
          ASSERT_TRUE(ch.send_for(patience, v)) << "sender stuck";
        else
          ch.send(v);
      }
    });
  std::vector<scoped_thread> receivers;
  for (unsigned k = 0; k < consumers; ++k)
    receivers.emplace_back([&] {
      for (;;) {
        const auto v = ch.recv_for(patience);
        ASSERT_TRUE(v) << "receiver stuck";
        if (*v == stop_value) return;
        book.record(*v - 1);
      }
    });
  for (auto& t : threads)
    t.join();
  for (unsigned k = 0; k < consumers; ++k)
    ASSERT_TRUE(ch.send_for(patience, stop_value));
  for (auto& t : receivers)
    t.join();
  book.expect_each_once();
}

// A counter handed back and forth through relaxed atomics and two
// event_counts: the predicate's state is relaxed, so only the fences of
// notify and wait keep a wake-up from being lost (a loss hangs a round).
struct ping_pong {
  event_count ping_ec, pong_ec;
  std::atomic<int> ping{0}, pong{0};

  bool ping_is(int i) const { return ping.load(std::memory_order_relaxed) == i; }
  // The echo side's answer to round i, once it saw ping_is(i).
  void answer(int i) {
    pong.store(i, std::memory_order_relaxed);
    pong_ec.notify_one();
  }
  // The driving side: every round, pings and waits for the answer.
  void drive(int rounds) {
    for (int i = 1; i <= rounds; ++i) {
      ping.store(i, std::memory_order_relaxed);
      ping_ec.notify_one();
      ASSERT_TRUE(pong_ec.wait_for(
          patience, [&] { return pong.load(std::memory_order_relaxed) == i; }))
          << "round " << i;
    }
  }
};

TEST(event_count_stress, relaxed_ping_pong_never_loses_a_wake_up) {
  constexpr int rounds = 100'000;
  ping_pong p;
  scoped_thread echo([&] {
    for (int i = 1; i <= rounds; ++i) {
      ASSERT_TRUE(p.ping_ec.wait_for(patience, [&] { return p.ping_is(i); }))
          << "round " << i;
      p.answer(i);
    }
  });
  p.drive(rounds);
  echo.join();
  EXPECT_EQ(p.ping_ec.waiters() + p.pong_ec.waiters(), 0u);
}

// The same with a coroutine on one side: it is resumed on the other thread.
TEST(event_count_stress, relaxed_ping_pong_with_a_coroutine) {
  constexpr int rounds = 50'000;
  ping_pong p;
  auto echo = [&]() -> task {
    for (int i = 1; i <= rounds; ++i) {
      co_await p.ping_ec.async_wait([&] { return p.ping_is(i); });
      p.answer(i);
    }
  };
  task t = echo();
  scoped_thread driver([&] { p.drive(rounds); });
  driver.join();
  EXPECT_TRUE(t.finished());
}

// A pool of waiters takes tokens handed out by notify(k) in random batches;
// every token is taken, and the waiters end with notify_all.
TEST(event_count_stress, batched_notifications_all_arrive) {
  constexpr int waiters = 6, total = 60'000;
  event_count ec;
  std::atomic<int> tokens{0}, taken{0};
  std::atomic<bool> closing{false};
  auto take = [&] {
    int v = tokens.load(std::memory_order_relaxed);
    while (v > 0)
      if (tokens.compare_exchange_weak(v, v - 1, std::memory_order_relaxed)) return 1;
    return closing.load(std::memory_order_relaxed) ? 2 : 0;
  };
  std::vector<scoped_thread> ws;
  ws.reserve(waiters);
  for (int w = 0; w < waiters; ++w)
    ws.emplace_back([&] {
      for (;;) {
        int got = 0;
        ASSERT_TRUE(ec.wait_for(patience, [&] { return (got = take()) != 0; }))
            << "waiter stuck with " << tokens.load() << " tokens left";
        if (got == 2) return;
        taken.fetch_add(1, std::memory_order_relaxed);
      }
    });
  std::mt19937 rng(7);
  for (int given = 0; given < total;) {
    const int k = std::min(total - given, static_cast<int>(rng() % 5) + 1);
    tokens.fetch_add(k, std::memory_order_relaxed);
    if (rng() % 8 == 0)
      ec.notify_all();
    else
      ec.notify(static_cast<std::size_t>(k));
    given += k;
    if (rng() % 64 == 0) std::this_thread::yield();
  }
  ASSERT_TRUE(eventually([&] { return taken.load() == total; }))
      << "tokens left: " << tokens.load();
  closing.store(true, std::memory_order_relaxed);
  ec.notify_all();
  for (auto& w : ws)
    w.join();
  EXPECT_EQ(tokens.load(), 0);
  EXPECT_EQ(ec.waiters(), 0u);
}

// One round of the races below: some racing waiters (which may give up) and
// one long waiter share one token. The long waiter's outcome is one atomic,
// written after its wait returned, so the checks never read half of it.
struct token_round {
  event_count ec;
  std::atomic<int> tokens{0}, racing_takers{0};
  std::atomic<int> long_result{-1};  // -1: waiting, 0: gave up, 1: took a token

  bool take() {
    int v = tokens.load(std::memory_order_relaxed);
    while (v > 0)
      if (tokens.compare_exchange_weak(v, v - 1, std::memory_order_relaxed)) return true;
    return false;
  }
  void long_waiter() {
    long_result.store(ec.wait_for(patience, [this] { return take(); }) ? 1 : 0);
  }
  // After every racing waiter returned: if none took the token, it must have
  // been passed on to the long waiter, promptly; otherwise the long waiter
  // is still waiting and gets a token of its own.
  void check_passed_on(int round) {
    if (racing_takers.load() == 0) {
      ASSERT_TRUE(eventually([&] { return long_result.load() >= 0; }, 5s))
          << "round " << round << ": the token was not passed on";
      EXPECT_EQ(long_result.load(), 1) << "round " << round;
    } else {
      tokens.fetch_add(1, std::memory_order_relaxed);
      ec.notify_all();
    }
  }
  void check_settled(int round) {
    EXPECT_EQ(long_result.load(), 1) << "round " << round;
    EXPECT_EQ(tokens.load(), 0) << "round " << round;
    EXPECT_EQ(ec.waiters(), 0u);
  }
};

// Several waiters with short deadlines queue ahead of one with a long
// deadline; one token arrives around their deadlines. Whoever it reaches,
// exactly one waiter takes it and, if every short waiter gave up, the long
// one does, promptly: a notification never dies with a timed-out waiter.
TEST(event_count_stress, notification_racing_time_outs_reaches_a_waiter) {
  constexpr int rounds = 400, short_waiters = 3;
  std::mt19937 rng(11);
  for (int round = 0; round < rounds; ++round) {
    token_round t;
    std::atomic<int> short_done{0};
    std::vector<scoped_thread> ws;
    ws.reserve(short_waiters + 1);
    const auto start = steady_clock::now();
    for (int s = 0; s < short_waiters; ++s)
      ws.emplace_back([&, s] {
        if (t.ec.wait_until(start + microseconds(500 + 100 * s),
                            [&] { return t.take(); }))
          t.racing_takers.fetch_add(1);
        short_done.fetch_add(1);
      });
    ws.emplace_back([&] { t.long_waiter(); });
    // Give the token within +-300 us of the short deadlines.
    const auto aim = start + microseconds(300 + static_cast<int>(rng() % 600));
    while (steady_clock::now() < aim) {
    }
    t.tokens.fetch_add(1, std::memory_order_relaxed);
    t.ec.notify_one();
    ASSERT_TRUE(eventually([&] { return short_done.load() == short_waiters; }));
    t.check_passed_on(round);
    for (auto& w : ws)
      w.join();
    t.check_settled(round);
  }
}

// The same race with stop requests instead of deadlines.
TEST(event_count_stress, notification_racing_stop_requests_reaches_a_waiter) {
  constexpr int rounds = 400, stoppable = 3;
  for (int round = 0; round < rounds; ++round) {
    token_round t;
    std::atomic<int> stopped_done{0};
    std::stop_source src;
    std::vector<scoped_thread> ws;
    ws.reserve(stoppable + 1);
    for (int s = 0; s < stoppable; ++s)
      ws.emplace_back([&] {
        if (t.ec.wait(src.get_token(), [&] { return t.take(); }))
          t.racing_takers.fetch_add(1);
        stopped_done.fetch_add(1);
      });
    ws.emplace_back([&] { t.long_waiter(); });
    ASSERT_TRUE(eventually([&] { return t.ec.waiters() == stoppable + 1; }));
    std::atomic<bool> go{false};
    scoped_thread stopper([&] {
      while (!go.load()) {
      }
      src.request_stop();
    });
    go.store(true);
    for (int spin = round % 50; spin > 0; --spin)
      beacon::detail::platform::cpu_relax();
    t.tokens.fetch_add(1, std::memory_order_relaxed);
    t.ec.notify_one();
    stopper.join();
    ASSERT_TRUE(eventually([&] { return stopped_done.load() == stoppable; }));
    t.check_passed_on(round);
    for (auto& w : ws)
      w.join();
    t.check_settled(round);
  }
}

}  // namespace
