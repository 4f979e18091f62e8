#!/usr/bin/env bash
#  Install into temporary prefixes (cmake --install --prefix, and DESTDIR),
#  check what is installed, run the installed binaries without
#  LD_LIBRARY_PATH (their RUNPATH must find libzmx.so.0), and build a
#  program against the installed library with nothing but pkg-config, both
#  shared and static, and run it.
#  usage: install.sh BUILD_DIR SOURCE_DIR C_COMPILER
set -euo pipefail
build=$1 source=$2 cc=$3
tmp=$(mktemp -d /tmp/zmx-install-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
unset LD_LIBRARY_PATH
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" ||
    { cat "$tmp/install.log"; fail "cmake --install --prefix failed"; }
#  Moved after installing: everything must still work from the new place
mv "$tmp/prefix" "$tmp/moved"
prefix=$tmp/moved
libdir=$(sed -n 's|^libdir=${prefix}/||p' "$build/libzmx.pc")
[[ -n $libdir ]] || fail "cannot read libdir from $build/libzmx.pc"
for file in bin/zmx sbin/zmxd "$libdir/libzmx.so.0" "$libdir/libzmx.so" "$libdir/libzmx.a" \
            "$libdir/pkgconfig/libzmx.pc" include/zmx.h include/zmx/zmx_broker.h \
            share/man/man1/zmx.1 share/man/man8/zmxd.8 share/man/man5/zmxd.cfg.5 \
            lib/systemd/system/zmxd.service etc/zmx/zmxd.cfg \
            share/bash-completion/completions/zmx; do
    [[ -e $prefix/$file ]] || fail "not installed: $file (installed: $(cd "$prefix" && find . -type f | sort | tr '\n' ' '))"
done
echo "ok: every file installed"

for binary in bin/zmx sbin/zmxd; do
    runpath=$(readelf -d "$prefix/$binary" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
    [[ $runpath == "\$ORIGIN/../$libdir" ]] || fail "$binary RUNPATH is '$runpath', expected \$ORIGIN/../$libdir"
    loaded=$(ldd "$prefix/$binary" | sed -n 's/^\s*libzmx.so.0 => \(.*\) (0x.*/\1/p')
    [[ $loaded -ef $prefix/$libdir/libzmx.so.0 ]] ||
        fail "$binary loads libzmx.so.0 from '$loaded', not from $prefix/$libdir"
done
[[ $("$prefix/bin/zmx" --help) == "usage: zmx COMMAND"* ]] || fail "installed zmx --help"
[[ $("$prefix/sbin/zmxd" --version) == "zmxd "[0-9]* ]] || fail "installed zmxd --version"
"$prefix/sbin/zmxd" -c "$prefix/etc/zmx/zmxd.cfg" --print-config >/dev/null ||
    fail "installed zmxd.cfg does not pass zmxd --print-config"
echo "ok: installed zmx and zmxd run without LD_LIBRARY_PATH (RUNPATH \$ORIGIN/../$libdir)"

export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
[[ $(pkg-config --variable=prefix libzmx) -ef $prefix ]] ||
    fail "libzmx.pc prefix $(pkg-config --variable=prefix libzmx) is not $prefix"
program=$source/tests/packaging/installed_program.c
# shellcheck disable=SC2046
"$cc" -o "$tmp/shared" "$program" $(pkg-config --cflags --libs libzmx) ||
    fail "cannot build against the installed library with pkg-config --cflags --libs libzmx"
LD_LIBRARY_PATH=$prefix/$libdir "$tmp/shared" "ipc://$tmp/broker-shared" ||
    fail "the program built against the installed shared library failed"
echo "ok: built with pkg-config --cflags --libs libzmx and ran"

#  Static libzmx.a, shared system libraries: libzmx.pc's Libs and
#  Requires.private give the rest. (Not pkg-config --static: Debian 12's
#  norm.pc, a dependency of libzmq's, names a libprotokit.a it does not ship.)
private=$(pkg-config --print-requires-private libzmx | awk '{print $1}' | tr '\n' ' ')
# shellcheck disable=SC2046,SC2086
"$cc" -o "$tmp/static" "$program" $(pkg-config --cflags libzmx) "$prefix/$libdir/libzmx.a" \
    $(pkg-config --libs libzmx $private | sed 's/ -lzmx / /; s/^-lzmx //') -pthread ||
    fail "cannot link libzmx.a with pkg-config --libs libzmx $private"
[[ $(ldd "$tmp/static") == *libzmx* ]] && fail "the static program still loads libzmx.so"
"$tmp/static" "ipc://$tmp/broker-static" || fail "the program linked with libzmx.a failed"
echo "ok: linked with libzmx.a and its Requires.private ($private) and ran"

DESTDIR=$tmp/destdir cmake --install "$build" >"$tmp/install.log" ||
    { cat "$tmp/install.log"; fail "DESTDIR install failed"; }
configured=$(sed -n 's|^CMAKE_INSTALL_PREFIX:PATH=||p' "$build/CMakeCache.txt")
for file in bin/zmx sbin/zmxd "$libdir/libzmx.a" "$libdir/pkgconfig/libzmx.pc"; do
    [[ -e $tmp/destdir$configured/$file ]] || fail "DESTDIR install: no $configured/$file"
done
leaked=$(find "$tmp/destdir" -mindepth 1 -maxdepth 1 ! -name "$(echo "$configured" | cut -d/ -f2)")
[[ -z $leaked ]] || fail "DESTDIR install wrote outside $configured: $leaked"
echo "ok: DESTDIR install under $configured"
