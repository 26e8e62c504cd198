// run_benchmarks: the driver of the benchmark report (target bench_report).
//
// Runs every benchmark binary named on the command line, one after another
// (their own tables scroll by as progress), each with BEACON_BENCH_JSON
// pointing at a file of its own; then merges the JSON lines into
//   * one table on stdout: every beacon primitive, scenario by scenario,
//     beside each peer, with both medians and the ratio beacon / peer,
//     headed by the machine, the build, the date and the method;
//   * one JSON file (--json): the machine, the run, the method and every
//     result (median, min, max, repetitions; the "latency vs thread count"
//     series carry "series" and "threads"), for tools/plot_bench.py;
//   * optionally the same table as Markdown (--markdown), for the docs.
//
// usage: run_benchmarks --json=<file> [--markdown=<file>] [--build-type=<t>]
//          [--platform=<p>] [--source-dir=<dir>] [--quick] -- <binary>...
// env:   BEACON_BENCH_QUICK=1 (as --quick: a quick development run, passed on
//        to the binaries), BEACON_BENCH_ONLY=<name,name> (run only these
//        binaries), and every knob of bench/harness.hpp, passed on.
// Exit status 1 when a binary failed (the others still run and are
// reported), 2 on a usage error.
#include <sched.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "harness.hpp"

#ifndef BEACON_BENCH_COMPILER
#define BEACON_BENCH_COMPILER __VERSION__
#endif
#ifndef BEACON_BENCH_FLAGS
#define BEACON_BENCH_FLAGS ""
#endif

