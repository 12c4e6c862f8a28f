#!/bin/sh
# Builds the suite with AddressSanitizer and UndefinedBehaviorSanitizer in
# build-asan/ and runs it. Criterion runs each test in a worker process
# whose leak report does not fail the test, so the log is searched for any
# sanitizer report as well.
set -eu
jobs=${JOBS:-2}
cmake -S . -B build-asan -DGM_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-asan -j "$jobs"
log=build-asan/ctest.log
status=0
(cd build-asan &&
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest -V -j "$jobs") >"$log" 2>&1 || status=$?
tail -n 25 "$log"
if grep -E "ERROR: (Leak|Address)Sanitizer|runtime error:" "$log" >/dev/null; then
    echo "sanitize: sanitizer reports in $log:" >&2
    grep -E -A 12 "ERROR: (Leak|Address)Sanitizer|runtime error:" "$log" | head -n 80 >&2
    exit 1
fi
if [ "$status" -ne 0 ]; then
    grep -E "(Failed|\*\*\*|FAIL)" "$log" | head -n 40 >&2
    exit "$status"
fi
echo "sanitize: clean"
