#!/bin/sh
# Every way into a user's build that the README names, tried as a user
# would, each consumer (tests/consumer/) then run against the mock server:
#   1. CMake add_subdirectory of this checkout
#   2. CMake FetchContent of a release-style archive (URL + SHA256)
#   3. this checkout as a top-level CMake project: examples, ctest, then
#      cmake --install into a temporary prefix and find_package from it
#      (also after moving the prefix: the package is relocatable), and a
#      version it cannot satisfy refused
#   4. make install PREFIX=... (and DESTDIR=...): pkg-config, find_package
#      from that prefix, then make uninstall removes every file
# Everything is built in a temporary directory; the checkout is compared
# before and after. Closing line "consumers: N passed, N failed".
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
B=${BUILD:-build}
case "$B" in /*) ;; *) B=$here/$B ;; esac
MOCK_SERVER=${MOCK_SERVER:-$B/mock_server}
export MOCK_SERVER
tmp=$(mktemp -d /tmp/llmconsumers.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -f "$tmp/log" ] && tail -25 "$tmp/log" | sed 's/^/    /'; }
step() { # label, command...: passes when the command exits 0 (output in $tmp/log)
    label=$1
    shift
    if "$@" >"$tmp/log" 2>&1; then ok "$label"; else bad "$label"; fi
}
run_consumer() { # label, binary: answers through the mock
    step "$1" sh "$here/tools/with_mock.sh" "$2"
}
tree_sum() { # every file of the checkout but build/ and .git/
    (cd "$here" && find . \( -path ./build -o -path ./.git \) -prune -o -type f -print | LC_ALL=C sort | xargs cksum)
}
tree_sum >"$tmp/before"
JOBS=$(nproc 2>/dev/null || echo 2)
cmake_build() { # source dir, build dir, cmake args...
    src=$1 bld=$2
    shift 2
    cmake -S "$src" -B "$bld" "$@" && cmake --build "$bld" -j "$JOBS"
}

# 1. add_subdirectory
step "cmake add_subdirectory: configure and build" \
    cmake_build "$here/tests/consumer" "$tmp/subdir" -DROUTE=subdir -DLLMASYNC_SOURCE="$here"
run_consumer "cmake add_subdirectory: consumer runs" "$tmp/subdir/consumer"

# 2. FetchContent of an archive of the files a release carries
mkdir -p "$tmp/archive/llmasync-src"
(cd "$here" && cp -R llmasync.h CMakeLists.txt llmasync.pc.in cmake "$tmp/archive/llmasync-src/")
(cd "$tmp/archive" && tar czf ../llmasync.tar.gz llmasync-src)
sha=$(sha256sum "$tmp/llmasync.tar.gz" | cut -d' ' -f1)
step "cmake FetchContent: configure and build" \
    cmake_build "$here/tests/consumer" "$tmp/fetch" -DROUTE=fetch -DLLMASYNC_URL="file://$tmp/llmasync.tar.gz" -DLLMASYNC_SHA256="$sha"
run_consumer "cmake FetchContent: consumer runs" "$tmp/fetch/consumer"
step "cmake FetchContent: a wrong SHA256 is refused" \
    sh -c "! cmake -S '$here/tests/consumer' -B '$tmp/fetchbad' -DROUTE=fetch -DLLMASYNC_URL='file://$tmp/llmasync.tar.gz' -DLLMASYNC_SHA256=$(echo "$sha" | tr 0-9a-f 1-9a-f0)"

# 3. top level: examples and ctest, then cmake --install and find_package
step "cmake top level: examples and tests build" cmake_build "$here" "$tmp/top" -DCMAKE_INSTALL_PREFIX="$tmp/cmake-prefix"
# the suites run side by side on every core, so their time bounds are
# scaled (TEST_SLOW, tests/mockctl.h)
step "cmake top level: ctest" sh -c "cd '$tmp/top' && TEST_SLOW=3 ctest --output-on-failure -j $JOBS"
step "cmake --install" cmake --install "$tmp/top"
step "cmake --install: header, package and .pc in place" sh -c "
    test -f '$tmp/cmake-prefix/include/llmasync.h' &&
    test -f '$tmp/cmake-prefix/share/cmake/llmasync/llmasyncConfig.cmake' &&
    test -f '$tmp/cmake-prefix/share/cmake/llmasync/llmasyncConfigVersion.cmake' &&
    test -f '$tmp/cmake-prefix/share/pkgconfig/llmasync.pc' &&
    cmp '$here/llmasync.h' '$tmp/cmake-prefix/include/llmasync.h'"
step "cmake find_package (cmake --install): configure and build" \
    cmake_build "$here/tests/consumer" "$tmp/find" -DROUTE=find -DCMAKE_PREFIX_PATH="$tmp/cmake-prefix"
run_consumer "cmake find_package (cmake --install): consumer runs" "$tmp/find/consumer"
mv "$tmp/cmake-prefix" "$tmp/moved-prefix"
step "cmake find_package from a moved prefix" \
    cmake_build "$here/tests/consumer" "$tmp/find-moved" -DROUTE=find -DCMAKE_PREFIX_PATH="$tmp/moved-prefix"
run_consumer "cmake find_package from a moved prefix: consumer runs" "$tmp/find-moved/consumer"
mkdir -p "$tmp/want9"
sed 's/find_package(llmasync 0.2 CONFIG REQUIRED)/find_package(llmasync 9.0 CONFIG REQUIRED)/' "$here/tests/consumer/CMakeLists.txt" >"$tmp/want9/CMakeLists.txt"
cp "$here/tests/consumer/main.c" "$tmp/want9/"
step "cmake find_package: version 9.0 asked, 0.x refused" \
    sh -c "! cmake -S '$tmp/want9' -B '$tmp/want9/b' -DROUTE=find -DCMAKE_PREFIX_PATH='$tmp/moved-prefix'"

# 4. make install: pkg-config and the CMake package it writes; DESTDIR; uninstall
step "make install PREFIX=" make -C "$here" --no-print-directory install PREFIX="$tmp/make-prefix"
step "pkg-config: build" sh -c "
    PKG_CONFIG_PATH='$tmp/make-prefix/share/pkgconfig' pkg-config --exists --print-errors 'llmasync >= 0.2' &&
    \${CC:-cc} -std=c99 -Wall -Wextra -Wpedantic -Werror \$(PKG_CONFIG_PATH='$tmp/make-prefix/share/pkgconfig' pkg-config --cflags llmasync) \
        '$here/tests/consumer/main.c' -o '$tmp/pc-consumer' \$(PKG_CONFIG_PATH='$tmp/make-prefix/share/pkgconfig' pkg-config --libs llmasync)"
run_consumer "pkg-config: consumer runs" "$tmp/pc-consumer"
step "pkg-config: version is the header's" sh -c "
    test \"\$(PKG_CONFIG_PATH='$tmp/make-prefix/share/pkgconfig' pkg-config --modversion llmasync)\" = \
         \"\$(sed -n 's/^#define LLMASYNC_VERSION \"\\(.*\\)\"\$/\\1/p' '$here/llmasync.h')\""
step "cmake find_package (make install): configure and build" \
    cmake_build "$here/tests/consumer" "$tmp/find-make" -DROUTE=find -DCMAKE_PREFIX_PATH="$tmp/make-prefix"
run_consumer "cmake find_package (make install): consumer runs" "$tmp/find-make/consumer"
step "make uninstall removes every file" sh -c "
    make -C '$here' --no-print-directory uninstall PREFIX='$tmp/make-prefix' && test -z \"\$(find '$tmp/make-prefix' -type f)\""
step "make install DESTDIR= PREFIX=/opt/llmasync" sh -c "
    make -C '$here' --no-print-directory install DESTDIR='$tmp/stage' PREFIX=/opt/llmasync &&
    test -f '$tmp/stage/opt/llmasync/include/llmasync.h' &&
    grep -qx 'prefix=/opt/llmasync' '$tmp/stage/opt/llmasync/share/pkgconfig/llmasync.pc' &&
    make -C '$here' --no-print-directory uninstall DESTDIR='$tmp/stage' PREFIX=/opt/llmasync &&
    test -z \"\$(find '$tmp/stage' -type f)\""

tree_sum >"$tmp/after"
rm -f "$tmp/log"
if cmp -s "$tmp/before" "$tmp/after"; then ok "the checkout is unchanged"; else
    bad "the checkout is unchanged"; diff "$tmp/before" "$tmp/after" | head -20 | sed 's/^/    /'
fi
echo "consumers: $pass passed, $fail failed"
[ "$fail" = 0 ]