namespace {

using bench::json_string;

// ---------------------------------------------------------------------------
// A JSON line of the harness: one flat object of strings and numbers.

struct value {
  bool is_string = false;
  std::string text;  // the string (unescaped), or the literal as written
};
using record = std::vector<std::pair<std::string, value>>;

const value* find(const record& r, const std::string& key) {
  for (const auto& [k, v] : r)
    if (k == key) return &v;
  return nullptr;
}
std::string str(const record& r, const std::string& key) {
  const value* v = find(r, key);
  return v ? v->text : std::string();
}
double num(const record& r, const std::string& key) {
  const value* v = find(r, key);
  return v && !v->is_string ? std::strtod(v->text.c_str(), nullptr) : 0.0;
}

void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Parses `{"key": value, ...}` with string, number, true, false and null
// values; false when the line is not such an object.
bool parse_line(const std::string& line, record& out) {
  std::size_t i = 0;
  auto ws = [&] {
    while (i < line.size() && line[i] && std::strchr(" \t\r\n", line[i]))
      ++i;
  };
  auto parse_string = [&](std::string& s) {
    if (i >= line.size() || line[i] != '"') return false;
    for (++i; i < line.size(); ++i) {
      const char c = line[i];
      if (c == '"') {
        ++i;
        return true;
      }
      if (c != '\\') {
        s += c;
        continue;
      }
      if (++i >= line.size()) return false;
      switch (line[i]) {
        case 'n':
          s += '\n';
          break;
        case 't':
          s += '\t';
          break;
        case 'r':
          s += '\r';
          break;
        case 'b':
          s += '\b';
          break;
        case 'f':
          s += '\f';
          break;
        case 'u': {
          if (i + 4 >= line.size()) return false;
          append_utf8(s, static_cast<unsigned>(
                             std::strtoul(line.substr(i + 1, 4).c_str(), nullptr, 16)));
          i += 4;
          break;
        }
        default:
          s += line[i];  // \" \\ \/
      }
    }
    return false;
  };
  ws();
  if (i >= line.size() || line[i++] != '{') return false;
  for (;;) {
    ws();
    if (i < line.size() && line[i] == '}') return true;
    std::string key;
    if (!parse_string(key)) return false;
    ws();
    if (i >= line.size() || line[i++] != ':') return false;
    ws();
    value v;
    if (i < line.size() && line[i] == '"') {
      v.is_string = true;
      if (!parse_string(v.text)) return false;
    } else {
      const std::size_t start = i;
      while (i < line.size() && !std::strchr(",} \t", line[i]))
        ++i;
      v.text = line.substr(start, i - start);
      if (v.text.empty()) return false;
    }
    out.emplace_back(std::move(key), std::move(v));
    ws();
    if (i < line.size() && line[i] == ',') {
      ++i;
      continue;
    }
    return i < line.size() && line[i] == '}';
  }
}

// ---------------------------------------------------------------------------
// The machine.

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  const auto e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::string read_first_line(const char* path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return trim(line);
}

std::string run_command(const std::string& cmd) {
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[256];
    while (std::fgets(buf, sizeof buf, p))
      out += buf;
    if (::pclose(p) != 0) return {};
  }
  return trim(out);
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (const char c : s)
    q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct machine {
  std::string cpu_model = "unknown";
  bool hypervisor = false;
  int cpus_online = 0;
  int cpus_usable = 0;
  int cores_physical = 0;  // 0: unknown
  std::string kernel;
  std::string os;
  std::string governor;  // empty: no cpufreq
  std::string compiler = BEACON_BENCH_COMPILER;
  std::string flags = BEACON_BENCH_FLAGS;
  std::string build_type;
  std::string platform;
  std::string commit;  // empty: unknown
};

machine probe_machine(const std::string& source_dir) {
  machine m;
  {
    std::ifstream f("/proc/cpuinfo");
    std::string line, physical_id;
    std::set<std::string> cores;
    while (std::getline(f, line)) {
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      const std::string key = trim(line.substr(0, colon));
      const std::string val = trim(line.substr(colon + 1));
      if ((key == "model name" || key == "Hardware" || key == "cpu model") &&
          m.cpu_model == "unknown")
        m.cpu_model = val;
      else if (key == "flags" &&
               (" " + val + " ").find(" hypervisor ") != std::string::npos)
        m.hypervisor = true;
      else if (key == "physical id")
        physical_id = val;
      else if (key == "core id")
        cores.insert(physical_id + "/" + val);
    }
    m.cores_physical = static_cast<int>(cores.size());
  }
  m.cpus_online = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  m.cpus_usable = bench::usable_cpus();
  utsname u{};
  if (::uname(&u) == 0)
    m.kernel = std::string(u.sysname) + " " + u.release + " " + u.machine;
  {
    std::ifstream f("/etc/os-release");
    std::string line;
    while (std::getline(f, line))
      if (line.rfind("PRETTY_NAME=", 0) == 0) {
        m.os = line.substr(12);
        m.os.erase(std::remove(m.os.begin(), m.os.end(), '"'), m.os.end());
      }
  }
  m.governor = read_first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  if (!source_dir.empty()) {
    const std::string git = "git -C " + shell_quote(source_dir);
    m.commit = run_command(git + " rev-parse --short HEAD 2>/dev/null");
    if (!m.commit.empty() &&
        !run_command(git + " status --porcelain --untracked-files=no 2>/dev/null")
             .empty())
      m.commit += " (modified)";
  }
  return m;
}

// The 1-minute load average, or -1.
double load_average() {
  double l = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &l) != 1) l = -1;
    std::fclose(f);
  }
  return l;
}

// CPU time the whole machine spent busy, and in steal (time a hypervisor
// gave this VM's CPUs to others), from /proc/stat, in seconds.
struct cpu_times {
  double busy = -1;  // user, nice, system, irq, softirq, steal
  double steal = 0;
};

cpu_times machine_cpu_times() {
  cpu_times t;
  std::ifstream f("/proc/stat");
  std::string cpu;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0,
                     softirq = 0, steal = 0;
  if (f >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal &&
      cpu == "cpu") {
    const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
    t.busy = static_cast<double>(user + nice + system + irq + softirq + steal) / hz;
    t.steal = static_cast<double>(steal) / hz;
  }
  return t;
}

