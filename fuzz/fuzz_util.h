/* Helpers shared by the fuzz harnesses: a failure that aborts (so libFuzzer
   and the replay driver both see it), a small PRNG to cut inputs into
   chunks, a growable log, and an independent UTF-8 validator. Included
   after llmasync.h by each harness; everything is static. */
#ifndef LLM_FUZZ_UTIL_H
#define LLM_FUZZ_UTIL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define FZ_UNUSED __attribute__((unused))
#else
#define FZ_UNUSED
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* glibc keeps what it allocates to find a locale through LOCPATH (set for
   fuzz_json's comma-locale check; libraries load locales too): not ours,
   as tests/lsan.supp says for the test suite. One definition per harness
   binary: this header is included by the harness only. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:argz_add_sep\nleak:_nl_find_locale\n"; }

/* An invariant failed: say which, then abort so the input is kept. */
FZ_UNUSED static void fz_fail(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "\n*** invariant failed: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    abort();
}
#define FZ_CHECK(cond) do { if (!(cond)) fz_fail("%s (%s:%d)", #cond, __FILE__, __LINE__); } while (0)

/* xorshift32; a zero seed is replaced so the sequence never sticks at 0. */
typedef struct fz_rng { uint32_t s; } fz_rng;
FZ_UNUSED static void fz_rng_seed(fz_rng *r, uint32_t seed) { r->s = seed * 2654435761u + 0x9E3779B9u; if (!r->s) r->s = 1; }
FZ_UNUSED static uint32_t fz_rng_next(fz_rng *r) {
    uint32_t x = r->s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    r->s = x;
    return x;
}

/* Chunk lengths for feeding n bytes: the seed picks a style (all ones,
   small, mixed, large) so every split position gets exercised over time. */
FZ_UNUSED static size_t fz_chunk(fz_rng *r, int style, size_t left) {
    size_t k;
    switch (style & 3) {
    case 0: k = 1; break;
    case 1: k = 1 + fz_rng_next(r) % 4; break;
    case 2: k = (fz_rng_next(r) & 7) ? 1 + fz_rng_next(r) % 16 : 0; break; /* 0: an empty read */
    default: k = 1 + fz_rng_next(r) % 300; break;
    }
    return k < left ? k : left;
}

/* A growable byte log; aborts when memory runs out (a fuzz run, not the
   library: no recovery wanted). */
typedef struct fz_log { unsigned char *p; size_t len, cap; } fz_log;
FZ_UNUSED static void fz_log_add(fz_log *l, const void *d, size_t n) {
    if (l->len + n > l->cap) {
        size_t cap = l->cap ? l->cap : 256;
        unsigned char *np;
        while (cap < l->len + n) cap *= 2;
        np = (unsigned char *)realloc(l->p, cap);
        if (!np) fz_fail("out of memory in the harness log");
        l->p = np;
        l->cap = cap;
    }
    if (n) memcpy(l->p + l->len, d, n);
    l->len += n;
}
FZ_UNUSED static void fz_log_u64(fz_log *l, uint64_t v) {
    unsigned char b[8];
    int i;
    for (i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    fz_log_add(l, b, 8);
}
/* A length-prefixed field, so that field boundaries are part of the log. */
FZ_UNUSED static void fz_log_field(fz_log *l, const char *s, size_t n) {
    fz_log_u64(l, (uint64_t)n);
    fz_log_add(l, s, n);
}
FZ_UNUSED static void fz_log_free(fz_log *l) { free(l->p); l->p = NULL; l->len = l->cap = 0; }
FZ_UNUSED static int fz_log_eq(const fz_log *a, const fz_log *b) {
    return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

/* Length of the valid UTF-8 prefix of s, written from the Unicode tables
   (not from the library) so the two can be compared. */
FZ_UNUSED static size_t fz_utf8_prefix(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], need, k;
        uint32_t cp, min;
        if (c < 0x80) { i++; continue; }
        if ((c & 0xE0) == 0xC0) { need = 1; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { need = 2; cp = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { need = 3; cp = c & 0x07; min = 0x10000; }
        else return i;
        if (n - i <= need) return i;
        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += need + 1;
    }
    return n;
}
FZ_UNUSED static int fz_utf8_ok(const char *s, size_t n) { return fz_utf8_prefix((const unsigned char *)s, n) == n; }

/* RFC 8259 number grammar over exactly n bytes. */
FZ_UNUSED static int fz_is_json_number(const char *s, size_t n) {
    size_t i = 0;
    if (i < n && s[i] == '-') i++;
    if (i >= n) return 0;
    if (s[i] == '0') i++;
    else if (s[i] >= '1' && s[i] <= '9') { while (i < n && s[i] >= '0' && s[i] <= '9') i++; }
    else return 0;
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || s[i] < '0' || s[i] > '9') return 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || s[i] < '0' || s[i] > '9') return 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    return i == n;
}

/* No run of 8 or more characters of a key may survive in anything the
   library hands out, plainly or encoded (%XX, \uXXXX, \/): the text is
   decoded first, then every 8-byte window of each key is looked for. */
FZ_UNUSED static int fz_hexv(int c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}
FZ_UNUSED static const char *fz_key_fragment(const char *s, const char *const *keys, int n_keys) {
    static char dec[8192];
    size_t n = 0, i, k, j;
    for (i = 0; s[i] && n < sizeof dec - 1; i++) {
        if (s[i] == '%' && fz_hexv((unsigned char)s[i + 1]) >= 0 && fz_hexv((unsigned char)s[i + 2]) >= 0) {
            dec[n++] = (char)(fz_hexv((unsigned char)s[i + 1]) * 16 + fz_hexv((unsigned char)s[i + 2]));
            i += 2;
        } else if (s[i] == '\\' && s[i + 1] == 'u' && fz_hexv((unsigned char)s[i + 2]) >= 0 && fz_hexv((unsigned char)s[i + 3]) >= 0 &&
                   fz_hexv((unsigned char)s[i + 4]) >= 0 && fz_hexv((unsigned char)s[i + 5]) >= 0) {
            dec[n++] = (char)(fz_hexv((unsigned char)s[i + 4]) * 16 + fz_hexv((unsigned char)s[i + 5]));
            i += 5;
        } else if (s[i] == '\\' && s[i + 1] == '/') {
            dec[n++] = '/';
            i++;
        } else {
            dec[n++] = s[i];
        }
    }
    dec[n] = '\0';
    for (k = 0; k < (size_t)n_keys; k++)
        for (j = 0; j + 8 <= strlen(keys[k]); j++) {
            char w[9];
            memcpy(w, keys[k] + j, 8);
            w[8] = '\0';
            if (strstr(dec, w)) return keys[k];
        }
    return NULL;
}

#endif
