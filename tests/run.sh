#!/bin/sh
# Runs every suite, shows each one's closing line, then the total one:
# "N passed, N failed". A suite that dies without its closing line counts
# as one failure. Output of a failing suite is shown in full.
set -u
B=${BUILD:-build}
TESTS=${TESTS:-json sse codec e2e}
total_pass=0
total_fail=0
log=$(mktemp /tmp/llmtest.XXXXXX)
LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
LOCPATH=$(pwd)/$B/locale
MOCK_SERVER=$(pwd)/$B/mock_server
MOCK_SERVER_TLS=$(pwd)/$B/mock_server_tls
TLS_DIR=$(pwd)/$B/tls
export LSAN_OPTIONS UBSAN_OPTIONS LOCPATH MOCK_SERVER MOCK_SERVER_TLS TLS_DIR

suite() { # label, command...
    label=$1
    shift
    start=$(date +%s)
    "$@" >"$log" 2>&1
    rc=$?
    line=$(grep -E '^([A-Za-z0-9_+ .()-]+: )?[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)
    p=$(echo "$line" | awk '{ for (i = 2; i <= NF; i++) if ($i == "passed,") print $(i - 1) }')
    f=$(echo "$line" | awk '{ for (i = 2; i <= NF; i++) if ($i == "failed") print $(i - 1) }')
    [ -z "$p" ] && p=0
    [ -z "$f" ] && f=0
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    printf '%-28s %4s passed, %s failed  (%ss)\n' "$label" "$p" "$f" "$(($(date +%s) - start))"
    if [ "$f" != 0 ]; then
        echo "---- output of $label (exit $rc) ----"
        tail -60 "$log"
        echo "----"
    fi
}

suite "compile (C99/C11/C++)" sh tests/compile_check.sh
suite "mock server self-test" bash tests/mock_selftest.sh "$B/mock_server"
for t in $TESTS; do
    suite "$t" env SOAK_REPORT=1 "$B/plain/test_$t"
    suite "$t (asan+ubsan)" "$B/asan/test_$t"
done
for t in $TESTS; do
    case "$t" in
    e2e*|stream*|reliab*|provid*|oom*)
        suite "$t (valgrind)" env TEST_SLOW=8 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
            --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --suppressions=tests/valgrind.supp \
            "$B/plain/test_$t" ;;
    esac
done
for io in poll perform; do
    for t in ${IO_TESTS:-}; do
        suite "$t (io=$io, asan)" "$B/io-$io/test_$t"
    done
done
# every fuzz harness replays its corpus and regressions (gcc + ASan/UBSan),
# then runs a short libFuzzer session (clang)
suite "fuzz replay" env FUZZ_LOCPATH="$B/locale" sh fuzz/run.sh replay "$B/fuzz/replay"
suite "fuzz smoke (${FUZZ_SMOKE_SECONDS:-10} s each)" env FUZZ_LOCPATH="$B/locale" sh fuzz/run.sh fuzz "$B/fuzz/bin" "${FUZZ_SMOKE_SECONDS:-10}" "$B/fuzz/smoke"
openapi=""
for f in ${OPENAPI_YAML:-} ../shared/openai-openapi.yaml ../../shared/openai-openapi.yaml /work/shared/openai-openapi.yaml; do
    [ -f "$f" ] && { openapi=$f; break; }
done
suite "openapi request bodies" sh -c "[ -n '$openapi' ] || { echo 'openai-openapi.yaml not found: set OPENAPI_YAML'; exit 1; }; $B/dump_bodies | /usr/bin/python3 tests/validate_openapi.py '$openapi'"
suite "readme example" sh -c "sh tools/with_mock.sh $B/readme_example && echo 'readme: 1 passed, 0 failed'"
# every example runs against the mock and must exit 0
examples_run() {
    p=0 f=0
    for e in ${EXAMPLES:-demo stream_chat game_loop retry_errors multi_provider batch_embeddings evaluator}; do
        if sh tools/with_mock.sh "$B/examples/$e" >/dev/null 2>&1; then p=$((p + 1)); else f=$((f + 1)); echo "example $e failed"; fi
    done
    echo "examples: $p passed, $f failed"
}
suite "examples (mock)" examples_run
rm -f "$log"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
