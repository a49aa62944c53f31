/* libFuzzer harness: the SSE decoder (llm__sse_init / _feed / _reset /
   _free).

   Input: byte 0 seeds the PRNG that cuts the stream into reads (and picks
   the cutting style), byte 1 configures the run:
     bits 0..5  the small event limit: 1..64 bytes
     bits 6..7  the callback stops the stream after that many events (0: never)
   the rest is the byte stream as a server would send it.

   Each feed writes a log: every dispatched event (type, data, the last
   event id and retry value at that moment), then the final state (ok,
   err, counters, pending line/data, id, retry). It aborts when
     - feeding the stream in one read and in the PRNG's reads disagree on
       any of it, with a large limit and with the small one (so the limit
       trips at the same place however the bytes arrive);
     - a dispatched event breaks the decoder's own rules (data or type over
       the limit, an id holding NUL, an error code outside its set).
   Leaks are LeakSanitizer's job. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "fuzz_util.h"

typedef struct ctx { fz_log log; llm__sse *d; int stop_after, n; size_t max; } ctx;

static int on_event(void *p, const char *ev, size_t el, const char *data, size_t dl) {
    ctx *c = (ctx *)p;
    FZ_CHECK(ev != NULL && data != NULL);
    if (dl > c->max) fz_fail("event data of %lu bytes over the limit %lu", (unsigned long)dl, (unsigned long)c->max);
    if (el > c->max) fz_fail("event type of %lu bytes over the limit", (unsigned long)el);
    FZ_CHECK(!memchr(ev, '\n', el) && !memchr(ev, '\r', el));
    FZ_CHECK(!memchr(data, '\r', dl));
    fz_log_add(&c->log, "E", 1);
    fz_log_field(&c->log, ev, el);
    fz_log_field(&c->log, data, dl);
    fz_log_field(&c->log, c->d->id.p ? c->d->id.p : "", c->d->id.len);
    FZ_CHECK(!c->d->id.len || !memchr(c->d->id.p, '\0', c->d->id.len));
    fz_log_u64(&c->log, (uint64_t)(int64_t)c->d->retry_ms);
    c->n++;
    return c->stop_after && c->n >= c->stop_after;
}

static void final_state(ctx *c, const llm__sse *d, int ok) {
    fz_log_add(&c->log, "F", 1);
    fz_log_u64(&c->log, (uint64_t)ok);
    fz_log_u64(&c->log, (uint64_t)(int64_t)d->err);
    if (!ok) return; /* after an error the decoder is dead: its buffers are unspecified */
    fz_log_u64(&c->log, (uint64_t)d->events);
    fz_log_u64(&c->log, (uint64_t)d->comments);
    fz_log_u64(&c->log, (uint64_t)d->has_data);
    fz_log_u64(&c->log, (uint64_t)d->skip_lf);
    fz_log_u64(&c->log, (uint64_t)(int64_t)d->bom_seen);
    fz_log_u64(&c->log, (uint64_t)(int64_t)d->retry_ms);
    fz_log_field(&c->log, d->line.p ? d->line.p : "", d->line.len);
    fz_log_field(&c->log, d->data.p ? d->data.p : "", d->data.len);
    fz_log_field(&c->log, d->event.p ? d->event.p : "", d->event.len);
    fz_log_field(&c->log, d->id.p ? d->id.p : "", d->id.len);
}

/* Feeds s[0..n) in one read (style < 0) or in reads cut by the PRNG. */
static void run(const llm_allocator *a, llm__sse *d, ctx *c, const char *s, size_t n, int style, uint32_t seed) {
    fz_rng rng;
    size_t pos = 0;
    int ok = 1;
    c->d = d;
    c->n = 0;
    fz_rng_seed(&rng, seed);
    if (style < 0) {
        ok = llm__sse_feed(a, d, s, n, on_event, c);
    } else {
        while (ok && pos < n) {
            size_t k = fz_chunk(&rng, style, n - pos);
            ok = llm__sse_feed(a, d, s + pos, k, on_event, c);
            pos += k;
        }
    }
    if (!ok) FZ_CHECK(d->err == LLM_ERR_TOO_LARGE || d->err == -1); /* no memory: not under the fuzzer */
    else FZ_CHECK(d->err == 0);
    if (ok) FZ_CHECK(d->line.len <= c->max + LLM__SSE_FIELD_ROOM && d->data.len <= c->max);
    final_state(c, d, ok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    llm_allocator a = llm__allocator(NULL);
    const char *s;
    size_t n, big = (size_t)1 << 24, small;
    int style, stop;
    uint32_t seed;
    llm__sse d1, d2;
    ctx c1, c2;
    size_t lim[2];
    int i;
    if (size < 2) return 0;
    seed = data[0];
    style = data[0] & 3;
    small = 1 + (data[1] & 63);
    stop = data[1] >> 6;
    s = (const char *)data + 2;
    n = size - 2;
    lim[0] = big;
    lim[1] = small;
    for (i = 0; i < 2; i++) {
        memset(&c1, 0, sizeof c1);
        memset(&c2, 0, sizeof c2);
        c1.stop_after = c2.stop_after = stop;
        c1.max = c2.max = lim[i];
        llm__sse_init(&d1, lim[i]);
        llm__sse_init(&d2, lim[i]);
        run(&a, &d1, &c1, s, n, -1, seed);
        run(&a, &d2, &c2, s, n, style, seed);
        if (!fz_log_eq(&c1.log, &c2.log))
            fz_fail("limit %lu: one read and chunked reads (style %d) decode differently", (unsigned long)lim[i], style);
        llm__sse_free(&a, &d1);
        llm__sse_free(&a, &d2);
        fz_log_free(&c1.log);
        fz_log_free(&c2.log);
    }
    return 0;
}
