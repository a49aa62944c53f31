# llmasync: every entry point. `make demo` and `make test` are the whole
# set-up on a fresh Debian machine with gcc, clang and make: missing packages
# (libcurl's development files, and test-only tools) are installed through
# tools/deps.sh.

CC      ?= cc
CLANG   ?= clang
BUILD   := build
WARN    := -Wall -Wextra -Wpedantic -Werror
CFLAGS  := -std=c99 -O2 -g $(WARN)
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LIBS    := -lcurl -lpthread
HDRS    := llmasync.h tests/harness.h tests/mockctl.h

TESTS    := json sse codec e2e stream reliability providers endpoints hardening oom soak iofail diff record
EXAMPLES := demo stream_chat game_loop retry_errors multi_provider batch_embeddings evaluator tool_agent npc_dialogue libuv_host record_replay responses_chat npc_voice transcribe rerank vision

.PHONY: all test test-data demo examples deps deps-test soak bench mutate clean \
        windows-deps test-windows test-consumers install uninstall

all: examples $(TESTS:%=$(BUILD)/plain/test_%)

# fuzz, fuzz-smoke, fuzz-replay and the differential test (fuzz/README.md);
# included here so that its variables are known to the rules below
include fuzz/Makefile.inc

# ---------------------------------------------------------------- set-up --
deps:
	@sh tools/deps.sh curl
deps-test: deps
	@sh tools/deps.sh curl curlcli valgrind locales schema ssl cjson fuzz windows cmake uv

# LeakSanitizer: glibc's locale cache is not ours (tests/lsan.supp)
export LSAN_OPTIONS ?= suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0

$(BUILD)/plain $(BUILD)/asan $(BUILD)/examples:
	@mkdir -p $@

# ----------------------------------------------------------------- build --
$(BUILD)/mock_server: tests/mock_server.c | deps
	@mkdir -p $(BUILD)
	$(CC) -std=c99 -O2 -g $(WARN) $< -o $@

# The HTTPS variant of the mock, and certificates made for the TLS test.
$(BUILD)/mock_server_tls: tests/mock_server.c | deps-test
	@mkdir -p $(BUILD)
	$(CC) -std=c99 -O2 -g $(WARN) -DMOCK_TLS $< -o $@ -lssl -lcrypto

$(BUILD)/tls/cert.pem: | deps-test
	@mkdir -p $(BUILD)/tls
	openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
	    -keyout $(BUILD)/tls/key.pem -out $(BUILD)/tls/cert.pem 2>/dev/null
	openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj /CN=other.example -addext subjectAltName=DNS:other.example \
	    -keyout $(BUILD)/tls/otherkey.pem -out $(BUILD)/tls/other.pem 2>/dev/null

# test_iofail makes epoll_ctl fail on purpose; test_hardening counts the
# calls of localeconv (there must be none)
$(BUILD)/plain/test_iofail $(BUILD)/asan/test_iofail: LIBS += -Wl,--wrap=epoll_ctl -Wl,--wrap=curl_easy_init -Wl,--wrap=curl_multi_info_read -Wl,--wrap=curl_easy_setopt
$(BUILD)/plain/test_hardening $(BUILD)/asan/test_hardening $(BUILD)/io-poll/test_hardening \
  $(BUILD)/io-perform/test_hardening: LIBS += -Wl,--wrap=localeconv

$(BUILD)/plain/test_%: tests/test_%.c $(HDRS) | deps $(BUILD)/plain
	$(CC) $(CFLAGS) $< -o $@ $(LIBS)

$(BUILD)/asan/test_%: tests/test_%.c $(HDRS) | deps $(BUILD)/asan
	$(CC) $(CFLAGS) $(SAN) $< -o $@ $(LIBS)

# The end-to-end suites again with the other two I/O back ends (see >>io in
# llmasync.h): poll() for POSIX systems without epoll, curl_multi_perform for
# Windows. Under ASan+UBSan.
IO_TESTS := e2e stream reliability providers endpoints hardening oom soak record
$(BUILD)/io-poll/test_%: tests/test_%.c $(HDRS) | deps
	@mkdir -p $(BUILD)/io-poll
	$(CC) $(CFLAGS) $(SAN) -DLLMASYNC_IO_POLL $< -o $@ $(LIBS)
$(BUILD)/io-perform/test_%: tests/test_%.c $(HDRS) | deps
	@mkdir -p $(BUILD)/io-perform
	$(CC) $(CFLAGS) $(SAN) -DLLMASYNC_IO_PERFORM $< -o $@ $(LIBS)

$(BUILD)/examples/%: examples/%.c llmasync.h | deps $(BUILD)/examples
	$(CC) $(CFLAGS) $< -o $@ $(LIBS) -lm

