#!/usr/bin/env python3
"""beacon's benchmark report, from Google Benchmark's JSON (python3 stdlib).

Runs every benchmark binary named on the command line (bench/*.cpp, Google
Benchmark binaries) one after another, each with

  --benchmark_repetitions=R --benchmark_enable_random_interleaving=true
  --benchmark_min_time=T --benchmark_out=<out>/gbench/<binary>.json
  --benchmark_out_format=json

(their console tables scroll by as progress), measures meanwhile how busy
the machine was (/proc/stat minus this run's own CPU time, /proc/loadavg),
then prints ONE table: every scenario, beacon's implementation (the first
registered for it) beside each peer, both medians and the ratio beacon / peer
(below 1: beacon is faster), headed by the machine, the build, the run and the
method. It writes the same as <out>/bench_report.json (read by
tools/plot_bench.py) and <out>/bench_report.md, and draws the plots when
matplotlib is there (else it says so and goes on).

A benchmark's name is "<scenario> | <implementation>"; its figure is ns per
operation: 1e9 / items_per_second where it counts items, else its real time
per iteration (see bench/harness.hpp).

usage: bench_report.py [options] BINARY...       run the binaries
       bench_report.py [options] --report FILE    re-render a bench_report.json
options: --out-dir DIR, --doc docs/benchmarks.md (also put the table and the
figures between the document's bench-report markers), --readme README.md (the
README's selected rows, from the same report, between its bench-readme
markers), --figures DIR, --no-plots,
--build-type, --platform, --compiler, --flags, --source-dir (recorded).
env:   BEACON_BENCH_QUICK=1 (3 repetitions of 0.02 s: development only),
       BEACON_BENCH_REPS, BEACON_BENCH_MIN_TIME (seconds), BEACON_BENCH_ONLY
       (binaries, comma-separated), BEACON_BENCH_FILTER (a regex passed as
       --benchmark_filter), BEACON_BENCH_THREADS (read by the binaries).
Exit status 1 when a binary failed (the others are still reported).
"""

import argparse
import json
import os
import platform as pyplatform
import re
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FORMAT = "beacon-bench-report/2"
BUSY_SHARE = 0.05  # other processes (or steal) above this: the machine was busy
NOISY = 1.25  # a repetition this far from the median marks the median with "~"
TIMEOUT_S = 600  # one binary longer than this is hung: a lost wake-up is a bug

# The "latency vs thread count" series: a scenario title's pattern, the
# series' name, and the runnable threads at that point (from the match).
SERIES = [
    (
        r"^broadcast to K = (\d+) ",
        "broadcast: K waiters released by one thread (ns per round)",
    ),
    (
        r"^T = (\d+) threads?, 1 permit,",
        "semaphore, T threads contending for 1 permit (ns per acquire+release)",
    ),
    (
        r"^T = (\d+) threads, \d+ permits,",
        "semaphore, T threads contending for T/2 permits (ns per acquire+release)",
    ),
]

# Google Benchmark's name suffixes (after "<scenario> | <impl>").
SUFFIX = re.compile(
    r"(/(iterations|repeats|threads|min_time|min_warmup_time):[^/]*"
    r"|/(real_time|manual_time|process_time))+$"
)
STANDARD_KEYS = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type",
    "repetitions", "repetition_index", "threads", "iterations", "real_time",
    "cpu_time", "time_unit", "items_per_second", "bytes_per_second", "label",
    "aggregate_name", "aggregate_unit", "error_occurred", "error_message",
}
UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def env_number(name, fallback, kind=int):
    try:
        return kind(os.environ.get(name, "") or fallback)
    except ValueError:
        return fallback


# ---------------------------------------------------------------------------
# The machine and how busy it was.


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def probe_machine():
    m = {"cpu_model": "unknown", "hypervisor": False}
    cores, physical = set(), ""
    for line in read("/proc/cpuinfo").splitlines():
        key, _, val = (s.strip() for s in line.partition(":"))
        if key in ("model name", "Hardware", "cpu model") and m["cpu_model"] == "unknown":
            m["cpu_model"] = val
        elif key == "flags" and " hypervisor " in " %s " % val:
            m["hypervisor"] = True
        elif key == "physical id":
            physical = val
        elif key == "core id":
            cores.add((physical, val))
    m["cpus_online"] = os.cpu_count() or 0
    m["cpus_usable"] = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else m["cpus_online"]
    m["cores_physical"] = len(cores)
    u = os.uname()
    m["kernel"] = "%s %s %s" % (u.sysname, u.release, u.machine)
    m["os"] = ""
    for line in read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            m["os"] = line[12:].strip().strip('"')
    m["governor"] = read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor").strip()
    return m


