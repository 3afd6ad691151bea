#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite: the developer build first,
# then the AddressSanitizer + UndefinedBehaviorSanitizer build, then the ARM cross builds under
# qemu (scripts/cross-test.sh: aarch64, then armhf). FIELDLOG_SKIP_CROSS=1 skips both ARM
# builds, FIELDLOG_SKIP_ARMHF=1 only armhf. An ARM step whose packages cannot be installed from
# the archive says "skipped: <reason>" and does not fail the run; a build or test failure does.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

jobs=$(nproc)
run_preset() {
    local preset=$1
    echo "== ${preset}: configure and build"
    cmake --preset "$preset" >/dev/null
    cmake --build --preset "$preset" -j "$jobs"
    echo "== ${preset}: test"
    ctest --preset "$preset" -j "$jobs"
}

scripts/check-format.sh
# The fuzz run goes first so that the test summaries are what the run ends with.
if [[ "${FIELDLOG_SKIP_FUZZ:-0}" != 1 ]]; then
    echo "== fuzz: NMEA parser for ${FUZZ_SECONDS:=30} s"
    FUZZ_SECONDS=$FUZZ_SECONDS scripts/fuzz.sh
fi
run_preset dev
if [[ "${FIELDLOG_SKIP_SANITIZERS:-0}" != 1 ]]; then
    run_preset asan
fi
scripts/cross-test.sh aarch64
scripts/cross-test.sh armhf
