// An Asio TCP echo server whose connections wait on beacon primitives:
// a beacon::semaphore limits the connections served at once, a
// manual_reset_event tells every connection to shut down, and an os_event
// signalled by another process (a forked client) starts the shutdown.
//
// Run as a test: the child process connects, checks the echo, then signals
// the os_event; the server shuts down and the parent checks the child.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <string>

#include "asio/experimental/awaitable_operators.hpp"
#include "beacon/asio.hpp"

using namespace asio::experimental::awaitable_operators;

namespace {

beacon::semaphore connection_slots{2, 2};
beacon::manual_reset_event shutting_down;

asio::awaitable<void> session(asio::ip::tcp::socket socket,
                              beacon::semaphore_guard slot) {
  std::array<char, 1024> buf;
  for (;;) {
    // Either data or the shutdown: the loser of || is cancelled (a beacon
    // wait leaves the parking lot; a read is cancelled by the reactor).
    auto r = co_await (socket.async_read_some(asio::buffer(buf), asio::use_awaitable) ||
                       beacon::async_wait(shutting_down, asio::use_awaitable));
    if (r.index() == 1) break;
    const std::size_t n = std::get<0>(r);
    co_await asio::async_write(socket, asio::buffer(buf, n), asio::use_awaitable);
  }
  (void)slot;  // the connection slot goes back here
}

asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor) {
  for (;;) {
    // Wait for a free connection slot before accepting.
    auto slot = co_await beacon::async_wait(connection_slots, asio::use_awaitable);
    auto socket = co_await acceptor.async_accept(asio::use_awaitable);
    asio::co_spawn(acceptor.get_executor(), session(std::move(socket), std::move(slot)),
                   asio::detached);
  }
}

asio::awaitable<void> wait_for_stop(const beacon::os_event& stop,
                                    asio::ip::tcp::acceptor& acceptor) {
  co_await beacon::async_wait(stop, asio::use_awaitable);  // through the reactor
  std::puts("server: stop signalled by the other process");
  shutting_down.set();  // every session ends
  acceptor.close();     // the accept loop ends with an error
}

// The child: one connection, one echo, then the stop signal.
int client(unsigned short port, const beacon::os_event& stop) {
  asio::io_context io;  // its own: the parent's is not used after fork
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::address_v4::loopback(), port});
  const std::string msg = "hello, beacon";
  asio::write(s, asio::buffer(msg));
  std::string back(msg.size(), '\0');
  asio::read(s, asio::buffer(back));
  const bool ok = back == msg;
  std::printf("client: echoed \"%s\" (%s)\n", back.c_str(), ok ? "ok" : "MISMATCH");
  std::fflush(stdout);
  stop.signal();
  return ok ? 0 : 1;
}

}  // namespace

int main() {
  beacon::os_event stop;
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::address_v4::loopback(), 0});
  const unsigned short port = acceptor.local_endpoint().port();
  std::fflush(stdout);
  const pid_t child = fork();
  if (child == 0) _exit(client(port, stop));

  asio::co_spawn(io, accept_loop(acceptor), asio::detached);
  asio::co_spawn(io, wait_for_stop(stop, acceptor), asio::detached);
  // Bounded: a test that hangs fails instead.
  asio::steady_timer limit(io, std::chrono::seconds(20));
  bool timed_out = false;
  limit.async_wait([&](std::error_code ec) {
    if (!ec) {
      timed_out = true;
      io.stop();
    }
  });
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await beacon::async_wait(shutting_down, asio::use_awaitable);
        limit.cancel();
      },
      asio::detached);
  io.run();

  int status = 0;
  waitpid(child, &status, 0);
  const bool child_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  std::printf("server: %s, client %s\n", timed_out ? "TIMED OUT" : "shut down",
              child_ok ? "ok" : "failed");
  return !timed_out && child_ok ? 0 : 1;
}