# the host whose loop is libuv's (Debian's libuv1-dev)
$(BUILD)/examples/libuv_host: examples/libuv_host.c llmasync.h | deps $(BUILD)/examples
	@sh tools/deps.sh uv
	$(CC) $(CFLAGS) $< -o $@ $(LIBS) -luv

examples: $(EXAMPLES:%=$(BUILD)/examples/%)

# The README's example, extracted so that it cannot rot; and the same with
# stream = 1, which the same loop must drain.
$(BUILD)/readme_example.c: README.md
	@mkdir -p $(BUILD)
	awk '/<!-- example:begin -->/{f=1;next} /<!-- example:end -->/{f=0} f && !/^```/' README.md > $@
$(BUILD)/readme_example_stream.c: $(BUILD)/readme_example.c
	sed 's/^\( *\)d\.max_tokens = 50;/&\n\1d.stream = 1;/' $< > $@
	@grep -q 'd.stream = 1;' $@ || { echo "readme_example_stream: no d.max_tokens line to add stream = 1 after"; exit 1; }
$(BUILD)/readme_example $(BUILD)/readme_example_stream: $(BUILD)/%: $(BUILD)/%.c llmasync.h | deps
	$(CC) $(CFLAGS) -I. $< -o $@ $(LIBS)

$(BUILD)/dump_bodies: tests/dump_bodies.c llmasync.h | deps
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) $< -o $@ $(LIBS)

$(BUILD)/locale/de_DE.UTF-8:
	@mkdir -p $(BUILD)/locale
	localedef -i de_DE -f UTF-8 $@ 2>/dev/null || true
	localedef -i ps_AF -f UTF-8 $(BUILD)/locale/ps_AF.UTF-8 2>/dev/null || true

# ------------------------------------------------------------------ demo --
# Against the real API when OPENAI_API_KEY is set, else the local mock.
demo: $(BUILD)/mock_server $(BUILD)/examples/demo $(BUILD)/examples/game_loop
	@if [ -n "$${OPENAI_API_KEY:-}" ]; then $(BUILD)/examples/demo && $(BUILD)/examples/game_loop; \
	else sh tools/with_mock.sh sh -c '$(BUILD)/examples/demo && echo && $(BUILD)/examples/game_loop'; fi

# ------------------------------------------------------------------ test --
# Conformance data that is not ours (JSONTestSuite, the OpenAI OpenAPI
# description): found, or fetched from upstream at pinned commits into
# $(BUILD)/testdata and checked against tests/data/*.sha256. Offline, the
# suites that need it are skipped and named (tools/test_data.sh).
test-data: | deps-test
	@sh tools/test_data.sh fetch

# Everything the suites run, built with as many jobs as there are cores
# (set-up first, alone: apt-get must not run twice at once).
NPROC := $(shell nproc 2>/dev/null || echo 2)
TEST_BUILD := $(BUILD)/mock_server $(BUILD)/mock_server_tls $(BUILD)/tls/cert.pem $(BUILD)/locale/de_DE.UTF-8 \
      $(TESTS:%=$(BUILD)/plain/test_%) $(TESTS:%=$(BUILD)/asan/test_%) \
      $(IO_TESTS:%=$(BUILD)/io-poll/test_%) $(IO_TESTS:%=$(BUILD)/io-perform/test_%) \
      $(BUILD)/readme_example $(BUILD)/readme_example_stream $(BUILD)/dump_bodies examples \
      $(FUZZ_HARNESSES:%=$(FUZZ_RPLAY)/%) $(FUZZ_HARNESSES:%=$(BUILD)/fuzz/bin/%)
.PHONY: test-build
test-build: $(TEST_BUILD)

test: deps-test
	@$(MAKE) --no-print-directory -j$(NPROC) test-build
	@sh tools/test_data.sh fetch || echo "test-data: a download was refused (above); the suites that need it are skipped"
	@sh tools/windows.sh deps || echo "windows-deps: failed (above); the Windows suite will fail"
	@TESTS="$(TESTS)" IO_TESTS="$(IO_TESTS)" EXAMPLES="$(EXAMPLES)" FUZZ_SMOKE_SECONDS=$(FUZZ_SMOKE_SECONDS) sh tests/run.sh

# ------------------------------------------------------------- windows --
# A static libcurl for x86_64-w64-mingw32 (Schannel) from Debian's curl
# source package, then the end-to-end, streaming, reliability and providers
# suites and the examples cross-built and run under Wine against the native
# mock (tools/windows.sh). `make test` runs both.
windows-deps: | deps-test
	@sh tools/windows.sh deps
test-windows: windows-deps $(BUILD)/mock_server $(BUILD)/mock_server_tls $(BUILD)/tls/cert.pem
	@BUILD=$(BUILD) sh tools/windows.sh test

