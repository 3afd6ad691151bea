#!/usr/bin/env bash
# Fuzzes the NMEA parser: configures a clang build in build/fuzz, builds only the libFuzzer
# target, and runs it for FUZZ_SECONDS (default 60) over a working copy of the seed corpus.
# Inputs libFuzzer finds interesting stay in build/fuzz/corpus/nmea for the next run; a crash
# leaves its input in build/fuzz/artifacts/ and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
build=build/fuzz

CC=clang CXX=clang++ cmake -S . -B "$build" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFIELDLOG_BUILD_FUZZ=ON -DFIELDLOG_BUILD_TESTS=ON -DFIELDLOG_BUILD_BENCH=OFF \
    -DFIELDLOG_SKIP_DIRS="${FIELDLOG_SKIP_DIRS:-}" >/dev/null
cmake --build "$build" -j "$(nproc)" --target nmea_parser_fuzz

corpus="$build/corpus/nmea"
mkdir -p "$corpus" "$build/artifacts"
cp tests/fuzz/corpus/nmea/* "$corpus"/

"$build/tests/fuzz/nmea_parser_fuzz" \
    -max_total_time="$seconds" \
    -max_len=4096 \
    -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/" \
    "$corpus"
