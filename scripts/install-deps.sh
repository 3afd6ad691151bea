#!/usr/bin/env bash
# Installs every Debian 12 package that fieldlog's build, tests and benchmarks need.
# Idempotent: packages already present are left alone, and apt is not touched at all
# when nothing is missing.
#
# Cross builds are opt-in: `scripts/install-deps.sh --cross aarch64` (or FIELDLOG_CROSS=aarch64)
# also adds the Debian architecture (arm64; armhf for --cross armhf), the cross compiler,
# qemu-user and that architecture's form of every -dev library the build links. Benchmarks are
# not cross-built, so Google Benchmark is left out. With --toolchain-only, only the cross
# compiler and qemu-user are installed, and no architecture is added: the target's libraries
# then come from a private sysroot (scripts/armhf-sysroot.sh). Exit code 75 means the cross packages could
# not be had from the archive (a failed update or install); a foreign architecture this run
# added is then removed again, so a broken mirror for it cannot fail later plain installs.
set -euo pipefail

packages=(
    cmake pkg-config g++ make git clang-format
    libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
    libssl-dev libcurl4-openssl-dev libsqlite3-dev sqlite3
    libgpiod-dev libgtest-dev libgmock-dev libbenchmark-dev
    libtomlplusplus-dev libcli11-dev libexif-dev libsystemd-dev
    curl openssl procps util-linux e2fsprogs iproute2
    clang libclang-rt-14-dev
    dpkg-dev file systemd
)
# Native-only: the benchmarks (not cross-built) and the clang fuzz build.
not_cross=(libbenchmark-dev libclang-rt-14-dev)

cross=${FIELDLOG_CROSS:-}
toolchain_only=0
while (($# > 0)); do
    case $1 in
        --cross)
            cross=${2:?--cross needs an architecture: aarch64 or armhf}
            shift 2
            ;;
        --cross=*)
            cross=${1#--cross=}
            shift
            ;;
        --toolchain-only)
            toolchain_only=1
            shift
            ;;
        *)
            echo "usage: $0 [--cross aarch64|armhf [--toolchain-only]]" >&2
            exit 2
            ;;
    esac
done

export DEBIAN_FRONTEND=noninteractive
apt_options=(-q -o Acquire::Retries=3 -o Acquire::http::Timeout=60 -o DPkg::Lock::Timeout=300)

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# Sets missing to those of the arguments that are not installed.
find_missing() {
    missing=()
    local pkg
    for pkg in "$@"; do
        if ! installed "$pkg"; then
            missing+=("$pkg")
        fi
    done
}

require_root() {
    if [[ $(id -u) -ne 0 ]]; then
        echo "install-deps: missing packages: ${missing[*]}" >&2
        echo "install-deps: run as root (or install them yourself)" >&2
        exit 1
    fi
}

find_missing "${packages[@]}"
if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#packages[@]} packages present"
else
    require_root
    echo "install-deps: installing ${missing[*]}"
    apt-get update "${apt_options[@]}"
    # Debian 12's default Boost is 1.74, whose -dev package conflicts with the 1.81 one.
    if installed libboost1.74-dev; then
        apt-get remove -y -q libboost1.74-dev
    fi
    apt-get install -y "${apt_options[@]}" --no-install-recommends "${missing[@]}"
fi

if [[ -z $cross ]]; then
    exit 0
fi

case $cross in
    aarch64) deb_arch=arm64 triplet=aarch64-linux-gnu ;;
    armhf) deb_arch=armhf triplet=arm-linux-gnueabihf ;;
    *)
        echo "install-deps: unknown cross architecture '$cross' (aarch64 or armhf)" >&2
        exit 2
        ;;
esac

if ((toolchain_only)); then
    cross_packages=("g++-$triplet" qemu-user)
else
    cross_packages=("crossbuild-essential-$deb_arch" qemu-user "pkgconf:$deb_arch")
fi
for pkg in "${packages[@]}"; do
    if ((toolchain_only)); then
        break
    fi
    if [[ $pkg != lib*-dev ]] || [[ " ${not_cross[*]} " == *" $pkg "* ]]; then
        continue
    fi
    # Architecture-independent headers (CLI11) serve every architecture as installed above.
    if [[ $(dpkg-query -W -f='${Architecture}' "$pkg" 2>/dev/null) == all ]]; then
        continue
    fi
    cross_packages+=("$pkg:$deb_arch")
done

find_missing "${cross_packages[@]}"
if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#cross_packages[@]} $cross cross packages present"
    exit 0
fi
require_root

added_arch=0
# Called when the archive fails us: undo an architecture this run added, if nothing of it got
# installed, so that plain `apt-get update` does not keep fetching its (possibly broken) index.
give_up() {
    echo "install-deps: $1" >&2
    if ((added_arch)) && [[ -z $(dpkg-query -W -f='${Package}\n' "*:$deb_arch" 2>/dev/null) ]]; then
        dpkg --remove-architecture "$deb_arch" || true
        echo "install-deps: removed the $deb_arch architecture again" >&2
    fi
    exit 75
}

if ((!toolchain_only)) && [[ $deb_arch != "$(dpkg --print-architecture)" ]] &&
    ! dpkg --print-foreign-architectures | grep -qx "$deb_arch"; then
    echo "install-deps: adding the $deb_arch architecture"
    dpkg --add-architecture "$deb_arch"
    added_arch=1
fi
echo "install-deps: installing ${missing[*]}"
# apt-get update exits non-zero when any index fails to download (e.g. a size mismatch at the
# mirror); the install below would then work from a partial view, so stop here.
apt-get update "${apt_options[@]}" || give_up "apt-get update failed for $deb_arch"
# Multi-Arch: same packages need identical versions on every architecture, so this may upgrade
# some amd64 packages to the version the $deb_arch ones have.
apt-get install -y "${apt_options[@]}" --no-install-recommends "${missing[@]}" ||
    give_up "cannot install the $cross cross packages from the archive"
