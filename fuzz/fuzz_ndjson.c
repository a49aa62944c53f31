/* libFuzzer harness: the NDJSON line splitter (llm__nd_feed / _finish).

   Input: byte 0 seeds the PRNG that cuts the stream into reads (and picks
   the cutting style), byte 1 configures the run:
     bits 0..5  the small line limit: 1..64 bytes
     bits 6..7  the callback stops the stream after that many lines (0: never)
   the rest is the byte stream (Ollama sends one JSON document per line).

   Each run logs every line handed on, then llm__nd_finish's line, then the
   final state. It aborts when one read and the PRNG's reads disagree (with
   a large limit and with the small one), when a line handed on is blank,
   holds a newline or is over the limit, when the line count disagrees with
   the decoder's, or when the error code is outside its set. Leaks are LeakSanitizer's job. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "fuzz_util.h"

typedef struct ctx { fz_log log; int stop_after, n; size_t max; } ctx;

static int on_line(void *p, const char *ev, size_t el, const char *data, size_t dl) {
    ctx *c = (ctx *)p;
    size_t i;
    FZ_CHECK(ev != NULL && el == 0 && data != NULL);
    FZ_CHECK(dl > 0 && dl <= c->max);
    FZ_CHECK(!memchr(data, '\n', dl));
    for (i = 0; i < dl && (data[i] == ' ' || data[i] == '\t'); i++) {}
    FZ_CHECK(i < dl); /* blank lines are skipped */
    fz_log_add(&c->log, "L", 1);
    fz_log_field(&c->log, data, dl);
    c->n++;
    return c->stop_after && c->n >= c->stop_after;
}

static void run(const llm_allocator *a, llm__ndjson *d, ctx *c, const char *s, size_t n, int style, uint32_t seed) {
    fz_rng rng;
    size_t pos = 0;
    int ok = 1;
    fz_rng_seed(&rng, seed);
    if (style < 0) {
        ok = llm__nd_feed(a, d, s, n, on_line, c);
    } else {
        while (ok && pos < n) {
            size_t k = fz_chunk(&rng, style, n - pos);
            ok = llm__nd_feed(a, d, s + pos, k, on_line, c);
            pos += k;
        }
    }
    if (ok) FZ_CHECK(d->err == 0 && d->line.len <= c->max);
    else FZ_CHECK(d->err == LLM_ERR_TOO_LARGE || d->err == -1);
    fz_log_add(&c->log, "F", 1);
    fz_log_u64(&c->log, (uint64_t)ok);
    if (ok) {
        int fin = llm__nd_finish(d, on_line, c);
        fz_log_u64(&c->log, (uint64_t)fin);
        FZ_CHECK(d->line.len == 0);
        if (!fin) FZ_CHECK(d->err == -1);
    }
    fz_log_u64(&c->log, (uint64_t)(int64_t)d->err);
    fz_log_u64(&c->log, (uint64_t)d->events);
    FZ_CHECK(d->events == c->n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    llm_allocator a = llm__allocator(NULL);
    const char *s;
    size_t n, lim[2];
    int style, stop, i;
    uint32_t seed;
    if (size < 2) return 0;
    seed = data[0];
    style = data[0] & 3;
    stop = data[1] >> 6;
    lim[0] = (size_t)1 << 24;
    lim[1] = 1 + (size_t)(data[1] & 63);
    s = (const char *)data + 2;
    n = size - 2;
    for (i = 0; i < 2; i++) {
        llm__ndjson d1, d2;
        ctx c1, c2;
        memset(&d1, 0, sizeof d1);
        memset(&d2, 0, sizeof d2);
        d1.max = d2.max = lim[i];
        memset(&c1, 0, sizeof c1);
        memset(&c2, 0, sizeof c2);
        c1.stop_after = c2.stop_after = stop;
        c1.max = c2.max = lim[i];
        run(&a, &d1, &c1, s, n, -1, seed);
        run(&a, &d2, &c2, s, n, style, seed);
        if (!fz_log_eq(&c1.log, &c2.log))
            fz_fail("limit %lu: one read and chunked reads (style %d) split differently", (unsigned long)lim[i], style);
        llm__buf_free(&a, &d1.line);
        llm__buf_free(&a, &d2.line);
        fz_log_free(&c1.log);
        fz_log_free(&c2.log);
    }
    return 0;
}
