#!/usr/bin/env bash
#  The systemd unit and the installed zmxd.cfg:
#  - the unit has the keys the service relies on (user, state and runtime
#    directories, config path, hardening), and the config keeps its data
#    and sockets in the unit's directories;
#  - `systemd-analyze verify` finds nothing wrong with the unit (its
#    Documentation= man pages looked up in the installed tree), and
#    `systemd-analyze security --offline` rates its exposure at most 2.5;
#  - zmxd runs on the installed config, as an unprivileged user, with the
#    unit's directories moved to a temporary directory and the TCP
#    endpoints to ipc:// (no fixed ports): every service starts, the broker
#    answers, the data directories are created, SIGTERM stops it with 0.
#  usage: service.sh BUILD_DIR
set -uo pipefail
build=$1
tmp=$(mktemp -d /tmp/zmx-service-test.XXXXXX)
zmxd_pid=""
cleanup() {
    [[ -n $zmxd_pid ]] && kill -KILL "$zmxd_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v systemd-analyze >/dev/null ||
    { echo "SKIP: no systemd-analyze (install systemd)"; exit 77; }

root=$tmp/root
DESTDIR=$root cmake --install "$build" >"$tmp/install.log" ||
    { cat "$tmp/install.log"; fail "DESTDIR install failed"; }
prefix=$(sed -n 's|^CMAKE_INSTALL_PREFIX:PATH=||p' "$build/CMakeCache.txt")
unit=$(find "$root" -name zmxd.service -path '*/systemd/system/*')
[[ -f $unit ]] || fail "zmxd.service not installed"
execstart=$(sed -n 's/^ExecStart=//p' "$unit")
zmxd=${execstart%% *}
config=${execstart##* -c }
[[ -x $root$zmxd ]] || fail "ExecStart names $zmxd, which is not installed"
[[ -f $root$config ]] || fail "ExecStart's config $config is not installed"

#  The keys the service relies on
for key in "User=zmx" "Group=zmx" "StateDirectory=zmx" "WorkingDirectory=/var/lib/zmx" \
           "RuntimeDirectory=zmx" "NoNewPrivileges=yes" "ProtectSystem=strict" \
           "ProtectHome=yes" "PrivateTmp=yes" "PrivateDevices=yes" \
           "ProtectKernelTunables=yes" "ProtectKernelModules=yes" "ProtectKernelLogs=yes" \
           "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK" \
           "LockPersonality=yes" "MemoryDenyWriteExecute=yes" "RestrictRealtime=yes" \
           "SystemCallArchitectures=native" "Documentation=man:zmxd(8) man:zmxd.cfg(5)"; do
    grep -qxF "$key" "$unit" || fail "zmxd.service lacks '$key'"
done
grep -q '^DynamicUser' "$unit" && fail "zmxd.service must not use DynamicUser (data in /var/lib/zmx)"
[[ $execstart == "$zmxd -c $config" ]] || fail "unexpected ExecStart=$execstart"
echo "ok: zmxd.service runs $execstart as zmx, with its keys"

#  The config keeps its data and sockets in the unit's directories
"$root$zmxd" -c "$root$config" --print-config >"$tmp/effective.cfg" ||
    fail "the installed $config does not pass zmxd --print-config"
for key in 'data-directory = "/var/lib/zmx/clone"' 'directory = "/var/lib/zmx/titanic"' \
           'data-directory = "/var/lib/zmx/streams"' \
           'endpoint = "ipc:///run/zmx/resolver,tcp://127.0.0.1:5559"'; do
    grep -qF "$key" "$tmp/effective.cfg" || fail "the installed zmxd.cfg lacks $key"
done
grep -qF '/tmp/' "$tmp/effective.cfg" && fail "the installed zmxd.cfg uses /tmp, private to the service"
echo "ok: the installed zmxd.cfg keeps its data in /var/lib/zmx and its socket in /run/zmx"

#  systemd-analyze, on a copy whose ExecStart is the binary installed here
#  (with --root it would need a whole systemd tree)
sed "s|^ExecStart=$zmxd|ExecStart=$root$zmxd|" "$unit" >"$tmp/zmxd.service"
MANPATH=$root$prefix/share/man systemd-analyze verify "$tmp/zmxd.service" >"$tmp/verify.log" 2>&1
status=$?
if ((status)) || [[ -s $tmp/verify.log ]]; then
    cat "$tmp/verify.log"
    fail "systemd-analyze verify zmxd.service (exit $status)"
fi
systemd-analyze security --offline=yes --threshold=25 "$tmp/zmxd.service" >"$tmp/security.log" 2>&1 ||
    { tail -3 "$tmp/security.log"; fail "systemd-analyze security: exposure above 2.5"; }
echo "ok: systemd-analyze verify is silent; $(grep -oE 'Overall exposure level[^:]*: [0-9.]+ [A-Z]+' "$tmp/security.log")"

#  Run zmxd on the installed config, as the unit would, without fixed
#  ports: the service's directories in $tmp, TCP endpoints on ipc://, no
#  beacons, and the resolver without its clone server (it takes tcp:// only)
state=$tmp/state run=$tmp/run
mkdir -p "$state" "$run"
sed -e "s|/var/lib/zmx|$state|g" -e "s|/run/zmx|$run|g" \
    -e "s|tcp://127.0.0.1:\([0-9][0-9]*\)|ipc://$run/\1|g" \
    -e 's|^\(    port = \)5670$|\10|' -e 's|^\(    servers = \)"ipc://.*"$|\1""|' \
    "$root$config" >"$tmp/run.cfg"
runas=()
if [[ $(id -u) -eq 0 ]]; then
    #  The unit's user is a system user; nobody stands in for it here
    chown -R nobody:nogroup "$state" "$run"
    chmod 755 "$tmp"
    runas=(setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs)
fi
(cd "$state" && exec "${runas[@]}" "$root$zmxd" -c "$tmp/run.cfg" >"$tmp/zmxd.out" 2>"$tmp/zmxd.err") &
zmxd_pid=$!
for ((i = 0; i < 100; i++)); do
    grep -q '^zmxd: node on' "$tmp/zmxd.out" 2>/dev/null && break
    kill -0 "$zmxd_pid" 2>/dev/null || break
    sleep 0.1
done
grep -q '^zmxd: node on' "$tmp/zmxd.out" ||
    { cat "$tmp/zmxd.out" "$tmp/zmxd.err"; fail "zmxd did not start every service on the installed config"; }
for service in broker files clone resolver node; do    # titanic binds nothing
    grep -q "^zmxd: $service on" "$tmp/zmxd.out" || fail "zmxd did not start $service"
done
services=$("$root$prefix/bin/zmx" services -b "ipc://$run/5555" -t 2000 -r 1) ||
    fail "the broker does not answer zmx services"
[[ $services == SERVICE* ]] || fail "zmx services printed: $services"
[[ -d $state/titanic && -d $state/clone ]] || fail "zmxd did not create its data directories in $state"
[[ -S $run/resolver ]] || fail "the resolver's socket is not in $run"
kill -TERM "$zmxd_pid"
wait "$zmxd_pid"
status=$?
zmxd_pid=""
((status == 0)) || { cat "$tmp/zmxd.err"; fail "zmxd exited $status on SIGTERM"; }
echo "ok: zmxd ran on the installed config as $( ((${#runas[@]})) && echo nobody || id -un), created its data, stopped with 0"
