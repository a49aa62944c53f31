#!/usr/bin/env bash
# Self-test of tests/mock_server.c with the curl command-line tool.
#
#   tests/mock_selftest.sh [MOCK_BINARY]
#
# Without an argument the mock is compiled from tests/mock_server.c with
# ${CC:-cc} (warnings as errors) into a temporary directory. Prints one line
# per check and "N passed, N failed" at the end; exits non-zero on failure.
# check_if conditions are single-quoted on purpose: they are eval'd later.
# shellcheck disable=SC2016
set -u

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
pass=0
fail=0
server_pid=

cleanup() {
    exec 3>&- 2>/dev/null
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); echo "ok   - $1"; }
ko() { fail=$((fail + 1)); echo "FAIL - $1${2:+: $2}"; }
check() { # check NAME COMMAND...   (passes when COMMAND succeeds)
    local name=$1
    shift
    if "$@"; then ok "$name"; else ko "$name"; fi
}
check_if() { # check_if NAME 'shell condition'
    local name=$1
    if eval "$2"; then ok "$name"; else ko "$name"; fi
}
ms() { echo $(( $(date +%s%N) / 1000000 )); }

command -v curl >/dev/null || { echo "curl is required"; exit 2; }

bin=${1:-}
if [ -z "$bin" ]; then
    bin=$tmp/mock_server
    ${CC:-cc} -std=c99 -Wall -Wextra -Wpedantic -Werror -O2 \
        -o "$bin" "$here/mock_server.c" || { echo "build failed"; exit 1; }
fi

# stdin is a FIFO whose writer is this script: if the script dies, the mock
# sees EOF and exits (--exit-on-stdin-eof).
mkfifo "$tmp/stdin"
"$bin" --port-file "$tmp/port" --exit-on-stdin-eof <"$tmp/stdin" >"$tmp/stdout" 2>"$tmp/stderr" &
server_pid=$!
exec 3>"$tmp/stdin"
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
[ -s "$tmp/port" ] || { echo "mock did not start"; cat "$tmp/stderr"; exit 1; }
port=$(cat "$tmp/port")
U=http://127.0.0.1:$port
check "PORT line on stdout" grep -qx "PORT $port" "$tmp/stdout"

chat='{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello world"}]}'
stream='{"model":"m","messages":[{"role":"user","content":"hello world"}],"stream":true,"stream_options":{"include_usage":true}}'

# --- OpenAI chat --------------------------------------------------------
out=$(curl -s -D "$tmp/h" -d "$chat" "$U/v1/chat/completions")
check "chat echo content" grep -q '"content":"Echo: hello world"' <<<"$out"
check "chat usage" grep -q '"prompt_tokens":4,"completion_tokens":3,"total_tokens":7' <<<"$out"
check "x-request-id header" grep -qi '^x-request-id: req_mock_[0-9]' "$tmp/h"

out=$(curl -s -H 'X-Mock: tokens=5' -d "$stream" "$U/v1/chat/completions")
check "stream: 9 data lines" [ "$(grep -c '^data: ' <<<"$out")" -eq 9 ]
check "stream: [DONE] last" [ "$(grep '^data: ' <<<"$out" | tail -1)" = "data: [DONE]" ]
check "stream: usage chunk" grep -q '"choices":\[\],"usage":{"prompt_tokens":2,"completion_tokens":5' <<<"$out"
check "stream: usage:null elsewhere" [ "$(grep -c '"usage":null' <<<"$out")" -eq 7 ]

out=$(curl -s -H 'X-Mock: usage=0 tokens=2' -d "$stream" "$U/v1/chat/completions")
check_if "usage=0 drops usage" '! grep -q usage <<<"$out"'

out=$(curl -s -d '{"model":"m","max_tokens":2,"messages":[{"role":"user","content":"a b c d [[tokens=9]]"}]}' "$U/v1/chat/completions")
check "max_tokens cut" grep -q '"content":"tok0 tok1".*"finish_reason":"length"' <<<"$out"

out=$(curl -s -d '{"model":"m","messages":[{"role":"user","content":"caf\u00e9 \ud83d\ude00 [[json=1]]"}]}' "$U/v1/chat/completions")
check "json=1 + \\u unescaping" grep -q 'mock justification for café 😀' <<<"$out"

code=$(curl -s -o /dev/null -w '%{http_code}' -d '{"model":"m","messages":[{"role":"robot","content":"x"}]}' "$U/v1/chat/completions")
check "invalid role -> 400" [ "$code" = 400 ]
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer bad-key' -d "$chat" "$U/v1/chat/completions")
check "bad-key -> 401" [ "$code" = 401 ]

