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
  ratios_<benchmark>.svg   per benchmark binary, one row per scenario and
                           implementation, two panels: left, the median ns
                           of beacon and of each peer with min..max whiskers
                           (log axis); right, the ratio beacon / peer on a
                           linear axis around 1 (left of 1 = beacon faster),
                           clipped to [0, RATIO_MAX] with the true value
                           written at the clipped end. Rows comparing beacon
                           with another form of beacon (pooled vs unpooled,
                           stack vs heap) are grouped apart, below the
                           peers, and drawn in neutral grey: they are
                           variants, not wins or losses.
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
ticker = None  # matplotlib.ticker, once imported


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
        ax.xaxis.set_minor_locator(ticker.NullLocator())
        # 1-2-5 labels on the log y axis: a series spanning less than a
        # decade still gets several labelled ticks.
        ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: format_ns(v)))
        ax.yaxis.set_minor_locator(ticker.LogLocator(base=10, subs=(3.0, 4.0, 6.0, 7.0, 8.0, 9.0)))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
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


RATIO_MAX = 2.0  # the ratio axis runs from 0 to this; larger ratios are clipped


def format_ns(ns):
    """A tick or bar label: 0.29, 11.5, 463, 19 093 (ns)."""
    if ns >= 1000:
        return "{:,.0f}".format(ns).replace(",", "\u2009")
    if ns >= 100 or (ns >= 10 and abs(ns - round(ns)) < 1e-9):
        return "%.0f" % ns
    if ns >= 10:
        return "%.1f" % ns
    return "%.2g" % ns


def is_beacon(impl):
    return "beacon" in impl.lower()


def plot_ratios(plt, report, rows, title):
    """Per (scenario, implementation): median ns with min..max whiskers, and
    the ratio beacon / peer on a linear axis around 1."""
    # Entries: ("head", text) | ("row", record, ratio, variant?, is the reference)
    peers, variants = [], []
    for rep in ordered(r["report"] for r in rows):
        for sc in ordered(r["scenario"] for r in rows if r["report"] == rep):
            cands = [r for r in rows if r["report"] == rep and r["scenario"] == sc]
            if len(cands) < 2:
                continue
            ref, others = cands[0], cands[1:]
            for group, keep in ((peers, lambda p: not is_beacon(p["impl"])),
                                (variants, lambda p: is_beacon(p["impl"]))):
                chosen = [p for p in others if keep(p)]
                if not chosen:
                    continue
                for line in textwrap.wrap(sc, 110):
                    group.append(("head", line))
                group.append(("row", ref, None, group is variants, True))
                for p in chosen:
                    group.append(("row", p, p["beacon_over_impl"], group is variants, False))
    if variants:
        variants.insert(0, ("section", "beacon forms compared with each other "
                            "(variants: neither win nor loss)"))
    entries = peers + variants
    if not entries:
        return None
    n = len(entries)
    fig, (axn, axr) = plt.subplots(
        1, 2, figsize=(13, 1.4 + 0.2 * n), sharey=True,
        gridspec_kw={"width_ratios": [1.15, 1.0], "wspace": 0.04})
    labels = []
    all_ns = [e[1]["median_ns"] for e in entries if e[0] == "row" and e[1]["median_ns"] > 0]
    lo_ns = min(all_ns + [1.0]) / 2.5
    for y, e in enumerate(entries):
        if e[0] != "row":
            labels.append("")
            style = {"fontweight": "bold", "fontsize": 7.2, "va": "center"}
            if e[0] == "section":
                style.update(color="#2f4b7c", fontsize=7.8)
            axn.text(0.005, y, e[1], transform=axn.get_yaxis_transform(), **style,
                     bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
            continue
        _, r, ratio, variant, is_ref = e
        labels.append(("= " if is_ref else "") + r["impl"])
        med = r["median_ns"]
        lo = med - r.get("min_ns", med)
        hi = r.get("max_ns", med) - med
        color = "#555555" if is_ref else ("#8c8c8c" if variant else "#4c72b0")
        if is_ref and not variant:
            color = "#1b1b1b"
        axn.errorbar([med], [y], xerr=[[max(lo, 0)], [max(hi, 0)]], fmt="o",
                     color=color, markersize=3.5, capsize=2, linewidth=1)
        axn.text(med, y - 0.38, format_ns(med), fontsize=6, ha="center", color="0.25")
        if ratio is None:
            continue
        if variant:
            bar_color = "#9e9e9e"
        else:
            bar_color = "#3a7d44" if ratio < 1 else "#b5443a"
        shown = min(max(ratio, 0.0), RATIO_MAX)
        axr.barh(y, shown - 1, left=1, color=bar_color, height=0.68)
        text = "%.3g" % ratio
        if ratio > RATIO_MAX:
            axr.text(RATIO_MAX * 0.995, y, "\u2192 %s (clipped)" % text, va="center",
                     ha="right", fontsize=6.5, color="white", fontweight="bold")
        elif shown < 0.2:
            axr.text(0.02, y, text, va="center", ha="left", fontsize=6.5, color="white",
                     fontweight="bold")
        elif ratio < 1:
            axr.text(shown - 0.01, y, text, va="center", ha="right", fontsize=6.5)
        else:
            axr.text(shown + 0.01, y, text, va="center", ha="left", fontsize=6.5)
    axn.set_xscale("log")
    axn.set_xlim(left=lo_ns)
    axn.set_yticks(range(n))
    axn.set_yticklabels(labels, fontsize=6.8)
    axn.tick_params(axis="y", length=0)
    axn.set_ylim(n - 0.5, -0.7)
    axn.set_xlabel("median ns (log); whiskers: min..max of the repetitions;\n"
                   "'=' marks the beacon form the ratios use")
    axn.grid(True, axis="x", which="major", alpha=0.3)
    axr.set_xlim(0, RATIO_MAX)
    axr.axvline(1.0, color="black", linewidth=1)
    axr.set_xticks([0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0])
    axr.set_xlabel("beacon / peer (linear): left of 1 = beacon faster;\n"
                   "ratios over %g are clipped, their value written" % RATIO_MAX)
    axr.grid(True, axis="x", alpha=0.3)
    axr.tick_params(axis="y", length=0)
    fig.suptitle("%s\n%s" % (title, caption(report)), fontsize=9)
    fig.subplots_adjust(left=0.25, right=0.99, top=1 - 0.9 / (1.4 + 0.2 * n),
                        bottom=0.75 / (1.4 + 0.2 * n))
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
    global ticker  # pylint: disable=global-statement
    import matplotlib.ticker as ticker  # pylint: disable=import-outside-toplevel
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
