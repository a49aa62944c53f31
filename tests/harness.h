/* The tiny test harness: one TEST per behaviour, CHECKs inside, a closing
   line "N passed, N failed" (", N skipped" when a test could not run: its
   data is missing, say; TH_SKIP names what and how to provide it). A test
   passes when none of its checks failed. Run a subset: ./test_x substring */
#ifndef LLM_TEST_HARNESS_H
#define LLM_TEST_HARNESS_H
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define TH_UNUSED __attribute__((unused))
#else
#define TH_UNUSED
#endif

static int th_passed, th_failed, th_skipped, th_checks_failed, th_verbose, th_skip_now;
static const char *th_name;

#define CHECK(cond) th_check((cond) ? 1 : 0, #cond, __FILE__, __LINE__)
#define CHECK_MSG(cond, ...) do { if (!th_check((cond) ? 1 : 0, #cond, __FILE__, __LINE__)) { fprintf(stderr, "        "); fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); } } while (0)
#define CHECK_INT(a, b) th_check_int((long long)(a), (long long)(b), #a, #b, __FILE__, __LINE__)
#define CHECK_STR(a, b) th_check_str((a), (b), #a, #b, __FILE__, __LINE__)
#define RUN(fn) th_run(#fn, fn, argc, argv)
/* Inside a test: it cannot run here; one line says why and how to fix it. */
#define TH_SKIP(...) do { th_skip_now = 1; printf("  SKIPPED %s: ", th_name); printf(__VA_ARGS__); printf("\n"); } while (0)

TH_UNUSED static int th_check(int ok, const char *what, const char *file, int line) {
    if (!ok) {
        th_checks_failed++;
        fprintf(stderr, "    FAIL %s:%d in %s: %s\n", file, line, th_name, what);
    }
    return ok;
}
TH_UNUSED static int th_check_int(long long a, long long b, const char *ea, const char *eb, const char *file, int line) {
    if (a != b) {
        th_checks_failed++;
        fprintf(stderr, "    FAIL %s:%d in %s: %s == %s (%lld vs %lld)\n", file, line, th_name, ea, eb, a, b);
        return 0;
    }
    return 1;
}
TH_UNUSED static int th_check_str(const char *a, const char *b, const char *ea, const char *eb, const char *file, int line) {
    if (!a || !b || strcmp(a, b) != 0) {
        th_checks_failed++;
        fprintf(stderr, "    FAIL %s:%d in %s: %s == %s (\"%s\" vs \"%s\")\n", file, line, th_name, ea, eb,
                a ? a : "(null)", b ? b : "(null)");
        return 0;
    }
    return 1;
}
TH_UNUSED static void th_run(const char *name, void (*fn)(void), int argc, char **argv) {
    int before = th_checks_failed, i, selected = argc < 2;
    for (i = 1; i < argc; i++)
        if (strstr(name, argv[i])) selected = 1;
    if (!selected) return;
    th_name = name;
    if (getenv("TEST_VERBOSE")) { th_verbose = 1; fprintf(stderr, "  .. %s\n", name); }
    th_skip_now = 0;
    fn();
    if (th_checks_failed != before) { th_failed++; fprintf(stderr, "  FAILED %s\n", name); }
    else if (th_skip_now) th_skipped++;
    else th_passed++;
}
TH_UNUSED static int th_finish(const char *suite) {
    if (th_skipped) printf("%s: %d passed, %d failed, %d skipped\n", suite, th_passed, th_failed, th_skipped);
    else printf("%s: %d passed, %d failed\n", suite, th_passed, th_failed);
    return th_failed ? 1 : 0;
}

/* A counting allocator that can be told to fail the Nth allocation. */
typedef struct th_alloc {
    long allocs, frees, live, fail_at; /* fail_at: 1-based index of the allocation to fail; 0: never */
    long peak_live_bytes, live_bytes;
} th_alloc;
TH_UNUSED static void *th_alloc_fn(size_t n, void *u) {
    th_alloc *a = (th_alloc *)u;
    size_t *p;
    a->allocs++;
    if (a->fail_at && a->allocs == a->fail_at) return NULL;
    p = (size_t *)malloc(n + sizeof(size_t) * 2);
    if (!p) return NULL;
    p[0] = n;
    a->live++;
    a->live_bytes += (long)n;
    if (a->live_bytes > a->peak_live_bytes) a->peak_live_bytes = a->live_bytes;
    return p + 2;
}
TH_UNUSED static void th_free_fn(void *q, void *u) {
    th_alloc *a = (th_alloc *)u;
    size_t *p;
    if (!q) return;
    p = (size_t *)q - 2;
    a->frees++;
    a->live--;
    a->live_bytes -= (long)p[0];
    free(p);
}
TH_UNUSED static void *th_realloc_fn(void *q, size_t n, void *u) {
    th_alloc *a = (th_alloc *)u;
    size_t *p, *np;
    if (!q) return th_alloc_fn(n, u);
    a->allocs++;
    if (a->fail_at && a->allocs == a->fail_at) return NULL;
    p = (size_t *)q - 2;
    a->live_bytes -= (long)p[0];
    np = (size_t *)realloc(p, n + sizeof(size_t) * 2);
    if (!np) { a->live_bytes += (long)p[0]; return NULL; }
    np[0] = n;
    a->live_bytes += (long)n;
    if (a->live_bytes > a->peak_live_bytes) a->peak_live_bytes = a->live_bytes;
    return np + 2;
}

/* The first directory that opens: $env if set, else the candidates in order
   (NULL-terminated, relative to the repository's root, where the tests
   run). NULL when none does. */
#include <dirent.h>
/* JSONTestSuite's test_parsing files, looked up like tools/test_data.sh does:
   $JSONTESTSUITE_DIR, the cache `make test-data` fills, a sibling ../shared. */
static const char *const th_jsontestsuite_dirs[] = { "build/testdata/JSONTestSuite/test_parsing",
                                                     "../shared/JSONTestSuite/test_parsing", NULL };
#define TH_JSONTESTSUITE_MISSING "JSONTestSuite not found: run `make test-data` (needs the network, or " \
    "JSONTESTSUITE_URL=file://... for a mirror) or set JSONTESTSUITE_DIR=<JSONTestSuite>/test_parsing"
TH_UNUSED static const char *th_find_dir(const char *env, const char *const *candidates) {
    const char *e = getenv(env);
    int i;
    if (e && *e) return e;
    for (i = 0; candidates[i]; i++) {
        DIR *d = opendir(candidates[i]);
        if (d) { closedir(d); return candidates[i]; }
    }
    return NULL;
}

/* Reads a whole file; caller frees. */
TH_UNUSED static char *th_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = (char *)malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
    fclose(f);
    if (buf) { buf[n] = '\0'; if (len) *len = (size_t)n; }
    return buf;
}
#endif
