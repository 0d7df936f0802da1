#!/usr/bin/env bash
# Builds h5swmrfs and runs the whole test suite; ends with one line "N passed, N failed".
#   tools/run-tests.sh              debugoptimized build in build-test/
#   tools/run-tests.sh --sanitize   the same suite under ASan + UBSan in build-sanitize/
#   tools/run-tests.sh --all        both, one after the other (what CI runs)
set -uo pipefail
cd "$(dirname "$0")/.."

bash tools/install-deps.sh >&2 || { echo "0 passed, 1 failed"; exit 1; }

run_suite() {  # $1 build dir, rest: extra meson options
    local dir=$1; shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" -Dbuildtype=debugoptimized "$@" >&2 || return 2
    fi
    ninja -C "$dir" >&2 || return 2
    meson test -C "$dir" --print-errorlogs --num-processes 2 ${test_args[@]+"${test_args[@]}"} >&2
    return 0
}

# Counts the results meson recorded for one build dir: prints "passed failed".
count_results() {
    /usr/bin/python3 - "$1/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = 0
try:
    for line in open(sys.argv[1]):
        result = json.loads(line).get("result")
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result != "SKIP":
            failed += 1
except FileNotFoundError:
    failed = 1
print(passed, failed)
PY
}

mode=${1:-plain}
dirs=()
case "$mode" in
    plain) dirs=(build-test) ;;
    --sanitize) dirs=(build-sanitize) ;;
    --all) dirs=(build-test build-sanitize) ;;
    *) echo "usage: $0 [--sanitize|--all]" >&2; exit 2 ;;
esac

total_passed=0 total_failed=0
for dir in "${dirs[@]}"; do
    rm -f "$dir/meson-logs/testlog.json"
    test_args=()
    if [ "$dir" = build-sanitize ]; then
        # The stress run measures stalls against the lease: under the sanitizers'
        # slowdown those figures mean nothing. The package test builds the same
        # release package from the same tree. Both run in the plain build.
        test_args=(--no-suite stress --no-suite package)
        export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
        # -O1: the sanitizers find the same faults, and the big test files compile in half
        # the time; -g1: line tables only, all a report's stack needs (a seventh less time).
        run_suite "$dir" -Db_sanitize=address,undefined -Db_lundef=false -Doptimization=1 \
            -Ddebug=false -Dc_args=-g1 -Dcpp_args=-g1
    else
        run_suite "$dir"
    fi
    if [ $? -eq 2 ]; then
        echo "build failed in $dir" >&2
        total_failed=$((total_failed + 1))
        continue
    fi
    read -r p f < <(count_results "$dir")
    echo "$dir: $p passed, $f failed" >&2
    total_passed=$((total_passed + p)) total_failed=$((total_failed + f))
done

echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
