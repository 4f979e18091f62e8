#!/usr/bin/env bash
#  test_skip_unprivileged - a namespace case that cannot run must report
#  skipped, never passed: run test_node_netns as user nobody (no root, so
#  no network namespaces) and expect the skip exit code (77, CTest's
#  SKIP_RETURN_CODE) and each namespace case reported SKIPPED.
#  Usage: test_skip_unprivileged.sh BIN_DIR
#  Needs root to drop privileges: without it, this test is skipped itself.
set -uo pipefail
bin=${1:?usage: test_skip_unprivileged.sh BIN_DIR}
if [[ $(id -u) -ne 0 ]] || ! command -v setpriv >/dev/null; then
    echo "skipped: needs root and setpriv to run a test as nobody"
    exit 77
fi
output=$(cd /tmp && setpriv --reuid=nobody --regid=nogroup --clear-groups \
         "$bin/test_node_netns" two_hosts bad_beacons 2>&1)
status=$?
echo "$output"
failed=0
if [[ $status -ne 77 ]]; then
    echo "FAILED: test_node_netns as nobody exited $status, expected 77 (skipped)"
    failed=1
fi
for name in two_hosts bad_beacons; do
    if ! grep -q "^case $name SKIPPED" <<<"$output"; then
        echo "FAILED: case $name not reported SKIPPED"
        failed=1
    fi
done
[[ $failed -eq 0 ]] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $failed
