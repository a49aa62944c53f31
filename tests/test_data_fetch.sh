#!/bin/sh
# The fetch path of tools/test_data.sh, offline: file:// mirrors stand in
# for upstream. A good mirror fills the cache; a tampered file, an extra
# file or a wrong checksum is refused and leaves no cache; an unreachable
# source is reported and skipped. Cases that need the real data (to build
# a good mirror) are skipped, named, when it is not found.
# Closing line "test-data: N passed, N failed[, N skipped]".
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
tool="sh $here/tools/test_data.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/llmdatatest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); echo "ok      $1"; }
bad() { fail=$((fail + 1)); echo "FAILED  $1"; [ -f "$tmp/out" ] && sed 's/^/    /' "$tmp/out"; }
skipped() { skip=$((skip + 1)); echo "SKIPPED $1: $2"; }

# fetch with a fresh cache; only the given URLs; never the real upstream
fetch() { # case-name, then VAR=value pairs
    name=$1
    shift
    rm -rf "$tmp/cache"
    env -u JSONTESTSUITE_DIR -u OPENAPI_YAML TEST_DATA_CACHE="$tmp/cache" TEST_DATA_FORCE=1 \
        JSONTESTSUITE_URL="file://$tmp/none.tar.gz" OPENAPI_URL="file://$tmp/none.yaml" "$@" \
        $tool fetch >"$tmp/out" 2>&1
    rc=$?
}

jts=$($tool find jsontestsuite)
api=$($tool find openapi)
commit=$(sed -n 's/^JTS_COMMIT=//p' "$here/tools/test_data.sh")

