#!/bin/sh
# Builds and runs llmasync's benchmarks against the local mock LLM server,
# then prints a short table. Exits non-zero when a build, the mock server or
# a benchmark's self-check fails. Run from anywhere: sh bench/run.sh
#
# Knobs (environment):
#   BENCH_STREAMS=4 BENCH_TOKENS=250000 BENCH_REPS=7   stream_throughput
#   BENCH_LEVELS=0,10,100,1000 BENCH_CALLS=2000 BENCH_ROUNDS=5   poll_idle
#   BENCH_FB_STREAMS=200 BENCH_FB_TOKENS=500 BENCH_FB_BUDGET_US=2000 BENCH_FB_REPS=5
#                              frame_budget
#   BENCH_H2_REQUESTS=100 BENCH_H2_REPS=3   h2_connections (nginx)
#   BENCH_CALLGRIND=auto|0|1   instruction counts per streamed chunk (auto:
#                              when valgrind is installed)
#   BENCH_QUICK=1              small sizes, for a smoke test (~15 s)
#   CC=cc  BUILD=build  MOCK_SERVER=<path of a mock_server binary to use>
set -u
cd "$(dirname "$0")/.." || exit 2
B=${BUILD:-build}/bench
CC=${CC:-cc}
WARN="-Wall -Wextra -Wpedantic -Werror"
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    : "${BENCH_TOKENS:=20000}" "${BENCH_REPS:=3}" "${BENCH_LEVELS:=0,10,100}" "${BENCH_CALLS:=500}" "${BENCH_ROUNDS:=2}"
    : "${BENCH_FB_TOKENS:=200}" "${BENCH_FB_REPS:=2}"
fi
STREAMS=${BENCH_STREAMS:-4}
TOKENS=${BENCH_TOKENS:-250000}
REPS=${BENCH_REPS:-7}
LEVELS=${BENCH_LEVELS:-0,10,100,1000}
CALLS=${BENCH_CALLS:-2000}
ROUNDS=${BENCH_ROUNDS:-5}
FB_STREAMS=${BENCH_FB_STREAMS:-200}
FB_TOKENS=${BENCH_FB_TOKENS:-500}
FB_BUDGET=${BENCH_FB_BUDGET_US:-2000}
FB_REPS=${BENCH_FB_REPS:-5}
CG=${BENCH_CALLGRIND:-auto}
if [ "$CG" = auto ]; then
    if command -v valgrind >/dev/null 2>&1; then CG=1; else CG=0; fi
fi
mkdir -p "$B" || exit 2

# ------------------------------------------------------------------ build --
# rebuilt when missing or older than a source
build() { # output, compiler flags and sources...
    out=$1
    shift
    stale=0
    [ -x "$out" ] || stale=1
    for f in "$@" llmasync.h bench/bench_common.h; do
        case "$f" in -*) continue ;; esac
        [ -f "$f" ] && [ -n "$(find "$f" -newer "$out" 2>/dev/null)" ] && stale=1
    done
    [ $stale = 0 ] && return 0
    echo "  CC $out"
    # shellcheck disable=SC2086
    $CC "$@" -o "$out" -lcurl || { echo "bench: building $out failed" >&2; exit 2; }
}
echo "building (-O2) into $B"
if [ -n "${MOCK_SERVER:-}" ]; then
    MOCK=$MOCK_SERVER
else
    MOCK=$B/mock_server
    build "$MOCK" -std=c99 -O2 tests/mock_server.c
fi
# shellcheck disable=SC2086 # WARN is a list of flags
build "$B/stream_throughput" -std=c99 -O2 -g $WARN bench/stream_throughput.c
# shellcheck disable=SC2086
build "$B/poll_idle" -std=c99 -O2 -g $WARN bench/poll_idle.c
# shellcheck disable=SC2086
build "$B/frame_budget" -std=c99 -O2 -g $WARN bench/frame_budget.c

