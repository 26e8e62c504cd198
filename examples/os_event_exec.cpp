// Handing an os_event to a program started with exec: the event's
// descriptor is close-on-exec, so the child makes it inheritable under a
// number both sides agree on with inherit_as() between fork and exec, and
// the new program adopts that number with from_native_handle(). The program
// here runs itself (argv[0]) as the exec'd child, which signals the event;
// the parent waits for that signal.
//
// inherit_as() handles the case a bare dup2() gets wrong: when the event's
// descriptor already has the agreed number, dup2(n, n) does nothing and
// leaves it close-on-exec. It returns an error code instead of throwing,
// because between fork and exec a child of a multithreaded program may only
// make async-signal-safe calls.
//
// POSIX (fork, exec): examples/CMakeLists.txt registers it off Windows,
// where a handle is passed with duplicate_to() instead.
#include <beacon/os_event.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

// The descriptor number(s) the parent and the exec'd program agree on: the
// eventfd, or the pipe's read and write ends (POSIX backend).
constexpr int event_fd = 3;
#if BEACON_OS_EVENT_PIPE
constexpr int event_write_fd = 4;
#endif

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "FAILED: %s\n", what);
  std::_Exit(EXIT_FAILURE);
}

// The exec'd program: adopt the inherited event and signal it.
int run_exec_child() {
#if BEACON_OS_EVENT_PIPE
  beacon::os_event ev = beacon::os_event::from_native_handles(event_fd, event_write_fd);
#else
  beacon::os_event ev = beacon::os_event::from_native_handle(event_fd);
#endif
  ev.signal();
  return EXIT_SUCCESS;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--exec-child") == 0) return run_exec_child();

  beacon::os_event done;
  std::fflush(stdout);  // the child must not inherit unwritten output
  const pid_t pid = fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec.
#if BEACON_OS_EVENT_PIPE
    if (done.inherit_as(event_fd, event_write_fd)) _exit(126);
#else
    if (done.inherit_as(event_fd)) _exit(126);
#endif
    char child_flag[] = "--exec-child";
    char* child_argv[] = {argv[0], child_flag, nullptr};
    execv(argv[0], child_argv);
    _exit(127);  // exec failed
  }

  // Far longer than needed, below ctest's time-out: a lost signal fails
  // with a message instead of hanging.
  const bool signalled = done.wait_for(std::chrono::seconds(30));
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) fail("waitpid");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail("the exec'd child did not exit cleanly (126: inherit_as, 127: exec)");
  if (!signalled) fail("the exec'd child's signal did not arrive");
  std::printf("an exec'd program signalled the os_event it inherited as descriptor %d\n",
              event_fd);
  return EXIT_SUCCESS;
}
