#!/usr/bin/env bash
#  Run every benchmark; each prints its own table of figures and ratios.
set -euo pipefail
build=${1:-build}
for bench in "$build"/bin/bench_*; do
    echo "== $(basename "$bench")"
    "$bench"
done
