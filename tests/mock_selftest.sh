#!/usr/bin/env bash
# Self-test of tests/mock_server.c with the curl command-line tool.
#
#   tests/mock_selftest.sh [MOCK_BINARY]
#
# Needs curl and python3 (JSON checks, raw-socket checks). Without an
# argument the mock is compiled from tests/mock_server.c with
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
command -v python3 >/dev/null || { echo "python3 is required"; exit 2; }

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

# --- Amplifying bodies, usage, keys, proxy -----------------------------------
isjson() { python3 -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null; }
for shape in zeros empties nested keys; do
    for n in 1000 100001; do
        code=$(curl -s -o "$tmp/fill" -w '%{http_code}' -H "X-Mock: fill=$shape huge_bytes=$n" -d "$chat" "$U/v1/chat/completions")
        size=$(wc -c <"$tmp/fill")
        check_if "fill=$shape huge_bytes=$n: JSON of $size bytes" '[ "$code" = 200 ] && isjson <"$tmp/fill" && [ "$size" -le "$n" ] && [ "$size" -ge $((n - 16)) ]'
    done
done
curl -s -o "$tmp/fill" -H 'X-Mock: fill=zeros huge_bytes=64' -d "$chat" "$U/v1/chat/completions"
check "fill=zeros shape" grep -q '^\[0,0,0,0,0,' "$tmp/fill"
curl -s -o "$tmp/fill" -H 'X-Mock: fill=empties huge_bytes=64' -d "$chat" "$U/v1/chat/completions"
check "fill=empties shape" grep -q '^\[\[\],{},\[\],{},' "$tmp/fill"
curl -s -o "$tmp/fill" -H 'X-Mock: fill=keys huge_bytes=64' -d "$chat" "$U/v1/chat/completions"
check "fill=keys shape" grep -q '^{"a0":0,"a1":0,"a2":0,' "$tmp/fill"
curl -s -o "$tmp/fill" -H 'X-Mock: fill=nested huge_bytes=5000' -d "$chat" "$U/v1/chat/completions"
depth=$(python3 -c '
import json, sys
def d(v): return 1 + max([d(x) for x in v] or [0]) if isinstance(v, list) else 0
v = json.load(open(sys.argv[1])); print(d(v), len(v))' "$tmp/fill" 2>/dev/null)
check "fill=nested depth 101, 24 siblings ($depth)" [ "$depth" = "101 24" ]
out=$(curl -s -D "$tmp/h" -w ' %{http_code}' -H 'X-Mock: fill=keys huge_bytes=3000 status=503' -d '{"model":"e","input":"x"}' "$U/api/embed")
check_if "fill + status=503: the error body is the fill" '[ "${out##* }" = 503 ] && isjson <<<"${out% *}" && [ $(( ${#out} - 4 )) -eq 3000 ] && grep -qi "^Content-Length: 3000" "$tmp/h"'
codes=""
for _ in 1 2; do
    codes="$codes$(curl -s -o "$tmp/fill" -w '%{http_code}:%{size_download}' -H "X-Mock: id=fl$$ fail_first=1 status=500 fill=empties huge_bytes=2000" -d "$an" -H 'x-api-key: k' -H 'anthropic-version: 1' "$U/v1/messages") "
done
check "fill applies outside the fail_first group ($codes)" [ "$codes" = "500:2000 200:2000 " ]
t0=$(ms)
size=$(curl -s -o /dev/null -w '%{size_download}' -H 'X-Mock: fill=zeros' -d '{"a":1}' "$U/some/echo")
dt=$(($(ms) - t0))
check_if "fill=zeros default 100 MiB on echo: $size bytes in $dt ms" '[ "$size" -eq 104857600 ] && [ "$dt" -lt 10000 ]'

out=$(curl -s -H 'X-Mock: long_vector=100000' -d '{"model":"e","input":["a","b","c"]}' "$U/v1/embeddings" |
    python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(len(d), len(d[0]["embedding"]), d[0]["embedding"][-1])')
check "long_vector=100000 (OpenAI): one vector of 100000 x 0.5" [ "$out" = "1 100000 0.5" ]
out=$(curl -s -H 'X-Mock: long_vector=10000000' -d '{"model":"e","input":["a","b"]}' "$U/api/embed" |
    python3 -c 'import json,sys; d=json.load(sys.stdin)["embeddings"]; print(len(d), len(d[0]))')
check "long_vector=10000000 (Ollama): one vector of 10^7" [ "$out" = "1 10000000" ]

M=9223372036854775807
out=$(curl -s -H 'X-Mock: usage_max=1' -d "$chat" "$U/v1/chat/completions")
check "usage_max: OpenAI chat" grep -q "\"prompt_tokens\":$M,\"completion_tokens\":$M,\"total_tokens\":$M" <<<"$out"
out=$(curl -s -H 'X-Mock: usage_max=1' -d "$stream" "$U/v1/chat/completions")
check "usage_max: OpenAI usage chunk" grep -q "\"usage\":{\"prompt_tokens\":$M,\"completion_tokens\":$M,\"total_tokens\":$M}" <<<"$out"
out=$(curl -s -H 'X-Mock: usage_max=1' -H 'x-api-key: k' -H 'anthropic-version: 1' -d "$an" "$U/v1/messages")
check_if "usage_max: Anthropic message_start + message_delta" '[ "$(grep -c "\"input_tokens\":$M,\"output_tokens\":$M" <<<"$out")" -eq 1 ] && grep -q "\"usage\":{\"output_tokens\":$M}" <<<"$out"'
out=$(curl -s -H 'X-Mock: usage_max=1' -d '{"model":"l","messages":[{"role":"user","content":"a"}],"stream":false}' "$U/api/chat")
check "usage_max: Ollama counts" grep -q "\"prompt_eval_count\":$M,\"eval_count\":$M" <<<"$out"
out=$(curl -s -H 'X-Mock: usage_max=1' -d '{"model":"e","input":"a b"}' "$U/v1/embeddings")
check "usage_max: embeddings" grep -q "\"usage\":{\"prompt_tokens\":$M,\"total_tokens\":$M}" <<<"$out"

out=$(curl -s -D "$tmp/h" -w '%{http_code}:%{size_download}' -H 'X-Mock: fault=empty_stream' -d "$stream" "$U/v1/chat/completions")
check_if "empty_stream: 200 SSE headers, empty body ($out)" '[ "$out" = 200:0 ] && grep -qi "^Content-Type: text/event-stream" "$tmp/h"'
size=$(curl -s -D "$tmp/h" -o /dev/null -w '%{size_download}' -H 'X-Mock: fault=empty_stream' -d '{"model":"l","messages":[]}' "$U/api/chat")
check_if "empty_stream: NDJSON Content-Type for Ollama, empty body" '[ "$size" = 0 ] && grep -qi "^Content-Type: application/x-ndjson" "$tmp/h"'
out=$(curl -s -o /dev/null -o /dev/null -w '%{http_code}:%{size_download}:%{num_connects} ' -H "X-Mock: id=es$$ fail_first=1 fault=empty_stream" -d "$stream" "$U/v1/chat/completions" "$U/v1/chat/completions")
check_if "empty_stream + fail_first=1, then a normal stream on the same connection ($out)" '[[ "$out" =~ ^200:0:1\ 200:[1-9][0-9]*:0\ $ ]]'

curl -s -D "$tmp/h" -o /dev/null -H 'X-Mock: header_bytes=50000' -d "$chat" "$U/v1/chat/completions"
check "header_bytes=50000" grep -qx "x-mock-pad: $(head -c 50000 /dev/zero | tr '\0' a)"$'\r' "$tmp/h"
curl -s -D "$tmp/h" -o /dev/null -H 'X-Mock: header_lines=50 status=429' -d "$chat" "$U/v1/chat/completions"
check_if "header_lines=50 on a status= error" '[ "$(grep -cE "^x-mock-pad-[0-9]+: a{1000}"$'"'"'\r'"'"'"$" "$tmp/h")" -eq 50 ] && grep -q "^x-mock-pad-49: " "$tmp/h" && grep -q "^HTTP/1.1 429" "$tmp/h"'
python3 - "$port" >"$tmp/raw" 2>&1 <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
          b"X-Mock: header_bytes=10000000 header_lines=1000\r\nContent-Length: 2\r\n\r\n{}")
d = b""
while True:
    c = s.recv(1 << 20)
    if not c:
        break
    d += c
h = d.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
pad = [x for x in h if x.startswith(b"x-mock-pad-") and x.endswith(b": " + b"a" * 1000)]
print(max(len(x) for x in h), len(pad), h[0].decode())
PY
check "header_bytes=10^7 + header_lines=1000 (raw socket)" [ "$(cat "$tmp/raw")" = "10000012 1000 HTTP/1.1 400 Bad Request" ]

key=sk-mock-SECRET-42
kdec() { python3 -c 'import json,sys; d=json.load(sys.stdin); e=d["error"]; print(e if isinstance(e,str) else e["message"])'; }
out=$(curl -s -w ' %{http_code}' -H "Authorization: Bearer $key" -H 'X-Mock: echo_key=plain' -d "$chat" "$U/v1/chat/completions")
check "echo_key=plain: 401 with the key" [ "$out" = '{"error":{"message":"Incorrect API key provided: '$key'. See the docs.","type":"authentication_error","param":null,"code":"invalid_api_key"}} 401' ]
out=$(curl -s -H "x-api-key: $key" -H 'X-Mock: echo_key=plain status=403' -d "$an" "$U/v1/messages")
check "echo_key=plain: Anthropic body, x-api-key" grep -q '"error":{"type":"permission_error","message":"Incorrect API key provided: '$key'. See the docs."}' <<<"$out"
out=$(curl -s -H "Authorization: Bearer $key" -H 'X-Mock: echo_key=json status=500' -d "$chat" "$U/api/chat")
check_if "echo_key=json: key absent raw, present decoded" '! grep -q "$key" <<<"$out" && grep -q "\\\\u0073\\\\u006b\\\\u002d" <<<"$out" && [ "$(kdec <<<"$out")" = "Incorrect API key provided: $key. See the docs." ]'
out=$(curl -s -H "Authorization: Bearer $key" -H 'X-Mock: echo_key=url' -d "$chat" "$U/v1/embeddings")
check_if "echo_key=url: %XX form" '! grep -q "$key" <<<"$out" && grep -q "provided: key=%73%6B%2D%6D%6F%63%6B%2D%53%45%43%52%45%54%2D%34%32\. See" <<<"$out"'
out=$(curl -s -H "Authorization: Bearer $key" -H 'X-Mock: echo_key=split' -d "$chat" "$U/v1/chat/completions")
check_if "echo_key=split: two halves" '! grep -q "$key" <<<"$out" && grep -q "key starts sk-mock- \.\.\. and ends SECRET-42\. See" <<<"$out"'
out=$(curl -s -w ' %{http_code}' -H 'X-Mock: echo_key=plain' -d "$chat" "$U/v1/chat/completions")
check "echo_key without a key: nokey" grep -q 'provided: nokey\. See.* 401$' <<<"$out"
curl -s -D "$tmp/h" -o /dev/null -H "x-api-key: $key" -H 'anthropic-version: 1' -H 'X-Mock: echo_key=reqid' -d "$an" "$U/v1/messages"
check_if "echo_key=reqid: x-request-id and request-id" 'grep -q "^x-request-id: $key"$'"'"'\r'"'"'"$" "$tmp/h" && grep -q "^request-id: $key"$'"'"'\r'"'"'"$" "$tmp/h"'
curl -s -D "$tmp/h" -o /dev/null -H "Authorization: Bearer $key" -H 'X-Mock: echo_key=location' -d "$chat" "$U/v1/chat/completions"
loc=$(grep -i '^Location: ' "$tmp/h" | tr -d '\r' | cut -d' ' -f2)
check_if "echo_key=location: 307, ${#loc}-byte Location ending in ?k=KEY" 'grep -q "^HTTP/1.1 307" "$tmp/h" && [ ${#loc} -eq $((240 + ${#key})) ] && [ "${loc#http://127.0.0.1/}" = "$(printf "x%.0s" $(seq 220))?k=$key" ]'
out=$(curl -s -H "Authorization: Bearer $key" -H 'X-Mock: echo_key=event error_after=1' -d "$stream" "$U/v1/chat/completions")
check "echo_key=event: mid-stream error with the key" grep -q '^data: {"error":{"message":"Incorrect API key provided: '$key'",' <<<"$out"
codes=""
for _ in 1 2; do
    codes="$codes$(curl -s -o /dev/null -w '%{http_code}' -H "X-Mock: id=ek$$ fail_first=1 echo_key=plain" -d "$chat" "$U/v1/chat/completions") "
done
check "echo_key + fail_first=1" [ "$codes" = "401 200 " ]

python3 - "$port" >"$tmp/raw" 2>&1 <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
          b"X-Mock: status=304 body=1\r\nContent-Length: 2\r\n\r\n{}")
