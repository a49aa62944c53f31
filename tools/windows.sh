#!/bin/sh
# Windows, proven under Wine. Two commands:
#
#   sh tools/windows.sh deps
#       Builds a static libcurl for x86_64-w64-mingw32 with Schannel (no
#       OpenSSL), HTTP and HTTPS only, from Debian's curl source package,
#       into build/win64/curl/{include,lib/libcurl.a}. The source comes from
#       `apt-get source` through a deb-src list this script writes (mirroring
#       the machine's Debian entries) and a lists directory of its own under
#       build/win64/apt, so the system's sources and package lists are left
#       as they are. Skipped when build/win64/curl/lib/libcurl.a exists.
#
#   sh tools/windows.sh test
#       Cross-builds the end-to-end, streaming, reliability and providers
#       suites and the examples with x86_64-w64-mingw32-gcc (and the demo
#       once more as C++ with x86_64-w64-mingw32-g++), statically linked,
#       and runs each under Wine against the native mock server on
#       loopback (fresh mocks per program: a plain one, a second plain one,
#       and two HTTPS ones for the TLS test). Closing line
#       "windows: N passed, N failed[, N skipped]".
#
# Environment: BUILD (default build), WINE (default: wine64 on the PATH or
# /usr/lib/wine/wine64), WINEPREFIX (default BUILD/win64/wineprefix),
# WINDOWS_TESTS (a subset of the suites), WINDOWS_EXAMPLES.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
B=${BUILD:-build}
case "$B" in /*) ;; *) B=$here/$B ;; esac
W=$B/win64
CURL=$W/curl
CC=x86_64-w64-mingw32-gcc
CXX=x86_64-w64-mingw32-g++
WIN_CFLAGS="-std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -DCURL_STATICLIB -I$CURL/include"
WIN_LIBS="-L$CURL/lib -lcurl -lws2_32 -lcrypt32 -lsecur32 -lbcrypt -ladvapi32 -lpthread -static"

deps() {
    if [ -f "$CURL/lib/libcurl.a" ] && [ -f "$CURL/include/curl/curl.h" ]; then
        echo "windows-deps: $CURL/lib/libcurl.a is there"
        return 0
    fi
    apt=$W/apt
    rm -rf "$apt" "$W/src"
    mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$W/src"
    # deb-src entries for the Debian suites this machine uses
    : >"$apt/sources.list"
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\(http[^ ]*debian[^ ]*\) \([^ ]*\) .*/deb-src \2 \3 main/p' "$f" >>"$apt/sources.list"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk '/^URIs:/{u=$2} /^Suites:/{for(i=2;i<=NF;i++) s[i]=$i; n=NF} /^$/{ if (u ~ /debian/) for(i=2;i<=n;i++) print "deb-src " u " " s[i] " main"; u=""; n=0 }
             END{ if (u ~ /debian/) for(i=2;i<=n;i++) print "deb-src " u " " s[i] " main" }' "$f" >>"$apt/sources.list"
    done
    if [ ! -s "$apt/sources.list" ]; then
        echo "windows-deps: no Debian entry in /etc/apt to take the curl source from" >&2
        return 1
    fi
    opts="-o Dir::Etc::SourceList=$apt/sources.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$apt/lists -o Dir::Cache::Archives=$apt/archives -o Debug::NoLocking=1 -o APT::Sandbox::User=root"
    # shellcheck disable=SC2086
    if ! apt-get $opts -q update >"$W/apt-update.log" 2>&1; then
        echo "windows-deps: apt-get update of the deb-src list failed (log: $W/apt-update.log)" >&2
        return 1
    fi
    # shellcheck disable=SC2086
    if ! (cd "$W/src" && apt-get $opts -q source --download-only curl >"$W/apt-source.log" 2>&1); then
        echo "windows-deps: apt-get source curl failed (log: $W/apt-source.log)" >&2
        return 1
    fi
    dsc=$(ls "$W"/src/curl_*.dsc | head -1)
    # apt checked the .dsc against the signed Sources index; dpkg-source checks the files against it
    (cd "$W/src" && dpkg-source -x "$dsc" curl >"$W/dpkg-source.log" 2>&1) || { echo "windows-deps: dpkg-source -x failed (log: $W/dpkg-source.log)" >&2; return 1; }
    echo "windows-deps: building libcurl $(basename "$dsc" .dsc) for x86_64-w64-mingw32 (Schannel, HTTP and HTTPS)"
    (cd "$W/src/curl" &&
     ./configure --host=x86_64-w64-mingw32 --prefix="$CURL" --disable-shared --enable-static --with-schannel \
        --without-openssl --without-libpsl --without-zlib --without-brotli --without-zstd --without-nghttp2 \
        --without-libidn2 --without-librtmp --without-libssh2 --disable-pthreads --disable-ldap --disable-ldaps \
        --disable-rtsp --disable-dict --disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb \
        --disable-smtp --disable-gopher --disable-mqtt --disable-file --disable-ftp --disable-manual --disable-docs \
        --disable-ntlm --disable-kerberos-auth --disable-alt-svc >"$W/configure.log" 2>&1 &&
     make -C lib -j"$(nproc 2>/dev/null || echo 2)" >"$W/make.log" 2>&1 &&
     make -C lib install >/dev/null 2>&1 && make -C include install >/dev/null 2>&1) ||
        { echo "windows-deps: building libcurl failed (logs in $W)" >&2; return 1; }
    grep -E '^ *(Protocols|SSL):' "$W/configure.log" | sed 's/^ */windows-deps: /'
    rm -rf "$W/src" "$apt"
}

