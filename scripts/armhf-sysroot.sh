#!/usr/bin/env bash
# Builds a private armhf sysroot for the armhf preset, for when the host cannot take Debian's
# armhf packages through multiarch (the archive's armhf index has been seen broken, and a
# foreign architecture whose index fails makes every `apt-get update` on the host fail).
#   scripts/armhf-sysroot.sh [DIR]      (default build/armhf-sysroot)
# then: FIELDLOG_ARMHF_SYSROOT=DIR scripts/cross-test.sh armhf
#
# The host's dpkg and apt are left alone: a separate apt root (DIR.apt) with APT::Architecture
# armhf downloads the -dev packages the build links and everything they depend on, and each is
# unpacked into DIR with dpkg-deb -x. Absolute symlinks are pointed inside DIR, so that the
# compiler (--sysroot) and qemu-arm (-L DIR) resolve them there. An index that fails to
# download (e.g. the security archive's) is ignored: the sysroot only has to build and run the
# tests. Prints the sysroot's path last. Idempotent: an existing complete sysroot is kept.
set -euo pipefail
cd "$(dirname "$0")/.."

root=$(realpath -m "${1:-build/armhf-sysroot}")
apt_root=$root.apt
triplet=arm-linux-gnueabihf
stamp=$root/.fieldlog-sysroot-complete

packages=(
    libc6-dev libstdc++-12-dev
    libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
    libssl-dev libcurl4-openssl-dev libsqlite3-dev
    libgpiod-dev libgtest-dev libgmock-dev
    libtomlplusplus-dev libcli11-dev libexif-dev libsystemd-dev
)

if [[ -f $stamp ]] && [[ $(cat "$stamp") == "${packages[*]}" ]]; then
    echo "armhf-sysroot: $root is complete"
    echo "$root"
    exit 0
fi

rm -rf "$root" "$apt_root"
mkdir -p "$root" "$apt_root/etc/apt/sources.list.d" "$apt_root/etc/apt/preferences.d" \
    "$apt_root/var/lib/apt/lists/partial" "$apt_root/var/cache/apt/archives/partial" \
    "$apt_root/var/lib/dpkg"
touch "$apt_root/var/lib/dpkg/status"
# Debian's own archive only, as the host has it configured.
cp /etc/apt/sources.list.d/debian.sources "$apt_root/etc/apt/sources.list.d/"

apt_private=(
    -o "Dir=$apt_root"
    -o "Dir::State::status=$apt_root/var/lib/dpkg/status"
    -o "Dir::Etc::Trusted=/etc/apt/trusted.gpg"
    -o "Dir::Etc::TrustedParts=/etc/apt/trusted.gpg.d"
    -o APT::Architecture=armhf
    -o APT::Architectures=armhf
    -o APT::Install-Recommends=false
    -o Acquire::Retries=3
    -o Acquire::http::Timeout=60
    -q
)
apt-get "${apt_private[@]}" update ||
    echo "armhf-sysroot: some armhf indexes failed to download; going on with the others" >&2
apt-get "${apt_private[@]}" install -y --download-only "${packages[@]}"

count=0
for deb in "$apt_root"/var/cache/apt/archives/*.deb; do
    dpkg-deb -x "$deb" "$root"
    count=$((count + 1))
done

# Absolute links (libfoo.so -> /lib/arm-linux-gnueabihf/libfoo.so.1) would leave the sysroot.
while IFS= read -r -d '' link; do
    target=$(readlink "$link")
    if [[ $target == /* ]]; then
        ln -sfn "$root$target" "$link"
    fi
done < <(find "$root" -type l -print0)

# The loader qemu-arm asks for and the usrmerge layout the packages assume.
for dir in lib lib32 libhf; do
    if [[ ! -e $root/$dir && -d $root/usr/$dir ]]; then
        ln -s "usr/$dir" "$root/$dir"
    fi
done
if [[ ! -e $root/lib/ld-linux-armhf.so.3 ]]; then
    echo "armhf-sysroot: no loader in $root/lib after unpacking $count packages" >&2
    exit 1
fi
echo "${packages[*]}" >"$stamp"
echo "armhf-sysroot: unpacked $count packages for $triplet"
echo "$root"
