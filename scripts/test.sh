#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite: the developer build first,
# then the AddressSanitizer + UndefinedBehaviorSanitizer build.
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
run_preset dev
if [[ "${FIELDLOG_SKIP_SANITIZERS:-0}" != 1 ]]; then
    run_preset asan
fi