// CPU time of this process and of its waited-for children, in seconds.
double own_cpu_seconds() {
  auto seconds = [](int who) {
    rusage u{};
    ::getrusage(who, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  };
  return seconds(RUSAGE_SELF) + seconds(RUSAGE_CHILDREN);
}

std::string utc_time(std::time_t t, const char* format) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

// ---------------------------------------------------------------------------
// Running the binaries.

struct binary_run {
  std::string name;  // file name
  std::string path;
  std::string json_lines;
  int exit_status = 0;  // 128 + signal when killed
  double seconds = 0;
  std::vector<record> results;
  int bad_lines = 0;
};

std::string base_name(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string dir_name(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

void run_binary(binary_run& b) {
  if (FILE* f = std::fopen(b.json_lines.c_str(), "w")) {  // the harness appends
    std::fclose(f);
  } else {
    std::fprintf(stderr, "run_benchmarks: cannot write %s: %s\n", b.json_lines.c_str(),
                 std::strerror(errno));
    b.exit_status = 126;
    return;
  }
  std::fflush(stdout);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("BEACON_BENCH_JSON", b.json_lines.c_str(), 1);
    ::execl(b.path.c_str(), b.path.c_str(), static_cast<char*>(nullptr));
    std::fprintf(stderr, "run_benchmarks: cannot run %s: %s\n", b.path.c_str(),
                 std::strerror(errno));
    ::_exit(127);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid)
    b.exit_status = 127;
  else if (WIFEXITED(status))
    b.exit_status = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    b.exit_status = 128 + WTERMSIG(status);
  b.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::ifstream f(b.json_lines);
  std::string line;
  while (std::getline(f, line)) {
    if (trim(line).empty()) continue;
    record r;
    if (!parse_line(line, r) || !find(r, "scenario") || !find(r, "impl")) {
      ++b.bad_lines;
      continue;
    }
    r.insert(r.begin(), {"binary", value{true, b.name}});
    b.results.push_back(std::move(r));
  }
}

// ---------------------------------------------------------------------------
// The merged table.

// Nanoseconds as the README writes them: 0.30, 11.6, 390, 18 315.
std::string format_ns(double ns) {
  char buf[64];
  if (ns < 10)
    std::snprintf(buf, sizeof buf, "%.2f", ns);
  else if (ns < 1000)
    std::snprintf(buf, sizeof buf, "%.1f", ns);
  else
    std::snprintf(buf, sizeof buf, "%.0f", ns);
  std::string s = buf;
  if (ns >= 10000)  // thousands separated by a space
    for (int at = static_cast<int>(s.size()) - 3; at > 0; at -= 3)
      s.insert(static_cast<std::size_t>(at), " ");
  return s;
}

std::string format_ratio(double r) {
  char buf[32];
  if (r >= 0.1)
    std::snprintf(buf, sizeof buf, "%.2f", r);
  else if (r >= 0.01)
    std::snprintf(buf, sizeof buf, "%.3f", r);
  else
    std::snprintf(buf, sizeof buf, "%.2g", r);
  return buf;
}

// Whether a row's runs spread more than 25% around its median.
bool noisy(const record& r) {
  const double med = num(r, "median_ns"), lo = num(r, "min_ns"), hi = num(r, "max_ns");
  if (!find(r, "min_ns") || med <= 0 || lo <= 0) return false;
  return hi / med > 1.25 || med / lo > 1.25;
}

// One scenario: its beacon candidate (the first line) and its peers.
struct scenario_rows {
  std::string binary, report, scenario;
  std::vector<const record*> rows;
};

std::vector<scenario_rows> group(const std::vector<binary_run>& runs) {
  std::vector<scenario_rows> out;
  for (const auto& b : runs)
    for (const auto& r : b.results) {
      const std::string rep = str(r, "report"), sc = str(r, "scenario");
      if (out.empty() || out.back().binary != b.name || out.back().report != rep ||
          out.back().scenario != sc)
        out.push_back({b.name, rep, sc, {}});
      out.back().rows.push_back(&r);
    }
  return out;
}

// "7 repetitions" or "7 repetitions (beacon once events: 5)".
std::string repetitions(const std::vector<binary_run>& runs) {
  std::map<int, int> count;  // reps -> rows
  std::map<std::string, int> per_report;
  for (const auto& b : runs)
    for (const auto& r : b.results) {
      const int reps = static_cast<int>(num(r, "reps"));
      ++count[reps];
      per_report[str(r, "report")] = reps;
    }
  if (count.empty()) return "the repetitions";
  const int usual = std::max_element(count.begin(), count.end(), [](auto& a, auto& b) {
                      return a.second < b.second;
                    })->first;
  std::string s = std::to_string(usual) + " repetitions";
  std::string others;
  for (const auto& [rep, n] : per_report)
    if (n != usual)
      others += (others.empty() ? "" : "; ") + rep + ": " + std::to_string(n);
  return others.empty() ? s : s + " (" + others + ")";
}

std::string method_text(const std::vector<binary_run>& runs, bool quick) {
  return "medians of " + repetitions(runs) +
         "; in each scenario beacon and its peers run interleaved in one process "
         "(A B C A B C ...), so drift in load hits them alike; the benchmarks run one "
         "after another, nothing else of the report runs meanwhile. Pinned threads: the "
         "two-thread latency scenarios (event ping-pong, once_event stream and blocked "
         "receiver) pin each thread to its own CPU, or both to one CPU where the title "
         "says so; the contended, broadcast and channel scenarios and os_event are "
         "placed by the scheduler. Ratio = beacon / peer: below 1, beacon is faster." +
         std::string(quick ? " QUICK RUN (BEACON_BENCH_QUICK): 3 repetitions of short "
                             "runs, for development only."
                           : "");
}

struct header {
  machine m;
  std::string date, date_human;
  double seconds = 0;
  double load_start = -1, load_end = -1;
  // The share of all CPUs' time during the run that other processes used
  // (machine busy time minus the report's own), and that went to steal;
  // negative: unknown.
  double others_share = -1, steal_share = -1;
  bool quick = false;
  std::string method;
};

std::string machine_line(const machine& m) {
  std::string s = m.cpu_model;
  if (m.hypervisor) s += " (virtual machine)";
  s += ", " + std::to_string(m.cpus_usable) + " usable CPUs";
  if (m.cpus_online != m.cpus_usable)
    s += " of " + std::to_string(m.cpus_online) + " online";
  if (m.cores_physical > 0 && m.cores_physical != m.cpus_online)
    s += " (" + std::to_string(m.cores_physical) + " physical cores)";
  s += "; " + m.kernel;
  if (!m.os.empty()) s += ", " + m.os;
  if (!m.governor.empty()) s += "; governor " + m.governor;
  return s;
}

std::string build_line(const machine& m) {
  std::string s = m.compiler;
  if (!m.build_type.empty()) s += ", " + m.build_type;
  if (!trim(m.flags).empty()) s += " (" + trim(m.flags) + ")";
  if (!m.platform.empty()) s += ", " + m.platform + " parker";
  if (!m.commit.empty()) s += ", beacon " + m.commit;
  return s;
}

std::string run_line(const header& h) {
  char buf[320];
  int n = std::snprintf(buf, sizeof buf, "%s, %.0f s", h.date_human.c_str(), h.seconds);
  if (h.others_share >= 0)
    n += std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n),
                       "; other processes used %.1f%% of the CPUs meanwhile, steal "
                       "%.1f%%",
                       100 * h.others_share, 100 * h.steal_share);
  std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n),
                "; load average %.2f at start, %.2f at end", h.load_start, h.load_end);
  return buf;
}

