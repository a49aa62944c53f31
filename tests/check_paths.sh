#!/bin/sh
# No tracked file may name an absolute path of one machine (a home or work
# directory): the tests must pass on a user's machine, where such paths do
# not exist. Test data is found through tools/test_data.sh instead.
# Closing line "paths: N passed, N failed".
set -u
cd "$(dirname "$0")/.."
# the patterns are built from pieces so that this file does not match itself
pat="/wor""k/|/hom""e/|/Use""rs/|/roo""t/|/mn""t/|[A-Z]:\\\\Use""rs"
if [ -d .git ] && command -v git >/dev/null 2>&1; then
    files=$(git ls-files)
else
    files=$(find . -type f ! -path './build/*' ! -path './.git/*' | sed 's|^\./||')
fi
n=0 bad=0
for f in $files; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    if grep -I -n -E "$pat" "$f" >/tmp/llmpaths.$$ 2>/dev/null; then
        bad=$((bad + 1))
        sed "s|^|$f:|" /tmp/llmpaths.$$ | head -5
    fi
done
rm -f /tmp/llmpaths.$$
echo "checked $n files for absolute paths of one machine"
if [ "$bad" = 0 ]; then echo "paths: 1 passed, 0 failed"; else echo "paths: 0 passed, 1 failed"; exit 1; fi
