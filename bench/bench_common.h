/* bench_common.h -- small helpers shared by the llmasync benchmarks:
   clocks, statistics (median, percentiles), argument parsing, the process
   file descriptor limit, and the mock server's control endpoints
   (GET /mock/stats, POST /mock/reset) through a blocking libcurl call.

   Include after llmasync.h (with LLMASYNC_IMPLEMENTATION): it uses the
   library's public JSON parser to read /mock/stats. Only public API. */
#ifndef LLM_BENCH_COMMON_H
#define LLM_BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <sys/resource.h>
#include <curl/curl.h>

#if defined(__clang__)
#define BENCH_UNUSED __attribute__((unused))
#define BENCH_NOINLINE __attribute__((noinline)) /* named in callgrind's --toggle-collect */
#elif defined(__GNUC__)
#define BENCH_UNUSED __attribute__((unused))
#define BENCH_NOINLINE __attribute__((noinline, noclone))
#else
#define BENCH_UNUSED
#define BENCH_NOINLINE
#endif

/* ---------------------------------------------------------------- clocks */

static BENCH_UNUSED double bench_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
static BENCH_UNUSED double bench_cpu_s(void) { /* CPU time of this process */
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
static BENCH_UNUSED void bench_sleep_ms(double ms) {
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* ------------------------------------------------------------ statistics */

static int bench__cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}
/* Sorts v in place. */
static BENCH_UNUSED void bench_sort(double *v, size_t n) { qsort(v, n, sizeof *v, bench__cmp_double); }
/* Percentile p (0..100) of a SORTED array: nearest rank. */
static BENCH_UNUSED double bench_pct_sorted(const double *v, size_t n, double p) {
    size_t k;
    if (n == 0) return 0;
    k = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (k < 1) k = 1;
    if (k > n) k = n;
    return v[k - 1];
}
/* Median of n values (copies; the input keeps its order). */
static BENCH_UNUSED double bench_median(const double *v, size_t n) {
    double *t, m;
    if (n == 0) return 0;
    t = (double *)malloc(n * sizeof *t);
    if (!t) return 0;
    memcpy(t, v, n * sizeof *t);
    bench_sort(t, n);
    m = (n % 2) ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
    free(t);
    return m;
}

/* ------------------------------------------------------------- arguments */

/* "--name VALUE" as a positive long within [lo, hi]; exits on a bad value. */
static BENCH_UNUSED long bench_arg_long(const char *name, const char *s, long lo, long hi) {
    char *end = NULL;
    long v;
    errno = 0;
    v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "%s: expected an integer in %ld..%ld, got \"%s\"\n", name, lo, hi, s ? s : "");
        exit(2);
    }
    return v;
}

/* Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit
   now in force. */
static BENCH_UNUSED long bench_raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY ? (long)1 << 30 : (long)rl.rlim_cur;
}

/* ----------------------------------------------------- the mock's control */

/* The mock's root URL: $MOCK_BASE_URL, else $OPENAI_BASE_URL without a
   trailing "/v1". Written to out (cap bytes); 0 when neither is set. */
static BENCH_UNUSED int bench_mock_root(char *out, size_t cap) {
    const char *m = getenv("MOCK_BASE_URL"), *o = getenv("OPENAI_BASE_URL");
    size_t n;
    if (m && *m) {
        n = strlen(m);
    } else if (o && *o) {
        m = o;
        n = strlen(o);
        while (n && m[n - 1] == '/') n--;
        if (n >= 3 && !memcmp(m + n - 3, "/v1", 3)) n -= 3;
    } else {
        return 0;
    }
    if (n + 1 > cap) return 0;
    memcpy(out, m, n);
    out[n] = '\0';
    return 1;
}

typedef struct bench_buf { char *p; size_t len, cap; } bench_buf;

static size_t bench__collect(char *p, size_t s, size_t n, void *ud) {
    bench_buf *b = (bench_buf *)ud;
    size_t k = s * n;
    if (b->len + k + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *q;
        while (cap < b->len + k + 1) cap *= 2;
        q = (char *)realloc(b->p, cap);
        if (!q) return 0;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, k);
    b->len += k;
    b->p[b->len] = '\0';
    return k;
}

/* A blocking request to root+path (POST with "{}" when post); returns the
   malloc'd body or NULL. */
static BENCH_UNUSED char *bench_http(const char *root, const char *path, int post) {
    CURL *e = curl_easy_init();
    char url[512];
    bench_buf b = { NULL, 0, 0 };
    long st = 0;
    CURLcode rc;
    if (!e) return NULL;
    if ((size_t)snprintf(url, sizeof url, "%s%s", root, path) >= sizeof url) {
        curl_easy_cleanup(e);
        return NULL;
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, bench__collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)&b);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
    if (post) curl_easy_setopt(e, CURLOPT_POSTFIELDS, "{}");
    rc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(e);
    if (rc != CURLE_OK || st != 200) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* /mock/stats parsed (free with llm_json_free), or NULL. */
static BENCH_UNUSED llm_json_value *bench_mock_stats(const char *root) {
    char *s = bench_http(root, "/mock/stats", 0);
    llm_json_value *v = s ? llm_json_parse(s, strlen(s), NULL, NULL) : NULL;
    free(s);
    return v;
}
/* One integer of /mock/stats, -1 when unavailable. */
static BENCH_UNUSED long bench_mock_stat(const char *root, const char *key) {
    llm_json_value *v = bench_mock_stats(root);
    int64_t x = -1;
    if (!v || !llm_json_int64(llm_json_get(v, key), &x)) x = -1;
    llm_json_free(v);
    return (long)x;
}
/* One string of /mock/stats, malloc'd (NULL when missing or null). */
static BENCH_UNUSED char *bench_mock_stat_str(const char *root, const char *key) {
    llm_json_value *v = bench_mock_stats(root);
    size_t n = 0;
    const char *s = llm_json_string(llm_json_get(v, key), &n);
    char *r = NULL;
    if (s && (r = (char *)malloc(n + 1)) != NULL) {
        memcpy(r, s, n);
        r[n] = '\0';
    }
    llm_json_free(v);
    return r;
}

#endif /* LLM_BENCH_COMMON_H */
