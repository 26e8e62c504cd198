// beacon::async_wait with Asio against what Asio users reach for instead:
// a coroutine on an io_context thread waits, another thread signals, and
// the coroutine acknowledges on a beacon::auto_reset_event (the same for
// every implementation). Figure: ns per round trip.
//   beacon:             co_await beacon::async_wait(ev, use_awaitable); ev.set()
//   asio steady_timer:  a timer that never expires, cancelled as the signal
//                       (posted to the io thread: a timer is not thread-safe)
//   asio channel:       experimental::concurrent_channel<void(error_code, int)>
//                       try_send from the signalling thread
// Indicative only: one io thread, one signalling thread, shared machine.
#include <asio/experimental/concurrent_channel.hpp>
#include <thread>

#include "beacon/asio.hpp"
#include "harness.hpp"

namespace {

// Runs `waiter` (an awaitable loop) on an io thread and `signal()` per
// iteration from the benchmark thread, after each acknowledgement.
template <class Waiter, class Signal>
void round_trips(benchmark::State& state, Waiter waiter, Signal signal) {
  asio::io_context io;
  beacon::auto_reset_event ack;
  std::atomic<bool> stop{false};
  auto guard = asio::make_work_guard(io);
  asio::co_spawn(io, waiter(io, ack, stop), asio::detached);
  std::thread t([&] { io.run(); });
  for (auto _ : state) {
    ack.wait();
    signal();
  }
  ack.wait();
  stop = true;
  signal();
  guard.reset();
  t.join();
  state.SetItemsProcessed(state.iterations());
}

void beacon_event(benchmark::State& state) {
  beacon::auto_reset_event ev;
  round_trips(
      state,
      [&](asio::io_context&, beacon::auto_reset_event& ack,
          std::atomic<bool>& stop) -> asio::awaitable<void> {
        for (;;) {
          ack.set();
          co_await beacon::async_wait(ev, asio::use_awaitable);
          if (stop) co_return;
        }
      },
      [&] { ev.set(); });
}

void asio_timer(benchmark::State& state) {
  asio::io_context* io_ptr = nullptr;
  std::unique_ptr<asio::steady_timer> timer;
  round_trips(
      state,
      [&](asio::io_context& io, beacon::auto_reset_event& ack,
          std::atomic<bool>& stop) -> asio::awaitable<void> {
        io_ptr = &io;
        timer = std::make_unique<asio::steady_timer>(io);
        for (;;) {
          timer->expires_at(asio::steady_timer::time_point::max());
          ack.set();  // armed: a cancel posted from now on finds the wait
          std::error_code ec;
          co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
          if (stop) co_return;
        }
      },
      [&] { asio::post(*io_ptr, [&] { timer->cancel(); }); });
}

void asio_channel(benchmark::State& state) {
  std::unique_ptr<asio::experimental::concurrent_channel<void(std::error_code, int)>> ch;
  round_trips(
      state,
      [&](asio::io_context& io, beacon::auto_reset_event& ack,
          std::atomic<bool>& stop) -> asio::awaitable<void> {
        ch = std::make_unique<
            asio::experimental::concurrent_channel<void(std::error_code, int)>>(io, 1);
        for (;;) {
          ack.set();
          co_await ch->async_receive(asio::use_awaitable);
          if (stop) co_return;
        }
      },
      [&] { ch->try_send(std::error_code{}, 1); });
}

}  // namespace

const char* const bench::report_title =
    "Asio: co_await a wait, signalled from another thread";

void bench::register_benchmarks() {
  const std::string scenario =
      "asio: co_await wait, signal from another thread (round trip)";
  bench::add(scenario, "beacon async_wait(auto_reset_event)", beacon_event)
      ->UseRealTime();
  bench::add(scenario, "asio steady_timer cancel", asio_timer)->UseRealTime();
  bench::add(scenario, "asio experimental::concurrent_channel", asio_channel)
      ->UseRealTime();
}