def git_commit(source_dir):
    if not source_dir:
        return ""
    try:
        git = ["git", "-C", source_dir]
        commit = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(git + ["status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return commit + (" (modified)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return ""


def load_average():
    try:
        return float(read("/proc/loadavg").split()[0])
    except (IndexError, ValueError):
        return -1.0


def cpu_times():
    """(busy, steal) seconds of all CPUs so far, from /proc/stat; busy counts
    user, nice, system, irq, softirq and steal (time a hypervisor gave this
    VM's CPUs to others)."""
    fields = read("/proc/stat").split("\n", 1)[0].split()
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[1:9])
    hz = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq + steal) / hz, steal / hz


def own_cpu_seconds():
    t = os.times()  # this process and its waited-for children (the binaries)
    return t.user + t.system + t.children_user + t.children_system


# ---------------------------------------------------------------------------
# Running the binaries and reading their JSON.


def run_binaries(binaries, out_dir, reps, min_time, quick):
    gdir = os.path.join(out_dir, "gbench")
    os.makedirs(gdir, exist_ok=True)
    only = {s.strip() for s in os.environ.get("BEACON_BENCH_ONLY", "").split(",") if s.strip()}
    env = dict(os.environ)
    if quick:
        env["BEACON_BENCH_QUICK"] = "1"
    runs = []
    for path in binaries:
        name = os.path.basename(path)
        if only and name not in only:
            continue
        out = os.path.join(gdir, name + ".json")
        if os.path.exists(out):
            os.remove(out)
        cmd = [
            path,
            "--benchmark_repetitions=%d" % reps,
            "--benchmark_enable_random_interleaving=true",
            "--benchmark_min_time=%g" % min_time,
            "--benchmark_out=" + out,
            "--benchmark_out_format=json",
            "--benchmark_display_aggregates_only=true",  # the file keeps every repetition
        ]
        if os.environ.get("BEACON_BENCH_FILTER"):
            cmd.append("--benchmark_filter=" + os.environ["BEACON_BENCH_FILTER"])
        print("\n---------------- %s ----------------" % name, flush=True)
        start = time.monotonic()
        try:
            status = subprocess.run(cmd, env=env, timeout=TIMEOUT_S).returncode
        except subprocess.TimeoutExpired:
            sys.stderr.write("bench_report.py: %s ran past %d s: hung\n" % (name, TIMEOUT_S))
            status = 124
        except OSError as e:
            sys.stderr.write("bench_report.py: cannot run %s: %s\n" % (path, e.strerror))
            status = 127
        runs.append({"name": name, "json": out, "exit_status": status,
                     "seconds": round(time.monotonic() - start, 1)})
    return runs


def ns_per_op(b):
    ips = b.get("items_per_second")
    if ips:
        return 1e9 / ips
    return b["real_time"] * UNIT_NS.get(b.get("time_unit", "ns"), 1.0)


def median(values):
    return statistics.median(values) if values else 0.0