# ---------------------------------------------------------------- test --
wine_cmd() {
    if [ -n "${WINE:-}" ]; then echo "$WINE"; return; fi
    command -v wine64 2>/dev/null || { [ -x /usr/lib/wine/wine64 ] && echo /usr/lib/wine/wine64; } || command -v wine
}

# start_mock and start_blackhole run inside $(...), a subshell: their pids
# go to a file the parent's stop_mocks reads (a variable would be lost)
start_mock() { # name, binary, args...: a mock on an ephemeral port; echoes the port
    name=$1
    bin=$2
    shift 2
    rm -f "$W/run/$name.port"
    "$bin" --port-file "$W/run/$name.port" "$@" >/dev/null 2>&1 &
    echo $! >> "$W/run/pids"
    i=0
    while [ ! -s "$W/run/$name.port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
    cat "$W/run/$name.port"
}
start_blackhole() { # a loopback port whose listen backlog is full: connects hang (the connect timeout test)
    rm -f "$W/run/blackhole.port"
    /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(0)
fill = []
for i in range(3):
    c = socket.socket()
    c.setblocking(False)
    try:
        c.connect(s.getsockname())
    except (BlockingIOError, OSError):
        pass
    fill.append(c)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(3600)
' "$W/run/blackhole.port" >/dev/null 2>&1 &
    echo $! >> "$W/run/pids"
    i=0
    while [ ! -s "$W/run/blackhole.port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
    cat "$W/run/blackhole.port" 2>/dev/null
}
stop_mocks() {
    [ -f "$W/run/pids" ] || return 0
    for p in $(cat "$W/run/pids"); do kill "$p" 2>/dev/null; done
    rm -f "$W/run/pids"
}

test_win() {
    wine=$(wine_cmd)
    if [ -z "$wine" ]; then echo "windows: no wine64 (install wine64)"; echo "windows: 0 passed, 1 failed"; return 1; fi
    if [ ! -f "$CURL/lib/libcurl.a" ]; then echo "windows: no $CURL/lib/libcurl.a (make windows-deps)"; echo "windows: 0 passed, 1 failed"; return 1; fi
    mkdir -p "$W/bin" "$W/run"
    rm -f "$W/run/pids"
    trap stop_mocks EXIT
    WINEPREFIX=${WINEPREFIX:-$W/wineprefix}
    WINEDEBUG=-all
    export WINEPREFIX WINEDEBUG
    pass=0 fail=0 skip=0 nex=0
    # one Wine start for all programs: the server stays up
    start=$(date +%s)
    "$wine" cmd /c exit >/dev/null 2>&1
    wineserver_bin=$(command -v wineserver 2>/dev/null || echo /usr/lib/wine/wineserver)
    "$wineserver_bin" -p 60 >/dev/null 2>&1 || true
    echo "windows: Wine ready in $(($(date +%s) - start)) s ($("$wine" --version 2>/dev/null))"
    # build (nothing of an earlier run is left to be run instead)
    rm -f "$W"/bin/*.exe
    for t in ${WINDOWS_TESTS:-e2e stream reliability providers}; do
        if ! $CC $WIN_CFLAGS -I"$here" "$here/tests/test_$t.c" -o "$W/bin/test_$t.exe" $WIN_LIBS >"$W/bin/test_$t.log" 2>&1; then
            fail=$((fail + 1)); echo "build test_$t FAILED"; sed 's/^/    /' "$W/bin/test_$t.log" | head -20
        fi
    done
    for e in ${WINDOWS_EXAMPLES:-demo stream_chat game_loop retry_errors multi_provider batch_embeddings evaluator tool_agent npc_dialogue record_replay responses_chat npc_voice transcribe rerank vision}; do
        if ! $CC $WIN_CFLAGS "$here/examples/$e.c" -o "$W/bin/$e.exe" $WIN_LIBS >"$W/bin/$e.log" 2>&1; then
            fail=$((fail + 1)); echo "build $e FAILED"; sed 's/^/    /' "$W/bin/$e.log" | head -20
        fi
    done
    # = {0} is how C zero-initialises a desc; g++ -Wextra would warn on it
    if ! $CXX -x c++ -std=c++11 -O2 -Wall -Wextra -Werror -Wno-missing-field-initializers -DCURL_STATICLIB -I"$CURL/include" "$here/examples/demo.c" \
            -o "$W/bin/demo_cxx.exe" $WIN_LIBS >"$W/bin/demo_cxx.log" 2>&1; then
        fail=$((fail + 1)); echo "build demo (C++) FAILED"; sed 's/^/    /' "$W/bin/demo_cxx.log" | head -20
    fi
    # run each test program against fresh mocks
    for t in ${WINDOWS_TESTS:-e2e stream reliability providers}; do
        [ -f "$W/bin/test_$t.exe" ] || continue
        p1=$(start_mock main "$B/mock_server")
        p2=$(start_mock other "$B/mock_server")
        p3=$(start_mock tls "$B/mock_server_tls" --tls "$B/tls/cert.pem" "$B/tls/key.pem")
        p4=$(start_mock tlsother "$B/mock_server_tls" --tls "$B/tls/other.pem" "$B/tls/otherkey.pem")
        bh=$(start_blackhole)
        t0=$(date +%s)
        BLACKHOLE_PORT=$bh MOCK_PORTS="plain:$p1,plain:$p2,tls:$p3,tls-other:$p4" TLS_DIR="$B/tls" TEST_SLOW=5 \
            "$wine" "$W/bin/test_$t.exe" >"$W/run/test_$t.out" 2>&1
        rc=$?
        stop_mocks
        line=$(grep -a -E '^[a-z0-9_]+: [0-9]+ passed, [0-9]+ failed' "$W/run/test_$t.out" | tail -1 | tr -d '\r')
        p=$(echo "$line" | sed -n 's/.*: \([0-9]*\) passed.*/\1/p')
        f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
        k=$(echo "$line" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
        [ -z "$p" ] && p=0
        [ -z "$f" ] && f=1
        [ -z "$k" ] && k=0
        if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
        pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + k))
        printf '  %-24s %s  (%ss)\n' "test_$t.exe" "${line:-no closing line}" "$(($(date +%s) - t0))"
        grep -a 'SKIPPED' "$W/run/test_$t.out" | tr -d '\r' | sed 's/^ */    /'
        if [ "$f" != 0 ]; then tr -d '\r' <"$W/run/test_$t.out" | tail -30 | sed 's/^/    /'; fi
    done
    # the examples: each must exit 0 against the mock
    for e in ${WINDOWS_EXAMPLES:-demo stream_chat game_loop retry_errors multi_provider batch_embeddings evaluator tool_agent npc_dialogue record_replay responses_chat npc_voice transcribe rerank vision} demo_cxx; do
        [ -f "$W/bin/$e.exe" ] || continue
        nex=$((nex + 1))
        port=$(start_mock ex "$B/mock_server")
        OPENAI_BASE_URL=http://127.0.0.1:$port/v1 OPENAI_API_KEY=mock-key ANTHROPIC_BASE_URL=http://127.0.0.1:$port \
            ANTHROPIC_API_KEY=mock-key OLLAMA_HOST=http://127.0.0.1:$port LLMASYNC_MOCK=1 \
            "$wine" "$W/bin/$e.exe" >"$W/run/$e.out" 2>&1
        rc=$?
        stop_mocks
        if [ "$rc" = 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "  example $e.exe FAILED (exit $rc)"; tr -d '\r' <"$W/run/$e.out" | tail -10 | sed 's/^/    /'; fi
    done
    echo "  examples: $nex run"
    "$wineserver_bin" -k >/dev/null 2>&1 || true
    if [ "$skip" != 0 ]; then echo "windows: $pass passed, $fail failed, $skip skipped"
    else echo "windows: $pass passed, $fail failed"; fi
    [ "$fail" = 0 ]
}

case "${1:-}" in
deps) deps ;;
test) test_win ;;
*) echo "usage: windows.sh deps | test" >&2; exit 2 ;;
esac