d = b""
while True:
    c = s.recv(65536)
    if not c:
        break
    d += c
sys.stdout.write(d.decode())
PY
check_if "status=304 body=1: 304 with a JSON body" 'grep -q "^HTTP/1.1 304 " "$tmp/raw" && grep -qi "^Content-Length: 44" "$tmp/raw" && [ "$(tail -c 44 "$tmp/raw")" = "{\"error\":{\"message\":\"mock 304 with a body\"}}" ]'

curl -s -X POST "$U/mock/reset" >/dev/null
out=$(curl -s -x "http://127.0.0.1:$port" http://example.invalid/v1/chat/completions -d '{"model":"m","messages":[{"role":"user","content":"hi"}]}')
check "proxy form: normal chat completion" grep -q '"content":"Echo: hi"' <<<"$out"
out=$(curl -s "$U/mock/stats")
check "proxy form: stats" grep -q '"last_path":"/v1/chat/completions",.*"last_proxy_target":"http://example.invalid/v1/chat/completions","proxied":1' <<<"$out"
curl -s -d '{}' "$U/v1/other" >/dev/null
out=$(curl -s "$U/mock/stats")
check "origin form: last_proxy_target null" grep -q '"last_proxy_target":null,"proxied":1' <<<"$out"

# --- Responses API -------------------------------------------------------------
# sse.py MODE: reads an SSE body on stdin and prints one summary line.
cat >"$tmp/sse.py" <<'PY'
import json, sys
mode = sys.argv[1]
evs, name = [], None
for line in sys.stdin.read().splitlines():
    if line.startswith("event: "):
        name = line[7:]
    elif line.startswith("data: "):
        d = line[6:]
        evs.append((name, d if d == "[DONE]" else json.loads(d)))
        name = None
if mode in ("responses", "tools"):
    ok = all(n == d["type"] for n, d in evs) and \
        [d["sequence_number"] for _, d in evs] == list(range(len(evs)))
    last = evs[-1][1]
    if mode == "responses":
        kind = "refusal" if any(d["type"].startswith("response.refusal") for _, d in evs) else "output_text"
        deltas = [d["delta"] for _, d in evs if d["type"] == "response.%s.delta" % kind]
        done = [d.get("text", d.get("refusal")) for _, d in evs if d["type"] == "response.%s.done" % kind]
        summ = "".join(d["delta"] for _, d in evs if d["type"] == "response.reasoning_summary_text.delta")
        fin = ""
        if "response" in last and last["response"]["output"]:
            part = last["response"]["output"][-1]["content"][0]
            fin = part.get("text", part.get("refusal"))
        print(ok, "".join(deltas) == (done or [None])[0] == fin, last["type"], len(deltas), repr("".join(deltas)), repr(summ))
    else:
        args = {}
        for _, d in evs:
            if d["type"] == "response.function_call_arguments.delta":
                args[d["item_id"]] = args.get(d["item_id"], "") + d["delta"]
        done = {d["item_id"]: d["arguments"] for _, d in evs if d["type"] == "response.function_call_arguments.done"}
        fin = {i["id"]: i["arguments"] for i in last["response"]["output"] if i["type"] == "function_call"}
        print(ok, args == done == fin, last["type"], len(args), all(json.loads(a)["city"] == "Paris" for a in args.values()))
elif mode == "types":
    print(" ".join(d["type"] for _, d in evs))
elif mode == "chat":
    texts, fins, usage = {}, {}, None
    for _, d in evs:
        if d == "[DONE]":
            continue
        if d.get("usage"):
            usage = d["usage"]["completion_tokens"]
        for c in d["choices"]:
            dl = c["delta"]
            t = dl.get("content") or dl.get("refusal") or ""
            texts[c["index"]] = texts.get(c["index"], "") + t
            if c["finish_reason"]:
                fins[c["index"]] = fins.get(c["index"], []) + [c["finish_reason"]]
    print(json.dumps([[texts[k] for k in sorted(texts)], [fins.get(k) for k in sorted(texts)], usage, evs[-1][1] == "[DONE]"]))
elif mode == "transcript":
    deltas = "".join(d["delta"] for _, d in evs if d["type"] == "transcript.text.delta")
    print(json.dumps([deltas, evs[-1][1]["type"], evs[-1][1]["text"], evs[-1][1]["usage"]["output_tokens"]]))
PY
jq1() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
sse() { python3 "$tmp/sse.py" "$1"; }
rs='{"model":"m","input":"hello world"}'
out=$(curl -s -d "$rs" "$U/v1/responses" | jq1 '(d["id"][:10], d["object"], d["status"], d["output"][0]["type"], d["output"][0]["content"][0]["text"], d["usage"]["input_tokens"], d["usage"]["output_tokens"], d["usage"]["total_tokens"], d["incomplete_details"], d["previous_response_id"], d["store"])')
check "responses: text + usage ($out)" [ "$out" = "('resp_mock_', 'response', 'completed', 'message', 'Echo: hello world', 2, 3, 5, None, None, True)" ]
out=$(curl -s -d '{"model":"m","input":[{"role":"developer","content":"terse"},{"role":"user","content":[{"type":"input_text","text":"hi"},{"type":"input_text","text":"there"}]}],"reasoning":{"effort":"low"},"instructions":"be nice","store":false,"previous_response_id":"resp_prev"}' "$U/v1/responses" |
    jq1 '([i["type"] for i in d["output"]], d["output"][0]["summary"][0]["text"], d["output"][1]["content"][0]["text"], d["usage"]["input_tokens"], d["usage"]["output_tokens"], d["usage"]["output_tokens_details"]["reasoning_tokens"], d["instructions"], d["store"], d["previous_response_id"])')
check "responses: items input, reasoning, echoed fields ($out)" [ "$out" = "(['reasoning', 'message'], 'mock reasoning summary', 'Echo: hi there', 5, 8, 5, 'be nice', False, 'resp_prev')" ]
out=$(curl -s -H 'X-Mock: tools=2' -d "$rs" "$U/v1/responses" | jq1 '[(i["type"], i["id"], i["call_id"], i["name"], json.loads(i["arguments"]), i["status"]) for i in d["output"]]')
check "responses: tools=2 function_call items" [ "$out" = "[('function_call', 'fc_0', 'call_0', 'get_weather', {'city': 'Paris', 'i': 0}, 'completed'), ('function_call', 'fc_1', 'call_1', 'get_weather', {'city': 'Paris', 'i': 1}, 'completed')]" ]
out=$(curl -s -d '{"model":"m","input":"a b c d","max_output_tokens":2}' "$U/v1/responses" | jq1 '(d["status"], d["incomplete_details"], d["output"][0]["content"][0]["text"], d["usage"]["output_tokens"])')
check "responses: max_output_tokens -> incomplete ($out)" [ "$out" = "('incomplete', {'reason': 'max_output_tokens'}, 'Echo: a', 2)" ]
out=$(curl -s -H 'X-Mock: refusal=1' -d "$rs" "$U/v1/responses" | jq1 'd["output"][0]["content"]')
check "responses: refusal=1 content part" [ "$out" = "[{'type': 'refusal', 'refusal': \"I'm sorry, I cannot help with that.\"}]" ]
out=$(curl -s -d '{"model":"m","input":[{"role":"user","content":"weather? [[tokens=2]]"},{"type":"function_call","call_id":"call_0","name":"get_weather","arguments":"{}"},{"type":"function_call_output","call_id":"call_0","output":"sunny and warm"}]}' "$U/v1/responses" | jq1 '(d["output"][0]["content"][0]["text"], d["usage"]["input_tokens"])')
check "responses: function_call_output item + directive ($out)" [ "$out" = "('tok0 tok1', 5)" ]
codes=""
for b in '{"input":"x"}' '{"model":"m"}' '{"model":"m","input":[]}' '{"model":"m","input":[{"type":"function_call_output","call_id":"c"}]}' '{"model":"m","input":"x","max_output_tokens":0}'; do
    codes="$codes$(curl -s -o /dev/null -w '%{http_code}' -d "$b" "$U/v1/responses") "
done
check "responses: 400s ($codes)" [ "$codes" = "400 400 400 400 400 " ]
rss='{"model":"m","input":"hello world","stream":true}'
out=$(curl -s -d "$rss" "$U/v1/responses" | sse types)
check "responses stream: event sequence" [ "$out" = "response.created response.in_progress response.output_item.added response.content_part.added response.output_text.delta response.output_text.delta response.output_text.delta response.output_text.done response.content_part.done response.output_item.done response.completed" ]
out=$(curl -s -d "$rss" "$U/v1/responses" | sse responses)
check "responses stream: numbering, deltas = text, completed last ($out)" [ "$out" = "True True response.completed 3 'Echo: hello world' ''" ]
out=$(curl -s -d '{"model":"m","input":"hi","stream":true,"reasoning":{}}' "$U/v1/responses" | sse types)
check "responses stream: reasoning events first" [ "$out" = "response.created response.in_progress response.output_item.added response.reasoning_summary_text.delta response.reasoning_summary_text.delta response.reasoning_summary_text.delta response.reasoning_summary_text.done response.output_item.done response.output_item.added response.content_part.added response.output_text.delta response.output_text.delta response.output_text.done response.content_part.done response.output_item.done response.completed" ]
out=$(curl -s -H 'X-Mock: tokens=4 split=5 eol=crlf' -d '{"model":"m","input":"hi","stream":true,"reasoning":{}}' "$U/v1/responses" | tr -d '\r' | sse responses)
check "responses stream: reasoning summary, split=5 eol=crlf ($out)" [ "$out" = "True True response.completed 4 'tok0 tok1 tok2 tok3' 'mock reasoning summary'" ]
out=$(curl -s -H 'X-Mock: tools=3' -d "$rss" "$U/v1/responses" | sse tools)
check "responses stream: tools=3 argument deltas = done = final ($out)" [ "$out" = "True True response.completed 3 True" ]
out=$(curl -s -d '{"model":"m","input":"a b c d","stream":true,"max_output_tokens":2}' "$U/v1/responses" | sse responses)
check "responses stream: response.incomplete last ($out)" [ "$out" = "True True response.incomplete 2 'Echo: a' ''" ]
out=$(curl -s -H 'X-Mock: refusal=1' -d "$rss" "$U/v1/responses" | sse responses)
check "responses stream: refusal deltas ($out)" [ "$out" = "True True response.completed 7 \"I'm sorry, I cannot help with that.\" ''" ]
out=$(curl -s -H 'X-Mock: error_after=1' -d "$rss" "$U/v1/responses")
ev=$(grep -c '^event: ' <<<"$out")
last=$(grep '^data: ' <<<"$out" | tail -1)
check "responses stream: error_after=1: last event ($ev events)" [ "$last" = "data: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"mock stream error\",\"param\":null,\"sequence_number\":$((ev - 1))}" ]
check_if "responses stream: error_after=1: one delta, error event last" '[ "$(grep -c "output_text.delta" <<<"$out")" -eq 2 ] && [ "$(grep "^event: " <<<"$out" | tail -1)" = "event: error" ]'
out=$(curl -s -H 'X-Mock: fail_after=2' -d "$rss" "$U/v1/responses" | sse types)
check "responses stream: fail_after=2 ($out)" [ "$out" = "response.created response.in_progress response.output_item.added response.content_part.added response.output_text.delta response.output_text.delta response.failed" ]
out=$(curl -s -H 'X-Mock: fail_after=0' -d "$rss" "$U/v1/responses" | grep '^data: ' | tail -1 | cut -c7- | jq1 '(d["sequence_number"], d["response"]["status"], d["response"]["error"], d["response"]["output"])')
check "responses stream: response.failed body ($out)" [ "$out" = "(4, 'failed', {'code': 'server_error', 'message': 'mock response failed'}, [])" ]

# --- Audio: speech --------------------------------------------------------------
fnv() { python3 -c 'import sys
h = 2166136261
for c in open(sys.argv[1], "rb").read(): h = ((h ^ c) * 16777619) & 0xffffffff
print("%08x" % h)' "$1"; }
sp='{"model":"tts-1","input":"hello","voice":"alloy"}'
curl -s -D "$tmp/h" -o "$tmp/sp" -d "$sp" "$U/v1/audio/speech"
out=$(python3 -c 'import sys
d = open(sys.argv[1], "rb").read(); h = 2166136261
for c in b"hello": h = ((h ^ c) * 16777619) & 0xffffffff
print(len(d), all(d[i] == (i * 7 + h) & 0xff for i in range(len(d))))' "$tmp/sp")
check_if "speech: 5000 bytes by the formula, audio/mpeg, chunked ($out)" '[ "$out" = "5000 True" ] && grep -qi "^Content-Type: audio/mpeg" "$tmp/h" && grep -qi "^Transfer-Encoding: chunked" "$tmp/h"'
out=""
for f in mp3 opus aac flac wav pcm; do
    out="$out$(curl -s -o /dev/null -w '%{content_type}' -H 'X-Mock: audio_bytes=10' -d '{"model":"tts-1","input":"hello","voice":"alloy","response_format":"'$f'"}' "$U/v1/audio/speech") "
done
check "speech: Content-Type per format ($out)" [ "$out" = "audio/mpeg audio/ogg audio/aac audio/flac audio/wav audio/pcm " ]
out=$(curl -s -w ' %{http_code}' -d '{"model":"tts-1","input":"hello"}' "$U/v1/audio/speech")
check "speech: missing voice -> 400 OpenAI error" [ "$out" = '{"error":{"message":"mock: invalid request: voice must be a non-empty string","type":"invalid_request_error","param":null,"code":"invalid_request"}} 400' ]
code=$(curl -s -o /dev/null -w '%{http_code}' -d '{"model":"tts-1","input":"hello","voice":"alloy","response_format":"ogg"}' "$U/v1/audio/speech")
check "speech: bad response_format -> 400" [ "$code" = 400 ]
curl -s -o "$tmp/sp" -d '{"model":"tts-1","input":"[[audio_bytes=5000000]] hi","voice":"v"}' "$U/v1/audio/speech"
out=$(python3 -c 'import sys
d = open(sys.argv[1], "rb").read(); h = 2166136261
for c in b"[[audio_bytes=5000000]] hi": h = ((h ^ c) * 16777619) & 0xffffffff
print(len(d), d[:1000] == bytes((i * 7 + h) & 255 for i in range(1000)), d[-1] == (4999999 * 7 + h) & 255)' "$tmp/sp")
check "speech: audio_bytes=5000000 in the input ($out)" [ "$out" = "5000000 True True" ]
t0=$(ms)
n=$(curl -s --raw -H 'X-Mock: audio_bytes=20000 chunk_bytes=4000 pace=100' -d "$sp" "$U/v1/audio/speech" | grep -ac $'^fa0\r$')
dt=$(($(ms) - t0))
check_if "speech: 5 chunks of 4000 bytes, pace=100 ($n chunks in $dt ms)" '[ "$n" -eq 5 ] && [ "$dt" -ge 380 ] && [ "$dt" -lt 2000 ]'
out=$(curl -s -w ' %{http_code}' -H 'X-Mock: status=429' -d "$sp" "$U/v1/audio/speech")
check "speech: status=429 with the OpenAI error body" [ "$out" = '{"error":{"message":"mock error 429","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}} 429' ]

# --- Audio: transcriptions and translations ----------------------------------------
python3 -c 'import sys; sys.stdout.buffer.write(bytes((i * 31 + 7) & 255 for i in range(3000)))' >"$tmp/a.wav"
af=$(fnv "$tmp/a.wav")
T="transcript of 3000 bytes from a.wav ($af)"
out=$(curl -s -F file=@"$tmp/a.wav" -F model=whisper-1 "$U/v1/audio/transcriptions")
check "transcription: json" [ "$out" = '{"text":"'"$T"'","usage":{"type":"tokens","input_tokens":30,"output_tokens":7,"total_tokens":37}}' ]
out=$(curl -s -D "$tmp/h" -F file=@"$tmp/a.wav" -F model=whisper-1 -F response_format=text "$U/v1/audio/transcriptions")
check_if "transcription: text/plain" '[ "$out" = "$T" ] && grep -qi "^Content-Type: text/plain" "$tmp/h"'
out=$(curl -s -F file=@"$tmp/a.wav" -F model=whisper-1 -F response_format=verbose_json -F language=fr "$U/v1/audio/transcriptions" | jq1 '(d["task"], d["language"], d["duration"] == 3000 / 32000, d["text"], d["segments"][0]["start"], d["segments"][0]["end"] == 0.09375, d["segments"][0]["text"] == d["text"])')
check "transcription: verbose_json ($out)" [ "$out" = "('transcribe', 'fr', True, '$T', 0.0, True, True)" ]
out=$(curl -s -F file=@"$tmp/a.wav" -F model=whisper-1 -F response_format=srt "$U/v1/audio/transcriptions")
check "transcription: srt" [ "$out" = "$(printf '1\n00:00:00,000 --> 00:00:00,094\n%s\n' "$T")" ]
out=$(curl -s -F file=@"$tmp/a.wav" -F model=whisper-1 -F response_format=vtt "$U/v1/audio/transcriptions")
check "transcription: vtt" [ "$out" = "$(printf 'WEBVTT\n\n00:00:00.000 --> 00:00:00.094\n%s\n' "$T")" ]
out=$(curl -s -F file=@"$tmp/a.wav" -F model=whisper-1 -F stream=true "$U/v1/audio/transcriptions" | sse transcript)
check "transcription: stream deltas = text, done last ($out)" [ "$out" = '["'"$T"'", "transcript.text.done", "'"$T"'", 7]' ]
t0=$(ms)
out=$(curl -s -F file=@"$tmp/a.wav" -F model=whisper-1 -F stream=true -F 'prompt=names [[pace=50 error_after=3]]' "$U/v1/audio/transcriptions")
dt=$(($(ms) - t0))
check_if "transcription: stream pace/error_after from the prompt ($dt ms)" '[ "$(grep -c transcript.text.delta <<<"$out")" -eq 3 ] && grep -q "mock stream error" <<<"$out" && [ "$dt" -ge 150 ]'
out=$(curl -s -F file=@"$tmp/a.wav" -F model=whisper-1 "$U/v1/audio/translations")
check "translation: json" [ "$out" = '{"text":"translation of 3000 bytes from a.wav ('"$af"')"}' ]
out=$(curl -s -w ' %{http_code}' -F model=whisper-1 -F language=en "$U/v1/audio/transcriptions")
check_if "transcription: no file -> 400" 'grep -q "file is required.* 400$" <<<"$out"'
code=$(curl -s -o /dev/null -w '%{http_code}' -F file=@"$tmp/a.wav" "$U/v1/audio/translations")
check "translation: no model -> 400" [ "$code" = 400 ]
out=$(curl -s -w ' %{http_code}' -H 'Content-Type: multipart/form-data; boundary=XyZ' --data-binary $'--XyZ\r\nContent-Disposition: form-data; name="model"\r\n\r\nw\r\n--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nabc' "$U/v1/audio/transcriptions")
check_if "transcription: unterminated multipart -> 400" 'grep -q "malformed multipart body.* 400$" <<<"$out"'
code=$(curl -s -o /dev/null -w '%{http_code}' -d '{"model":"whisper-1"}' "$U/v1/audio/transcriptions")
check "transcription: JSON body -> 400" [ "$code" = 400 ]
out=$(curl -s -H 'Content-Type: multipart/form-data; boundary="b q"' --data-binary $'preamble\r\n--b q\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n--b q\r\nContent-Disposition: form-data; name="file"; filename="x.mp3"\r\nContent-Type: audio/mpeg\r\n\r\n\r\n--b q--\r\nepilogue' "$U/v1/audio/transcriptions")
check "transcription: hand-made multipart, quoted boundary, empty file" [ "$out" = '{"text":"transcript of 0 bytes from x.mp3 (811c9dc5)","usage":{"type":"tokens","input_tokens":0,"output_tokens":7,"total_tokens":7}}' ]
curl -s -o /dev/null -F 'file=@'"$tmp/a.wav"';type=audio/wav' -F model=whisper-1 -F language=de -F 'prompt=hello' "$U/v1/audio/transcriptions"
out=$(curl -s "$U/mock/stats" | jq1 '(d["last_multipart"], d["last_body"][:2], d["last_images"])')
check "stats: last_multipart ($out)" [ "$out" = "({'file_bytes': 3000, 'filename': 'a.wav', 'file_content_type': 'audio/wav', 'file_fnv': '$af', 'fields': {'model': 'whisper-1', 'language': 'de', 'prompt': 'hello'}}, '--', 0)" ]
curl -s -o /dev/null -d "$chat" "$U/v1/chat/completions"
out=$(curl -s "$U/mock/stats" | jq1 'd["last_multipart"]')
check "stats: last_multipart null after a JSON request" [ "$out" = None ]

# --- Rerank ---------------------------------------------------------------------
rr='{"model":"rr","query":"capital of France","documents":["Berlin is in Germany","Paris is the capital of France.",{"text":"the CAPITAL city"}]'
out=$(curl -s -d "$rr}" "$U/v1/rerank" | jq1 '(d["id"][:12], d["model"], [r["index"] for r in d["results"]], [round(r["relevance_score"], 6) for r in d["results"]], d["usage"], "document" in d["results"][0])')
exp=$(python3 -c '
def fnv(s):
    h = 2166136261
    for c in s.encode(): h = ((h ^ c) * 16777619) & 0xffffffff
    return h
docs = ["Berlin is in Germany", "Paris is the capital of France.", "the CAPITAL city"]
hits = [0, 3, 1]
s = [round(hits[i] / 3 + fnv(d) % 1000 / 1e6, 6) for i, d in enumerate(docs)]
order = sorted(range(3), key=lambda i: (-s[i], i))
print(("rerank-mock-", "rr", order, [s[i] for i in order], {"total_tokens": 3 + 4 + 6 + 3}, False))')
check "rerank: order and scores ($out)" [ "$out" = "$exp" ]
out=$(curl -s -d "$rr"',"top_n":1,"return_documents":true}' "$U/rerank" | jq1 'd["results"]')
check "rerank: top_n=1 + return_documents (/rerank)" grep -q "^\[{'index': 1, 'relevance_score': 1.[0-9]*, 'document': {'text': 'Paris is the capital of France.'}}\]$" <<<"$out"
out=$(curl -s -d "$rr"',"top_n":2}' "$U/v2/rerank" | jq1 '[r["index"] for r in d["results"]]')
check "rerank: top_n=2 at /v2/rerank ($out)" [ "$out" = "[1, 2]" ]
codes=""
for b in '{"model":"rr","query":"x","documents":[]}' '{"model":"rr","documents":["a"]}' '{"model":"rr","query":" ","documents":["a"]}' '{"model":"rr","query":"x","documents":[1]}'; do
    codes="$codes$(curl -s -o /dev/null -w '%{http_code}' -d "$b" "$U/v1/rerank") "
done
check "rerank: 400 on empty documents / query ($codes)" [ "$codes" = "400 400 400 400 " ]

# --- Chat: n, refusal, images -------------------------------------------------------
out=$(curl -s -d '{"model":"m","n":3,"messages":[{"role":"user","content":"hello world"}]}' "$U/v1/chat/completions" | jq1 '([(c["index"], c["message"]["content"], c["finish_reason"]) for c in d["choices"]], d["usage"]["completion_tokens"])')
check "chat n=3 ($out)" [ "$out" = "([(0, 'Echo: hello world', 'stop'), (1, 'Echo 1: hello world', 'stop'), (2, 'Echo 2: hello world', 'stop')], 11)" ]
out=$(curl -s -d '{"model":"m","n":3,"messages":[{"role":"user","content":"hello world"}],"stream":true,"stream_options":{"include_usage":true}}' "$U/v1/chat/completions" | sse chat)
check "chat n=3 stream: each choice's deltas ($out)" [ "$out" = '[["Echo: hello world", "Echo 1: hello world", "Echo 2: hello world"], [["stop"], ["stop"], ["stop"]], 11, true]' ]
out=$(curl -s -d '{"model":"m","n":2,"max_tokens":2,"messages":[{"role":"user","content":"a b c"}],"stream":true}' "$U/v1/chat/completions" | grep -o '"index":[0-9],"delta":{"content":"[^"]*"' | tr '\n' '|')
check "chat n=2 stream: interleaved, cut per choice" [ "$out" = '"index":0,"delta":{"content":"Echo:"|"index":1,"delta":{"content":"Echo"|"index":0,"delta":{"content":" a"|"index":1,"delta":{"content":" 1:"|' ]
code=$(curl -s -o /dev/null -w '%{http_code}' -d '{"model":"m","n":9,"messages":[{"role":"user","content":"x"}]}' "$U/v1/chat/completions")
check "chat n=9 -> 400" [ "$code" = 400 ]
refusal="I'm sorry, I cannot help with that."
out=$(curl -s -H 'X-Mock: refusal=1' -d "$chat" "$U/v1/chat/completions" | jq1 '(d["choices"][0]["message"], d["choices"][0]["finish_reason"])')
check "chat refusal=1 ($out)" [ "$out" = "({'role': 'assistant', 'content': None, 'refusal': \"$refusal\"}, 'stop')" ]
out=$(curl -s -H 'X-Mock: refusal=1' -d "$stream" "$U/v1/chat/completions" | sse chat)
check "chat refusal=1 stream ($out)" [ "$out" = '[["'"$refusal"'"], [["stop"]], 7, true]' ]
n=$(curl -s -H 'X-Mock: refusal=1' -d "$stream" "$U/v1/chat/completions" | grep -c '"delta":{"refusal":"')
check "chat refusal=1 stream: one delta per word ($n)" [ "$n" -eq 7 ]
out=$(curl -s -H 'X-Mock: refusal=1' -H 'x-api-key: k' -H 'anthropic-version: 1' -d '{"model":"c","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}' "$U/v1/messages" | jq1 '(d["content"], d["stop_reason"])')
check "anthropic refusal=1 ($out)" [ "$out" = "([{'type': 'text', 'text': \"$refusal\"}], 'refusal')" ]
out=$(curl -s -H 'X-Mock: refusal=1' -H 'x-api-key: k' -H 'anthropic-version: 1' -d "$an" "$U/v1/messages")
txt=$(grep '^data: ' <<<"$out" | cut -c7- | python3 -c 'import json,sys
print("".join(d["delta"]["text"] for d in map(json.loads, sys.stdin) if d.get("delta", {}).get("type") == "text_delta"))')
check "anthropic refusal=1 stream: text deltas" [ "$txt" = "$refusal" ]
check "anthropic refusal=1 stream: stop_reason" grep -q '"stop_reason":"refusal"' <<<"$out"
imgs() { curl -s "$U/mock/stats" | jq1 'd["last_images"]'; }
code=$(curl -s -o /dev/null -w '%{http_code}' -d '{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"what is this"},{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]},{"role":"assistant","content":"a cat"},{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}' "$U/v1/chat/completions")
check "images: OpenAI chat 2 ($code)" [ "$code:$(imgs)" = 200:2 ]
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'x-api-key: k' -H 'anthropic-version: 1' -d '{"model":"c","max_tokens":9,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4AAQ"}},{"type":"image","source":{"type":"url","url":"https://example.com/b.jpg"}},{"type":"text","text":"compare"}]}]}' "$U/v1/messages")
check "images: Anthropic 2 ($code)" [ "$code:$(imgs)" = 200:2 ]
code=$(curl -s -o /dev/null -w '%{http_code}' -d '{"model":"l","stream":false,"messages":[{"role":"user","content":"what","images":["iVBORw0KGgo=","R0lGOD=="]}]}' "$U/api/chat")
check "images: Ollama 2 ($code)" [ "$code:$(imgs)" = 200:2 ]
code=$(curl -s -o /dev/null -w '%{http_code}' -d '{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"what"},{"type":"input_image","image_url":"https://example.com/c.png"}]}]}' "$U/v1/responses")
check "images: Responses 1 ($code)" [ "$code:$(imgs)" = 200:1 ]
out=$(curl -s -w ' %{http_code}' -d '{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"file:///etc/passwd"}}]}]}' "$U/v1/chat/completions")
check_if "images: bad OpenAI url -> 400" 'grep -q "image_url.url must be .* 400$" <<<"$out"'
codes=""
codes="$codes$(curl -s -o /dev/null -w '%{http_code}' -H 'x-api-key: k' -H 'anthropic-version: 1' -d '{"model":"c","max_tokens":9,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/bmp","data":"AAAA"}}]}]}' "$U/v1/messages") "
codes="$codes$(curl -s -o /dev/null -w '%{http_code}' -d '{"model":"l","messages":[{"role":"user","content":"x","images":["data:image/png;base64,AAAA"]}]}' "$U/api/chat") "
codes="$codes$(curl -s -o /dev/null -w '%{http_code}' -d '{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":""}]}]}' "$U/v1/responses") "
check "images: bad Anthropic / Ollama / Responses image -> 400 ($codes)" [ "$codes" = "400 400 400 " ]
curl -s -o /dev/null -d "$chat" "$U/v1/chat/completions"
check "images: 0 after a text-only request" [ "$(imgs)" = 0 ]

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
