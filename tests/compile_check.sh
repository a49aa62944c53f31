#!/bin/sh
# The header compiles warning-free (-Wall -Wextra -Wpedantic -Werror) as C99
# and C11 with gcc and clang, as C++11 and C++17 with g++ and clang++; also
# with LLMASYNC_STATIC, in a program of two translation units, and as a
# strict C99 file whose first include is llmasync.h.
set -u
B=${BUILD:-build}/compile
mkdir -p "$B"
pass=0
fail=0
W="-Wall -Wextra -Wpedantic -Werror"
cat > "$B/impl.c" <<'X'
#define LLMASYNC_IMPLEMENTATION
#include "llmasync.h"
X
cat > "$B/use.c" <<'X'
#include "llmasync.h"
#include <string.h>
int main(void) {
    llm_client *c = llm_client_new(NULL);
    llm_message m;
    llm_chat_desc d;
    memset(&m, 0, sizeof m);
    memset(&d, 0, sizeof d);
    m.role = "user"; m.content = "x";
    d.model = "m"; d.messages = &m; d.n_messages = 1;
    llm_request_free(llm_chat(c, &d));
    llm_client_free(c);
    return 0;
}
X
cat > "$B/static.c" <<'X'
#define LLMASYNC_STATIC
#define LLMASYNC_IMPLEMENTATION
#include "llmasync.h"
int main(void) { return llm_client_new(NULL) ? 0 : 1; }
X
cp "$B/impl.c" "$B/impl.cpp"
cp "$B/use.c" "$B/use.cpp"
cp "$B/static.c" "$B/static.cpp"
check() { # name, command...
    name=$1
    shift
    if "$@" >"$B/out.txt" 2>&1; then pass=$((pass + 1)); else
        fail=$((fail + 1))
        echo "  FAILED compile: $name" >&2
        head -5 "$B/out.txt" >&2
    fi
}
for cc in "gcc -std=c99" "gcc -std=c11" "clang -std=c99" "clang -std=c11"; do
    check "$cc two TUs" sh -c "$cc $W -I. -c $B/impl.c -o $B/impl.o && $cc $W -I. -c $B/use.c -o $B/use.o && $cc $B/impl.o $B/use.o -o $B/prog -lcurl"
    check "$cc static" sh -c "$cc $W -I. $B/static.c -o $B/static -lcurl"
done
for cc in "g++ -std=c++11" "g++ -std=c++17" "clang++ -std=c++11" "clang++ -std=c++17"; do
    check "$cc two TUs" sh -c "$cc $W -I. -c $B/impl.cpp -o $B/impl.o && $cc $W -I. -c $B/use.cpp -o $B/use.o && $cc $B/impl.o $B/use.o -o $B/prog -lcurl"
    check "$cc static" sh -c "$cc $W -I. $B/static.cpp -o $B/static -lcurl"
done
# C compiled library, C++ program: the extern "C" linkage is right
check "gcc impl + g++ use" sh -c "gcc -std=c99 $W -I. -c $B/impl.c -o $B/impl.o && g++ -std=c++11 $W -I. -c $B/use.cpp -o $B/use.o && g++ $B/impl.o $B/use.o -o $B/prog -lcurl"
# strict C99 with a system header first: no monotonic clock can be had, and
# the build says so instead of quietly using a one-second clock...
printf '#include <stdio.h>\n#define LLMASYNC_IMPLEMENTATION\n#include "llmasync.h"\nint main(void){return 0;}\n' > "$B/late.c"
check "strict c99, stdio.h first: refused with a clear message" sh -c \
    "! gcc -std=c99 $W -I. -c $B/late.c -o $B/late.o 2>$B/late.err && grep -q LLMASYNC_ALLOW_COARSE_CLOCK $B/late.err"
# ...unless the host accepts it
check "strict c99, stdio.h first, coarse clock accepted" gcc -std=c99 $W -DLLMASYNC_ALLOW_COARSE_CLOCK -I. -c "$B/late.c" -o "$B/late.o"
echo "compile: $pass passed, $fail failed"
[ "$fail" = 0 ]