// The machine was busy when other processes (or the hypervisor, as steal)
// took more than 5% of all CPUs' time during the run. Where that is unknown,
// a 1-minute load average above half the CPUs at the start (it still counts
// the build that ran just before, hence the loose bound).
bool busy(const header& h) {
  if (h.others_share >= 0) return h.others_share > 0.05;
  return h.load_start > 0.5 * h.m.cpus_usable;
}

// `text` in lines of at most `width` columns, each after `indent` (the
// first line after `first`).
std::string wrap(const std::string& text, const std::string& first,
                 const std::string& indent, std::size_t width = 100) {
  std::string out = first, word;
  std::size_t col = first.size();
  std::stringstream ss(text);
  bool line_start = true;
  while (ss >> word) {
    if (!line_start && col + 1 + word.size() > width) {
      out += "\n" + indent;
      col = indent.size();
      line_start = true;
    }
    if (!line_start) {
      out += ' ';
      ++col;
    }
    out += word;
    col += word.size();
    line_start = false;
  }
  return out;
}

// One table: per scenario a heading, beacon's line (its median), then every
// peer (its median and the ratio beacon / peer).
void print_table(const header& h, const std::vector<scenario_rows>& groups) {
  std::size_t w = 40;
  for (const auto& g : groups)
    for (std::size_t i = 0; i < g.rows.size(); ++i)
      w = std::max(w, str(*g.rows[i], "impl").size() + (i == 0 ? 2 : 7));
  const int wn = static_cast<int>(w);
  const std::string rule(w + 30, '=');
  std::printf("\n\n%s\nbeacon benchmark report\n%s\n", rule.c_str(), rule.c_str());
  std::printf("%s\n", wrap(machine_line(h.m), "machine: ", "         ").c_str());
  std::printf("%s\n", wrap(build_line(h.m), "build:   ", "         ").c_str());
  std::printf("%s\n", wrap(run_line(h), "run:     ", "         ").c_str());
  if (busy(h))
    std::printf(
        "         THE MACHINE WAS BUSY (other processes or steal took more "
        "than 5%% of the CPUs): rerun when it is quiet\n");
  std::printf("%s\n", wrap(h.method, "method:  ", "         ").c_str());
  std::printf(
      "         '~' after a median: that candidate's runs spread more than 25%% "
      "around it\n");
  std::printf("\n  %-*s %12s %12s\n", wn, "scenario: beacon, then its peers", "median ns",
              "beacon/peer");
  std::string last_report;
  for (const auto& g : groups) {
    if (g.report != last_report) {
      std::printf("\n[%s] %s\n", g.binary.c_str(), g.report.c_str());
      last_report = g.report;
    }
    std::printf("  %s\n", g.scenario.c_str());
    for (std::size_t i = 0; i < g.rows.size(); ++i) {
      const record& r = *g.rows[i];
      const std::string ns = format_ns(num(r, "median_ns")) + (noisy(r) ? "~" : " ");
      if (i == 0)
        std::printf("    %-*s %12s\n", wn - 2, str(r, "impl").c_str(), ns.c_str());
      else
        std::printf("      vs %-*s %12s %11s\n", wn - 7, str(r, "impl").c_str(),
                    ns.c_str(), format_ratio(num(r, "beacon_over_impl")).c_str());
    }
  }
  std::printf("%s\n", rule.c_str());
}

