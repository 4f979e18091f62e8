#!/usr/bin/env bash
#  test_layers - the folder rule of docs/ARCHITECTURE.md ("Which folder may
#  use which"), read from the symbols each object file of libzmx defines
#  and uses: core/ uses no capability, a capability uses only core/ and
#  the capabilities the rule lists, and no two files use each other in a
#  circle (tsort finds any loop).
#  Usage: test_layers.sh OBJECT_DIR SOURCE_DIR
#  (OBJECT_DIR: the zmx target's CMakeFiles folder; objects whose source is
#  gone, left by an earlier layout, are skipped)
set -euo pipefail
objects=${1:?usage: test_layers.sh OBJECT_DIR SOURCE_DIR}
sources=${2:?usage: test_layers.sh OBJECT_DIR SOURCE_DIR}
cd "$objects"
mapfile -t files < <(find src -name '*.c.o' | sort | while read -r object; do
    [[ -f "$sources/${object%.o}" ]] && echo "$object"; done)
[[ ${#files[@]} -gt 20 ]] || { echo "test_layers: no object files under $objects/src"; exit 1; }

#  Folders a folder may use besides itself and core
allowed () {
    case "$1" in
        core)       echo "" ;;
        reqrep)     echo "state" ;;
        files)      echo "state" ;;
        discovery)  echo "" ;;
        state)      echo "" ;;
        streams)    echo "state" ;;
        zmxd)       echo "reqrep files discovery state streams" ;;
        *)          echo "UNKNOWN" ;;
    esac
}

defined=$(mktemp); edges=$(mktemp)
trap 'rm -f "$defined" "$edges"' EXIT
for object in "${files[@]}"; do
    nm --defined-only "$object" | awk -v file="${object%.c.o}" '$2 ~ /^[TDBR]$/ { print $3, file }'
done | sort > "$defined"

status=0
for object in "${files[@]}"; do
    user=${object%.c.o}
    nm --undefined-only "$object" | awk '{ print $2 }' | sort -u \
        | join - "$defined" | awk -v user="$user" '$2 != user { print user, $2, $1 }'
done | sort -u > "$edges"

#  One awk pass over every use: forking per edge made this take a minute
#  on a loaded machine
rules=$(for folder in $(ls "$sources/src"); do
    echo "$folder $(allowed "$folder")"; done)
awk -v rules="$rules" '
    BEGIN {
        count = split (rules, lines, "\n")
        for (i = 1; i <= count; i++) {
            n = split (lines [i], words, " ")
            for (j = 2; j <= n; j++) may [words [1], words [j]] = 1
        }
    }
    {
        split ($1, a, "/"); split ($2, b, "/"); from = a [2]; to = b [2]
        if (from == to || to == "core" || ((from, to) in may)) next
        printf "test_layers: %s uses %s (%s): %s/ may not use %s/\n", $1, $2, $3, from, to
        bad = 1
    }
    END { exit bad }' "$edges" || status=1

if ! awk '{ print $1, $2 }' "$edges" | sort -u | tsort > /dev/null 2> /tmp/test_layers.$$; then
    echo "test_layers: files that use each other in a circle:"
    cat /tmp/test_layers.$$
    status=1
fi
rm -f /tmp/test_layers.$$
edge_count=$(awk '{ print $1, $2 }' "$edges" | sort -u | wc -l)
echo "test_layers: ${#files[@]} files, $edge_count file-to-file uses checked"
[[ $status -eq 0 ]] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $status
