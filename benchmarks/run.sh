#!/usr/bin/env bash
# Produce every speed figure of fastlc on this machine, with one command:
#
#     bash benchmarks/run.sh            # about 10 minutes on 2 cores
#
# 1. the pytest-benchmark suite (every kernel x backend x size x dtype, the
#    compiled backends at 1 thread and all cores, estimators vs scikit-learn),
#    saved as benchmarks/results/latest.json and kept in benchmarks/results/history/;
# 2. benchmarks/results/REPORT.md: the speed-up table (vs naive and vs numpy),
#    first-call costs in fresh processes, the estimator speed target on 60k x 784,
#    and benchmarks/results/speedups.png (a bar chart; needs the bench extra);
# 3. a comparison with the previous run, flagging regressions over 15%.
set -euo pipefail
cd "$(dirname "$0")/.."
results=benchmarks/results
mkdir -p "$results"
previous=""
if [ -f "$results/latest.json" ]; then
    previous="$results/previous.json"
    cp "$results/latest.json" "$previous"
fi

python -m pytest benchmarks -q -p no:cacheprovider \
    --benchmark-json="$results/latest.json" \
    --benchmark-autosave --benchmark-storage="file://$results/history"

{
    echo "# fastlc speed report"
    echo
    echo "Regenerate with \`bash benchmarks/run.sh\`. Medians of repeats, all ratios from the same run."
    echo
    echo "## Kernels and estimators (pytest-benchmark)"
    echo
    python benchmarks/report.py "$results/latest.json"
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
python benchmarks/report.py "$results/latest.json" --png "$results/speedups.png" --markdown /dev/null \
    || echo "no chart: install the bench extra (pip install -e '.[bench]')"

if [ -n "$previous" ]; then
    echo "Compared with the previous run:"
    python benchmarks/report.py --compare "$previous" "$results/latest.json" --threshold 0.15 \
        || echo "regressions over 15% flagged above (this machine is shared: rerun before believing one)"
fi
echo "wrote $results/REPORT.md and $results/speedups.png"
