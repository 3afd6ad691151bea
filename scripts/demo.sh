#!/usr/bin/env bash
# The main job: installs what is missing, builds, starts fieldlogd with the shipped config on a
# scratch data directory, and records a sample inspection through the fieldlog CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$(nproc)" --target fieldlogd fieldlog

work=$(mktemp -d /tmp/fieldlog-demo.XXXXXX)
daemon_pid=""
cleanup() {
    if [[ -n "$daemon_pid" ]] && kill -0 "$daemon_pid" 2>/dev/null; then
        kill -TERM "$daemon_pid"
        wait "$daemon_pid" || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# The shipped config, pointed at the scratch directory and the repository's reference data.
sed -e "s|^data_dir = .*|data_dir = \"$work/data\"|" \
    -e "s|^socket = .*|socket = \"$work/control.sock\"|" \
    -e "s|^sites = .*|sites = \"$root/config/sites.toml\"|" \
    -e "s|^standards_dir = .*|standards_dir = \"$root/config/standards\"|" \
    -e "s|^id = .*|id = \"demo-handheld\"|" \
    config/fieldlogd.toml >"$work/fieldlogd.toml"

build/dev/firmware/daemon/fieldlogd --config "$work/fieldlogd.toml" 2>"$work/fieldlogd.log" &
daemon_pid=$!
for _ in $(seq 1 100); do
    [[ -S "$work/control.sock" ]] && break
    kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/fieldlogd.log"; exit 1; }
    sleep 0.1
done

export FIELDLOG_SOCKET="$work/control.sock"
fieldlog() { build/dev/firmware/cli/fieldlog "$@"; }
step() {
    printf '\n$ fieldlog'
    printf ' %q' "$@"
    printf '\n'
    fieldlog "$@"
}

step status
step site list
step inspection start --site wwtp-east --kind wastewater_discharge \
    --inspector "Li Wei" --inspector "Zhang Min" --notes "Routine outfall check"
step measure add COD 75 mg/L --point outfall
step measure add COD 68 mg/L --point outfall --method online
step measure add NH3-N 6.2 mg/L --point outfall --water-temp 10.5
step measure add pH 9.4 pH --point outfall
step photo add "$root/docs/samples/hazardous-waste-drums.jpg" \
    --tag "unlabeled drums" --tag "open storage" --caption "Drums beside the sludge shed"
step measure list
step rectification add --problem "Outfall COD above the 1A limit" \
    --responsible "Plant operations manager" --deadline "$(date -u -d '+30 days' +%F)"
step complaint add X3-017 --batch 3 --summary "Odour at night near the east outfall"
step complaint forward X3-017 --unit "East Area environmental bureau"
step complaint update X3-017 --status stage_closed --finding partly_substantiated \
    --notes "Odour confirmed at the sludge shed; no discharge found at night"
step complaint summary
step document add 1 --items 12 --documents 86 --topic "discharge permit" --topic "monitoring records"
step document summary
step inspection close --verdict "COD and pH above limit at the outfall; rectification ordered"
step verify
step export --from "$(date -u +%F)" --to "$(date -u -d tomorrow +%F)" --format csv
step logs --limit 5
printf '\nData directory: %s (removed on exit)\n' "$work"
