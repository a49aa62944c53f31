#!/bin/sh
# Conformance data the tests read but the repository does not hold (it is
# not ours): JSONTestSuite's test_parsing files and the OpenAI OpenAPI
# description. Nothing downloaded is ever committed.
#
#   sh tools/test_data.sh find jsontestsuite|openapi
#       Prints where the data is and exits 0, or prints nothing and exits 1.
#       Looked up in this order: $JSONTESTSUITE_DIR / $OPENAPI_YAML, the
#       cache under build/testdata (what `fetch` fills), a sibling ../shared
#       folder of the repository.
#   sh tools/test_data.sh missing jsontestsuite|openapi
#       One line: what is missing and how to provide it.
#   sh tools/test_data.sh fetch
#       For each data set not found above: downloads it from upstream at the
#       pinned commit, checks it against the SHA-256 recorded in tests/data/,
#       and only then moves it into the cache. Prints one line per data set
#       and exits 0 even offline (a suite without its data is skipped, named,
#       by make test); exits 1 only when a download arrived and did not
#       match (a wrong mirror or a tampered file is never used).
#
# Environment: JSONTESTSUITE_URL, OPENAPI_URL (another source: a mirror, a
# file:// URL), TEST_DATA_CACHE (default build/testdata),
# TEST_DATA_FORCE=1 (fetch even when the data is found elsewhere).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${TEST_DATA_CACHE:-$here/build/testdata}
pins=$here/tests/data

# Upstream, pinned. The content is pinned too: every file's SHA-256 is in
# tests/data (JSONTestSuite.sha256, openapi.sha256), so a source that moved
# or was tampered with is refused, whatever its URL.
JTS_COMMIT=1ef36fa01286573e846ac449e8683f8833c5b26a
JTS_URL_DEFAULT=https://codeload.github.com/nst/JSONTestSuite/tar.gz/$JTS_COMMIT
OPENAPI_REF=manual_spec
OPENAPI_URL_DEFAULT=https://raw.githubusercontent.com/openai/openai-openapi/$OPENAPI_REF/openapi.yaml

sha256_of() { sha256sum "$1" 2>/dev/null | awk '{print $1}'; }

find_jts() {
    for d in "${JSONTESTSUITE_DIR:-}" "$cache/JSONTestSuite/test_parsing" "$here/../shared/JSONTestSuite/test_parsing"; do
        [ -n "$d" ] && [ -d "$d" ] && { echo "$d"; return 0; }
    done
    return 1
}
find_openapi() {
    for f in "${OPENAPI_YAML:-}" "$cache/openai-openapi.yaml" "$here/../shared/openai-openapi.yaml"; do
        [ -n "$f" ] && [ -f "$f" ] && { echo "$f"; return 0; }
    done
    return 1
}

missing() {
    case "$1" in
    jsontestsuite) echo "JSONTestSuite not found: run \`make test-data\` (needs the network, or JSONTESTSUITE_URL=file://... for a mirror of $JTS_URL_DEFAULT) or set JSONTESTSUITE_DIR=<JSONTestSuite>/test_parsing" ;;
    openapi) echo "openai-openapi.yaml not found: run \`make test-data\` (needs the network, or OPENAPI_URL=file://... for a mirror of $OPENAPI_URL_DEFAULT) or set OPENAPI_YAML=<path>" ;;
    esac
}

# download URL FILE: 0 if it arrived, else 1 with the reason in $why
download() {
    why=""
    if ! command -v curl >/dev/null 2>&1; then why="no curl command"; return 1; fi
    err=$(curl -fsSL --connect-timeout 10 --max-time 300 -o "$2" "$1" 2>&1) && return 0
    why=$(echo "$err" | head -1)
    [ -n "$why" ] || why="curl failed"
    return 1
}

