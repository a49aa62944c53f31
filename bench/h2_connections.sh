#!/bin/sh
# N requests at once to one HTTPS + HTTP/2 host (nginx on loopback): the
# connections the client opens, with CURLOPT_PIPEWAIT (the library's
# default) and without (-DLLMASYNC_PIPEWAIT=0), in the same run.
# Needs nginx (Debian's nginx-light) and openssl: `make bench` installs them.
# Usage: sh bench/h2_connections.sh [REQUESTS] [REPS]
set -u
cd "$(dirname "$0")/.." || exit 2
N=${1:-100}
REPS=${2:-3}
B=${BUILD:-build}/bench
CC=${CC:-cc}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "h2_connections: no nginx (sh tools/deps.sh nginx)" >&2; exit 2; }
mkdir -p "$B" || exit 2
for v in 1 0; do
    $CC -std=c99 -O2 -g -Wall -Wextra -Wpedantic -Werror -DLLMASYNC_PIPEWAIT=$v bench/h2_connections.c \
        -o "$B/h2_connections_$v" -lcurl || exit 2
done
dir=$(mktemp -d /tmp/llmh2.XXXXXX) || exit 2
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null || exit 2
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
mkdir -p "$dir/logs" "$dir/tmp"
cat >"$dir/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
error_log $dir/logs/error.log warn;
pid $dir/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    log_format conn '\$connection \$connection_requests \$server_protocol';
    server {
        listen 127.0.0.1:$port ssl http2;
        ssl_certificate $dir/cert.pem;
        ssl_certificate_key $dir/key.pem;
        http2_max_concurrent_streams 128;
        keepalive_requests 100000;
        access_log $dir/logs/access.log conn;
        location / {
            default_type application/json;
            return 200 '{"id":"chatcmpl-nginx","object":"chat.completion","model":"bench-model","choices":[{"index":0,"message":{"role":"assistant","content":"Hi from nginx."},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":3,"total_tokens":6}}';
        }
    }
}
CONF
"$NGINX" -p "$dir" -c "$dir/nginx.conf" >"$dir/nginx.out" 2>&1 &
pid=$!
i=0
until curl -sk "https://127.0.0.1:$port/" -o /dev/null 2>/dev/null || [ $i -ge 100 ]; do sleep 0.05; i=$((i + 1)); done
[ $i -lt 100 ] || { echo "h2_connections: nginx did not start" >&2; cat "$dir/nginx.out" "$dir/logs/error.log" >&2; exit 2; }
status=0
echo "$N requests at once to https://127.0.0.1:$port (nginx, HTTP/2), $REPS runs each, a new client each run"
for v in 1 0; do
    conns=""
    for k in $(seq 1 "$REPS"); do
        : >"$dir/logs/access.log"
        out=$("$B/h2_connections_$v" --base "https://127.0.0.1:$port/v1" --ca "$dir/cert.pem" --requests "$N")
        echo "$out" | grep -q 'status=ok' || { echo "h2_connections: run failed: $out" >&2; status=1; }
        sleep 0.2 # nginx writes its log line when each request ends
        c=$(cut -d' ' -f1 "$dir/logs/access.log" | sort -u | wc -l)
        h2=$(grep -c 'HTTP/2.0' "$dir/logs/access.log")
        ms=$(echo "$out" | sed -n 's/.*ms=\([0-9.]*\).*/\1/p')
        conns="$conns $c"
        echo "  PIPEWAIT=$v run $k: $c connections, $h2 of $N requests over HTTP/2, $ms ms"
    done
    echo "RESULT h2_connections pipewait=$v connections=$(echo $conns | tr ' ' ',')"
done
exit $status
