#!/usr/bin/env bash
#  Install the Debian packages zmx needs to build, test, fuzz and benchmark.
#  A no-op when everything is present. Run as root, or with sudo available.
set -euo pipefail

packages=(
    cmake make gcc pkg-config           # build
    libzmq3-dev libczmq-dev libsodium-dev   # libzmq 4.3, CZMQ 4.2, libsodium
    libssl-dev                          # libcrypto: SHA-1 of served files
    libxxhash-dev                       # XXH3-128: files transfer check
    clang libclang-rt-14-dev            # libFuzzer and sanitizer runtimes
    iproute2                            # network namespaces for multi-host tests
    jq                                  # tests parse the CLI's --json output
    nats-server libnats-dev             # benchmark baseline
    scdoc                               # man pages
    debhelper dpkg-dev fakeroot lintian # make deb
    bash-completion                     # completion test
    systemd                             # systemd-analyze verify of zmxd.service
)

missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "zmx: installing missing packages: ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then
        sudo="sudo"
    else
        echo "zmx: need root (or sudo) to install: ${missing[*]}" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
