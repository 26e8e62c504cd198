// A consumer of beacon::asio: one wait completed through an io_context.
#include <beacon/asio.hpp>
#include <cstdio>

int main() {
  asio::io_context io;
  beacon::semaphore slots{0, 1};
  bool ok = false;
  beacon::async_wait(
      slots, asio::bind_executor(io, [&](std::error_code ec, beacon::semaphore_guard g) {
        ok = !ec && static_cast<bool>(g);
      }));
  slots.release();
  io.run();
  std::puts(ok ? "beacon::asio consumer: ok" : "beacon::asio consumer: FAILED");
  return ok ? 0 : 1;
}
