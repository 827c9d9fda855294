"""Turn a benchmark summary into a Markdown speed-up table (and a PNG chart).

Usage::

    python benchmarks/report.py SUMMARY.json [--markdown OUT.md] [--png OUT.png]
    python benchmarks/report.py --compare OLD.json NEW.json [--threshold 0.15]

The input is a compact summary written by ``benchmarks/summary.py`` (what
``benchmarks/run.sh`` keeps in ``benchmarks/results/summaries/``); a raw
pytest-benchmark JSON file has the same layout and is read as well.

Times are medians. A naive backend that ran on a reduced problem is scaled up
by its recorded ``scale`` (full work / reduced work). Speed-ups are taken
within one group (one kernel, dtype and size), from the same run. Rows are
labelled by the recorded backend: "numba"/"cython" ran on all cores,
"numba-1thread"/"cython-1thread" on one; reference rows such as "copyto",
"memory floor" (the traffic of an optimizer step without its arithmetic),
"baseline" or "zero-fill" are shown as measured. Where a benchmark records the
bytes it moves (``extra_info["bytes"]``), the table shows GB/s; where it
records a test accuracy, the table shows it beside the time.
"""
import argparse
import json
import sys
from collections import defaultdict


def load(path):
    with open(path) as f:
        return json.load(f)


def label(bench):
    return bench.get("extra_info", {}).get("backend", bench["name"])


def scaled_median(bench):
    return bench["stats"]["median"] * float(bench.get("extra_info", {}).get("scale", 1.0))


def groups(data):
    """{group: {label: (scaled median seconds, bench)}} in file order."""
    table = defaultdict(dict)
    for bench in data["benchmarks"]:
        table[bench.get("group") or bench["name"]][label(bench)] = (scaled_median(bench), bench)
    return table


def format_time(seconds):
    for unit, factor in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= factor:
            return f"{seconds / factor:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def speedup_rows(data):
    """Yield (group, label, median, vs naive, vs numpy) for every benchmark."""
    for group, rows in groups(data).items():
        naive = rows.get("naive", (None,))[0]
        numpy = rows.get("numpy", (None,))[0]
        for name, (median, bench) in rows.items():
            vs_naive = naive / median if naive else None
            vs_numpy = numpy / median if numpy else None
            yield group, name, median, vs_naive, vs_numpy, bench


def markdown(data):
    machine = data.get("machine_info", {})
    cpu = machine.get("cpu", {}).get("brand_raw", "unknown CPU")
    isa = machine.get("cpu", {}).get("instruction_sets")
    if isa is None:  # a raw pytest-benchmark file: pick the instruction sets from all CPU flags
        from summary import instruction_sets

        isa = instruction_sets(machine.get("cpu", {}).get("flags", []))
    lines = [
        f"Machine: {cpu}, {machine.get('cpu', {}).get('count', '?')} cores, "
        f"Python {machine.get('python_version', '?')}; run {data.get('datetime', '?')}.",
        "",
        f"Instruction sets: {', '.join(isa) if isa else 'unknown'}.",
        "",
        "| benchmark | backend | median | × vs naive | × vs numpy | GB/s |",
        "|---|---|---:|---:|---:|---:|",
    ]
    previous = None
    for group, name, median, vs_naive, vs_numpy, bench in speedup_rows(data):
        extra = bench.get("extra_info", {})
        note = f" (accuracy {extra['accuracy']:.3f})" if "accuracy" in extra else ""
        scaled = " *" if float(extra.get("scale", 1.0)) != 1.0 else ""
        bandwidth = f"{extra['bytes'] / median / 1e9:.1f}" if "bytes" in extra else ""
        lines.append(
            f"| {group if group != previous else ''} | {name}{note} | {format_time(median)}{scaled} | "
            f"{'' if vs_naive is None else f'{vs_naive:,.1f}'} | {'' if vs_numpy is None else f'{vs_numpy:.3g}'} | "
            f"{bandwidth} |"
        )
        previous = group
    lines += ["", "\\* naive ran on a reduced problem; its time is scaled to the full size."]
    return "\n".join(lines) + "\n"


CHART_SERIES = ("numba", "numba-1thread", "cython", "cython-1thread")


def chart(data, path):
    """Horizontal bars: speed-up of each compiled backend over numpy, one block per group."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = {group: rows for group, rows in groups(data).items()
             if "numpy" in rows and any(series in rows for series in CHART_SERIES)}
    names = list(table)
    fig, ax = plt.subplots(figsize=(10, 1.0 + 0.45 * len(names)))
    height = 0.8 / len(CHART_SERIES)
    for k, series in enumerate(CHART_SERIES):
        values = [table[g]["numpy"][0] / table[g][series][0] if series in table[g] else 0.0 for g in names]
        ax.barh([i + k * height for i in range(len(names))], values, height, label=series)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("speed-up over the numpy backend (log scale; > 1 is faster)")
    ax.set_yticks([i + 0.4 - height / 2 for i in range(len(names))])
    ax.set_yticklabels(names, fontsize=7)
    ax.invert_yaxis()
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def compare(old, new, threshold):
    """Print benchmarks that got slower by more than ``threshold``; return their count."""
    before = {b["fullname"]: b["stats"]["median"] for b in old["benchmarks"]}
    regressions = 0
    print(f"| benchmark | before | after | change |\n|---|---:|---:|---:|")
    for bench in new["benchmarks"]:
        if bench["fullname"] not in before:
            continue
        old_median, new_median = before[bench["fullname"]], bench["stats"]["median"]
        change = new_median / old_median - 1.0
        flag = " **REGRESSION**" if change > threshold else ""
        regressions += bool(flag)
        print(f"| {bench['fullname']} | {format_time(old_median)} | {format_time(new_median)} | {change:+.0%}{flag} |")
    return regressions


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="*", help="pytest-benchmark JSON file(s)")
    parser.add_argument("--markdown", help="write the Markdown table here (default: stdout)")
    parser.add_argument("--png", help="write a bar chart of speed-ups over numpy here (needs matplotlib)")
    parser.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"), help="flag regressions of NEW against OLD")
    parser.add_argument("--threshold", type=float, default=0.15, help="relative slow-down that counts as a regression")
    args = parser.parse_args(argv)
    if args.compare:
        return 1 if compare(load(args.compare[0]), load(args.compare[1]), args.threshold) else 0
    if not args.results:
        parser.error("give a results file or --compare OLD NEW")
    data = load(args.results[0])
    for extra in args.results[1:]:
        data["benchmarks"] += load(extra)["benchmarks"]
    text = markdown(data)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    if args.png:
        chart(data, args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
