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
        zmxd)       echo "reqrep files discovery state" ;;
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
        | join - "$defined" | while read -r symbol used; do
        [[ "$used" == "$user" ]] && continue
        echo "$user $used $symbol"
    done
done | sort -u > "$edges"

while read -r user used symbol; do
    from=$(echo "$user" | cut -d/ -f2); to=$(echo "$used" | cut -d/ -f2)
    [[ "$from" == "$to" || "$to" == "core" ]] && continue
    if [[ " $(allowed "$from") " != *" $to "* ]]; then
        echo "test_layers: $user uses $used ($symbol): $from/ may not use $to/"
        status=1
    fi
done < "$edges"

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