out=$(curl -s -H 'X-Mock: tools=1' -d "$stream" "$U/v1/chat/completions")
check "tool call stream" grep -q '"finish_reason":"tool_calls"' <<<"$out"

# --- Anthropic -------------------------------------------------------------
an='{"model":"c","max_tokens":50,"messages":[{"role":"user","content":"hi"}],"stream":true}'
out=$(curl -s -D "$tmp/h" -H 'x-api-key: k' -H 'anthropic-version: 2023-06-01' -d "$an" "$U/v1/messages")
events=$(grep '^event: ' <<<"$out" | cut -d' ' -f2 | tr '\n' ' ')
check "anthropic event order" [ "$events" = "message_start content_block_start ping content_block_delta content_block_delta content_block_stop message_delta message_stop " ]
check "anthropic request-id" grep -qi '^request-id: req_mock_' "$tmp/h"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'anthropic-version: 1' -d "$an" "$U/v1/messages")
check "anthropic no key -> 401" [ "$code" = 401 ]
out=$(curl -s -H 'X-Mock: status=529' -d "$an" "$U/v1/messages")
check "anthropic 529 overloaded" grep -q '"type":"overloaded_error"' <<<"$out"

# --- Ollama ----------------------------------------------------------------
out=$(curl -s -d '{"model":"l","messages":[{"role":"user","content":"a b c"}],"options":{"num_predict":2}}' "$U/api/chat")
check "ollama ndjson" [ "$(wc -l <<<"$out")" -eq 3 ]
check "ollama done_reason length" grep -q '"done":true,"done_reason":"length"' <<<"$out"

# --- Embeddings ------------------------------------------------------------
out=$(curl -s -H 'X-Mock: shuffle=1' -d '{"model":"e","input":["abc","hello"],"dimensions":3}' "$U/v1/embeddings")
check "embeddings shuffled + e[0]" grep -q '"index":1,"embedding":\[5,.*"index":0,"embedding":\[3,' <<<"$out"
code=$(curl -s -o /dev/null -w '%{http_code}' -d '{"model":"e","input":[]}' "$U/v1/embeddings")
check "empty input -> 400" [ "$code" = 400 ]

# --- Statuses and faults ---------------------------------------------------
curl -s -o /dev/null -D "$tmp/h" -H 'X-Mock: status=429 retry_after=2 retry_after_ms=2000' -d "$chat" "$U/v1/chat/completions"
check "429 + Retry-After" grep -qi '^Retry-After: 2' "$tmp/h"
check "retry-after-ms" grep -qi '^retry-after-ms: 2000' "$tmp/h"
codes=""
for _ in 1 2 3; do
    codes="$codes$(curl -s -o /dev/null -w '%{http_code}' -H "X-Mock: id=st$$ fail_first=2 status=503" -d "$chat" "$U/v1/chat/completions") "
done
check "fail_first=2" [ "$codes" = "503 503 200 " ]
curl -s -o /dev/null -H 'X-Mock: fault=reset_headers' -d "$chat" "$U/v1/chat/completions"
rc=$?
check_if "reset_headers -> curl error ($rc)" '[ "$rc" -eq 52 ] || [ "$rc" -eq 56 ]'
out=$(curl -s -H 'X-Mock: fault=truncated' -d "$chat" "$U/v1/chat/completions")
check_if "truncated body" '[ ${#out} -gt 10 ] && ! grep -q "}$" <<<"$out"'
out=$(curl -s -H 'X-Mock: error_after=1' -d "$stream" "$U/v1/chat/completions")
check "error_after" grep -q '"message":"mock stream error"' <<<"$out"
curl -s -o /dev/null -H 'X-Mock: reset_after=1' -d "$stream" "$U/v1/chat/completions"
check "reset_after -> curl error" [ $? -ne 0 ]
curl -s -o /dev/null -m 0.5 -H 'X-Mock: fault=never' -d "$chat" "$U/v1/chat/completions"
check "fault=never -> timeout" [ $? -eq 28 ]
out=$(curl -s -H 'X-Mock: redirect=http://127.0.0.1:1/x' -o /dev/null -w '%{http_code} %{redirect_url}' -d "$chat" "$U/v1/chat/completions")
check "redirect 307" [ "$out" = "307 http://127.0.0.1:1/x" ]