def read_results(run, usable):
    """The rows of one binary's Google Benchmark JSON: one per benchmark,
    from its repetitions (run_type "iteration"), in registration order."""
    try:
        with open(run["json"], encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        sys.stderr.write("bench_report.py: %s: no results (%s)\n" % (run["name"], e))
        return "", {}, []
    context = data.get("context", {})
    title = context.get("beacon_report", run["name"])
    by_name = {}
    for b in data.get("benchmarks", []):
        if b.get("run_type") != "iteration" or b.get("error_occurred"):
            continue
        key = (b.get("family_index", 0), b.get("per_family_instance_index", 0))
        by_name.setdefault(key, {"run_name": b["run_name"], "samples": []})
        by_name[key]["samples"].append(b)
    rows = []
    for key in sorted(by_name):
        entry = by_name[key]
        scenario, _, impl = entry["run_name"].partition(" | ")
        impl = SUFFIX.sub("", impl)
        times = [ns_per_op(b) for b in entry["samples"]]
        row = {"binary": run["name"], "report": title, "scenario": scenario, "impl": impl,
               "median_ns": median(times), "min_ns": min(times), "max_ns": max(times),
               "reps": len(times), "cpus": usable}
        counters = {}
        for k in entry["samples"][0]:
            if k not in STANDARD_KEYS and isinstance(entry["samples"][0][k], (int, float)):
                counters[k] = median([b.get(k, 0) for b in entry["samples"]])
        if counters:
            row["counters"] = counters
        for pattern, series in SERIES:
            m = re.match(pattern, scenario)
            if m:
                row["series"] = series
                row["threads"] = int(m.group(1))
                row["oversubscribed"] = "[oversubscribed:" in scenario
        rows.append(row)
    # Ratios: the first implementation of a scenario is beacon's.
    first = {}
    for r in rows:
        beacon = first.setdefault(r["scenario"], r)
        r["beacon_over_impl"] = beacon["median_ns"] / r["median_ns"] if r["median_ns"] else 0.0
    gb = {k: context.get(k) for k in ("library_build_type", "num_cpus", "mhz_per_cpu",
                                       "load_avg", "date")}
    return title, gb, rows


# ---------------------------------------------------------------------------
# The table.


def format_ns(ns):
    """Nanoseconds as the README writes them: 0.30, 11.6, 390, 18 315."""
    if ns < 10:
        return "%.2f" % ns
    if ns < 1000:
        return "%.1f" % ns
    return "{:,.0f}".format(ns).replace(",", " ")


def format_ratio(r):
    if r >= 0.1:
        return "%.2f" % r
    if r >= 0.01:
        return "%.3f" % r
    return "%.2g" % r


def noisy(r):
    med, lo, hi = r["median_ns"], r["min_ns"], r["max_ns"]
    return med > 0 and lo > 0 and (hi / med > NOISY or med / lo > NOISY)


def groups(results):
    """[(binary, report, scenario, [rows])] in the order of the results."""
    out = []
    for r in results:
        if not out or out[-1][:3] != (r["binary"], r["report"], r["scenario"]):
            out.append((r["binary"], r["report"], r["scenario"], []))
        out[-1][3].append(r)
    return out


def machine_line(m):
    s = m["cpu_model"] + (" (virtual machine)" if m.get("hypervisor") else "")
    s += ", %d usable CPUs" % m["cpus_usable"]
    if m["cpus_online"] != m["cpus_usable"]:
        s += " of %d online" % m["cpus_online"]
    if m.get("cores_physical") and m["cores_physical"] != m["cpus_online"]:
        s += " (%d physical cores)" % m["cores_physical"]
    s += "; " + m["kernel"]
    if m.get("os"):
        s += ", " + m["os"]
    if m.get("governor"):
        s += "; governor " + m["governor"]
    return s


def build_line(b):
    s = b.get("compiler", "") or "unknown compiler"
    if b.get("build_type"):
        s += ", " + b["build_type"]
    if b.get("flags"):
        s += " (%s)" % b["flags"]
    if b.get("platform"):
        s += ", %s parker" % b["platform"]
    if b.get("beacon_commit"):
        s += ", beacon " + b["beacon_commit"]
    if b.get("google_benchmark"):
        s += "; Google Benchmark library: %s build" % b["google_benchmark"]
    return s


def run_line(r):
    s = "%s, %d s" % (r["date"].replace("T", " ")[:16] + " UTC", r["seconds"])
    if r.get("others_cpu_share", -1) >= 0:
        s += "; other processes used %.1f%% of the CPUs meanwhile, steal %.1f%%" % (
            100 * r["others_cpu_share"], 100 * r["steal_share"])
    s += "; load average %.2f at start, %.2f at end" % (
        r["load_average_start"], r["load_average_end"])
    return s


def method_text(reps, min_time, quick):
    return (
        "medians of %d repetitions (Google Benchmark, --benchmark_repetitions=%d "
        "--benchmark_enable_random_interleaving, at least %g s per repetition): every "
        "repetition of every benchmark of a binary runs in a random order, so drift in "
        "load hits beacon and its peers alike; the binaries run one after another, "
        "nothing else of the report runs meanwhile. Pinned threads: the two-thread "
        "latency scenarios (event ping-pong, once_event stream and blocked receiver, "
        "the pool's free list) pin each thread to its own CPU, or both to one CPU where "
        "the title says so; the contended, broadcast and channel scenarios and os_event "
        "are placed by the scheduler. Ratio = beacon / peer: below 1, beacon is faster."
        % (reps, reps, min_time)
        + (" QUICK RUN (BEACON_BENCH_QUICK): few, short repetitions, for development "
           "only." if quick else "")
    )


def wrap(text, first, indent, width=100):
    out, col, line_start = first, len(first), True
    for word in text.split():
        if not line_start and col + 1 + len(word) > width:
            out += "\n" + indent
            col, line_start = len(indent), True
        if not line_start:
            out += " "
            col += 1
        out += word
        col += len(word)
        line_start = False
    return out


def allocation_rows(results):
    """The rows that counted heap allocations, one per implementation."""
    rows, seen = [], set()
    for r in results:
        if "allocs_per_msg" in r.get("counters", {}) and r["impl"] not in seen:
            seen.add(r["impl"])
            rows.append(r)
    return rows


def print_table(report):
    results = report["results"]
    w = 40
    for _, _, _, rows in groups(results):
        for i, r in enumerate(rows):
            w = max(w, len(r["impl"]) + (2 if i == 0 else 7))
    rule = "=" * (w + 30)
    pad = " " * 9
    print("\n\n%s\nbeacon benchmark report\n%s" % (rule, rule))
    print(wrap(machine_line(report["machine"]), "machine: ", pad))
    print(wrap(build_line(report["build"]), "build:   ", pad))
    print(wrap(run_line(report["run"]), "run:     ", pad))
    if report["run"]["busy"]:
        print(pad + "THE MACHINE WAS BUSY (other processes or steal took more than "
              "%d%% of the CPUs): rerun when it is quiet" % (100 * BUSY_SHARE))
    print(wrap(report["method"], "method:  ", pad))
    print(pad + "'~' after a median: that candidate's runs spread more than 25% around it")
    print("\n  %-*s %12s %12s" % (w, "scenario: beacon, then its peers", "median ns",
                                  "beacon/peer"))
    last = None
    for binary, title, scenario, rows in groups(results):
        if title != last:
            print("\n[%s] %s" % (binary, title))
            last = title
        print("  " + scenario)
        for i, r in enumerate(rows):
            ns = format_ns(r["median_ns"]) + ("~" if noisy(r) else " ")
            if i == 0:
                print("    %-*s %12s" % (w - 2, r["impl"], ns))
            else:
                print("      vs %-*s %12s %11s" % (w - 7, r["impl"], ns,
                                                   format_ratio(r["beacon_over_impl"])))
    allocs = allocation_rows(results)
    if allocs:
        print("\n  heap allocations per message (operator new calls, counter allocs_per_msg)")
        for r in allocs:
            print("    %-*s %12.2f" % (w - 2, r["impl"], r["counters"]["allocs_per_msg"]))
    for b in report["binaries"]:
        if b["exit_status"] != 0:
            print("FAILED: %s (exit status %d)" % (b["name"], b["exit_status"]))
    print(rule)


def md_escape(s):
    """Escapes what Markdown would format, and "::" which Doxygen (it reads
    docs/*.md) would take for an explicit link ("\\::" prints "::" in both)."""
    s = re.sub(r"([|<>*_])", r"\\\1", s)
    return s.replace("::", "\\::")


def markdown(report):
    lines = [
        "<!-- generated by tools/bench_report.py from Google Benchmark's JSON -->",
        "- machine: " + md_escape(machine_line(report["machine"])),
        "- build: " + md_escape(build_line(report["build"])),
        "- run: " + md_escape(run_line(report["run"]))
        + (" (the machine was busy)" if report["run"]["busy"] else ""),
        "- method: " + md_escape(report["method"]),
        "- `~` after a time: that candidate's runs spread more than 25% around the median",
        "",
        "| scenario | beacon | ns | peer | ns | beacon / peer |",
        "|---|---|--:|---|--:|--:|",
    ]
    last = None
    for _, title, scenario, rows in groups(report["results"]):
        if title != last:
            lines.append("| **%s** | | | | | |" % md_escape(title))
            last = title
        b = rows[0]
        b_ns = format_ns(b["median_ns"]) + ("~" if noisy(b) else "")
        if len(rows) == 1:
            lines.append("| %s | %s | %s | | | |" % (md_escape(scenario), md_escape(b["impl"]), b_ns))
        for i, p in enumerate(rows[1:]):
            lines.append("| %s | %s | %s | %s | %s | %s |" % (
                md_escape(scenario) if i == 0 else "", md_escape(b["impl"]) if i == 0 else "",
                b_ns if i == 0 else "", md_escape(p["impl"]),
                format_ns(p["median_ns"]) + ("~" if noisy(p) else ""),
                format_ratio(p["beacon_over_impl"])))
    allocs = allocation_rows(report["results"])
    if allocs:
        lines += ["", "Heap allocations per message (`operator new` calls counted in the "
                  "same run, the counter `allocs_per_msg`):", "",
                  "| implementation | allocations per message |", "|---|--:|"]
        for r in allocs:
            lines.append("| %s | %.2f |" % (md_escape(r["impl"]), r["counters"]["allocs_per_msg"]))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# docs/benchmarks.md and the plots.

BEGIN = "<!-- bench-report:begin -->"
END = "<!-- bench-report:end -->"


def update_doc(doc, table, figures):
    """Replaces the text between BEGIN and END in `doc` with the table and
    links to the figures."""
    try:
        with open(doc, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        sys.stderr.write("bench_report.py: %s: %s\n" % (doc, e.strerror))
        return False
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        sys.stderr.write("bench_report.py: %s has no %s ... %s section\n" % (doc, BEGIN, END))
        return False
    doc_dir = os.path.dirname(os.path.abspath(doc))
    lines = [BEGIN, "", "### The table", "", table.strip(), "", "### The figures", ""]
    if not figures:
        lines += ["No figures from this run (matplotlib was missing).", ""]
    for path in figures:
        name = os.path.splitext(os.path.basename(path))[0]
        rel = os.path.relpath(os.path.abspath(path), doc_dir)
        lines += ["![%s](%s)" % (name.replace("_", " "), rel), ""]
    with open(doc, "w", encoding="utf-8") as f:
        f.write(text[:start] + "\n".join(lines) + "\n" + text[end:])
    print("updated", doc)
    return True


README_BEGIN = "<!-- bench-readme:begin -->"
README_END = "<!-- bench-readme:end -->"

# The README's selected rows: (binary, text in the scenario, [text in each
# peer's name]), matched case-insensitively against the report, in this order.
README_ROWS = [
    ("event_bench", "cross-core ping-pong", ["spin then sleep", "sleep at once",
                                             "binary_semaphore", "mutex + condition_variable"]),
    ("event_bench", "same-core ping-pong", ["sleep at once"]),
    ("event_bench", "uncontended set + wait", ["raw futex event"]),
    ("event_bench", "try_wait on an unset", ["one atomic load"]),
    ("event_bench", "wait() on a set manual-reset", ["one atomic load"]),
    ("event_bench", "broadcast to k = 2 ", ["mutex + condition_variable", "futex_wake all"]),
    ("sync_bench", "countdown tick, no waiter", ["std::latch"]),
    ("sync_bench", "uncontended acquire + release", ["posix sem_t"]),
    ("sync_bench", "t = 2 threads, 1 permit", ["posix sem_t"]),
    ("sync_bench", "t = 16 threads, 8 permits", ["posix sem_t"]),
    ("event_count_bench", "notify, no waiter", ["folly-style"]),
    ("event_count_bench", "1 -> 1 threads", ["mutex + 2 condvars"]),
    ("event_count_bench", "8 -> 8 threads", ["mutex + 2 condvars"]),
    ("once_event_bench", "one thread: create + send + receive", ["std::promise"]),
    ("once_event_bench", "a stream of one-shot messages", ["std::promise"]),
    ("once_event_bench", "two threads on two cpus, receiver blocked", ["std::promise"]),
    ("os_event_bench", "ping-pong, two threads", ["blocking read", "poll+read"]),
    ("os_event_bench", "n = 10000 signalled", ["raw epoll_wait", "poll()"]),
    ("wait_many_bench", "wait_any over 2 events, the last one set", ["mutex + condvar", "poll()"]),
    ("wait_many_bench", "wait_all over 2 events, all set", ["mutex + condvar"]),
    ("asio_bench", "co_await wait", ["steady_timer", "concurrent_channel"]),
    ("lot_scale_bench", "256k parked, in order", ["at 1k parked", "lot floor"]),
    ("lot_scale_bench", "bucket mate of 100k", ["empty table"]),
]


def readme_rows(report):
    """The README's benchmark section body: a line naming the run and the
    selected rows, from the same report as docs/benchmarks.md."""
    run, build = report["run"], report["build"]
    share = run.get("others_cpu_share", -1)
    load = ("other processes used %.1f%% of the CPUs during the run, load average %.2f "
            "at its start" % (100 * share, run["load_average_start"]) if share >= 0
            else "load average %.2f at its start" % run["load_average_start"])
    lines = [
        "<!-- generated by tools/bench_report.py --readme from the report that "
        "docs/benchmarks.md shows; do not edit by hand -->",
        "Selected rows of the run in [docs/benchmarks.md](docs/benchmarks.md) "
        "(%s UTC, beacon %s; %s%s). Medians in ns; the full table, the spread "
        "and the figures are there." % (
            run["date"].replace("T", " ")[:16], build.get("beacon_commit", "?") or "?", load,
            "; THE MACHINE WAS BUSY: compare ratios, not times" if run.get("busy") else ""),
        "",
        "| scenario | beacon | peer | beacon / peer |",
        "|---|--:|---|--:|",
    ]
    missing = []
    for binary, scen_text, peer_texts in README_ROWS:
        found = [g for g in groups(report["results"])
                 if g[0] == binary and scen_text.lower() in g[2].lower()]
        if not found:
            missing.append(scen_text)
            continue
        _, _, scenario, rows = found[0]
        first = True
        for text in peer_texts:
            peer = next((r for r in rows[1:] if text.lower() in r["impl"].lower()), None)
            if peer is None:
                missing.append("%s / %s" % (scen_text, text))
                continue
            lines.append("| %s | %s | %s: %s | %s |" % (
                md_escape(scenario) if first else "",
                format_ns(rows[0]["median_ns"]) if first else "",
                md_escape(peer["impl"]), format_ns(peer["median_ns"]),
                format_ratio(peer["beacon_over_impl"])))
            first = False
    for m in missing:
        sys.stderr.write("bench_report.py: README row not in this report: %s\n" % m)
    return "\n".join(lines) + "\n"


def update_readme(readme, report):
    """Replaces the text between README_BEGIN and README_END in `readme`."""
    try:
        with open(readme, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        sys.stderr.write("bench_report.py: %s: %s\n" % (readme, e.strerror))
        return False
    start, end = text.find(README_BEGIN), text.find(README_END)
    if start < 0 or end < start:
        sys.stderr.write("bench_report.py: %s has no %s ... %s section\n"
                         % (readme, README_BEGIN, README_END))
        return False
    body = README_BEGIN + "\n" + readme_rows(report) + text[end:]
    with open(readme, "w", encoding="utf-8") as f:
        f.write(text[:start] + body)
    print("updated", readme)
    return True


def plots(report, report_path, out_dir):
    """The figures (tools/plot_bench.py), or [] with a message when
    matplotlib is missing. Where this interpreter lacks it but Debian's
    /usr/bin/python3 (where python3-matplotlib installs) is another one, that
    one draws them."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    import plot_bench  # pylint: disable=import-outside-toplevel

    try:
        import matplotlib  # noqa: F401 pylint: disable=import-outside-toplevel,unused-import

        return plot_bench.plot_all(report, out_dir)
    except ImportError:
        pass
    system = "/usr/bin/python3"
    if os.path.exists(system) and os.path.realpath(sys.executable) != os.path.realpath(system):
        done = subprocess.run([system, os.path.join(here, "plot_bench.py"), report_path,
                               "--out", out_dir], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            print(done.stdout, end="")
            return [line for line in done.stdout.splitlines() if line.startswith(out_dir)]
    return plot_bench.plot_all(report, out_dir)  # says that the plots are skipped


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("binaries", nargs="*", help="Google Benchmark binaries to run")
    p.add_argument("--report", help="re-render this bench_report.json instead of running")
    p.add_argument("--out-dir", default=os.path.join(REPO, "build", "bench"))
    p.add_argument("--doc", help="update this Markdown file's bench-report section")
    p.add_argument("--figures", default=os.path.join(REPO, "docs", "bench"),
                   help="directory for the plots (default docs/bench)")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--readme", help="update this README's bench-readme rows (same report)")
    for opt in ("build-type", "platform", "compiler", "flags", "source-dir"):
        p.add_argument("--" + opt, default="")
    args = p.parse_args()

    if args.report:
        try:
            with open(args.report, encoding="utf-8") as f:
                report = json.load(f)
        except (OSError, ValueError) as e:
            sys.stderr.write("bench_report.py: cannot read %s: %s\n" % (args.report, e))
            return 1
        if report.get("format") != FORMAT:
            sys.stderr.write("bench_report.py: %s is not a %s file\n" % (args.report, FORMAT))
            return 1
    elif args.binaries:
        report = measure(args)
    else:
        p.error("name the benchmark binaries, or --report FILE")

    print_table(report)
    table = markdown(report)
    json_path = args.report
    if not args.report:
        os.makedirs(args.out_dir, exist_ok=True)
        json_path = os.path.join(args.out_dir, "bench_report.json")
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
            f.write("\n")
        with open(os.path.join(args.out_dir, "bench_report.md"), "w", encoding="utf-8") as f:
            f.write(table)
        print("JSON: %s\nMarkdown: %s" % (json_path, os.path.join(args.out_dir, "bench_report.md")))
    figures = [] if args.no_plots else plots(report, json_path, os.path.abspath(args.figures))
    if args.doc and not update_doc(args.doc, table, figures):
        return 1
    if args.readme and not update_readme(args.readme, report):
        return 1
    return 1 if any(b["exit_status"] != 0 for b in report["binaries"]) else 0


def measure(args):
    quick = env_number("BEACON_BENCH_QUICK", 0) != 0
    reps = max(1, env_number("BEACON_BENCH_REPS", 3 if quick else 7))
    min_time = env_number("BEACON_BENCH_MIN_TIME", 0.02 if quick else 0.1, float)
    run = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "mode": "quick" if quick else "full", "load_average_start": load_average()}
    cpu0, own0, start = cpu_times(), own_cpu_seconds(), time.monotonic()
    print("bench_report.py: %d benchmark binaries, one after another, %d repetitions "
          "of >= %g s, randomly interleaved%s" % (len(args.binaries), reps, min_time,
                                                  " (QUICK RUN: development only)" if quick else ""),
          flush=True)
    runs = run_binaries(args.binaries, args.out_dir, reps, min_time, quick)
    seconds = time.monotonic() - start
    cpu1, own1 = cpu_times(), own_cpu_seconds()
    run["seconds"] = round(seconds)
    run["load_average_end"] = load_average()
    machine = probe_machine()
    run["others_cpu_share"] = run["steal_share"] = -1.0
    if cpu0 and cpu1 and seconds > 0 and machine["cpus_online"]:
        capacity = seconds * machine["cpus_online"]
        run["others_cpu_share"] = round(max(0.0, (cpu1[0] - cpu0[0]) - (own1 - own0)) / capacity, 4)
        run["steal_share"] = round((cpu1[1] - cpu0[1]) / capacity, 4)
    # Where the share is unknown: a 1-minute load average above half the CPUs
    # at the start (it still counts the build just before: a loose bound).
    if run["others_cpu_share"] >= 0:
        run["busy"] = run["others_cpu_share"] > BUSY_SHARE
    else:
        run["busy"] = run["load_average_start"] > 0.5 * machine["cpus_usable"]
    results, gb_build = [], ""
    for r in runs:
        _, gb, rows = read_results(r, machine["cpus_usable"])
        gb_build = gb_build or (gb.get("library_build_type") or "")
        r["results"] = len(rows)
        if quick:
            for row in rows:
                row["quick"] = True
        results += rows
    build = {"compiler": args.compiler, "flags": " ".join(args.flags.split()),
             "build_type": args.build_type, "platform": args.platform,
             "beacon_commit": git_commit(args.source_dir), "google_benchmark": gb_build}
    return {"format": FORMAT, "machine": machine, "build": build, "run": run,
            "method": method_text(reps, min_time, quick),
            "binaries": [{k: r[k] for k in ("name", "exit_status", "seconds", "results")}
                         for r in runs],
            "results": results}


if __name__ == "__main__":
    sys.exit(main())
