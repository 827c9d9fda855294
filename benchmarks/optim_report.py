"""Turn a pytest-benchmark JSON of test_bench_optim.py into a Markdown table.

    python benchmarks/optim_report.py optim.json [--size 10000000] [--dtype float32]

Per kernel: the median time of each backend (naive scaled to the full size),
the speed-up over the numpy backend (and, for Adam, over the tutorials' numpy
form "numpy-cs231n"), and the bandwidth bytes/median next to np.copyto's in the
same run ("bytes" is the fused step's traffic, so for numpy it is an effective rate).
"""
import argparse
import json
from collections import defaultdict


def load(path):
    with open(path) as f:
        data = json.load(f)
    rows = defaultdict(dict)
    for bench in data["benchmarks"]:
        info = bench["extra_info"]
        rows[(info["kernel"], info["dtype"], info["size"])][info["backend"]] = (
            bench["stats"]["median"] * info["scale"], info["bytes"])
    return data.get("machine_info", {}), rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json")
    parser.add_argument("--size", type=int, default=10_000_000)
    parser.add_argument("--dtype", default="float32")
    args = parser.parse_args()
    machine, rows = load(args.json)
    copy = rows.get(("copyto", args.dtype, args.size), {}).get("numpy")
    print(f"{args.dtype}, {args.size:,} parameters; CPU: {machine.get('cpu', {}).get('brand_raw', '?')}")
    if copy:
        print(f"np.copyto of the same size: {copy[0] * 1e3:.2f} ms, {copy[1] / copy[0] / 1e9:.1f} GB/s\n")
    print("| kernel | backend | median ms | x numpy | x numpy-cs231n | GB/s |")
    print("|---|---|---:|---:|---:|---:|")
    for (kernel, dtype, size), backends in sorted(rows.items()):
        if kernel == "copyto" or dtype != args.dtype or size != args.size:
            continue
        numpy_time = backends.get("numpy", (None,))[0]
        tutorial_time = backends.get("numpy-cs231n", (None,))[0]
        for backend in ("naive", "numpy", "numpy-cs231n", "numba", "cython", "numba-1thread", "cython-1thread"):
            if backend not in backends:
                continue
            median, nbytes = backends[backend]
            ratio = f"{numpy_time / median:.1f}" if numpy_time else "-"
            ratio_tutorial = f"{tutorial_time / median:.1f}" if tutorial_time else "-"
            print(f"| {kernel} | {backend} | {median * 1e3:.2f} | {ratio} | {ratio_tutorial} | "
                  f"{nbytes / median / 1e9:.1f} |")


if __name__ == "__main__":
    main()
