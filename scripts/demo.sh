#!/usr/bin/env bash
# The main job: installs what is missing, builds, starts the office server fieldlog-server and the
# device daemon fieldlogd on loopback with scratch data directories, records a sample inspection
# through the fieldlog CLI, and shows it synced at the server.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$(nproc)" --target fieldlogd fieldlog fieldlog-server fieldlog-admin

work=$(mktemp -d /tmp/fieldlog-demo.XXXXXX)
daemon_pid=""
server_pid=""
cleanup() {
    for pid in $daemon_pid $server_pid; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid"
            wait "$pid" || true
        fi
    done
    rm -rf "$work"
}
trap cleanup EXIT

# The office server on a loopback port of its choosing, plain HTTP (TLS in the field).
umask 077
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/admin.token"
cat >"$work/fieldlog-server.toml" <<TOML
[server]
listen = "127.0.0.1:0"
threads = 2
admin_token_file = "$work/admin.token"
data_dir = "$work/server-data"
TOML
build/dev/sync/server/fieldlog-server --config "$work/fieldlog-server.toml" \
    --port-file "$work/server.port" 2>"$work/fieldlog-server.log" &
server_pid=$!
for _ in $(seq 1 100); do
    [[ -s "$work/server.port" ]] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/fieldlog-server.log"; exit 1; }
    sleep 0.1
done
export FIELDLOG_SERVER="http://127.0.0.1:$(cat "$work/server.port")"
export FIELDLOG_ADMIN_TOKEN_FILE="$work/admin.token"
admin() { build/dev/sync/server/fieldlog-admin "$@"; }

# Enrol the device; the server shows its token once.
admin --json device enrol demo-handheld | sed -n 's/.*"token":"\([0-9a-f]*\)".*/\1/p' >"$work/device.token"

# The shipped config, pointed at the scratch directory and the repository's reference data.
sed -e "s|^data_dir = .*|data_dir = \"$work/data\"|" \
    -e "s|^socket = .*|socket = \"$work/control.sock\"|" \
    -e "s|^sites = .*|sites = \"$root/config/sites.toml\"|" \
    -e "s|^standards_dir = .*|standards_dir = \"$root/config/standards\"|" \
    -e "s|^id = .*|id = \"demo-handheld\"|" \
    -e "s|^# url = .*|url = \"$FIELDLOG_SERVER\"|" \
    -e "s|^# token_file = .*|token_file = \"$work/device.token\"|" \
    -e "s|^allow_plain_http = .*|allow_plain_http = true|" \
    config/fieldlogd.toml >"$work/fieldlogd.toml"
umask 022

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

# Back at the office: the device syncs by itself; --wait shows it has drained.
step sync --wait
step status
office() {
    printf '\n$ fieldlog-admin'
    printf ' %q' "$@"
    printf '\n'
    admin "$@"
}
office device list
office records --device demo-handheld --kind measurement
office summary complaints
office verify demo-handheld
printf '\nData directory: %s (removed on exit)\n' "$work"