# Benchmarks against a raw curl_multi baseline measured in the same run
# (bench/README.md); prints a table and fails when a self-check fails.
bench: | deps
	@sh tools/deps.sh nginx ssl curlcli
	sh bench/run.sh

# A longer soak than the one in `make test` (3000): SOAK_N requests.
SOAK_N ?= 50000
soak: $(BUILD)/mock_server $(BUILD)/plain/test_soak $(BUILD)/asan/test_soak
	SOAK_N=$(SOAK_N) SOAK_REPORT=1 MOCK_SERVER=$(BUILD)/mock_server $(BUILD)/plain/test_soak
	SOAK_N=$$(( $(SOAK_N) / 5 )) SOAK_REPORT=1 MOCK_SERVER=$(BUILD)/mock_server $(BUILD)/asan/test_soak

# Mutation testing (tools/mutate.py): MUTATE_N mutants of llmasync.h picked
# with MUTATE_SEED, each compiled into the suites and run until one kills
# it; a per-section table and "mutation score: K/N (P%)". Not part of
# `make test` (60 mutants take about 20 minutes on 2 cores).
MUTATE_N ?= 60
MUTATE_SEED ?= 1
mutate: $(BUILD)/mock_server $(BUILD)/mock_server_tls $(BUILD)/tls/cert.pem $(BUILD)/locale/de_DE.UTF-8 | deps-test
	MUTATE_N=$(MUTATE_N) MUTATE_SEED=$(MUTATE_SEED) /usr/bin/python3 tools/mutate.py

# ------------------------------------------------------------- install --
# The header, llmasync.pc and the CMake package (find_package(llmasync
# CONFIG)): the same files as `cmake --install`. Nothing is compiled.
PREFIX       ?= /usr/local
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(PREFIX)/share/pkgconfig
CMAKEDIR     ?= $(PREFIX)/share/cmake/llmasync
VERSION      := $(shell sed -n 's/^\#define LLMASYNC_VERSION "\([0-9.]*\)"$$/\1/p' llmasync.h)
# relocatable (paths relative to the prefix) when the layout is the default
ifeq ($(INCLUDEDIR)|$(CMAKEDIR),$(PREFIX)/include|$(PREFIX)/share/cmake/llmasync)
  PC_INCLUDEDIR := $${prefix}/include
  CMAKE_INCLUDE := ../../../include
else
  PC_INCLUDEDIR := $(INCLUDEDIR)
  CMAKE_INCLUDE := $(INCLUDEDIR)
endif
install:
	@test -n "$(VERSION)" || { echo "install: no LLMASYNC_VERSION in llmasync.h"; exit 1; }
	install -d "$(DESTDIR)$(INCLUDEDIR)" "$(DESTDIR)$(PKGCONFIGDIR)" "$(DESTDIR)$(CMAKEDIR)"
	install -m 644 llmasync.h "$(DESTDIR)$(INCLUDEDIR)/llmasync.h"
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    llmasync.pc.in > "$(DESTDIR)$(PKGCONFIGDIR)/llmasync.pc"
	sed -e 's|@LLMASYNC_INCLUDE@|$(CMAKE_INCLUDE)|g' -e 's|@LLMASYNC_VERSION@|$(VERSION)|g' \
	    cmake/llmasyncConfig.cmake.in > "$(DESTDIR)$(CMAKEDIR)/llmasyncConfig.cmake"
	sed -e 's|@LLMASYNC_VERSION@|$(VERSION)|g' \
	    cmake/llmasyncConfigVersion.cmake.in > "$(DESTDIR)$(CMAKEDIR)/llmasyncConfigVersion.cmake"
	chmod 644 "$(DESTDIR)$(PKGCONFIGDIR)/llmasync.pc" "$(DESTDIR)$(CMAKEDIR)/llmasyncConfig.cmake" \
	    "$(DESTDIR)$(CMAKEDIR)/llmasyncConfigVersion.cmake"
uninstall:
	rm -f "$(DESTDIR)$(INCLUDEDIR)/llmasync.h" "$(DESTDIR)$(PKGCONFIGDIR)/llmasync.pc" \
	    "$(DESTDIR)$(CMAKEDIR)/llmasyncConfig.cmake" "$(DESTDIR)$(CMAKEDIR)/llmasyncConfigVersion.cmake"
	-rmdir "$(DESTDIR)$(CMAKEDIR)" 2>/dev/null

# Every way in that the README names, tried as a user would (tests/consumers.sh).
test-consumers: $(BUILD)/mock_server | deps-test
	@BUILD=$(BUILD) sh tests/consumers.sh

clean:
	rm -rf $(BUILD)
