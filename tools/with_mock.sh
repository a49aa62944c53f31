#!/bin/sh
# Runs a command with the local mock LLM server up, and the environment
# (OPENAI_BASE_URL, OPENAI_API_KEY, ANTHROPIC_*, OLLAMA_HOST) pointing at it.
# LLMASYNC_MOCK=1 tells programs they talk to the mock.
set -u
MOCK=${MOCK_SERVER:-build/mock_server}
dir=$(mktemp -d /tmp/llmmock.XXXXXX)
# MOCK_DIRECTIVES: directives for every request (tests/mock_server.c)
if [ -n "${MOCK_DIRECTIVES:-}" ]; then
    "$MOCK" --port-file "$dir/port" --directives "$MOCK_DIRECTIVES" >/dev/null &
else
    "$MOCK" --port-file "$dir/port" >/dev/null &
fi
pid=$!
cleanup() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT INT TERM
i=0
while [ ! -s "$dir/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
if [ ! -s "$dir/port" ]; then echo "with_mock: the mock server did not start ($MOCK)" >&2; exit 1; fi
port=$(cat "$dir/port")
OPENAI_BASE_URL=http://127.0.0.1:$port/v1
OPENAI_API_KEY=mock-key
ANTHROPIC_BASE_URL=http://127.0.0.1:$port
ANTHROPIC_API_KEY=mock-key
OLLAMA_HOST=http://127.0.0.1:$port
LLMASYNC_MOCK=1
export OPENAI_BASE_URL OPENAI_API_KEY ANTHROPIC_BASE_URL ANTHROPIC_API_KEY OLLAMA_HOST LLMASYNC_MOCK
"$@"