# --- Stream shape ------------------------------------------------------------
norm() { sed 's/mock-[0-9]*/N/g'; }
a=$(curl -s -H 'X-Mock: split=7 unicode=1 eol=crlf bom=1' -d "$stream" "$U/v1/chat/completions" | norm | md5sum)
b=$(curl -s -H 'X-Mock: unicode=1 eol=crlf bom=1' -d "$stream" "$U/v1/chat/completions" | norm | md5sum)
check "split=7 reassembles identically" [ "$a" = "$b" ]
n7=$(curl -s --raw -H 'X-Mock: split=7 tokens=3' -d "$stream" "$U/v1/chat/completions" | grep -c $'^7\r$')
check "split=7 uses 7-byte chunks" [ "$n7" -gt 50 ]
out=$(curl -s -H 'X-Mock: delay=300 keepalive=100 tokens=1' -d "$stream" "$U/v1/chat/completions")
check "keep-alive comments" [ "$(grep -c '^: keep-alive' <<<"$out")" -ge 2 ]
t0=$(ms)
curl -s -o /dev/null -H 'X-Mock: pace=50 tokens=4' -d "$stream" "$U/v1/chat/completions"
dt=$(($(ms) - t0))
check_if "pace=50 x 8 events ~ 400ms ($dt ms)" '[ "$dt" -ge 330 ] && [ "$dt" -lt 1500 ]'

# --- HTTP ------------------------------------------------------------------
out=$(curl -sv -o /dev/null -o /dev/null "$U/v1/models" "$U/v1/models" 2>&1)
check "keep-alive reuse" grep -q 'Re-using existing connection' <<<"$out"
head -c 2000000 /dev/zero | tr '\0' 'x' >"$tmp/big"
printf '{"model":"m","messages":[{"role":"user","content":"%s"}]}' "$(cat "$tmp/big")" >"$tmp/big.json"
curl -sv -d @"$tmp/big.json" "$U/v1/chat/completions" >"$tmp/out" 2>&1
check_if "100-continue + 2 MB body" 'grep -q "< HTTP/1.1 100 Continue" "$tmp/out" && grep -q "\"completion_tokens\":2" "$tmp/out"'
out=$(curl -s -H 'Transfer-Encoding: chunked' -d "$chat" "$U/v1/chat/completions")
check "chunked request body" grep -q 'Echo: hello world' <<<"$out"
out=$(curl -s -d '{"a":[1,{"b":null}]}' "$U/some/where?q=1")
check "echo endpoint" [ "$out" = '{"object":"echo","method":"POST","path":"/some/where","query":"q=1","body":{"a":[1,{"b":null}]}}' ]
code=$(curl -s -o /dev/null -w '%{http_code}' "$U/nothing/here")
check "unknown GET -> 404" [ "$code" = 404 ]

# --- Scale -------------------------------------------------------------------
curl -s -X POST "$U/mock/reset" >/dev/null
urls=$(for _ in $(seq 200); do echo "$U/v1/chat/completions"; done)
t0=$(ms)
# shellcheck disable=SC2086
curl -s -Z --parallel-max 200 --parallel-immediate -H 'X-Mock: delay=500' -d "$chat" $urls >"$tmp/par" 2>/dev/null
dt=$(($(ms) - t0))
check_if "200 concurrent delay=500 in $dt ms" '[ "$dt" -lt 2500 ] && [ "$(grep -o chatcmpl-mock "$tmp/par" | wc -l)" -eq 200 ]'
out=$(curl -s "$U/mock/stats")
check "max_inflight 200" grep -q '"requests":200,.*"inflight":0,"max_inflight":200' <<<"$out"
t0=$(ms)
size=$(curl -s -o /dev/null -w '%{size_download}' -H 'X-Mock: tokens=200000' -d "$stream" "$U/v1/chat/completions")
dt=$(($(ms) - t0))
check_if "tokens=200000 stream: $size bytes in $dt ms" '[ "$size" -gt 40000000 ] && [ "$dt" -lt 10000 ]'

# --- Shutdown ----------------------------------------------------------------
timeout 5 "$bin" --exit-on-stdin-eof </dev/null >/dev/null 2>&1
check "stdin EOF -> exit 0" [ $? -eq 0 ]
kill -TERM "$server_pid"
wait "$server_pid"
rc=$?
server_pid=
check "SIGTERM -> exit 0" [ "$rc" -eq 0 ]

if [ "$fail" -gt 0 ]; then
    echo "--- mock stderr (last 30 lines)"
    tail -30 "$tmp/stderr"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
