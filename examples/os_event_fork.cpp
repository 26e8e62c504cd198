// crosvm's base::Event with base::WaitContext (crosvm base::Event and base::WaitContext
// docs), in beacon: an os_event signalled by another process and waited on through a
// wait_context, next to a second descriptor (crosvm's WaitContext with an
// EventToken; Win32's WaitForMultipleObjects).
//
// A forked child shares the parent's eventfd counters through the descriptors
// it inherits. It waits for the parent's `go`, writes its answer to shared
// memory, signals `done` and exits. The parent waits on one wait_context for
// `done` (token child_done) and for end-of-file on a pipe whose write end only
// the child holds (token child_exited).
//
// Linux only (fork, eventfd, epoll): examples/CMakeLists.txt registers it
// there only.
#include <beacon/os_event.hpp>
#include <beacon/wait_context.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

// Far longer than the example needs even on a loaded sanitizer run, and below
// ctest's 60 s time-out, so a lost wake-up fails with a message, not a hang.
constexpr auto patience = std::chrono::seconds(30);

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "FAILED: %s\n", what);
  std::_Exit(EXIT_FAILURE);
}

// What a wait reports: which source is ready (crosvm's EventToken).
enum class source : std::uint8_t { child_done, child_exited };

// The child ends with _exit: the parent's objects it inherited (the events,
// the wait_context) must not run their destructors or atexit handlers twice;
// its descriptors close with the process.
[[noreturn]] void run_child(const beacon::os_event& go, const beacon::os_event& done,
                            int* answer) {
  // Bounded like every wait here: an orphaned child gives up instead of
  // lingering.
  if (!go.wait_for(patience)) _exit(2);
  *answer = 6 * 7;
  done.signal();  // the parent reads `answer` after its wait consumed this
  _exit(0);
}

}  // namespace

int main() {
  // Memory both processes see after fork (zero-filled): the child's answer.
  void* shared = mmap(nullptr, sizeof(int), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) fail("mmap");
  int* answer = static_cast<int*>(shared);

  beacon::os_event go;    // parent -> child
  beacon::os_event done;  // child -> parent
  int exit_pipe[2];
  if (pipe2(exit_pipe, O_CLOEXEC) != 0) fail("pipe2");

  beacon::wait_context<source> ctx;
  ctx.add(done, source::child_done);
  ctx.add(exit_pipe[0], beacon::io_interest::read, source::child_exited);

  std::fflush(stdout);  // the child must not inherit unwritten output
  const pid_t pid = fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    close(exit_pipe[0]);
    run_child(go, done, answer);  // holds exit_pipe[1] until it exits
  }
  close(exit_pipe[1]);  // now only the child holds the write end

  // The child is blocked on `go`, so nothing can be ready yet (a zero time-out
  // tries once).
  if (!ctx.wait_for(std::chrono::seconds(0)).empty())
    fail("a source was ready before the child was told to go");
  go.signal();

  bool got_answer = false;
  bool exited = false;
  const auto deadline = std::chrono::steady_clock::now() + patience;
  while (!exited) {
    const auto ready = ctx.wait_until(deadline);
    if (ready.empty()) fail("the child neither signalled nor exited in time");
    for (const auto& t : ready) {
      switch (t.token) {
        case source::child_done:
          // The wait reports a signalled event without consuming the signal
          // (level-triggered); try_wait() consumes it, and would say false
          // rather than block had another waiter been faster.
          if (!t.readable || !done.try_wait())
            fail("done was reported but not signalled");
          if (*answer != 42) fail("the parent did not see the child's answer");
          got_answer = true;
          break;
        case source::child_exited:
          // End-of-file stays readable: unregister it, or every later wait
          // would report it again.
          ctx.remove(exit_pipe[0]);
          exited = true;
          break;
      }
    }
  }
  // The child signalled before it exited, so its signal was ready no later
  // than the end-of-file and was reported in this wait or an earlier one.
  if (!got_answer) fail("the child's exit was reported but not its signal");
  if (done.try_wait()) fail("one signal was consumed twice");

  int status = 0;
  if (waitpid(pid, &status, 0) != pid) fail("waitpid");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail("the child did not exit cleanly");
  const int result = *answer;
  close(exit_pipe[0]);
  munmap(shared, sizeof(int));

  std::printf("child process signalled through a wait_context: answer %d\n", result);
  return EXIT_SUCCESS;
}
