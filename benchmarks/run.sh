#!/usr/bin/env bash
# Produce every speed figure of fastlc on this machine, with one command:
#
#     bash benchmarks/run.sh            # about 10 minutes on 2 cores
#
# 1. the pytest-benchmark suite (every kernel x backend x size x dtype, the
#    compiled backends at 1 thread and all cores, estimators vs scikit-learn);
#    the raw JSON goes to benchmarks/results/raw/ (ignored by git: tens of MB),
#    a compact summary (statistics and machine info, about 100-200 KB, see
#    benchmarks/summary.py) to benchmarks/results/summaries/ (kept in git);
# 2. benchmarks/results/REPORT.md: the speed-up table (vs naive and vs numpy),
#    first-call costs in fresh processes, the estimator speed target on 60k x 784,
#    and benchmarks/results/speedups.png (a bar chart; needs the bench extra);
# 3. a comparison with the previous summary, flagging regressions over 15%.
#
# Arguments, if any, replace the pytest target (a partial run, e.g.
# `bash benchmarks/run.sh benchmarks/test_bench_optim.py -k adam`): its raw JSON
# and summary both stay in the ignored raw/ directory, its table goes to stdout,
# and REPORT.md, the chart and the kept summaries are left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
results=benchmarks/results
raw_dir="$results/raw"
summaries="$results/summaries"
mkdir -p "$raw_dir" "$summaries"
stamp=$(date -u +%Y%m%d_%H%M%S)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
raw="$raw_dir/${stamp}_${commit}.json"

if [ "$#" -gt 0 ]; then
    python -m pytest "$@" -q -p no:cacheprovider --benchmark-json="$raw"
    summary="$raw_dir/${stamp}_${commit}.summary.json"
    python benchmarks/summary.py "$raw" "$summary"
    python benchmarks/report.py "$summary"
    echo "partial run: wrote $raw and $summary (both ignored by git)"
    exit 0
fi

previous=$(ls "$summaries"/*.json 2>/dev/null | sort | tail -n 1 || true)
python -m pytest benchmarks -q -p no:cacheprovider --benchmark-json="$raw"
summary="$summaries/${stamp}_${commit}.json"
python benchmarks/summary.py "$raw" "$summary"

{
    echo "# fastlc speed report"
    echo
    echo "Regenerate with \`bash benchmarks/run.sh\`. Medians of repeats, all ratios from the same run."
    echo
    echo "## Kernels and estimators (pytest-benchmark)"
    echo
    python benchmarks/report.py "$summary"
    echo
    echo "## First-call cost (fresh process per row)"
    echo
    python benchmarks/first_call.py
    echo
    echo "## Estimator speed target (60k x 784 float32, 20 epochs, batch 256)"
    echo
    echo '```'
    python -W ignore benchmarks/estimator_speed.py
    echo '```'
} > "$results/REPORT.md"
python benchmarks/report.py "$summary" --png "$results/speedups.png" --markdown /dev/null \
    || echo "no chart: install the bench extra (pip install -e '.[bench]')"

if [ -n "$previous" ]; then
    echo "Compared with the previous run ($previous):"
    python benchmarks/report.py --compare "$previous" "$summary" --threshold 0.15 \
        || echo "regressions over 15% flagged above (this machine is shared: rerun before believing one)"
fi
echo "wrote $summary, $results/REPORT.md and $results/speedups.png (raw samples: $raw, not committed)"
