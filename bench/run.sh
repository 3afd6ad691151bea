#!/usr/bin/env bash
# Runs every benchmark and prints their result tables at the end.
#
#   bench/run.sh [BUILD_DIR]     (default: build/release)
#
# Build first, for example:
#   cmake --preset release && cmake --build build/release --target \
#       bench_store_commits bench_daemon_clients bench_daemon_rss \
#       bench_sync_records bench_photo_upload bench_sync_drain bench_idle_wakeups
# bench_photo_upload runs curl (the command-line tool) from PATH.
# Temp files go under $FIELDLOG_BENCH_DIR (default /var/tmp) and are removed afterwards.
# Takes about 6 minutes on 2 cores (bench_idle_wakeups alone waits 2 quiet minutes).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$repo/build/release}"
bench="$build/bench"
for b in bench_store_commits bench_daemon_clients bench_daemon_rss bench_sync_records \
    bench_photo_upload bench_sync_drain bench_idle_wakeups; do
    if [[ ! -x "$bench/$b" ]]; then
        echo "run.sh: $bench/$b is missing; build the bench targets in $build first" >&2
        exit 2
    fi
done

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, kernel $(uname -r)"
echo "== temp dir filesystem:"
df -T "${FIELDLOG_BENCH_DIR:-/var/tmp}"
echo

status=0
run() {
    local name="$1"
    local label="$2"
    shift 2
    echo "== $name $*"
    if ! "$bench/$name" "$@" 2>&1 | tee "$out/$label.txt"; then
        echo "run.sh: $name failed" >&2
        status=1
    fi
    echo
}
run bench_store_commits bench_store_commits
run bench_daemon_clients bench_daemon_clients
run bench_daemon_rss bench_daemon_rss
run bench_sync_records bench_sync_records
run bench_photo_upload bench_photo_upload
run bench_photo_upload bench_photo_upload_4mib --chunk-bytes 4194304
run bench_sync_drain bench_sync_drain
run bench_idle_wakeups bench_idle_wakeups

echo "================ results ================"
sed -n '/^bench_store_commits: median/,$p' "$out/bench_store_commits.txt"
echo
sed -n '/^  disk:/,$p' "$out/bench_daemon_clients.txt"
echo
sed -n '/^stored /,$p' "$out/bench_daemon_rss.txt"
echo
sed -n '/^bench_sync_records: median/,$p' "$out/bench_sync_records.txt"
echo
sed -n '/^bench_photo_upload: median/,$p' "$out/bench_photo_upload.txt"
echo
sed -n '/^bench_photo_upload: median/,$p' "$out/bench_photo_upload_4mib.txt"
echo
sed -n '/^entries in the outbox/,$p' "$out/bench_sync_drain.txt"
echo
sed -n '/^configuration /,$p' "$out/bench_idle_wakeups.txt"
exit "$status"
