#!/usr/bin/env bash
#  Run ctest with the given arguments (in the build directory) and keep its
#  exit status; run as root, also fail if any test was skipped, naming them.
#  Root is how CI runs the suite, where every test can run (network
#  namespaces need root), so a skip there means lost coverage.
set -uo pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
ctest "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [[ $(id -u) -eq 0 ]]; then
    mapfile -t skipped < <(sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\) (Skipped)$/\1/p' "$log")
    if [[ ${#skipped[@]} -gt 0 ]]; then
        echo "zmx: ${#skipped[@]} test(s) skipped while running as root: ${skipped[*]}" >&2
        echo "zmx: every test must run as root (see their output for why they skipped)" >&2
        [[ $status -ne 0 ]] || status=1
    fi
fi
exit "$status"
