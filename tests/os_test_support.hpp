// Test helpers for os_event and wait_context: child processes with bounded
// waits, a thread that interrupts another with signals (EINTR), the error a
// call throws; and the bounded waits of support/test_support.hpp.
#pragma once

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <system_error>
#include <thread>

#include "support/test_support.hpp"

namespace beacon_test {

// Waits at most `timeout` for child `pid`; returns its exit code, or -1 (the
// child is then killed and reaped) when it did not exit normally in time.
inline int wait_child(pid_t pid, std::chrono::milliseconds timeout = patience) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (r < 0 && errno != EINTR) return -1;
    if (std::chrono::steady_clock::now() >= until) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(1ms);  // polling pace only: correct at any timing
  }
}

inline bool is_cloexec(int fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }
inline bool is_nonblocking(int fd) { return (::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }
inline bool is_open(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }

// Handler runs so far (lock-free atomics are async-signal-safe).
inline std::atomic<int> signals_handled{0};

// Installs a no-op SIGUSR1 handler WITHOUT SA_RESTART, so a blocking system
// call in the thread that gets the signal fails with EINTR. It stays
// installed for the rest of the process: a signal still in flight when a test
// ends (sanitizers may defer delivery) must not find the default action,
// which would kill the process.
inline void install_eintr_handler() {
  struct sigaction sa {};
  sa.sa_handler = [](int) { signals_handled.fetch_add(1, std::memory_order_relaxed); };
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: interrupted calls return EINTR
  ::sigaction(SIGUSR1, &sa, nullptr);
}

// Sends SIGUSR1 to `target` every millisecond until destroyed (at least
// once). The test stays correct at any timing: it checks what a wait
// returns, however many signals landed inside it.
class interrupter {
 public:
  explicit interrupter(pthread_t target)
      : thread_([this, target] {
          do {
            ::pthread_kill(target, SIGUSR1);
            std::this_thread::sleep_for(1ms);
          } while (!stop_.load());
        }) {}
  ~interrupter() {
    stop_.store(true);
    thread_.join();
  }
  interrupter(const interrupter&) = delete;
  interrupter& operator=(const interrupter&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace beacon_test