// Escapes what Markdown would format, and "::" which Doxygen (it reads
// docs/*.md) would take for an explicit link (`\::` prints "::" in both).
std::string md_escape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '|' || c == '<' || c == '>' || c == '*' || c == '_') out += '\\';
    if (c == ':' && i + 1 < s.size() && s[i + 1] == ':') {
      out += "\\::";
      ++i;
      continue;
    }
    out += c;
  }
  return out;
}

bool write_markdown(const std::string& path, const header& h,
                    const std::vector<scenario_rows>& groups) {
  std::ofstream f(path);
  f << "<!-- generated by run_benchmarks (target bench_report) -->\n";
  f << "- machine: " << md_escape(machine_line(h.m)) << "\n";
  f << "- build: " << md_escape(build_line(h.m)) << "\n";
  f << "- run: " << md_escape(run_line(h)) << (busy(h) ? " (the machine was busy)" : "")
    << "\n";
  f << "- method: " << md_escape(h.method) << "\n";
  f << "- `~` after a time: that candidate's runs spread more than 25% around the "
       "median\n\n";
  f << "| scenario | beacon | ns | peer | ns | beacon / peer |\n";
  f << "|---|---|--:|---|--:|--:|\n";
  std::string last_report;
  for (const auto& g : groups) {
    if (g.report != last_report) {
      f << "| **" << md_escape(g.report) << "** | | | | | |\n";
      last_report = g.report;
    }
    const record& b = *g.rows[0];
    const std::string b_ns = format_ns(num(b, "median_ns")) + (noisy(b) ? "~" : "");
    if (g.rows.size() == 1)
      f << "| " << md_escape(g.scenario) << " | " << md_escape(str(b, "impl")) << " | "
        << b_ns << " | | | |\n";
    for (std::size_t i = 1; i < g.rows.size(); ++i) {
      const record& p = *g.rows[i];
      f << "| " << (i == 1 ? md_escape(g.scenario) : "") << " | "
        << (i == 1 ? md_escape(str(b, "impl")) : "") << " | " << (i == 1 ? b_ns : "")
        << " | " << md_escape(str(p, "impl")) << " | " << format_ns(num(p, "median_ns"))
        << (noisy(p) ? "~" : "") << " | " << format_ratio(num(p, "beacon_over_impl"))
        << " |\n";
    }
  }
  f.close();
  return static_cast<bool>(f);
}

