#!/bin/sh
# Runs the fuzz harnesses; called by the targets of fuzz/Makefile.inc.
#
#   sh fuzz/run.sh replay BINDIR
#       Replays, through the standalone driver, each harness's seed corpus
#       (fuzz/corpus/H), its regressions (fuzz/regressions/H) and, for the
#       JSON harnesses, the JSONTestSuite files (as they are, and with the
#       options byte 00 and ff put in front). One test per harness; closing
#       line "fuzz-replay: N passed, N failed".
#
#   sh fuzz/run.sh fuzz BINDIR SECONDS SCRATCH
#       Runs each libFuzzer harness for SECONDS (-max_total_time) on its
#       seed corpus, with its dictionary. New inputs go to SCRATCH/corpus/H
#       (never into the repository), crash files to SCRATCH/artifacts/H/,
#       logs to SCRATCH/logs/H.log. Prints one summary line per harness
#       (executions, exec/s, cov, ft, corpus entries) and exits non-zero
#       when a harness crashed; closing line "fuzz: N passed, N failed".
#
# Environment: FUZZ_HARNESSES (a subset, by name), FUZZ_JOBS (harnesses run
# at once in fuzz mode; default 1), FUZZ_ARGS (more libFuzzer flags),
# JSONTESTSUITE_DIR (else where tools/test_data.sh finds it: the cache of
# `make test-data`, a sibling ../shared). Without it the replay of those
# files is skipped, named in the closing line.
set -u
mode=${1:?usage: run.sh replay BINDIR | fuzz BINDIR SECONDS SCRATCH}
bin=${2:?BINDIR}
here=$(cd "$(dirname "$0")" && pwd)
all="fuzz_json fuzz_json_roundtrip fuzz_json_partial fuzz_sse fuzz_ndjson fuzz_provider fuzz_replay"
harnesses=${FUZZ_HARNESSES:-$all}

suite=$(sh "$here/../tools/test_data.sh" find jsontestsuite)

dict_of() { case "$1" in fuzz_json*|fuzz_replay) echo "$here/json.dict" ;; *) echo "$here/sse.dict" ;; esac; }
maxlen_of() { case "$1" in fuzz_json*|fuzz_provider|fuzz_replay) echo 16384 ;; *) echo 4096 ;; esac; }
is_json() { case "$1" in fuzz_json*) return 0 ;; *) return 1 ;; esac; }

# fuzz_json also checks numbers under a comma-decimal locale when one is
# found: the Makefile passes FUZZ_LOCPATH=$(BUILD)/locale (made by localedef).
if [ -z "${LOCPATH:-}" ] && [ -d "${FUZZ_LOCPATH:-/nonexistent}/de_DE.UTF-8" ]; then
    LOCPATH=$(cd "$FUZZ_LOCPATH" && pwd)
    export LOCPATH
fi

if [ "$mode" = replay ]; then
    pass=0
    fail=0
    if ! locale -a 2>/dev/null | grep -qi '^de_DE.utf-\{0,1\}8$' && [ -z "${LOCPATH:-}" ]; then
        echo "fuzz-replay: no de_DE.UTF-8 locale: fuzz_json skips its comma-decimal check"
    fi
    log=$(mktemp /tmp/llmfuzz.XXXXXX)
    skipped=0
    if [ -z "$suite" ]; then
        echo "SKIPPED JSONTestSuite replay: $(sh "$here/../tools/test_data.sh" missing jsontestsuite)"
        skipped=1
    fi
    for h in $harnesses; do
        set -- "$here/corpus/$h"
        [ -d "$here/regressions/$h" ] && set -- "$@" "$here/regressions/$h"
        if is_json "$h" && [ -n "$suite" ]; then
            set -- "$@" "$suite" --prefix=00 "$suite" --prefix=ff "$suite"
        fi
        start=$(date +%s)
        if "$bin/$h" "$@" >"$log" 2>&1; then
            pass=$((pass + 1))
            printf '%-22s ok    %s (%ss)\n' "$h" "$(sed -n 's/.*: replayed \([0-9]*\) inputs/\1 inputs/p' "$log")" \
                "$(($(date +%s) - start))"
        else
            fail=$((fail + 1))
            printf '%-22s FAIL\n' "$h"
            grep -a -E 'invariant failed|failing input|ERROR: AddressSanitizer|runtime error|SUMMARY' "$log" | head -8 | sed 's/^/    /'
            if [ -d "$here/regressions/$h" ]; then # which regressions still fail, one by one
                for f in "$here/regressions/$h"/*; do
                    [ -f "$f" ] || continue
                    "$bin/$h" "$f" >/dev/null 2>&1 || echo "    still failing: regressions/$h/$(basename "$f")"
                done
            fi
        fi
    done
    rm -f "$log"
    if [ "$skipped" != 0 ]; then echo "fuzz-replay: $pass passed, $fail failed, $skipped skipped"
    else echo "fuzz-replay: $pass passed, $fail failed"; fi
    [ "$fail" = 0 ]
    exit
fi

[ "$mode" = fuzz ] || { echo "run.sh: unknown mode $mode" >&2; exit 2; }
secs=${3:?SECONDS}
scratch=${4:?SCRATCH}
jobs=${FUZZ_JOBS:-1}
mkdir -p "$scratch/logs"

run_one() { # harness: one libFuzzer session
    h=$1
    mkdir -p "$scratch/corpus/$h" "$scratch/artifacts/$h"
    set -- "$scratch/corpus/$h" "$here/corpus/$h"
    if is_json "$h" && [ -n "$suite" ]; then set -- "$@" "$suite"; fi
    # shellcheck disable=SC2086
    "$bin/$h" -max_total_time="$secs" -dict="$(dict_of "$h")" -max_len="$(maxlen_of "$h")" -timeout=25 \
        -print_final_stats=1 -artifact_prefix="$scratch/artifacts/$h/" ${FUZZ_ARGS:-} "$@" \
        >"$scratch/logs/$h.log" 2>&1
    echo $? >"$scratch/logs/$h.rc"
}

summary() { # harness: one line from its log
    h=$1
    l=$scratch/logs/$h.log
    rc=$(cat "$scratch/logs/$h.rc" 2>/dev/null || echo 1)
    last=$(grep -a -E '^#[0-9]+' "$l" | tail -1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$l" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$l" | tail -1)
    cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
    entries=$(find "$scratch/corpus/$h" -type f | wc -l)
    crashes=$(find "$scratch/artifacts/$h" -type f | wc -l)
    printf '%-22s %ss  execs %s  exec/s %s  cov %s  ft %s  corp %s (scratch dir: %s files)  crashes %s\n' \
        "$h" "$secs" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$entries" "$crashes"
    if [ "$rc" != 0 ]; then
        grep -a -E 'invariant failed|ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error|ERROR: libFuzzer' "$l" | head -3 | sed 's/^/    /'
        find "$scratch/artifacts/$h" -type f | sed 's/^/    crash input: /'
        echo "    keep it: cp <crash input> fuzz/regressions/$h/ ; log: $l"
        return 1
    fi
    return 0
}

pass=0
fail=0
# shellcheck disable=SC2086 # a list of names, split on purpose
set -- $harnesses
while [ $# -gt 0 ]; do
    batch=""
    i=0
    while [ $# -gt 0 ] && [ "$i" -lt "$jobs" ]; do
        run_one "$1" &
        batch="$batch $1"
        i=$((i + 1))
        shift
    done
    wait
    for h in $batch; do
        if summary "$h"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
    done
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" = 0 ]