# JSONTestSuite: a tarball of the repository; its test_parsing folder must
# hold exactly the files of the manifest, each with its recorded SHA-256.
fetch_jts() {
    url=${JSONTESTSUITE_URL:-$JTS_URL_DEFAULT}
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/llmdata.XXXXXX")
    if ! download "$url" "$tmp/suite.tar.gz"; then
        echo "test-data: JSONTestSuite: not fetched from $url ($why); its tests will be skipped"
        rm -rf "$tmp"
        return 0
    fi
    mkdir "$tmp/x"
    if ! tar -xzf "$tmp/suite.tar.gz" -C "$tmp/x" 2>/dev/null; then
        echo "test-data: JSONTestSuite: $url is not a gzip tarball: refused"
        rm -rf "$tmp"
        return 1
    fi
    src=$(find "$tmp/x" -type d -name test_parsing | head -1)
    if [ -z "$src" ]; then
        echo "test-data: JSONTestSuite: no test_parsing folder in $url: refused"
        rm -rf "$tmp"
        return 1
    fi
    if ! (cd "$src" && sha256sum -c --quiet --strict "$pins/JSONTestSuite.sha256" >"$tmp/check" 2>&1); then
        echo "test-data: JSONTestSuite: files from $url do not match tests/data/JSONTestSuite.sha256: refused"
        sed 's/^/    /' "$tmp/check" | head -5
        rm -rf "$tmp"
        return 1
    fi
    want=$(wc -l <"$pins/JSONTestSuite.sha256")
    got=$(find "$src" -maxdepth 1 -type f | wc -l)
    if [ "$want" != "$got" ]; then
        echo "test-data: JSONTestSuite: $url holds $got files in test_parsing, the manifest $want: refused"
        rm -rf "$tmp"
        return 1
    fi
    mkdir -p "$cache/JSONTestSuite.new"
    rm -rf "$cache/JSONTestSuite.new/test_parsing" "$cache/JSONTestSuite"
    mv "$src" "$cache/JSONTestSuite.new/test_parsing" && mv "$cache/JSONTestSuite.new" "$cache/JSONTestSuite"
    rm -rf "$tmp"
    echo "test-data: JSONTestSuite: $want files from $url, SHA-256 checked, in $cache/JSONTestSuite/test_parsing"
}

fetch_openapi() {
    url=${OPENAPI_URL:-$OPENAPI_URL_DEFAULT}
    want=$(awk 'NR == 1 {print $1}' "$pins/openapi.sha256")
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/llmdata.XXXXXX")
    if ! download "$url" "$tmp/openapi.yaml"; then
        echo "test-data: openai-openapi.yaml: not fetched from $url ($why); its tests will be skipped"
        rm -rf "$tmp"
        return 0
    fi
    got=$(sha256_of "$tmp/openapi.yaml")
    if [ "$got" != "$want" ]; then
        echo "test-data: openai-openapi.yaml: SHA-256 of $url is $got, tests/data/openapi.sha256 says $want: refused"
        rm -rf "$tmp"
        return 1
    fi
    mkdir -p "$cache"
    mv "$tmp/openapi.yaml" "$cache/openai-openapi.yaml.new" && mv "$cache/openai-openapi.yaml.new" "$cache/openai-openapi.yaml"
    rm -rf "$tmp"
    echo "test-data: openai-openapi.yaml: from $url, SHA-256 checked, in $cache/openai-openapi.yaml"
}

cmd=${1:-}
case "$cmd" in
find)
    case "${2:-}" in
    jsontestsuite) find_jts ;;
    openapi) find_openapi ;;
    *) echo "usage: test_data.sh find jsontestsuite|openapi" >&2; exit 2 ;;
    esac ;;
missing) missing "${2:-}" ;;
fetch)
    rc=0
    if [ "${TEST_DATA_FORCE:-0}" != 1 ] && p=$(find_jts); then
        echo "test-data: JSONTestSuite: using $p"
    else
        fetch_jts || rc=1
    fi
    if [ "${TEST_DATA_FORCE:-0}" != 1 ] && p=$(find_openapi); then
        echo "test-data: openai-openapi.yaml: using $p"
    else
        fetch_openapi || rc=1
    fi
    exit $rc ;;
*) echo "usage: test_data.sh find NAME | missing NAME | fetch" >&2; exit 2 ;;
esac