# a tarball laid out like upstream's: JSONTestSuite-<commit>/test_parsing/
make_tarball() { # source-dir, tarball
    rm -rf "$tmp/m"
    mkdir -p "$tmp/m/JSONTestSuite-$commit/test_parsing"
    cp "$1"/* "$tmp/m/JSONTestSuite-$commit/test_parsing/"
    tar -czf "$2" -C "$tmp/m" "JSONTestSuite-$commit"
}

# 1. unreachable sources: reported, skipped later, exit 0, no cache
fetch unreachable
if [ $rc = 0 ] && grep -q 'JSONTestSuite: not fetched' "$tmp/out" && grep -q 'openai-openapi.yaml: not fetched' "$tmp/out" &&
   [ ! -e "$tmp/cache/JSONTestSuite" ] && [ ! -e "$tmp/cache/openai-openapi.yaml" ]; then ok "unreachable source: skipped, no cache"
else bad "unreachable source: skipped, no cache"; fi

# 2. fabricated files under the manifest's names: every checksum wrong
mkdir -p "$tmp/fake"
for n in $(awk '{print $2}' "$here/tests/data/JSONTestSuite.sha256"); do echo '[0]' >"$tmp/fake/$n"; done
make_tarball "$tmp/fake" "$tmp/fake.tar.gz"
fetch fake JSONTESTSUITE_URL="file://$tmp/fake.tar.gz"
if [ $rc = 1 ] && grep -q 'do not match' "$tmp/out" && [ ! -e "$tmp/cache/JSONTestSuite" ]; then ok "wrong JSONTestSuite files: refused, no cache"
else bad "wrong JSONTestSuite files: refused, no cache"; fi

# 3. not a tarball at all
echo "<html>rate limited</html>" >"$tmp/page.tar.gz"
fetch not-a-tarball JSONTESTSUITE_URL="file://$tmp/page.tar.gz"
if [ $rc = 1 ] && grep -q 'not a gzip tarball' "$tmp/out" && [ ! -e "$tmp/cache/JSONTestSuite" ]; then ok "not a tarball: refused"
else bad "not a tarball: refused"; fi

# 4. an OpenAPI description whose SHA-256 differs
echo "openapi: 3.1.0" >"$tmp/other.yaml"
fetch wrong-openapi OPENAPI_URL="file://$tmp/other.yaml"
if [ $rc = 1 ] && grep -q 'openai-openapi.yaml: SHA-256 of' "$tmp/out" && [ ! -e "$tmp/cache/openai-openapi.yaml" ]; then ok "wrong openapi.yaml: refused, no cache"
else bad "wrong openapi.yaml: refused, no cache"; fi

# 5. a good JSONTestSuite mirror; then the same with one byte changed, and with one file more
if [ -n "$jts" ]; then
    make_tarball "$jts" "$tmp/good.tar.gz"
    fetch good-jts JSONTESTSUITE_URL="file://$tmp/good.tar.gz"
    n=$(find "$tmp/cache/JSONTestSuite/test_parsing" -type f 2>/dev/null | wc -l)
    found=$(env -u JSONTESTSUITE_DIR TEST_DATA_CACHE="$tmp/cache" $tool find jsontestsuite)
    if [ $rc = 0 ] && [ "$n" = "$(wc -l <"$here/tests/data/JSONTestSuite.sha256")" ] &&
       [ "$found" = "$tmp/cache/JSONTestSuite/test_parsing" ]; then ok "good JSONTestSuite mirror: $n files cached and found first"
    else bad "good JSONTestSuite mirror: cached and found first"; fi

    cp -r "$jts" "$tmp/tampered"
    printf ' ' >>"$tmp/tampered/y_structure_lonely_int.json"
    make_tarball "$tmp/tampered" "$tmp/tampered.tar.gz"
    fetch tampered-jts JSONTESTSUITE_URL="file://$tmp/tampered.tar.gz"
    if [ $rc = 1 ] && grep -q 'y_structure_lonely_int.json' "$tmp/out" && [ ! -e "$tmp/cache/JSONTestSuite" ]; then ok "one tampered JSONTestSuite file: refused, named"
    else bad "one tampered JSONTestSuite file: refused, named"; fi

    cp -r "$jts" "$tmp/extra"
    echo '[]' >"$tmp/extra/y_smuggled.json"
    make_tarball "$tmp/extra" "$tmp/extra.tar.gz"
    fetch extra-jts JSONTESTSUITE_URL="file://$tmp/extra.tar.gz"
    if [ $rc = 1 ] && grep -q 'files in test_parsing, the manifest' "$tmp/out" && [ ! -e "$tmp/cache/JSONTestSuite" ]; then ok "one file more than the manifest: refused"
    else bad "one file more than the manifest: refused"; fi
else
    skipped "good JSONTestSuite mirror" "$($tool missing jsontestsuite)"
fi

# 6. a good OpenAPI mirror
if [ -n "$api" ]; then
    cp "$api" "$tmp/good.yaml"
    fetch good-openapi OPENAPI_URL="file://$tmp/good.yaml"
    found=$(env -u OPENAPI_YAML TEST_DATA_CACHE="$tmp/cache" $tool find openapi)
    if [ $rc = 0 ] && cmp -s "$api" "$tmp/cache/openai-openapi.yaml" && [ "$found" = "$tmp/cache/openai-openapi.yaml" ]; then
        ok "good openapi.yaml mirror: cached and found first"
    else bad "good openapi.yaml mirror: cached and found first"; fi
else
    skipped "good openapi.yaml mirror" "$($tool missing openapi)"
fi

# 7. the look-up order: the environment first
mkdir -p "$tmp/envdir"
found=$(JSONTESTSUITE_DIR="$tmp/envdir" $tool find jsontestsuite)
if [ "$found" = "$tmp/envdir" ]; then ok "JSONTESTSUITE_DIR wins"; else bad "JSONTESTSUITE_DIR wins"; fi

if [ "$skip" != 0 ]; then echo "test-data: $pass passed, $fail failed, $skip skipped"
else echo "test-data: $pass passed, $fail failed"; fi
[ "$fail" = 0 ]
