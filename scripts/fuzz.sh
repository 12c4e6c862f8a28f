#!/bin/sh
# Fuzzes the experiment loader (tests/fuzz/fuzz_config_load.c) with clang's
# libFuzzer under AddressSanitizer and UBSan for FUZZ_SECONDS (default 60),
# built in build-fuzz/ so that the gcc build is left alone. The corpus
# starts from experiments/*.yaml and tests/fuzz/seeds/ and grows in
# build-fuzz/corpus/. A crash, leak, sanitizer report or broken invariant
# fails, and the input is left in build-fuzz/artifacts/: replay it with
#   build-fuzz/fuzz_config_load build-fuzz/artifacts/crash-...
set -eu
seconds=${FUZZ_SECONDS:-60}
jobs=${JOBS:-2}
dir=build-fuzz
CC=${FUZZ_CC:-clang} cmake -S . -B "$dir" -DGM_FUZZ=ON -DGM_SANITIZE=ON \
    -DGM_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" -j "$jobs" --target fuzz_config_load
mkdir -p "$dir/corpus" "$dir/artifacts"
# The first directory receives new inputs; the others are only read.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$dir/fuzz_config_load" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -dict=tests/fuzz/config.dict \
    -artifact_prefix="$dir/artifacts/" -print_final_stats=1 \
    "$dir/corpus" tests/fuzz/seeds experiments
echo "fuzz: no crash, leak or sanitizer report in ${seconds}s"
