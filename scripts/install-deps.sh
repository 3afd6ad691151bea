#!/usr/bin/env bash
# Installs every Debian 12 package that fieldlog's build, tests and benchmarks need.
# Idempotent: packages already present are left alone, and apt is not touched at all
# when nothing is missing.
set -euo pipefail

packages=(
    cmake pkg-config g++ make git clang-format
    libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
    libssl-dev libcurl4-openssl-dev libsqlite3-dev sqlite3
    libgpiod-dev libgtest-dev libgmock-dev libbenchmark-dev
    libtomlplusplus-dev libcli11-dev libexif-dev libsystemd-dev
    curl openssl procps util-linux e2fsprogs iproute2
    clang libclang-rt-14-dev
)

missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#packages[@]} packages present"
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run as root (or install them yourself)" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# Debian 12's default Boost is 1.74, whose -dev package conflicts with the 1.81 one.
if dpkg-query -W -f='${Status}' libboost1.74-dev 2>/dev/null | grep -q "install ok installed"; then
    apt-get remove -y -q libboost1.74-dev
fi
apt-get install -y -q --no-install-recommends "${missing[@]}"
