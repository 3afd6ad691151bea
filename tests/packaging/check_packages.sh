#!/usr/bin/env bash
# Builds the Debian packages of a configured and built tree with cpack and checks them.
# Exit status: 0 all checks pass, 1 a check failed, 77 skipped (a tool is missing, or the tree
# was configured with a prefix other than /usr). Registered by tests/packaging/CMakeLists.txt.
set -euo pipefail

build_dir="" cpack="cpack" version="" arch="" shlibdeps=ON cross=0 usable=ON prefix=/usr
while (($# > 0)); do
    case "$1" in
    --build-dir) build_dir=$2 ;;
    --cpack) cpack=$2 ;;
    --version) version=$2 ;;
    --architecture) arch=$2 ;;
    --shlibdeps) shlibdeps=$2 ;;
    --cross) cross=$2 ;;
    --usable) usable=$2 ;;
    --prefix) prefix=$2 ;;
    *)
        echo "check_packages: unknown argument $1" >&2
        exit 2
        ;;
    esac
    shift 2
done

skip() {
    echo "SKIPPED: $*"
    exit 77
}
failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}
pass() { echo "ok: $*"; }

if [[ $usable != ON ]]; then
    skip "this tree was configured with CMAKE_INSTALL_PREFIX=$prefix; the packages need /usr" \
        "(reconfigure with -DCMAKE_INSTALL_PREFIX=/usr)"
fi
for tool in dpkg-deb systemd-analyze "$cpack"; do
    command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/install-deps.sh)"
done
if [[ $shlibdeps == ON ]]; then
    command -v dpkg-shlibdeps >/dev/null || skip "dpkg-shlibdeps is not installed (dpkg-dev)"
    command -v file >/dev/null || skip "file is not installed (cpack needs it for dpkg-shlibdeps)"
fi
[[ -f $build_dir/CPackConfig.cmake ]] || skip "$build_dir has no CPackConfig.cmake"

