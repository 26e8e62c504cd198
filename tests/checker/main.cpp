// beacon_checker: explores the interleavings of every scenario linked in
// (see scheduler.hpp) and prints, per scenario, the schedules explored.
//
//   beacon_checker [--only TEXT]... [--scenario NAME]... [--bound N]
//                  [--expect-failure]
//   beacon_checker --replay SCENARIO SCHEDULE     one schedule, traced
//   beacon_checker --list
//
// Each scenario runs in a child process (a failing execution leaves its
// threads blocked; a bug in the checker itself must not hang CI: the child
// has a time limit). --only runs the scenarios whose name contains TEXT,
// --scenario the one named NAME (both repeatable). --expect-failure is for the mutant
// builds: it succeeds only if every selected scenario finds a failure.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../support/command_line.hpp"
#include "checker.hpp"

namespace {

using beacon::checker::options;
using beacon::checker::report;
using beacon::checker::scenario;

constexpr unsigned child_limit_s = 280;

// Whether `name` is one of the --scenario names or contains one of the
// --only filters (every scenario, without either).
bool selected(const std::vector<std::string>& only, const std::vector<std::string>& exact,
              const std::string& name) {
  if (only.empty() && exact.empty()) return true;
  for (const std::string& f : only)
    if (name.find(f) != std::string::npos) return true;
  for (const std::string& f : exact)
    if (name == f) return true;
  return false;
}

// Runs `s` in a child; returns its report (failed, with a reason, if the
// child died).
report run_isolated(const scenario& s, const options& opt) {
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    alarm(child_limit_s);
    const report r = beacon::checker::explore(s.make, opt);
    const std::string out = std::to_string(r.schedules) + "\n" +
                            std::to_string(r.max_points) + "\n" + (r.failed ? "1" : "0") +
                            "\n" + r.schedule + "\n" + r.failure;
    const char* p = out.data();
    std::size_t left = out.size();
    while (left > 0) {
      const ssize_t n = write(fds[1], p, left);
      if (n <= 0) break;
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    std::fflush(stdout);
    _exit(0);
  }
  close(fds[1]);
  std::string in;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
    in.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  report r;
  std::size_t a = in.find('\n'), b = in.find('\n', a + 1), c = in.find('\n', b + 1),
              d = in.find('\n', c + 1);
  if (d == std::string::npos) {
    r.failed = true;
    r.failure = WIFSIGNALED(status) ? std::string("the checker process died: ") +
                                          strsignal(WTERMSIG(status))
                                    : "the checker process ended without a report";
    return r;
  }
  r.schedules = std::stoull(in.substr(0, a));
  r.max_points = std::stoull(in.substr(a + 1, b - a - 1));
  r.failed = in.substr(b + 1, c - b - 1) == "1";
  r.schedule = in.substr(c + 1, d - c - 1);
  r.failure = in.substr(d + 1);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> only, exact;
  std::string replay_name;
  options opt;
  int bound_override = -1;
  bool expect_failure = false;
  bool list = false;
  try {
    beacon_test::command_line args(argc, argv);
    while (args.next()) {
      if (args.is("--only")) {
        only.push_back(args.value());
      } else if (args.is("--scenario")) {
        exact.push_back(args.value());
      } else if (args.is("--bound")) {
        bound_override = static_cast<int>(args.number(0, 64));
      } else if (args.is("--expect-failure")) {
        expect_failure = true;
      } else if (args.is("--replay")) {
        replay_name = args.value();
        opt.replay = args.value();
      } else if (args.is("--list")) {
        list = true;
      } else {
        args.unknown();
      }
    }
  } catch (const beacon_test::usage_error& e) {
    std::fprintf(stderr,
                 "%s: %s\nusage: %s [--only TEXT]... [--scenario NAME]... [--bound N] "
                 "[--expect-failure] [--replay SCENARIO SCHEDULE] [--list]\n",
                 argv[0], e.what(), argv[0]);
    return 2;
  }
  if (list) {
    for (const scenario& s : beacon::checker::scenarios())
      std::printf("%s\n", s.name.c_str());
    return 0;
  }
  if (!replay_name.empty()) {
    for (const scenario& s : beacon::checker::scenarios()) {
      if (s.name != replay_name) continue;
      opt.preemption_bound = s.preemption_bound;
      const report r = run_isolated(s, opt);
      std::printf("%s\n%s", r.failed ? "FAILED" : "passed", r.failure.c_str());
      return r.failed ? 1 : 0;
    }
    std::fprintf(stderr, "no scenario %s\n", replay_name.c_str());
    return 2;
  }

  std::printf("%-44s %5s %10s %7s %7s  %s\n", "scenario", "bound", "schedules", "points",
              "seconds", "result");
  int bad = 0, ran = 0;
  std::uint64_t total = 0;
  for (const scenario& s : beacon::checker::scenarios()) {
    if (!selected(only, exact, s.name)) continue;
    ++ran;
    opt.preemption_bound = bound_override >= 0 ? bound_override : s.preemption_bound;
    const auto start = std::chrono::steady_clock::now();
    const report r = run_isolated(s, opt);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    total += r.schedules;
    const bool ok = r.failed == expect_failure;
    bad += !ok;
    std::printf("%-44s %5d %10llu %7llu %7.1f  %s\n", s.name.c_str(),
                opt.preemption_bound, static_cast<unsigned long long>(r.schedules),
                static_cast<unsigned long long>(r.max_points), secs,
                r.failed ? (expect_failure ? "caught (expected)" : "FAILED")
                         : (expect_failure ? "NOT CAUGHT" : "ok"));
    if (r.failed)
      std::printf("    %s    replay: %s --replay '%s' '%s'\n", r.failure.c_str(), argv[0],
                  s.name.c_str(), r.schedule.c_str());
    std::fflush(stdout);
  }
  std::printf("%d scenarios, %llu schedules, %d %s\n", ran,
              static_cast<unsigned long long>(total), bad,
              expect_failure ? "not caught" : "failed");
  return ran == 0 || bad ? 1 : 0;
}
