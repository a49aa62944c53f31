#!/bin/sh
# Runs every suite, shows each one's closing line, then the total one:
# "N passed, N failed, N skipped". A suite that dies without its closing
# line counts as one failure. Output of a failing suite is shown in full; a
# skipped test's one line (what is missing, how to provide it) is shown too.
# Test data that is not ours is looked up by tools/test_data.sh.
set -u
B=${BUILD:-build}
TESTS=${TESTS:-json sse codec e2e}
total_pass=0
total_fail=0
total_skip=0
log=$(mktemp /tmp/llmtest.XXXXXX)
LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
LOCPATH=$(pwd)/$B/locale
MOCK_SERVER=$(pwd)/$B/mock_server
MOCK_SERVER_TLS=$(pwd)/$B/mock_server_tls
TLS_DIR=$(pwd)/$B/tls
export LSAN_OPTIONS UBSAN_OPTIONS LOCPATH MOCK_SERVER MOCK_SERVER_TLS TLS_DIR
# conformance data: found once here, handed to every suite
if jts=$(sh tools/test_data.sh find jsontestsuite); then JSONTESTSUITE_DIR=$jts; export JSONTESTSUITE_DIR; fi
openapi=$(sh tools/test_data.sh find openapi)

suite() { # label, command...
    label=$1
    shift
    start=$(date +%s)
    "$@" >"$log" 2>&1
    rc=$?
    line=$(grep -E '^([A-Za-z0-9_+ .()-]+: )?[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$log" | tail -1)
    p=$(echo "$line" | awk '{ for (i = 2; i <= NF; i++) if ($i == "passed,") print $(i - 1) }')
    f=$(echo "$line" | awk '{ for (i = 2; i <= NF; i++) if ($i == "failed" || $i == "failed,") print $(i - 1) }')
    k=$(echo "$line" | awk '{ for (i = 2; i <= NF; i++) if ($i == "skipped") print $(i - 1) }')
    [ -z "$p" ] && p=0
    [ -z "$f" ] && f=0
    [ -z "$k" ] && k=0
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    total_skip=$((total_skip + k))
    if [ "$k" != 0 ]; then
        printf '%-28s %4s passed, %s failed, %s skipped  (%ss)\n' "$label" "$p" "$f" "$k" "$(($(date +%s) - start))"
        grep -a 'SKIPPED' "$log" | sed 's/^ */    /' | sort -u
    else
        printf '%-28s %4s passed, %s failed  (%ss)\n' "$label" "$p" "$f" "$(($(date +%s) - start))"
    fi
    if [ "$f" != 0 ]; then
        echo "---- output of $label (exit $rc) ----"
        tail -60 "$log"
        echo "----"
    fi
}

suite "paths (no machine's own)" sh tests/check_paths.sh
suite "test-data fetch (offline)" sh tests/test_data_fetch.sh
suite "compile (C99/C11/C++)" sh tests/compile_check.sh
suite "api grows only (vs release)" /usr/bin/python3 tests/check_api.py
suite "mock server self-test" bash tests/mock_selftest.sh "$B/mock_server"
for t in $TESTS; do
    suite "$t" env SOAK_REPORT=1 "$B/plain/test_$t"
    suite "$t (asan+ubsan)" "$B/asan/test_$t"
done
for t in $TESTS; do
    case "$t" in
    e2e*|stream*|reliab*|provid*|endpoint*|harden*|oom*|record*)
        suite "$t (valgrind)" env TEST_SLOW=8 TEST_VALGRIND=1 valgrind -q --child-silent-after-fork=yes --leak-check=full --show-leak-kinds=definite,indirect \
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
# OpenAI bodies against the OpenAPI description (skipped, named, without
# it); Anthropic bodies against our schema of its documented shape
OPENAPI_MISSING=$(sh tools/test_data.sh missing openapi)
export OPENAPI_MISSING
suite "openapi request bodies" sh -c "$B/dump_bodies | /usr/bin/python3 tests/validate_openapi.py '$openapi'"
suite "readme example" sh -c "sh tools/with_mock.sh $B/readme_example && echo 'readme: 1 passed, 0 failed'"
# the same loop with stream = 1, tokens paced 50 ms apart as a real server
# sends them: every request printed, none left behind
suite "readme example, stream = 1" sh -c "MOCK_DIRECTIVES=pace=50 sh tools/with_mock.sh $B/readme_example_stream > $B/readme_stream.out && grep -q '^Echo: Say hello in five words.\$' $B/readme_stream.out && cat $B/readme_stream.out && echo 'readme-stream: 1 passed, 0 failed'"
# every example runs against the mock and must exit 0
examples_run() {
    p=0 f=0
    for e in ${EXAMPLES:-demo stream_chat game_loop retry_errors multi_provider batch_embeddings evaluator tool_agent npc_dialogue libuv_host}; do
        if sh tools/with_mock.sh "$B/examples/$e" >/dev/null 2>&1; then p=$((p + 1)); else f=$((f + 1)); echo "example $e failed"; fi
    done
    echo "examples: $p passed, $f failed"
}
suite "examples (mock)" examples_run
# CMake (add_subdirectory, FetchContent, top level + ctest, find_package
# after cmake --install) and pkg-config after make install, each consumer
# run against the mock
suite "consumers (cmake, pkg-config)" env BUILD="$B" sh tests/consumers.sh
# Windows: the suites and examples cross-built with MinGW-w64 against a
# static Schannel libcurl and run under Wine (tools/windows.sh)
suite "windows (mingw-w64, wine)" env BUILD="$B" sh tools/windows.sh test
rm -f "$log"
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" = 0 ]