bool write_json(const std::string& path, const header& h,
                const std::vector<binary_run>& runs) {
  std::ofstream f(path);
  const machine& m = h.m;
  f << "{\n  \"format\": \"beacon-bench-report/1\",\n";
  f << "  \"machine\": {\"cpu_model\": " << json_string(m.cpu_model)
    << ", \"hypervisor\": " << (m.hypervisor ? "true" : "false")
    << ", \"cpus_online\": " << m.cpus_online << ", \"cpus_usable\": " << m.cpus_usable
    << ", \"cores_physical\": " << m.cores_physical
    << ", \"kernel\": " << json_string(m.kernel) << ", \"os\": " << json_string(m.os)
    << ", \"governor\": " << json_string(m.governor) << "},\n";
  f << "  \"build\": {\"compiler\": " << json_string(m.compiler)
    << ", \"flags\": " << json_string(trim(m.flags))
    << ", \"build_type\": " << json_string(m.build_type)
    << ", \"platform\": " << json_string(m.platform)
    << ", \"beacon_commit\": " << json_string(m.commit) << "},\n";
  char loads[192];
  std::snprintf(loads, sizeof loads,
                "\"load_average_start\": %.2f, \"load_average_end\": %.2f, "
                "\"others_cpu_share\": %.4f, \"steal_share\": %.4f",
                h.load_start, h.load_end, h.others_share, h.steal_share);
  f << "  \"run\": {\"date\": " << json_string(h.date)
    << ", \"seconds\": " << static_cast<long>(h.seconds + 0.5)
    << ", \"mode\": " << (h.quick ? "\"quick\"" : "\"full\"") << ", " << loads
    << ", \"busy\": " << (busy(h) ? "true" : "false") << "},\n";
  f << "  \"method\": " << json_string(h.method) << ",\n";
  f << "  \"binaries\": [";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f", runs[i].seconds);
    f << (i ? ",\n    " : "\n    ") << "{\"name\": " << json_string(runs[i].name)
      << ", \"exit_status\": " << runs[i].exit_status << ", \"seconds\": " << secs
      << ", \"results\": " << runs[i].results.size() << "}";
  }
  f << "\n  ],\n  \"results\": [";
  bool first = true;
  for (const auto& b : runs)
    for (const auto& r : b.results) {
      f << (first ? "\n    {" : ",\n    {");
      first = false;
      for (std::size_t i = 0; i < r.size(); ++i)
        f << (i ? ", " : "") << json_string(r[i].first) << ": "
          << (r[i].second.is_string ? json_string(r[i].second.text) : r[i].second.text);
      f << "}";
    }
  f << "\n  ]\n}\n";
  f.close();
  return static_cast<bool>(f);
}

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s --json=<file> [--markdown=<file>] [--build-type=<type>]\n"
               "       [--platform=<parker>] [--source-dir=<dir>] [--quick] -- "
               "<benchmark binary>...\n",
               argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string json_path, md_path, source_dir;
  std::string build_type, platform;
  bool quick = bench::quick();
  std::vector<std::string> binaries;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string a = argv[i];
    auto opt = [&](const char* name, std::string& into) {
      const std::string prefix = std::string(name) + "=";
      if (a.rfind(prefix, 0) != 0) return false;
      into = a.substr(prefix.size());
      return true;
    };
    if (a == "--") {
      ++i;
      break;
    }
    if (opt("--json", json_path) || opt("--markdown", md_path) ||
        opt("--build-type", build_type) || opt("--platform", platform) ||
        opt("--source-dir", source_dir))
      continue;
    if (a == "--quick") {
      quick = true;
      continue;
    }
    return usage(argv[0]);
  }
  for (; i < argc; ++i)
    binaries.push_back(argv[i]);
  if (json_path.empty() || binaries.empty()) return usage(argv[0]);
  if (quick) ::setenv("BEACON_BENCH_QUICK", "1", 1);
  {
    std::error_code ec;  // the output's folder; an error shows when writing
    std::filesystem::create_directories(dir_name(json_path), ec);
  }

  std::set<std::string> only;
  if (const char* s = std::getenv("BEACON_BENCH_ONLY")) {
    std::stringstream ss(s);
    std::string name;
    while (std::getline(ss, name, ','))
      if (!trim(name).empty()) only.insert(trim(name));
  }

  header h;
  h.quick = quick;
  h.load_start = load_average();
  const cpu_times cpu0 = machine_cpu_times();
  const double own0 = own_cpu_seconds();
  const std::time_t t0 = std::time(nullptr);
  h.date = utc_time(t0, "%Y-%m-%dT%H:%M:%SZ");
  h.date_human = utc_time(t0, "%Y-%m-%d %H:%M UTC");
  const auto start = std::chrono::steady_clock::now();

  std::vector<binary_run> runs;
  for (const auto& path : binaries) {
    binary_run b;
    b.path = path;
    b.name = base_name(path);
    if (!only.empty() && !only.count(b.name)) continue;
    b.json_lines = dir_name(json_path) + "/" + b.name + ".jsonl";
    runs.push_back(std::move(b));
  }
  std::printf(
      "run_benchmarks: %zu benchmarks, one after another%s; "
      "their own tables follow as progress\n",
      runs.size(), quick ? " (QUICK RUN: development only)" : "");
  for (auto& b : runs) {
    std::printf("\n---------------- %s ----------------\n", b.name.c_str());
    run_binary(b);
    if (b.exit_status != 0)
      std::fprintf(stderr, "run_benchmarks: %s failed (exit status %d)\n", b.name.c_str(),
                   b.exit_status);
    if (b.bad_lines)
      std::fprintf(stderr, "run_benchmarks: %s: %d JSON lines not understood\n",
                   b.name.c_str(), b.bad_lines);
  }

  h.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  h.load_end = load_average();
  const cpu_times cpu1 = machine_cpu_times();
  const double own1 = own_cpu_seconds();
  const int online = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  if (cpu0.busy >= 0 && cpu1.busy >= 0 && h.seconds > 0 && online > 0) {
    const double capacity = h.seconds * online;
    h.others_share = std::max(0.0, (cpu1.busy - cpu0.busy) - (own1 - own0)) / capacity;
    h.steal_share = (cpu1.steal - cpu0.steal) / capacity;
  }
  h.m = probe_machine(source_dir);
  h.m.build_type = build_type;
  h.m.platform = platform;
  h.method = method_text(runs, quick);

  const auto groups = group(runs);
  print_table(h, groups);
  int failed = 0;
  if (write_json(json_path, h, runs)) {
    std::printf("JSON: %s\n", json_path.c_str());
  } else {
    std::fprintf(stderr, "run_benchmarks: cannot write %s\n", json_path.c_str());
    ++failed;
  }
  if (!md_path.empty()) {
    if (write_markdown(md_path, h, groups)) {
      std::printf("Markdown: %s\n", md_path.c_str());
    } else {
      std::fprintf(stderr, "run_benchmarks: cannot write %s\n", md_path.c_str());
      ++failed;
    }
  }
  std::printf("plots: python3 %s/tools/plot_bench.py %s\n",
              source_dir.empty() ? "." : source_dir.c_str(), json_path.c_str());

  for (const auto& b : runs)
    if (b.exit_status != 0) {
      std::fprintf(stderr, "run_benchmarks: FAILED: %s (exit status %d)\n",
                   b.name.c_str(), b.exit_status);
      ++failed;
    }
  return failed ? 1 : 0;
}
