#!/usr/bin/env bash
#  Build the Debian packages (libzmx0, libzmx-dev, zmx) with Debian's own
#  tools, into OUT_DIR, then check them with lintian (fails on errors).
#  dpkg-buildpackage writes to the parent of the tree it builds, so the
#  build runs on a copy of the source tree in OUT_DIR/src.
#  usage: scripts/deb.sh [OUT_DIR [JOBS]]     (default build-deb, nproc)
set -euo pipefail
source=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-build-deb}
jobs=${2:-$(nproc)}
for tool in dpkg-buildpackage dh lintian fakeroot; do
    command -v "$tool" >/dev/null ||
        { echo "zmx: no $tool: run scripts/deps.sh (or make deps)" >&2; exit 77; }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
version=$(dpkg-parsechangelog -l "$source/debian/changelog" -S Version)
project=$(sed -n 's/^project (zmx VERSION \([0-9.]*\).*/\1/p' "$source/CMakeLists.txt")
if [[ ${version%%-*} != "$project" ]]; then
    echo "zmx: debian/changelog is at $version, CMakeLists.txt at $project:" \
         "add a debian/changelog entry (dch -v $project)" >&2
    exit 1
fi

#  A fresh copy of the files git knows (tracked or new, not ignored), or of
#  the whole tree less build directories when it is not a git checkout
tree=$out/src/zmx-$version
rm -rf "$out/src" "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
mkdir -p "$tree"
if git -C "$source" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$source" && git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' file; do [[ -e $file ]] && printf '%s\0' "$file"; done |
        tar --null -T - -cf -) | tar -C "$tree" -xf -
else
    tar -C "$source" --exclude=./.git --exclude='./build*' -cf - . | tar -C "$tree" -xf -
fi

echo "zmx: building the Debian packages in $out (log: $out/build.log)"
start=$SECONDS
if ! (cd "$tree" && dpkg-buildpackage -us -uc -b -j"$jobs") >"$out/build.log" 2>&1; then
    tail -40 "$out/build.log" >&2
    echo "zmx: dpkg-buildpackage failed; see $out/build.log" >&2
    exit 1
fi
mv "$out"/src/*.deb "$out"/src/*.changes "$out"/src/*.buildinfo "$out"/
echo "zmx: built in $((SECONDS - start)) s: $(cd "$out" && ls ./*.deb | tr '\n' ' ')"

changes=$(ls "$out"/*.changes)
#  Errors fail; warnings and the rest are printed
if ! lintian --fail-on error --display-level '>=info' "$changes" >"$out/lintian.log" 2>&1; then
    cat "$out/lintian.log" >&2
    echo "zmx: lintian found errors (above)" >&2
    exit 1
fi
echo "zmx: lintian: $(grep -c '^E:' "$out/lintian.log") errors, $(grep -c '^W:' "$out/lintian.log")" \
     "warnings, $(grep -c '^I:' "$out/lintian.log") info"
cat "$out/lintian.log"
