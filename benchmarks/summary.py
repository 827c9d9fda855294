"""Shrink a raw pytest-benchmark JSON file to the compact summary kept in git.

Usage::

    python benchmarks/summary.py RAW.json SUMMARY.json

The raw file (tens of MB once timing samples are saved) stays out of git
(``benchmarks/results/raw/`` is ignored). The summary keeps, per benchmark,
its name, group, ``extra_info`` (backend, dtype, size, scale, bytes, accuracy)
and the statistics the reports use: median, quartiles and IQR, minimum,
rounds and iterations; per run, the commit, the date and the machine: CPU
model, core count, architecture, caches and the instruction sets the kernels
can use. It has the same layout as the raw file (``benchmarks[i]["stats"]``,
``machine_info["cpu"]``), so ``report.py`` reads either. About 100 KB for the
whole suite.
"""
import json
import sys

#: Statistics kept per benchmark (pytest-benchmark's names).
KEPT_STATS = ("median", "iqr", "q1", "q3", "min", "rounds", "iterations")

#: CPU flag prefixes that name instruction sets relevant to the kernels (x86 and Arm).
ISA_PREFIXES = ("sse", "ssse3", "avx", "fma", "f16c", "bmi", "popcnt", "amx", "neon", "asimd", "sve", "fp16")

#: Machine fields kept (no host name).
KEPT_MACHINE = ("machine", "system", "release", "processor", "python_implementation", "python_version",
                "python_compiler")
KEPT_CPU = ("brand_raw", "vendor_id_raw", "arch", "bits", "count", "hz_advertised_friendly",
            "l1_data_cache_size", "l2_cache_size", "l3_cache_size")


def instruction_sets(flags):
    """The SIMD-related entries of a py-cpuinfo flag list, sorted."""
    return sorted(flag for flag in flags if flag.startswith(ISA_PREFIXES))


def summarize(raw):
    """Return the compact summary (a dict) of a raw pytest-benchmark result ``raw`` (a dict)."""
    machine = raw.get("machine_info", {})
    cpu = machine.get("cpu", {})
    commit = raw.get("commit_info", {})
    return {
        "format": "fastlc benchmark summary 1",
        "datetime": raw.get("datetime"),
        "pytest_benchmark_version": raw.get("version"),
        "commit_info": {key: commit.get(key) for key in ("id", "branch", "dirty", "time")},
        "machine_info": {
            **{key: machine.get(key) for key in KEPT_MACHINE},
            "cpu": {**{key: cpu.get(key) for key in KEPT_CPU},
                    "instruction_sets": instruction_sets(cpu.get("flags", []))},
        },
        "benchmarks": [
            {
                "name": bench["name"],
                "fullname": bench["fullname"],
                "group": bench.get("group"),
                "extra_info": bench.get("extra_info", {}),
                "stats": {key: bench["stats"][key] for key in KEPT_STATS if key in bench["stats"]},
            }
            for bench in raw["benchmarks"]
        ],
    }


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        sys.exit("usage: python benchmarks/summary.py RAW.json SUMMARY.json")
    with open(argv[0]) as f:
        summary = summarize(json.load(f))
    with open(argv[1], "w") as f:
        f.write(dumps(summary))
    return 0


def dumps(summary):
    """JSON text with one line per benchmark: small, and a diff between runs reads line by line."""
    head = {key: value for key, value in summary.items() if key != "benchmarks"}
    lines = [json.dumps(bench, separators=(",", ":")) for bench in summary["benchmarks"]]
    text = json.dumps(head, indent=1)[:-2]  # reopen the object to append the benchmark list
    return text + ',\n "benchmarks": [\n' + ",\n".join(lines) + "\n ]\n}\n"


if __name__ == "__main__":
    sys.exit(main())
