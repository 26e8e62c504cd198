#!/usr/bin/env python3
"""Plots beacon's benchmark report (the JSON that `cmake --workflow --preset
bench` writes to build/bench/bench_report.json, made by tools/bench_report.py
from Google Benchmark's JSON).

Writes, into docs/bench/ by default:
  latency_vs_threads.svg   every "latency vs thread count" series: median ns
                           per operation of beacon and each peer against the
                           thread count (log-log; whiskers: min..max of the
                           repetitions; hollow markers: more runnable threads
                           than usable CPUs, i.e. oversubscribed);
  ratios_<benchmark>.svg   per benchmark binary, one bar per scenario and
                           peer: the ratio beacon / peer (log scale; left of
                           1 = beacon faster).
Every figure is labelled with the machine, the date, and "QUICK RUN" or
"machine busy" when the report says so.

usage: tools/plot_bench.py [report.json] [--out DIR] [--format svg|png] [--note TEXT]
(tools/bench_report.py --report FILE --doc docs/benchmarks.md also puts the
table and these figures into the document.)

Needs matplotlib (Debian: apt-get install python3-matplotlib); without it
the plots are skipped with a message (exit status 2 from the command line).
"""

import argparse
import json
import os
import re
import sys
import textwrap

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INSTALL_HINT = "install it with: sudo apt-get install python3-matplotlib"


def import_matplotlib():
    """matplotlib and pyplot with the Agg backend, or None with a message."""
    try:
        import matplotlib  # pylint: disable=import-outside-toplevel

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

        return matplotlib, plt
    except ImportError:
        print(
            "plot_bench.py: plots skipped: python3 module matplotlib not found "
            "(interpreter %s); %s" % (sys.executable, INSTALL_HINT)
        )
        return None


def slug(text):
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40]


NOTE = ""  # --note: appended to every figure's caption


def caption(report):
    """A line naming the machine, the date and the kind of run."""
    m = report.get("machine", {})
    b = report.get("build", {})
    r = report.get("run", {})
    cpu = m.get("cpu_model", "unknown CPU")
    if m.get("hypervisor"):
        cpu += " (VM)"
    parts = [
        "%s, %s CPUs" % (cpu, m.get("cpus_usable", "?")),
        m.get("kernel", ""),
        b.get("compiler", ""),
        (r.get("date", "") or "").replace("T", " ").replace("Z", " UTC"),
    ]
    text = "; ".join(p for p in parts if p)
    warnings = []
    if r.get("mode") == "quick":
        warnings.append("QUICK DEV RUN, not a measurement")
    if r.get("busy"):
        share = r.get("others_cpu_share", -1)
        if share is not None and share >= 0:
            warnings.append(
                "machine busy: other processes used %.0f%% of the CPUs" % (100 * share)
            )
        else:
            warnings.append("machine busy")
    if NOTE:
        warnings.append(NOTE)
    if warnings:
        text += "\n" + "; ".join(warnings)
    return text


def ordered(values):
    seen = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return seen


def plot_series(plt, report, results, path):
    series = ordered(r["series"] for r in results if r.get("series"))
    if not series:
        print("plot_bench.py: no thread-count series in the report; %s skipped" % path)
        return None
    cpus = report.get("machine", {}).get("cpus_usable")
    fig, axes = plt.subplots(
        1, len(series), figsize=(6.4 * len(series), 5.2), squeeze=False
    )
    for ax, name in zip(axes[0], series):
        rows = [r for r in results if r.get("series") == name]
        impls = ordered(r["impl"] for r in rows)
        over = [r["threads"] for r in rows if r.get("oversubscribed")]
        if over:
            ax.axvspan(
                min(over) / 1.25,
                max(r["threads"] for r in rows) * 1.25,
                color="0.92",
                zorder=0,
            )
            ax.text(
                min(over) / 1.2,
                0.98,
                "oversubscribed\n(more threads than %s CPUs)" % cpus,
                transform=ax.get_xaxis_transform(),
                va="top",
                fontsize=8,
                color="0.35",
            )
        for i, impl in enumerate(impls):
            pts = sorted(
                (r for r in rows if r["impl"] == impl), key=lambda r: r["threads"]
            )
            x = [p["threads"] for p in pts]
            y = [p["median_ns"] for p in pts]
            lo = [p["median_ns"] - p.get("min_ns", p["median_ns"]) for p in pts]
            hi = [p.get("max_ns", p["median_ns"]) - p["median_ns"] for p in pts]
            beacon = i == 0
            line = ax.errorbar(
                x,
                y,
                yerr=[lo, hi],
                label=impl,
                linewidth=2.6 if beacon else 1.3,
                capsize=2,
                zorder=3 if beacon else 2,
            )
            color = line[0].get_color()
            for p in pts:  # hollow markers where oversubscribed
                ax.plot(
                    p["threads"],
                    p["median_ns"],
                    marker="o",
                    markersize=7 if beacon else 5,
                    color=color,
                    markerfacecolor="white" if p.get("oversubscribed") else color,
                    zorder=4,
                )
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        xs = sorted({r["threads"] for r in rows})
        ax.set_xticks(xs)
        ax.set_xticklabels([str(v) for v in xs])
        ax.set_xlabel("threads")
        ax.set_ylabel("median ns per operation (log)")
        ax.set_title(name, fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0, -0.14), ncol=1)
    fig.suptitle(
        "beacon: latency vs thread count\n" + caption(report), fontsize=9
    )
    fig.tight_layout()
    return fig