# ------------------------------------------------------------- the mock --
dir=$(mktemp -d /tmp/llmbench.XXXXXX) || exit 2
mock_pid=
stop_mock() {
    [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
    mock_pid=
}
# shellcheck disable=SC2317 # called from the traps
cleanup() {
    stop_mock
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM
start_mock() { # a fresh server: its request counter (ids in every chunk) starts at 1
    stop_mock
    rm -f "$dir/port"
    "$MOCK" --port-file "$dir/port" >/dev/null 2>"$dir/mock.err" &
    mock_pid=$!
    i=0
    while [ ! -s "$dir/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
    if [ ! -s "$dir/port" ]; then echo "bench: the mock server did not start ($MOCK)" >&2; cat "$dir/mock.err" >&2; exit 2; fi
    port=$(cat "$dir/port")
    OPENAI_BASE_URL=http://127.0.0.1:$port/v1
    OPENAI_API_KEY=mock-key
    export OPENAI_BASE_URL OPENAI_API_KEY
}
start_mock

# ------------------------------------------------------------ machine --
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
curlv=$(curl-config --version 2>/dev/null || echo "libcurl ?")
echo "machine: ${cpu:-unknown CPU}, $(nproc 2>/dev/null || echo '?') cores, $(uname -sr), $curlv, $($CC --version 2>/dev/null | head -1)"
echo "mock server: $MOCK on port $port"

status=0
# ------------------------------------------------------ stream throughput --
echo
echo "== stream_throughput =="
"$B/stream_throughput" --streams "$STREAMS" --tokens "$TOKENS" --reps "$REPS" | tee "$dir/st.out"
st_rc=$?
# tee hides the exit status in plain sh: read it from the RESULT line too
grep -q '^RESULT stream_throughput status=ok' "$dir/st.out" || st_rc=1
[ $st_rc = 0 ] || { echo "bench: stream_throughput FAILED" >&2; status=1; }

# ------------------------------------------------------------- poll idle --
echo
echo "== poll_idle =="
"$B/poll_idle" --levels "$LEVELS" --calls "$CALLS" --rounds "$ROUNDS" | tee "$dir/pi.out"
grep -q '^RESULT poll_idle status=ok' "$dir/pi.out" || { echo "bench: poll_idle FAILED" >&2; status=1; }

# ---------------------------------------------------------- frame budget --
echo
echo "== frame_budget =="
"$B/frame_budget" --streams "$FB_STREAMS" --tokens "$FB_TOKENS" --budget-us "$FB_BUDGET" --reps "$FB_REPS" | tee "$dir/fb.out"
grep -q '^RESULT frame_budget status=ok' "$dir/fb.out" || { echo "bench: frame_budget FAILED" >&2; status=1; }

# --------------------------------------------------------- h2 connections --
echo
echo "== h2_connections =="
BUILD=${BUILD:-build} CC=$CC sh bench/h2_connections.sh "${BENCH_H2_REQUESTS:-100}" "${BENCH_H2_REPS:-3}" | tee "$dir/h2.out"
{ grep -q '^RESULT h2_connections pipewait=0' "$dir/h2.out" && ! grep -q 'run failed' "$dir/h2.out"; } ||
    { echo "bench: h2_connections FAILED" >&2; status=1; }

# ------------------------------------------------------------ callgrind --
# Instructions per streamed chunk, user space only (libcurl included, the
# kernel not): the difference between a 1-stream run of N2 and of N1 tokens,
# counted inside run_llmasync / run_baseline only, divided by N2 - N1,
# against a fresh mock server (chunks carry its request counter). This is
# repeatable to the instruction, unlike the timings.
cg_base=; cg_llm=
cg_count() { # side tokens: prints the instructions counted, nothing on failure
    valgrind --tool=callgrind --callgrind-out-file="$dir/cg.$1.$2" --toggle-collect="run_$1*" \
        "$B/stream_throughput" --side "$1" --no-warmup --reps 1 --streams 1 --tokens "$2" \
        >"$dir/cg.$1.$2.out" 2>"$dir/cg.$1.$2.err" || return 1
    sed -n 's/.*Collected : *\([0-9][0-9]*\).*/\1/p' "$dir/cg.$1.$2.err" | tail -1
}
per_chunk() { # count1 count2 tokens1 tokens2
    awk -v a="$1" -v b="$2" -v d=$(($4 - $3)) 'BEGIN { printf "%.0f", (b - a) / d }'
}
if [ "$CG" = 1 ]; then
    echo
    echo "== callgrind: instructions per streamed chunk =="
    start_mock # same request ids, same chunk sizes, same counts every time
    N1=2000
    N2=22000
    b1=$(cg_count baseline $N1); b2=$(cg_count baseline $N2)
    l1=$(cg_count llmasync $N1); l2=$(cg_count llmasync $N2)
    if [ -z "$b1" ] || [ -z "$b2" ] || [ -z "$l1" ] || [ -z "$l2" ] || [ "$b1" = 0 ] || [ "$l1" = 0 ]; then
        echo "bench: a callgrind run failed (counts: '$b1' '$b2' '$l1' '$l2')" >&2
        tail -n 5 "$dir"/cg.*.out "$dir"/cg.*.err >&2
        status=1
    else
        cg_base=$(per_chunk "$b1" "$b2" $N1 $N2)
        cg_llm=$(per_chunk "$l1" "$l2" $N1 $N2)
        echo "baseline: $cg_base instructions per chunk; llmasync: $cg_llm (runs of $N1 and $N2 tokens, 1 stream)"
    fi
fi

# ---------------------------------------------------------------- table --
val() { # file key
    sed -n "s/^RESULT .* $2=\([^ ]*\).*/\1/p" "$1" | tail -1
}
echo
echo "================================ summary ================================"
if grep -q '^RESULT stream_throughput status=ok' "$dir/st.out"; then
    printf 'stream throughput, %s streams x %s tokens, median of %s alternating runs\n' "$STREAMS" "$TOKENS" "$REPS"
    printf '  %-22s %12s %9s %18s\n' "" "chunks/s" "MB/s" "client CPU ns/chunk"
    printf '  %-22s %12s %9s %18s\n' "baseline (raw curl)" "$(val "$dir/st.out" base_cps)" "$(val "$dir/st.out" base_mbs)" "$(val "$dir/st.out" base_cpu_ns)"
    printf '  %-22s %12s %9s %18s\n' "llmasync" "$(val "$dir/st.out" llm_cps)" "$(val "$dir/st.out" llm_mbs)" "$(val "$dir/st.out" llm_cpu_ns)"
    printf '  %-22s %12s %9s %18s\n' "llmasync / baseline" "$(val "$dir/st.out" ratio)" "" "$(val "$dir/st.out" cpu_ratio)x"
    printf '  %-22s %12s\n' "  (paired by rep)" "$(val "$dir/st.out" paired_ratio)"
else
    echo "stream throughput: FAILED"
fi
if [ -n "$cg_base" ]; then
    printf '  %-22s baseline %s, llmasync %s (%sx)\n' "instructions/chunk" "$cg_base" "$cg_llm" \
        "$(awk -v a="$cg_base" -v b="$cg_llm" 'BEGIN { if (a > 0) printf "%.1f", b / a; else printf "?" }')"
fi
if grep -q '^RESULT poll_idle status=ok' "$dir/pi.out"; then
    printf 'one non-blocking call with N idle in-flight streams, microseconds (median / p99 / max);\n'
    printf 'ratio = median over rounds of llm_poll / curl_multi_perform; epoll = socket_action + epoll median\n'
    printf '  %7s %-27s %-27s %7s %13s\n' "streams" "llm_poll" "curl_multi_perform" "ratio" "epoll (ref.)"
    for L in $(echo "$LEVELS" | tr ',' ' '); do
        f=$dir/pi.out
        lm=$(val "$f" "L${L}_llm_med"); pm=$(val "$f" "L${L}_perform_med")
        printf '  %7s %-27s %-27s %7s %13s\n' "$L" \
            "$lm / $(val "$f" "L${L}_llm_p99") / $(val "$f" "L${L}_llm_max")" \
            "$pm / $(val "$f" "L${L}_perform_p99") / $(val "$f" "L${L}_perform_max")" \
            "$(val "$f" "L${L}_ratio")x" \
            "$(val "$f" "L${L}_epoll_med")"
    done
else
    echo "poll_idle: FAILED"
fi
if grep -q '^RESULT frame_budget status=ok' "$dir/fb.out"; then
    f=$dir/fb.out
    printf 'frame budget: %s streams x %s tokens bursting at once, budget %s us; one call, microseconds
' "$FB_STREAMS" "$FB_TOKENS" "$FB_BUDGET"
    printf '(median over %s runs of each run'"'"'s slowest call: wall clock / CPU of the thread; calls per burst)
' "$FB_REPS"
    printf '  %-26s %12s %12s %8s
' "" "wall max" "CPU max" "calls"
    printf '  %-26s %12s %12s %8s
' "llm_poll_budget(c, $FB_BUDGET)" "$(val "$f" b_wall_max)" "$(val "$f" b_cpu_max)" "$(val "$f" b_calls)"
    printf '  %-26s %12s %12s %8s
' "one unit (budget 0)" "$(val "$f" unit_wall_max)" "$(val "$f" unit_cpu_max)" "$(val "$f" unit_calls)"
    printf '  %-26s %12s %12s %8s
' "llm_poll (baseline)" "$(val "$f" base_wall_max)" "$(val "$f" base_cpu_max)" "$(val "$f" base_calls)"
else
    echo "frame_budget: FAILED"
fi
if grep -q '^RESULT h2_connections pipewait=0' "$dir/h2.out"; then
    printf 'HTTP/2 host, %s requests at once, connections opened per run: with PIPEWAIT %s, without %s\n' "${BENCH_H2_REQUESTS:-100}" \
        "$(sed -n 's/^RESULT h2_connections pipewait=1 connections=//p' "$dir/h2.out")" \
        "$(sed -n 's/^RESULT h2_connections pipewait=0 connections=//p' "$dir/h2.out")"
fi
[ $status = 0 ] && echo "bench: all self-checks passed" || echo "bench: FAILED" >&2
exit $status
