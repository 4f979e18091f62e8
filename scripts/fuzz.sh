#!/usr/bin/env bash
#  Run every fuzz target for a bounded time, starting from its seed corpus
#  in fuzz/CAPABILITY/corpus/NAME. New inputs go to BUILD/corpus/NAME, never
#  into git.
set -euo pipefail
build=${1:-build-fuzz}
seconds=${2:-20}
status=0
for target in "$build"/bin/fuzz_*; do
    name=$(basename "$target")
    name=${name#fuzz_}
    mkdir -p "$build/corpus/$name"
    seeds=$(ls -d fuzz/*/corpus/"$name" 2>/dev/null | head -n 1)
    echo "fuzz $name: $seconds s"
    if ! "$target" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=1024 \
            -print_final_stats=1 "$build/corpus/$name" $seeds 2>"$build/fuzz_$name.log"; then
        tail -n 40 "$build/fuzz_$name.log"
        status=1
    else
        grep -E 'stat::number_executed_units|Done' "$build/fuzz_$name.log" | head -n 2 || true
    fi
done
exit $status
