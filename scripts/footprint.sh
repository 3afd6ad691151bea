#!/usr/bin/env bash
# Measures fieldlog's footprint on an ARM target, the figures docs/benchmarks.md records:
#
#   scripts/footprint.sh [aarch64|armhf]      (default aarch64)
#
# 1. builds the Debian packages for the architecture (scripts/package.sh ARCH-release: Release,
#    prefix /usr) and prints their sizes;
# 2. prints the stripped sizes of fieldlogd and fieldlog, as the package installs them, against
#    the 4 MiB target for the two together;
# 3. starts that fieldlogd under qemu-user with the shipped config (scratch data directory, no
#    sync, no GPIO), waits until its control socket answers, lets it idle, and prints the
#    resident memory of the emulator process. That figure includes qemu itself and its
#    translated code, so it is an upper bound for the daemon on the board.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

arch=${1:-aarch64}
case $arch in
    aarch64) deb_arch=arm64 qemu=qemu-aarch64 ;;
    armhf) deb_arch=armhf qemu=qemu-arm ;;
    *)
        echo "usage: $0 [aarch64|armhf]" >&2
        exit 2
        ;;
esac
idle_seconds=${FOOTPRINT_IDLE_SECONDS:-10}
budget=$((4 * 1024 * 1024))

packages=${FIELDLOG_PACKAGE_DIR:-build/packages}
FIELDLOG_PACKAGE_DIR=$packages scripts/package.sh "$arch-release" >/dev/null

work=$(mktemp -d /tmp/fieldlog-footprint.XXXXXX)
daemon_pid=""
cleanup() {
    if [[ -n $daemon_pid ]] && kill -0 "$daemon_pid" 2>/dev/null; then
        kill -TERM "$daemon_pid"
        wait "$daemon_pid" || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

version=$(sed -n -E 's/^project\(fieldlog VERSION ([0-9.]+).*/\1/p' CMakeLists.txt)
echo "== packages ($deb_arch, version $version)"
for name in fieldlog fieldlog-server; do
    deb=$(ls -t "$packages/${name}_${version}"*"_$deb_arch.deb" | head -n1)
    printf '%-16s %9d bytes  %s\n' "$name" "$(stat -c %s "$deb")" "$deb"
done

# The package's own files: CPack strips them, so these are the sizes on the board.
deb=$(ls -t "$packages/fieldlog_${version}"*"_$deb_arch.deb" | head -n1)
dpkg-deb -x "$deb" "$work/root"
echo "== stripped executables (from $(basename "$deb"))"
total=0
for exe in usr/sbin/fieldlogd usr/bin/fieldlog; do
    size=$(stat -c %s "$work/root/$exe")
    total=$((total + size))
    printf '%-16s %9d bytes\n' "$(basename "$exe")" "$size"
done
verdict=PASS
((total < budget)) || verdict=MISS
printf '%-16s %9d bytes = %s MiB (target < 4 MiB: %s)\n' "together" "$total" \
    "$(awk -v b="$total" 'BEGIN { printf "%.2f", b / 1048576 }')" "$verdict"

# The shipped config, pointed at the scratch directory and the repository's reference data.
sed -e "s|^data_dir = .*|data_dir = \"$work/data\"|" \
    -e "s|^socket = .*|socket = \"$work/control.sock\"|" \
    -e "s|^sites = .*|sites = \"$root/config/sites.toml\"|" \
    -e "s|^standards_dir = .*|standards_dir = \"$root/config/standards\"|" \
    -e "s|^id = .*|id = \"footprint\"|" \
    config/fieldlogd.toml >"$work/fieldlogd.toml"

echo "== idle fieldlogd under $qemu"
"$qemu" -L / "$work/root/usr/sbin/fieldlogd" --config "$work/fieldlogd.toml" \
    2>"$work/fieldlogd.log" &
daemon_pid=$!
ready=0
for _ in $(seq 1 300); do
    if [[ -S "$work/control.sock" ]] && FIELDLOG_SOCKET="$work/control.sock" \
        "$qemu" -L / "$work/root/usr/bin/fieldlog" status >/dev/null 2>&1; then
        ready=1
        break
    fi
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
done
if ((ready == 0)); then
    echo "footprint: fieldlogd did not answer on its control socket" >&2
    cat "$work/fieldlogd.log" >&2
    exit 1
fi
sleep "$idle_seconds"
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$daemon_pid/status")
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$daemon_pid/status")
printf 'after %d s idle: VmRSS %d KiB (%.1f MiB), VmHWM %d KiB, of the %s process\n' \
    "$idle_seconds" "$rss" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$hwm" "$qemu"
