#!/bin/sh
# Installs what a make target needs and this machine lacks, through the
# system package manager (apt-get on Debian/Ubuntu). Usage: deps.sh CAP...
#   curl       libcurl's development files (every target)
#   valgrind   leak checking of the end-to-end tests
#   locales    a comma-decimal locale for the JSON number tests
#   schema     python3 jsonschema + yaml, to validate request bodies against
#              the OpenAI OpenAPI description
#   cjson      the reference JSON parser of the differential test
#   ssl        OpenSSL (TLS mock server, self-signed certificate)
#   fuzz       clang's libFuzzer runtime
#   curlcli    the curl command (the mock server's self-test)
#   windows    MinGW-w64 cross compilers, Wine and dpkg-dev (Windows tests)
#   nginx      an HTTPS + HTTP/2 server for bench/h2_connections.sh (make bench)
#   cmake      cmake and pkg-config (build-system consumer tests)
#   uv         libuv's development files (examples/libuv_host.c)
set -u
CC=${CC:-cc}
need=""
add() { need="$need $*"; }
compiles() { # C source on stdin; $1: compiler and flags, $2: libraries
    src=$(mktemp /tmp/llmdeps.XXXXXX) || return 1
    cat > "$src"
    # shellcheck disable=SC2086
    $1 -x c "$src" -o "$src.out" $2 >/dev/null 2>&1
    rc=$?
    rm -f "$src" "$src.out"
    return $rc
}
clang_major() { clang --version 2>/dev/null | sed -n 's/.*clang version \([0-9][0-9]*\).*/\1/p' | head -1; }

for cap in "$@"; do
    case "$cap" in
    curl)
        printf '#include <curl/curl.h>\nint main(void){return curl_global_init(0);}\n' | compiles "$CC" -lcurl ||
            add libcurl4-openssl-dev ;;
    valgrind) command -v valgrind >/dev/null 2>&1 || add valgrind ;;
    curlcli) command -v curl >/dev/null 2>&1 || add curl ;;
    windows)
        command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || add gcc-mingw-w64-x86-64
        command -v x86_64-w64-mingw32-g++ >/dev/null 2>&1 || add g++-mingw-w64-x86-64
        { command -v wine64 >/dev/null 2>&1 || [ -x /usr/lib/wine/wine64 ] || command -v wine >/dev/null 2>&1; } || add wine64
        command -v dpkg-source >/dev/null 2>&1 || add dpkg-dev ;;
    uv)
        printf '#include <uv.h>\nint main(void){return uv_loop_close(uv_default_loop());}\n' | compiles "$CC" -luv ||
            add libuv1-dev ;;
    nginx) { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } || add nginx-light ;;
    cmake)
        command -v cmake >/dev/null 2>&1 || add cmake
        command -v pkg-config >/dev/null 2>&1 || add pkg-config ;;
    locales) { command -v localedef >/dev/null 2>&1 && [ -f /usr/share/i18n/locales/de_DE ]; } || add locales ;;
    schema) /usr/bin/python3 -c 'import jsonschema, yaml' >/dev/null 2>&1 || add python3 python3-jsonschema python3-yaml ;;
    cjson)
        printf '#include <cjson/cJSON.h>\nint main(void){cJSON_Delete(cJSON_Parse("1"));return 0;}\n' | compiles "$CC" -lcjson ||
            add libcjson-dev ;;
    ssl)
        printf '#include <openssl/ssl.h>\nint main(void){return OPENSSL_init_ssl(0,0)?0:1;}\n' | compiles "$CC" "-lssl -lcrypto" ||
            add libssl-dev
        command -v openssl >/dev/null 2>&1 || add openssl ;;
    fuzz)
        printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n){(void)d;(void)n;return 0;}\n' |
            compiles "clang -fsanitize=fuzzer" "" || add "libclang-rt-$(clang_major)-dev" ;;
    *) echo "deps.sh: unknown capability $cap" >&2; exit 2 ;;
    esac
done

[ -z "$need" ] && exit 0
echo "deps: installing:$need"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: cannot install:$need -- no apt-get here; install the equivalent packages with your package manager and run make again" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
        echo "deps: need root to install:$need -- run as root or install them first (apt-get install$need)" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $need </dev/null ||
    { $SUDO apt-get update -q </dev/null && $SUDO apt-get install -y -q --no-install-recommends $need </dev/null; } || {
    echo "deps: apt-get could not install:$need -- install them by hand (apt-get install$need) and run make again" >&2
    exit 1
}