work=$(mktemp -d "${TMPDIR:-/tmp}/fieldlog-packaging.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- build -------------------------------------------------------------------------------
if ! "$cpack" --config "$build_dir/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1; then
    cat "$work/cpack.log"
    # cpack builds the tree first (its preinstall step); that output is in a log of its own.
    find "$work/out" -name PreinstallOutput.log -exec tail -n 40 {} + 2>/dev/null || true
    echo "FAIL: cpack failed"
    exit 1
fi
shopt -s nullglob
device_debs=("$work"/out/fieldlog_*.deb)
server_debs=("$work"/out/fieldlog-server_*.deb)
shopt -u nullglob
if ((${#device_debs[@]} != 1 || ${#server_debs[@]} != 1)); then
    ls -l "$work/out"
    echo "FAIL: expected one fieldlog and one fieldlog-server package"
    exit 1
fi
device_deb=${device_debs[0]}
server_deb=${server_debs[0]}
pass "cpack built $(basename "$device_deb") and $(basename "$server_deb")"

# --- control fields ----------------------------------------------------------------------
# Package names in a Depends field, one a line, sorted.
depends_names() {
    tr ',|' '\n' <<<"$1" | sed -e 's/(.*)//' -e 's/:any//' -e 's/[[:space:]]//g' | grep -v '^$' |
        sort -u
}
check_fields() {
    local deb=$1 name=$2
    shift 2
    local field
    [[ $(dpkg-deb -f "$deb" Package) == "$name" ]] || fail "$name: Package is $(dpkg-deb -f "$deb" Package)"
    field=$(dpkg-deb -f "$deb" Architecture)
    if [[ $field == "$arch" ]]; then
        pass "$name: Architecture $field"
    else
        fail "$name: Architecture is '$field', expected '$arch'"
    fi
    field=$(dpkg-deb -f "$deb" Version)
    [[ $field == "$version" ]] || fail "$name: Version is '$field', expected '$version'"
    [[ -n $(dpkg-deb -f "$deb" Maintainer) ]] || fail "$name: no Maintainer"
    [[ -n $(dpkg-deb -f "$deb" Description) ]] || fail "$name: no Description"
    local depends
    depends=$(dpkg-deb -f "$deb" Depends)
    echo "   $name Depends: $depends"
    local names
    names=$(depends_names "$depends")
    for needed in "$@"; do
        grep -qx "$needed" <<<"$names" || fail "$name: Depends lacks $needed"
    done
    # dpkg-shlibdeps found these on this machine; the explicit lists used for cross builds
    # without it must name the same libraries.
    if [[ $shlibdeps == ON && $cross != 1 ]]; then
        local fallback
        fallback=$(depends_names "$(cat "$build_dir/packaging/fallback-depends-$name.txt")")
        if [[ $names == "$fallback" ]]; then
            pass "$name: explicit Depends list matches dpkg-shlibdeps"
        else
            fail "$name: cmake/FieldlogPackaging.cmake's explicit Depends differ from what" \
                "dpkg-shlibdeps finds: $(diff <(echo "$fallback") <(echo "$names") | grep '^[<>]' | tr '\n' ' ')"
        fi
    fi
}
check_fields "$device_deb" fieldlog adduser libc6 libstdc++6 libsqlite3-0 libssl3 libcurl4 \
    libsystemd0 libexif12 libgpiod2 libtomlplusplus3
check_fields "$server_deb" fieldlog-server adduser libc6 libstdc++6 libsqlite3-0 libssl3 \
    libsystemd0 libtomlplusplus3

# --- contents ----------------------------------------------------------------------------
# "mode owner path" for every entry, with symlink targets dropped.
contents() {
    dpkg-deb -c "$1" | awk '{ path = $6; sub(/^\./, "", path); print $1, $2, path }'
}
contents "$device_deb" >"$work/device.list"
contents "$server_deb" >"$work/server.list"

check_contents() {
    local list=$1 name=$2
    shift 2
    local path
    for path in "$@"; do
        grep -q " $path\$" "$list" || fail "$name: $path is missing"
    done
    # Nothing belongs to anyone but root in the archive.
    local others
    others=$(awk '$2 != "root/root" { print $3 }' "$list")
    [[ -z $others ]] || fail "$name: not owned by root: $(tr '\n' ' ' <<<"$others")"
    # Only the program, config, unit, udev and doc trees; no headers, archives, tests or benches.
    local stray
    stray=$(awk '{ print $3 }' "$list" | grep -v -E \
        '^/$|^/(etc|usr|usr/bin|usr/sbin|usr/lib|usr/share|usr/share/doc|etc/fieldlog)/$|^/etc/fieldlog/|^/usr/(s?bin)/fieldlog|^/usr/lib/systemd/|^/usr/lib/udev/|^/usr/share/doc/fieldlog' ||
        true)
    [[ -z $stray ]] || fail "$name: unexpected files: $(tr '\n' ' ' <<<"$stray")"
    local build_files
    build_files=$(awk '$3 ~ /\.(a|h|hpp)$|test|bench|gtest/ { print $3 }' "$list")
    [[ -z $build_files ]] || fail "$name: ships build or test files: $(tr '\n' ' ' <<<"$build_files")"
}
check_contents "$work/device.list" fieldlog /usr/sbin/fieldlogd /usr/bin/fieldlog \
    /etc/fieldlog/fieldlogd.toml /etc/fieldlog/sites.toml /etc/fieldlog/standards/gb18918-2002.toml \
    /usr/lib/systemd/system/fieldlogd.service /usr/lib/udev/rules.d/60-fieldlog-gpio.rules \
    /usr/share/doc/fieldlog/README.md
check_contents "$work/server.list" fieldlog-server /usr/sbin/fieldlog-server /usr/bin/fieldlog-admin \
    /etc/fieldlog/fieldlog-server.toml /usr/lib/systemd/system/fieldlog-server.service \
    /usr/share/doc/fieldlog-server/README.md
for program in /usr/sbin/fieldlogd /usr/bin/fieldlog; do
    grep -q "^-rwxr-xr-x .* $program\$" "$work/device.list" || fail "fieldlog: $program is not 0755"
done
for program in /usr/sbin/fieldlog-server /usr/bin/fieldlog-admin; do
    grep -q "^-rwxr-xr-x .* $program\$" "$work/server.list" || fail "fieldlog-server: $program is not 0755"
done
# Each package keeps to its own files: installing both on one machine must not clash.
shared=$(comm -12 <(awk '$1 !~ /^d/ { print $3 }' "$work/device.list" | sort) \
    <(awk '$1 !~ /^d/ { print $3 }' "$work/server.list" | sort))
[[ -z $shared ]] || fail "the packages share files: $(tr '\n' ' ' <<<"$shared")"
pass "package contents"

# --- control area: conffiles and maintainer scripts --------------------------------------
check_control() {
    local deb=$1 name=$2 list=$3
    local ctrl="$work/control-$name"
    dpkg-deb -e "$deb" "$ctrl"
    # Every file under /etc is a conffile, and only those.
    local expected actual
    expected=$(awk '$1 ~ /^-/ && $3 ~ /^\/etc\// { print $3 }' "$list" | sort)
    actual=""
    if [[ -f $ctrl/conffiles ]]; then actual=$(sort "$ctrl/conffiles"); fi
    if [[ -n $expected && $expected == "$actual" ]]; then
        pass "$name: conffiles $(tr '\n' ' ' <<<"$actual")"
    else
        fail "$name: conffiles are '$(tr '\n' ' ' <<<"$actual")', expected '$(tr '\n' ' ' <<<"$expected")'"
    fi
    local script
    for script in postinst prerm postrm; do
        if [[ ! -f $ctrl/$script ]]; then
            fail "$name: no $script"
            continue
        fi
        [[ -x $ctrl/$script ]] || fail "$name: $script is not executable"
        [[ $(head -n1 "$ctrl/$script") == "#!/bin/sh" ]] || fail "$name: $script is not a /bin/sh script"
        sh -n "$ctrl/$script" || fail "$name: $script has a syntax error"
        if command -v dash >/dev/null; then dash -n "$ctrl/$script" || fail "$name: $script fails dash -n"; fi
        grep -q '^set -e$' "$ctrl/$script" || fail "$name: $script does not set -e"
    done
    pass "$name: maintainer scripts"
}
check_control "$device_deb" fieldlog "$work/device.list"
check_control "$server_deb" fieldlog-server "$work/server.list"

# --- installed tree: paths agree with what the programs and units expect -------------------
root="$work/root"
mkdir -p "$root"
dpkg-deb -x "$device_deb" "$root"
dpkg-deb -x "$server_deb" "$root"
# The packaged programs run, and default to the packaged config and socket (natively only).
if [[ $cross != 1 ]]; then
    help_mentions() {
        local program=$1 text=$2 output
        if ! output=$("$root$program" --help 2>&1); then
            fail "$program --help failed: $output"
        elif ! grep -qF -- "$text" <<<"$output"; then
            fail "$program does not default to $text"
        fi
    }
    help_mentions /usr/sbin/fieldlogd /etc/fieldlog/fieldlogd.toml
    help_mentions /usr/bin/fieldlog /run/fieldlog/control.sock
    help_mentions /usr/sbin/fieldlog-server /etc/fieldlog/fieldlog-server.toml
    help_mentions /usr/bin/fieldlog-admin --token-file
fi
toml_value() { sed -n -E "s/^$2[[:space:]]*=[[:space:]]*\"([^\"]*)\".*/\\1/p" "$1" | head -n1; }
unit_value() { sed -n -E "s/^$2=(.*)/\\1/p" "$1" | head -n1; }
daemon_unit="$root/usr/lib/systemd/system/fieldlogd.service"
server_unit="$root/usr/lib/systemd/system/fieldlog-server.service"
[[ $(toml_value "$root/etc/fieldlog/fieldlogd.toml" data_dir) == /var/lib/fieldlog &&
    $(unit_value "$daemon_unit" StateDirectory) == fieldlog &&
    $(unit_value "$daemon_unit" ReadWritePaths) == /var/lib/fieldlog ]] ||
    fail "fieldlogd.toml data_dir and fieldlogd.service's StateDirectory= disagree"
[[ $(toml_value "$root/etc/fieldlog/fieldlogd.toml" socket) == /run/fieldlog/control.sock &&
    $(unit_value "$daemon_unit" RuntimeDirectory) == fieldlog ]] ||
    fail "fieldlogd.toml control.socket and fieldlogd.service's RuntimeDirectory= disagree"
[[ $(toml_value "$root/etc/fieldlog/fieldlogd.toml" sites) == /etc/fieldlog/sites.toml &&
    $(toml_value "$root/etc/fieldlog/fieldlogd.toml" standards_dir) == /etc/fieldlog/standards ]] ||
    fail "fieldlogd.toml does not point at the packaged reference data"
[[ $(toml_value "$root/etc/fieldlog/fieldlog-server.toml" data_dir) == /var/lib/fieldlog-server &&
    $(unit_value "$server_unit" StateDirectory) == fieldlog-server &&
    $(unit_value "$server_unit" ReadWritePaths) == /var/lib/fieldlog-server ]] ||
    fail "fieldlog-server.toml data_dir and fieldlog-server.service's StateDirectory= disagree"
[[ $(unit_value "$daemon_unit" ExecStart) == "/usr/sbin/fieldlogd --config /etc/fieldlog/fieldlogd.toml" ]] ||
    fail "fieldlogd.service does not start the packaged fieldlogd on the packaged config"
[[ $(unit_value "$server_unit" ExecStart) == "/usr/sbin/fieldlog-server --config /etc/fieldlog/fieldlog-server.toml" ]] ||
    fail "fieldlog-server.service does not start the packaged server on the packaged config"
pass "config, programs and units agree on paths"

# --- systemd units -----------------------------------------------------------------------
# verify resolves ExecStart= and the units' dependencies inside --root: the extracted packages
# plus the host's targets and slices, and /bin/kill for ExecReload=.
host_units=/lib/systemd/system
[[ -f $host_units/sysinit.target ]] || host_units=/usr/lib/systemd/system
cp -n "$host_units"/*.target "$host_units"/*.slice "$root/usr/lib/systemd/system/" 2>/dev/null || true
ln -s usr/bin "$root/bin"
cp "$(command -v kill || echo /bin/kill)" "$root/usr/bin/kill" 2>/dev/null ||
    printf '#!/bin/sh\n' >"$root/usr/bin/kill"
chmod 0755 "$root/usr/bin/kill"
for unit in "$daemon_unit" "$server_unit"; do
    name=$(basename "$unit")
    if output=$(systemd-analyze verify --root="$root" "$unit" 2>&1) && [[ -z $output ]]; then
        pass "$name: systemd-analyze verify clean"
    else
        fail "$name: systemd-analyze verify: $output"
    fi
    report=$(systemd-analyze security --offline=yes --root="$root" "$unit" 2>&1 || true)
    exposure=$(sed -n -E 's/.*Overall exposure level for [^:]*: ([0-9.]+).*/\1/p' <<<"$report")
    if [[ -z $exposure ]]; then
        fail "$name: no exposure level from systemd-analyze security: $report"
    elif awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'; then
        pass "$name: exposure $exposure (at most 2.0)"
    else
        grep '✗' <<<"$report" || true
        fail "$name: exposure $exposure is above 2.0"
    fi
done

if ((failures > 0)); then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all package checks passed"
