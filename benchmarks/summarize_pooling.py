"""Print the pooling benchmark table and speed-up ratios from a pytest-benchmark JSON file.

    python benchmarks/summarize_pooling.py /tmp/pool.json

Times are medians in milliseconds, multiplied by ``extra_info["scale"]`` (the
naive backend runs on a reduced size). Ratios compare medians of the same run.
"""
import json
import sys
from collections import defaultdict


def load(path):
    with open(path) as f:
        data = json.load(f)
    groups = defaultdict(dict)
    for bench in data["benchmarks"]:
        info = bench["extra_info"]
        groups[bench["group"]][info["backend"]] = bench["stats"]["median"] * info.get("scale", 1) * 1e3
    return data, groups


def main(path):
    data, groups = load(path)
    print(f"machine: {data['machine_info'].get('cpu', {}).get('brand_raw', '?')}, "
          f"{data['machine_info'].get('cpu', {}).get('count', '?')} cores; {data['datetime']}")
    order = ["naive", "numpy", "numba", "cython", "numba-1thread", "cython-1thread", "baseline", "zero-fill"]
    print(f"{'group':54s}" + "".join(f"{b.replace('-1thread', '-1t'):>10s}" for b in order) + "   ratios")
    for group in sorted(groups):
        times = groups[group]
        row = f"{group:54s}" + "".join(f"{times[b]:10.3f}" if b in times else f"{'':10s}" for b in order)
        ratios = []
        for fast in ("numba", "cython", "numba-1thread", "cython-1thread"):
            for slow in ("numpy", "naive"):
                if fast in times and slow in times:
                    ratios.append(f"{slow}/{fast.replace('-1thread', '-1t')} {times[slow] / times[fast]:.1f}x")
            if fast in times and "baseline" in times:
                ratios.append(f"{fast.replace('-1thread', '-1t')}/baseline {times[fast] / times['baseline']:.2f}")
        print(row + "   " + ", ".join(ratios))


if __name__ == "__main__":
    main(sys.argv[1])