def plot_ratios(plt, report, rows, title):
    """Horizontal bars from 1, one per (scenario, peer): beacon / peer."""
    labels, values, heads = [], [], []  # heads: (row, text) in bold
    for rep in ordered(r["report"] for r in rows):
        for sc in ordered(r["scenario"] for r in rows if r["report"] == rep):
            cands = [r for r in rows if r["report"] == rep and r["scenario"] == sc]
            if len(cands) < 2:
                continue
            text = "%s  [beacon: %s]" % (sc, cands[0]["impl"])
            for line in textwrap.wrap(text, 105):
                heads.append((len(labels), line))
                labels.append("")
                values.append(None)
            for p in cands[1:]:
                labels.append(p["impl"])
                values.append(p["beacon_over_impl"])
    if not labels:
        return None
    n = len(labels)
    fig, ax = plt.subplots(figsize=(11, 1.2 + 0.22 * n))
    finite = [v for v in values if v]
    lo = min(finite + [1.0]) / 3
    hi = max(finite + [1.0]) * 3
    for y, v in enumerate(values):
        if v is None or v <= 0:
            continue
        color = "#3a7d44" if v < 1 else "#b5443a"
        ax.barh(y, v - 1, left=1, color=color, height=0.7)
        if v < 1:
            ax.text(v / 1.06, y, "%.3g" % v, va="center", ha="right", fontsize=7)
        else:
            ax.text(v * 1.06, y, "%.3g" % v, va="center", ha="left", fontsize=7)
    for y, text in heads:
        ax.text(lo * 1.05, y, text, fontsize=7.5, fontweight="bold", va="center",
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6})
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_yticks(range(n))
    ax.set_yticklabels(labels, fontsize=7)
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(n - 0.5, -0.7)
    ax.set_xlabel("beacon / peer (log scale): left of 1 = beacon faster, right = slower")
    ax.grid(True, axis="x", which="major", alpha=0.3)
    ax.set_title("%s\n%s" % (title, caption(report)), fontsize=9)
    fig.tight_layout()
    return fig


def plot_all(report, out_dir, fmt="svg", note=""):
    """Draws every figure of `report` into `out_dir`; returns their paths
    ([] when matplotlib is missing)."""
    global NOTE
    NOTE = note
    mpl = import_matplotlib()
    if mpl is None:
        return []
    matplotlib, plt = mpl
    matplotlib.rcParams.update(
        {
            "svg.fonttype": "none",  # text stays text: small, searchable SVG
            "svg.hashsalt": "beacon-bench",  # stable ids: diffs show real changes
            "font.size": 8,
        }
    )
    os.makedirs(out_dir, exist_ok=True)
    results = report.get("results", [])
    written = []

    def save(fig, name):
        path = os.path.join(out_dir, "%s.%s" % (name, fmt))
        meta = {"Date": None} if fmt == "svg" else {}
        fig.savefig(path, metadata=meta, dpi=120)
        plt.close(fig)
        written.append(path)

    fig = plot_series(plt, report, results, "latency_vs_threads")
    if fig is not None:
        save(fig, "latency_vs_threads")
    for binary in ordered(r.get("binary", "") for r in results):
        rows = [r for r in results if r.get("binary", "") == binary]
        title = "; ".join(ordered(r["report"] for r in rows))
        fig = plot_ratios(plt, report, rows, "%s (%s)" % (title, binary))
        if fig is not None:
            save(fig, "ratios_" + slug(re.sub(r"_bench$", "", binary) or "all"))
    for p in written:
        print(p)
    return written


def main():
    parser = argparse.ArgumentParser(
        description="Plot beacon's benchmark report (bench_report.json)."
    )
    parser.add_argument(
        "report",
        nargs="?",
        default=os.path.join(REPO, "build", "bench", "bench_report.json"),
        help="the report's JSON (default: build/bench/bench_report.json)",
    )
    parser.add_argument(
        "--out",
        default=os.path.join(REPO, "docs", "bench"),
        help="directory for the figures (default: docs/bench)",
    )
    parser.add_argument("--format", choices=("svg", "png"), default="svg")
    parser.add_argument(
        "--note", default="", help="text added to every figure's caption"
    )
    args = parser.parse_args()
    try:
        with open(args.report, encoding="utf-8") as f:
            report = json.load(f)
    except OSError as e:
        sys.stderr.write(
            "plot_bench.py: cannot read %s (%s)\n"
            "make it with: cmake --workflow --preset bench\n" % (args.report, e.strerror)
        )
        return 1
    except ValueError as e:
        sys.stderr.write("plot_bench.py: %s is not JSON: %s\n" % (args.report, e))
        return 1
    if not str(report.get("format", "")).startswith("beacon-bench-report/"):
        sys.stderr.write(
            "plot_bench.py: %s is not a beacon benchmark report\n" % args.report
        )
        return 1
    return 0 if plot_all(report, args.out, args.format, args.note) else 2


if __name__ == "__main__":
    sys.exit(main())
