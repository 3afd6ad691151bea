#!/usr/bin/env bash
# Builds the Debian packages fieldlog and fieldlog-server (cmake/FieldlogPackaging.cmake).
#
#   scripts/package.sh [PRESET...]
#
# Without presets: release, plus the aarch64 cross preset when CMakePresets.json has one and
# its toolchain is installed (scripts/install-deps.sh). The .deb files go to build/packages/
# (or $FIELDLOG_PACKAGE_DIR); their names carry the architecture.
#
# Every preset is built as Release with prefix /usr, without tests or benchmarks: the install
# presets (release, *-release) in their own build directories, any other in
# build/package-<preset>, so that a developer's or the cross tests' tree is left as it is. $FIELDLOG_PACKAGE_BUILD_ROOT puts every build
# under that directory instead.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${FIELDLOG_PACKAGE_DIR:-build/packages}
jobs=$(nproc)

for tool in cmake cpack dpkg-deb dpkg-shlibdeps file; do
    if ! command -v "$tool" >/dev/null; then
        echo "package: $tool is missing; run scripts/install-deps.sh" >&2
        exit 1
    fi
done

available=$(cmake --list-presets=configure | sed -n -E 's/^[[:space:]]+"([^"]+)".*/\1/p')
has_preset() { grep -qx -- "$1" <<<"$available"; }

presets=("$@")
if ((${#presets[@]} == 0)); then
    presets=(release)
    arm64_preset=""
    for candidate in aarch64-release aarch64 arm64-release arm64; do
        if has_preset "$candidate"; then
            arm64_preset=$candidate
            break
        fi
    done
    if [[ -z $arm64_preset ]]; then
        echo "package: no aarch64 preset in CMakePresets.json; building amd64 only"
    elif ! command -v aarch64-linux-gnu-g++ >/dev/null ||
        ! dpkg-query -W -f='${Status}' libc6-dev:arm64 2>/dev/null | grep -q "ok installed"; then
        echo "package: the aarch64 toolchain is not installed; skipping preset $arm64_preset"
    else
        presets+=("$arm64_preset")
    fi
fi

mkdir -p "$out"
built=()
for preset in "${presets[@]}"; do
    if ! has_preset "$preset"; then
        echo "package: no configure preset '$preset' (have: $(tr '\n' ' ' <<<"$available"))" >&2
        exit 2
    fi
    dir_args=()
    if [[ -n ${FIELDLOG_PACKAGE_BUILD_ROOT:-} ]]; then
        dir_args=(-B "$FIELDLOG_PACKAGE_BUILD_ROOT/$preset")
    elif [[ $preset != release && $preset != *-release ]]; then
        dir_args=(-B "build/package-$preset")
    fi
    echo "== $preset: configure"
    log=$(cmake --preset "$preset" "${dir_args[@]}" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_INSTALL_PREFIX=/usr -DFIELDLOG_BUILD_TESTS=OFF -DFIELDLOG_BUILD_BENCH=OFF 2>&1) || {
        echo "$log" >&2
        exit 1
    }
    build_dir=$(sed -n 's/^-- Build files have been written to: //p' <<<"$log" | tail -n1)
    grep -F 'fieldlog packaging:' <<<"$log" || true
    echo "== $preset: build in $build_dir"
    cmake --build "$build_dir" -j "$jobs"
    echo "== $preset: cpack"
    staging=$(mktemp -d "$build_dir/cpack.XXXXXX")
    if ! cpack --config "$build_dir/CPackConfig.cmake" -B "$staging" >"$staging.log" 2>&1; then
        cat "$staging.log" >&2
        rm -rf "$staging" "$staging.log"
        exit 1
    fi
    for deb in "$staging"/*.deb; do
        mv -f "$deb" "$out/"
        built+=("$out/$(basename "$deb")")
    done
    rm -rf "$staging" "$staging.log"
done

echo "== packages in $out"
for deb in "${built[@]}"; do
    printf '%8s  %s  (%s, Depends: %s)\n' "$(numfmt --to=iec --suffix=B "$(stat -c %s "$deb")")" \
        "$deb" "$(dpkg-deb -f "$deb" Architecture)" "$(dpkg-deb -f "$deb" Depends)"
done
