/* The SSE and NDJSON decoders: every WHATWG rule, every split position of
   sample streams, bounded sizes. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "harness.h"

typedef struct rec { llm__buf log; int stop_after; int n; } rec;
static llm_allocator A;

static int on_ev(void *ctx, const char *ev, size_t el, const char *data, size_t dl) {
    rec *r = (rec *)ctx;
    llm__buf_add(&A, &r->log, "[", 1);
    llm__buf_add(&A, &r->log, ev, el);
    llm__buf_add(&A, &r->log, "|", 1);
    llm__buf_add(&A, &r->log, data, dl);
    llm__buf_add(&A, &r->log, "]", 1);
    r->n++;
    return r->stop_after && r->n >= r->stop_after;
}

/* Feeds s in chunks whose ends are given by cuts[] (ascending), returns the log. */
static char *sse_run(const char *s, size_t n, const size_t *cuts, int ncuts, size_t max, int *err, llm__sse *out_state) {
    llm__sse d;
    rec r;
    size_t pos = 0;
    int i, ok = 1;
    char *res;
    memset(&r, 0, sizeof r);
    llm__sse_init(&d, max ? max : 1 << 20);
    for (i = 0; i <= ncuts && ok; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        ok = llm__sse_feed(&A, &d, s + pos, end - pos, on_ev, &r);
        pos = end;
    }
    if (err) *err = ok ? 0 : d.err;
    res = llm__strndup(&A, r.log.p ? r.log.p : "", r.log.len);
    if (out_state) *out_state = d; else llm__sse_free(&A, &d);
    llm__buf_free(&A, &r.log);
    return res;
}
static char *sse_all(const char *s, size_t max, int *err) { return sse_run(s, strlen(s), NULL, 0, max, err, NULL); }

static void expect(const char *stream, const char *log) {
    char *got = sse_all(stream, 0, NULL);
    CHECK_STR(got, log);
    free(got);
}

static void test_line_endings(void) {
    expect("data: a\n\n", "[|a]");
    expect("data: a\r\n\r\n", "[|a]");
    expect("data: a\r\r", "[|a]");
    expect("data: a\r\ndata: b\rdata: c\n\n", "[|a\nb\nc]");
    expect("data: a\n\r\n", "[|a]");
}

static void test_fields(void) {
    expect(": keep-alive\n\ndata: x\n\n", "[|x]");                    /* comment only: no event */
    expect("data:no-space\n\n", "[|no-space]");
    expect("data:  two\n\n", "[| two]");                                /* only one space removed */
    expect("data\n\n", "[|]");                                          /* no colon: empty value */
    expect("data:\n\n", "[|]");
    expect("data: 1\ndata: 2\n\n", "[|1\n2]");                           /* joined with \n */
    expect("event: add\ndata: x\n\ndata: y\n\n", "[add|x][|y]");        /* event resets */
    expect("event: only\n\n", "");                                     /* no data: not dispatched */
    expect("id: 7\nretry: 100\nfoo: bar\ndata: z\n\n", "[|z]");         /* other fields ignored */
    expect("data: a:b: c\n\n", "[|a:b: c]");                             /* first colon splits */
    expect("data: x\n", "");                                             /* unterminated: not dispatched */
    expect("\xEF\xBB\xBF" "data: bom\n\n", "[|bom]");
    expect("\xEF\xBB" "data: x\n\n", "");      /* half a BOM is not one: it starts an unknown field */
    {
        llm__sse st;
        /* the whole input, its last line complete (sizeof - 1: the NUL
           inside the id counts, the literal's own does not) */
        static const char in[] = "id: 42\nretry: 1500\ndata: q\n\nid: bad\0x\nretry: 12a\n";
        char *got = sse_run(in, sizeof in - 1, NULL, 0, 0, NULL, &st);
        CHECK_STR(got, "[|q]");
        CHECK_STR(st.id.p, "42");        /* id with NUL ignored */
        CHECK_INT(st.retry_ms, 1500);   /* non-digit retry ignored */
        CHECK_INT(st.line.len, 0);      /* the last line was read whole */
        free(got);
        llm__sse_free(&A, &st);
        got = sse_run("retry: 2500\nid: 7\n", 18, NULL, 0, 0, NULL, &st); /* and good ones are taken */
        CHECK_INT(st.retry_ms, 2500);
        CHECK_STR(st.id.p, "7");
        free(got);
        llm__sse_free(&A, &st);
    }
}

static void test_bom_only_at_start(void) {
    char *got = sse_all("data: a\n\n\xEF\xBB\xBF" "data: b\n\n", 0, NULL);
    /* after the start a BOM is just bytes of a line whose field is then unknown */
    CHECK_STR(got, "[|a]");
    free(got);
}

/* A realistic OpenAI stream: every single cut position, and every chunking
   into pieces of 1..7 bytes, decode to the same events. */
static const char *SAMPLE =
    "\xEF\xBB\xBF: hello\r\n\r\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"h\xC3\xA9llo\"}}]}\r\n\r\n"
    "event: message\ndata: {\"a\":\n"
    "data: 1}\n\n"
    ": keep-alive\r\r"
    "id: 1\rdata: \xF0\x9F\x98\x80 emoji\r\r"
    "data: [DONE]\n\n";

static void test_every_split(void) {
    size_t n = strlen(SAMPLE), i, j;
    char *whole = sse_all(SAMPLE, 0, NULL);
    int bad = 0;
    CHECK_STR(whole, "[|{\"choices\":[{\"delta\":{\"content\":\"h\xC3\xA9llo\"}}]}][message|{\"a\":\n1}][|\xF0\x9F\x98\x80 emoji][|[DONE]]");
    for (i = 0; i <= n; i++) {
        size_t cut = i;
        char *got = sse_run(SAMPLE, n, &cut, 1, 0, NULL, NULL);
        if (strcmp(got, whole)) { bad++; if (bad < 3) fprintf(stderr, "    split at %lu differs\n", (unsigned long)i); }
        free(got);
    }
    for (i = 0; i <= n; i++) /* two cuts, every pair */
        for (j = i; j <= n; j++) {
            size_t cuts[2];
            char *got;
            cuts[0] = i;
            cuts[1] = j;
            got = sse_run(SAMPLE, n, cuts, 2, 0, NULL, NULL);
            if (strcmp(got, whole)) bad++;
            free(got);
        }
    for (j = 1; j <= 7; j++) {
        size_t cuts[512];
        int k = 0;
        char *got;
        for (i = j; i < n && k < 512; i += j) cuts[k++] = i;
        got = sse_run(SAMPLE, n, cuts, k, 0, NULL, NULL);
        if (strcmp(got, whole)) bad++;
        free(got);
    }
    CHECK_INT(bad, 0);
    free(whole);
}

/* CRLF line ends inside an event of several data lines, the CR and the LF
   in different reads at every place: one event, lines joined by '\n'. */
static void test_crlf_split_multiline(void) {
    static const char *const streams[] = { "data: a\r\ndata: b\r\ndata: c\r\n\r\ndata: d\r\n\r\n",
                                           "event: e\r\ndata: a\r\n: note\r\ndata: b\r\n\r\n", NULL };
    static const char *const want[] = { "[|a\nb\nc][|d]", "[e|a\nb]" };
    int k;
    for (k = 0; streams[k]; k++) {
        size_t n = strlen(streams[k]), i, j;
        int bad = 0;
        for (i = 0; i <= n; i++)
            for (j = i; j <= n; j++) {
                size_t cuts[2];
                char *got;
                cuts[0] = i;
                cuts[1] = j;
                got = sse_run(streams[k], n, cuts, 2, 0, NULL, NULL);
                if (strcmp(got, want[k])) {
                    if (bad++ < 3) fprintf(stderr, "    stream %d cut at %lu,%lu: %s\n", k, (unsigned long)i, (unsigned long)j, got);
                }
                free(got);
            }
        CHECK_INT(bad, 0);
    }
}

static void test_limits(void) {
    int err = 0;
    char *got;
    char big[300];
    memset(big, 'x', sizeof big);
    memcpy(big, "data: ", 6);
    big[sizeof big - 1] = '\0';
    got = sse_all(big, 100, &err); /* an unfinished line over the limit */
    CHECK_INT(err, LLM_ERR_TOO_LARGE);
    free(got);
    got = sse_all("data: 0123456789\ndata: 0123456789\ndata: 0123456789\n\n", 30, &err); /* event over the limit */
    CHECK_INT(err, LLM_ERR_TOO_LARGE);
    free(got);
    got = sse_all("data: 0123456789\n\ndata: 0123456789\n\n", 30, &err); /* each event fits */
    CHECK_INT(err, 0);
    CHECK_STR(got, "[|0123456789][|0123456789]");
    free(got);
    /* exactly at the limit is accepted, one byte over is not: one line of
       10 bytes, and three lines joined with '\n' (32 bytes) */
    got = sse_all("data: 0123456789\n\n", 10, &err);
    CHECK_INT(err, 0);
    CHECK_STR(got, "[|0123456789]");
    free(got);
    got = sse_all("data: 0123456789\n\n", 9, &err);
    CHECK_INT(err, LLM_ERR_TOO_LARGE);
    free(got);
    got = sse_all("data: 0123456789\ndata: 0123456789\ndata: 0123456789\n\n", 32, &err);
    CHECK_INT(err, 0);
    free(got);
    got = sse_all("data: 0123456789\ndata: 0123456789\ndata: 0123456789\n\n", 31, &err);
    CHECK_INT(err, LLM_ERR_TOO_LARGE);
    free(got);
    got = sse_all("event: 0123456789\ndata: x\n\n", 10, &err); /* the type too */
    CHECK_INT(err, 0);
    free(got);
    got = sse_all("event: 0123456789\ndata: x\n\n", 9, &err);
    CHECK_INT(err, LLM_ERR_TOO_LARGE);
    free(got);
}

static void test_callback_stop(void) {
    llm__sse d;
    rec r;
    int ok;
    memset(&r, 0, sizeof r);
    r.stop_after = 1;
    llm__sse_init(&d, 1000);
    ok = llm__sse_feed(&A, &d, "data: 1\n\ndata: 2\n\n", 18, on_ev, &r);
    CHECK(!ok && d.err == -1 && r.n == 1);
    llm__sse_free(&A, &d);
    llm__buf_free(&A, &r.log);
}

static char *nd_run(const char *s, size_t chunk, size_t max, int *err) {
    llm__ndjson d;
    rec r;
    size_t pos = 0, n = strlen(s);
    int ok = 1;
    char *res;
    memset(&r, 0, sizeof r);
    memset(&d, 0, sizeof d);
    d.max = max ? max : 1 << 20;
    while (pos < n && ok) {
        size_t k = chunk && n - pos > chunk ? chunk : n - pos;
        ok = llm__nd_feed(&A, &d, s + pos, k, on_ev, &r);
        pos += k;
    }
    if (ok) ok = llm__nd_finish(&d, on_ev, &r);
    if (err) *err = ok ? 0 : d.err;
    res = llm__strndup(&A, r.log.p ? r.log.p : "", r.log.len);
    llm__buf_free(&A, &d.line);
    llm__buf_free(&A, &r.log);
    return res;
}

static void test_ndjson(void) {
    const char *s = "{\"a\":1}\n\n  \n{\"b\":\"\xC3\xA9\"}\r\n{\"done\":true}";
    char *whole = nd_run(s, 0, 0, NULL);
    size_t c;
    int err = 0;
    CHECK_STR(whole, "[|{\"a\":1}][|{\"b\":\"\xC3\xA9\"}][|{\"done\":true}]");
    for (c = 1; c < strlen(s); c++) {
        char *got = nd_run(s, c, 0, NULL);
        CHECK_STR(got, whole);
        free(got);
    }
    free(whole);
    whole = nd_run("{\"a\":\"0123456789012345678901234567890123456789\"}\n", 0, 20, &err);
    CHECK_INT(err, LLM_ERR_TOO_LARGE);
    free(whole);
}

/* The state a whole stream leaves behind (the events it dispatched are
   freed). */
static llm__sse sse_state(const char *s, size_t n, size_t max) {
    llm__sse st;
    char *got = sse_run(s, n, NULL, 0, max, NULL, &st);
    free(got);
    return st;
}
static long retry_of(const char *s) {
    llm__sse st = sse_state(s, strlen(s), 0);
    long v = st.retry_ms;
    llm__sse_free(&A, &st);
    return v;
}

/* retry: -1 until a valid field; only ASCII digits, at least one, nothing
   else on the line; an invalid one keeps the last valid value; a huge one
   is clamped the way it always has been (digits stop counting once the
   value reaches 100000000, so it never overflows a 32-bit long). */
static void test_retry_field(void) {
    llm__sse d;
    llm__sse_init(&d, 100);
    CHECK_INT(d.retry_ms, -1);
    llm__sse_free(&A, &d);
    CHECK_INT(retry_of(""), -1);
    CHECK_INT(retry_of("data: x\n\nid: 1\nevent: e\ndata: y\n\n: c\n"), -1); /* events without retry: */
    CHECK_INT(retry_of("retry\n"), -1);          /* no colon: empty value */
    CHECK_INT(retry_of("retry:\n"), -1);
    CHECK_INT(retry_of("retry: \n"), -1);        /* the one space is removed: empty */
    CHECK_INT(retry_of("retry:  5\n"), -1);      /* a second space is not a digit */
    CHECK_INT(retry_of("retry: 5 \n"), -1);
    CHECK_INT(retry_of("retry: -5\n"), -1);
    CHECK_INT(retry_of("retry: +5\n"), -1);
    CHECK_INT(retry_of("retry: 1.5\n"), -1);
    CHECK_INT(retry_of("retry: 12a\n"), -1);
    CHECK_INT(retry_of("retry: a12\n"), -1);
    CHECK_INT(retry_of("Retry: 5\n"), -1);       /* field names are case-sensitive */
    CHECK_INT(retry_of("retryx: 5\n"), -1);
    CHECK_INT(retry_of("retr: 5\n"), -1);
    CHECK_INT(retry_of("retry: 5"), -1);         /* an unfinished line is not read */
    CHECK_INT(retry_of("retry: 0\n"), 0);
    CHECK_INT(retry_of("retry:7\n"), 7);
    CHECK_INT(retry_of("retry: 007\n"), 7);
    CHECK_INT(retry_of("retry: 9\r\n"), 9);
    CHECK_INT(retry_of("retry: 1500\nretry: 12a\nretry: -5\nretry:\nretry: 1 \n"), 1500); /* invalid: kept */
    CHECK_INT(retry_of("retry: 1500\nretry: 20\n"), 20);  /* valid: replaced */
    CHECK_INT(retry_of("retry: 1500\ndata: x\n\n"), 1500); /* a dispatch keeps it */
    /* the clamp, exactly: saturating at 999999999 ms, monotonic */
    CHECK_INT(retry_of("retry: 99999999\n"), 99999999L);
    CHECK_INT(retry_of("retry: 100000000\n"), 100000000L);
    CHECK_INT(retry_of("retry: 100000001\n"), 100000001L);
    CHECK_INT(retry_of("retry: 999999999\n"), 999999999L);
    CHECK_INT(retry_of("retry: 1000000000\n"), 999999999L);
    CHECK_INT(retry_of("retry: 1000000005\n"), 999999999L);
    CHECK_INT(retry_of("retry: 1234567890\n"), 999999999L);
    CHECK_INT(retry_of("retry: 99999999999999999999\n"), 999999999L);
    CHECK_INT(retry_of("retry: 99999999999999999999x\n"), -1); /* still all digits or nothing */
    { /* split anywhere, same value */
        static const char s[] = "retry: 4321\n";
        size_t i, n = sizeof s - 1;
        int bad = 0;
        for (i = 0; i <= n; i++) {
            llm__sse st;
            char *got = sse_run(s, n, &i, 1, 0, NULL, &st);
            if (st.retry_ms != 4321) bad++;
            free(got);
            llm__sse_free(&A, &st);
        }
        CHECK_INT(bad, 0);
    }
}

/* id: the last one wins, an empty one clears it, one holding NUL is
   ignored, a dispatch keeps it. */
static void test_id_field(void) {
    llm__sse st;
    static const char nul_id[] = "id: 5\nid: a\0b\ndata: x\n\n";
    st = sse_state("id: 5\nid: 6\n", 12, 0);
    CHECK_STR(st.id.p, "6");
    llm__sse_free(&A, &st);
    st = sse_state("id: 5\nid\n", 9, 0);
    CHECK_INT(st.id.len, 0);
    CHECK(st.id.p && st.id.p[0] == '\0');
    llm__sse_free(&A, &st);
    st = sse_state("id: 5\nid:\n", 10, 0);
    CHECK_INT(st.id.len, 0);
    llm__sse_free(&A, &st);
    st = sse_state(nul_id, sizeof nul_id - 1, 0);
    CHECK_STR(st.id.p, "5");
    CHECK_INT(st.id.len, 1);
    CHECK_INT(st.events, 1);
    llm__sse_free(&A, &st);
    st = sse_state("id:  7 \n", 8, 0); /* one space removed, the rest kept */
    CHECK_STR(st.id.p, " 7 ");
    llm__sse_free(&A, &st);
    st = sse_state("data: x\n\n", 9, 0);
    CHECK(st.id.p == NULL && st.id.len == 0); /* never set */
    llm__sse_free(&A, &st);
}

/* Counters, and what a dispatch resets: the event type goes even when
   nothing was dispatched, the data goes with the event. */
static void test_dispatch_state(void) {
    llm__sse st;
    size_t n = strlen(SAMPLE);
    st = sse_state(SAMPLE, n, 0);
    CHECK_INT(st.events, 4);
    CHECK_INT(st.comments, 2);
    CHECK_INT(st.has_data, 0);
    CHECK_INT(st.data.len, 0);
    CHECK_INT(st.event.len, 0);
    CHECK_INT(st.bom_seen, 3);
    CHECK_STR(st.id.p, "1");
    llm__sse_free(&A, &st);
    expect("event: a\n\ndata: x\n\n", "[|x]");            /* a type without data: gone at the blank line */
    expect("event: a\nevent: b\ndata: x\n\n", "[b|x]");   /* the last type wins */
    expect("event: a\nevent\ndata: x\n\n", "[|x]");       /* an empty type clears it */
    expect("data: a\n\n\n\ndata: b\n\n", "[|a][|b]");     /* blank lines alone dispatch nothing */
    expect("data\ndata\n\n", "[|\n]");                    /* two empty data lines: one '\n' */
    expect(":\n:x\n\n", "");
    st = sse_state(": a\n:b\r\n:\r", 10, 0);
    CHECK_INT(st.comments, 3);
    CHECK_INT(st.events, 0);
    CHECK_INT(st.skip_lf, 1); /* ended on CR: a following LF belongs to it */
    llm__sse_free(&A, &st);
    st = sse_state("data: a\n", 8, 0); /* built, not dispatched */
    CHECK_INT(st.has_data, 1);
    CHECK_STR(st.data.p, "a");
    CHECK_INT(st.events, 0);
    llm__sse_free(&A, &st);
    { /* a callback that stops: the event is counted, its state still reset */
        llm__sse d;
        rec r;
        memset(&r, 0, sizeof r);
        r.stop_after = 1;
        llm__sse_init(&d, 1000);
        CHECK(!llm__sse_feed(&A, &d, "event: e\ndata: 1\n\n", 18, on_ev, &r));
        CHECK_INT(d.err, -1);
        CHECK_INT(d.events, 1);
        CHECK_INT(d.has_data, 0);
        CHECK_INT(d.data.len, 0);
        CHECK_INT(d.event.len, 0);
        CHECK_STR(r.log.p, "[e|1]");
        llm__sse_free(&A, &d);
        llm__buf_free(&A, &r.log);
    }
}

/* The BOM: only at the very start, in any number of reads; a partial one
   is given back as bytes of the first line. */
static void test_bom_edges(void) {
    static const char bom_x[] = "\xEF\xBB\xBF" "data: x\n\n";
    size_t n = sizeof bom_x - 1, i, j;
    int bad = 0;
    char *got;
    llm__sse st;
    for (i = 0; i <= 4; i++) /* cut inside or right after the BOM, twice */
        for (j = i; j <= 4; j++) {
            size_t cuts[2];
            cuts[0] = i;
            cuts[1] = j;
            got = sse_run(bom_x, n, cuts, 2, 0, NULL, NULL);
            if (strcmp(got, "[|x]")) bad++;
            free(got);
        }
    CHECK_INT(bad, 0);
    expect("\xEF\xBB\xBF\xEF\xBB\xBF" "data: x\n\n", "");  /* a second BOM is bytes of the field name */
    expect("\xEF" "data: x\n\ndata: y\n\n", "[|y]");     /* half a BOM joins the first line */
    expect("\xEF\xBB\xBE" "data: x\n\ndata: y\n\n", "[|y]");
    expect("\xEF\n" "data: y\n\n", "[|y]");
    expect("\xBB\xBF" "data: x\n\n", "");                   /* the tail of a BOM is no BOM */
    {
        static const size_t cut1 = 1, cut2 = 2;
        got = sse_run("\xEF" "data: x\n\ndata: y\n\n", 19, &cut1, 1, 0, NULL, &st);
        CHECK_STR(got, "[|y]");
        CHECK_INT(st.bom_seen, -1);
        free(got);
        llm__sse_free(&A, &st);
        got = sse_run("\xEF\xBB" "\n" "data: y\n\n", 12, &cut2, 1, 0, NULL, &st); /* given back as a line */
        CHECK_STR(got, "[|y]");
        CHECK_INT(st.bom_seen, -1);
        free(got);
        llm__sse_free(&A, &st);
    }
    st = sse_state("\xEF\xBB", 2, 0); /* undecided: nothing read yet */
    CHECK_INT(st.bom_seen, 2);
    CHECK_INT(st.line.len, 0);
    llm__sse_free(&A, &st);
    st = sse_state("\xEF\xBB\xBF", 3, 0);
    CHECK_INT(st.bom_seen, 3);
    CHECK_INT(st.line.len, 0);
    llm__sse_free(&A, &st);
    st = sse_state("d", 1, 0); /* decided at the first byte */
    CHECK_INT(st.bom_seen, -1);
    CHECK_INT(st.line.len, 1);
    llm__sse_free(&A, &st);
    { /* the given-back bytes count towards the line's bound */
        int err = 0;
        static const size_t cut = 2;
        got = sse_run("\xEF\xBB" "0123456789012345678", 21, &cut, 1, 1, &err, NULL); /* line_max 17 */
        CHECK_INT(err, LLM_ERR_TOO_LARGE);
        free(got);
        got = sse_run("\xEF\xBB" "012345678901234", 17, &cut, 1, 1, &err, NULL); /* exactly 17: kept */
        CHECK_INT(err, 0);
        free(got);
    }
}

/* A line kept across reads grows when the rest arrives: each allocation on
   the way failed in turn makes that feed fail with LLM_ERR_NO_MEMORY (never
   a success with the error set), dispatch nothing, and leak nothing. */
static void test_line_growth_no_memory(void) {
    char rest[400];
    long k;
    int failed_some = 0;
    memset(rest, 'b', 300);
    memcpy(rest + 300, "\n\n", 3);
    for (k = 1; k <= 6; k++) {
        th_alloc ta;
        llm_allocator al;
        llm__sse d;
        rec r;
        int ok1, ok2 = 0;
        memset(&ta, 0, sizeof ta);
        memset(&r, 0, sizeof r);
        ta.fail_at = k;
        al.alloc_fn = th_alloc_fn;
        al.realloc_fn = th_realloc_fn;
        al.free_fn = th_free_fn;
        al.user_data = &ta;
        llm__sse_init(&d, 1000);
        ok1 = llm__sse_feed(&al, &d, "data: a", 7, on_ev, &r); /* kept: the line's first allocation */
        if (ok1) ok2 = llm__sse_feed(&al, &d, rest, 302, on_ev, &r);
        if (ta.allocs >= k) { /* this allocation was failed */
            failed_some = 1;
            CHECK_MSG(!(ok1 && ok2) && d.err == LLM_ERR_NO_MEMORY && r.n == 0,
                      "allocation %ld failed: feeds %d %d, err %d, %d events", k, ok1, ok2, d.err, r.n);
        } else {
            CHECK_MSG(ok1 && ok2 && d.err == 0 && r.n == 1, "no allocation failed (%ld made)", ta.allocs);
        }
        llm__sse_free(&al, &d);
        CHECK_INT(ta.live, 0);
        llm__buf_free(&A, &r.log);
    }
    CHECK(failed_some);
}

/* The given-back bytes of a partial BOM need memory like any line: when
   there is none the feed fails with LLM_ERR_NO_MEMORY and nothing is
   dispatched. */
static void test_bom_no_memory(void) {
    static const char *const rest[2] = { "data: x\n\n", "\xBB" "data: x\n\n" };
    int k;
    for (k = 0; k < 2; k++) {
        th_alloc ta;
        llm_allocator al;
        llm__sse d;
        rec r;
        memset(&ta, 0, sizeof ta);
        memset(&r, 0, sizeof r);
        ta.fail_at = 1;
        al.alloc_fn = th_alloc_fn;
        al.realloc_fn = th_realloc_fn;
        al.free_fn = th_free_fn;
        al.user_data = &ta;
        llm__sse_init(&d, 1000);
        CHECK(llm__sse_feed(&al, &d, "\xEF", 1, on_ev, &r)); /* undecided: nothing allocated */
        CHECK_INT(ta.allocs, 0);
        CHECK(!llm__sse_feed(&al, &d, rest[k], strlen(rest[k]), on_ev, &r));
        CHECK_INT(d.err, LLM_ERR_NO_MEMORY);
        CHECK_INT(r.n, 0);
        llm__sse_free(&al, &d);
        CHECK_INT(ta.live, 0);
        llm__buf_free(&A, &r.log);
    }
}

/* line_max is max + 16 (room for the field name), saturating. */
static void test_init_bounds(void) {
    llm__sse d;
    llm__sse_init(&d, 0);
    CHECK(d.max == 0 && d.line_max == 16);
    llm__sse_init(&d, 10);
    CHECK(d.max == 10 && d.line_max == 26);
    CHECK_INT(d.retry_ms, -1);
    CHECK(d.line.p == NULL && d.data.p == NULL && d.event.p == NULL && d.id.p == NULL);
    CHECK(d.has_data == 0 && d.skip_lf == 0 && d.bom_seen == 0 && d.events == 0 && d.comments == 0 && d.err == 0);
    llm__sse_init(&d, (size_t)-1);
    CHECK(d.line_max == (size_t)-1);
    llm__sse_init(&d, (size_t)-1 - 15);
    CHECK(d.line_max == (size_t)-1);
    llm__sse_init(&d, (size_t)-1 - 16);
    CHECK(d.line_max == (size_t)-1);
    llm__sse_init(&d, (size_t)-1 - 17);
    CHECK(d.line_max == (size_t)-2);
}

/* One line may hold line_max bytes (max + 16), one more is refused: read
   whole, kept unfinished, or finished across reads. Comments and unknown
   fields are bounded too. */
static void test_line_bound(void) {
    char line[64];
    int err, len;
    char *got;
    llm__sse st;
    for (len = 25; len <= 27; len++) { /* max 10: line_max 26 */
        int want = len <= 26 ? 0 : LLM_ERR_TOO_LARGE;
        size_t c;
        line[0] = ':';
        memset(line + 1, 'c', (size_t)len - 1);
        line[len] = '\n';
        line[len + 1] = '\0';
        got = sse_run(line, (size_t)len + 1, NULL, 0, 10, &err, &st); /* whole in one read */
        CHECK_MSG(err == want, "comment of %d bytes: err %d", len, err);
        if (!err) CHECK_INT(st.comments, 1);
        free(got);
        llm__sse_free(&A, &st);
        got = sse_run(line, (size_t)len, NULL, 0, 10, &err, &st); /* unfinished */
        CHECK_MSG(err == want, "unfinished line of %d bytes: err %d", len, err);
        if (!err) CHECK_INT(st.line.len, len);
        free(got);
        llm__sse_free(&A, &st);
        for (c = 1; c < (size_t)len; c++) { /* finished in a later read */
            got = sse_run(line, (size_t)len + 1, &c, 1, 10, &err, &st);
            CHECK_MSG(err == want, "line of %d bytes cut at %lu: err %d", len, (unsigned long)c, err);
            if (!err) CHECK(st.comments == 1 && st.line.len == 0);
            free(got);
            llm__sse_free(&A, &st);
        }
        { /* unfinished over two reads */
            size_t cut = (size_t)len / 2;
            got = sse_run(line, (size_t)len, &cut, 1, 10, &err, &st);
            CHECK_MSG(err == want, "unfinished line of %d bytes in two reads: err %d", len, err);
            free(got);
            llm__sse_free(&A, &st);
        }
        memcpy(line, "xxxxx", 5); /* an unknown field */
        got = sse_run(line, (size_t)len + 1, NULL, 0, 10, &err, NULL);
        CHECK_MSG(err == want, "unknown field line of %d bytes: err %d", len, err);
        free(got);
    }
    /* CRLF ends: the CR is not part of the line */
    memset(line, 'c', 26);
    line[0] = ':';
    memcpy(line + 26, "\r\n", 3);
    got = sse_run(line, 28, NULL, 0, 10, &err, NULL);
    CHECK_INT(err, 0);
    free(got);
}

/* The data of one event: max bytes, lines joined by '\n' counted. */
static void test_data_bound_edges(void) {
    int err;
    char *got;
    got = sse_all("data\n\n", 1, &err); /* max 0 holds an empty event */
    CHECK_INT(err, 0);
    free(got);
    {
        llm__sse d;
        rec r;
        memset(&r, 0, sizeof r);
        llm__sse_init(&d, 0);
        CHECK(llm__sse_feed(&A, &d, "data\n\n", 6, on_ev, &r));
        CHECK_STR(r.log.p, "[|]");
        CHECK(!llm__sse_feed(&A, &d, "data\ndata\n\n", 11, on_ev, &r)); /* the joining '\n' is one byte too many */
        CHECK_INT(d.err, LLM_ERR_TOO_LARGE);
        llm__sse_free(&A, &d);
        llm__buf_free(&A, &r.log);
        memset(&r, 0, sizeof r);
        llm__sse_init(&d, 0);
        CHECK(!llm__sse_feed(&A, &d, "data: x\n\n", 9, on_ev, &r));
        CHECK_INT(d.err, LLM_ERR_TOO_LARGE);
        llm__sse_free(&A, &d);
        llm__buf_free(&A, &r.log);
    }
    got = sse_all("data\ndata\n\n", 1, &err);
    CHECK_INT(err, 0);
    CHECK_STR(got, "[|\n]");
    free(got);
    got = sse_all("data\ndata\ndata\n\n", 1, &err);
    CHECK_INT(err, LLM_ERR_TOO_LARGE);
    free(got);
    got = sse_all("data: a\ndata\n\n", 2, &err);
    CHECK_INT(err, 0);
    CHECK_STR(got, "[|a\n]");
    free(got);
    got = sse_all("data: a\ndata: b\n\n", 2, &err);
    CHECK_INT(err, LLM_ERR_TOO_LARGE);
    free(got);
    got = sse_all("data: ab\ndata: c\n\n", 4, &err);
    CHECK_INT(err, 0);
    CHECK_STR(got, "[|ab\nc]");
    free(got);
    got = sse_all("data: ab\ndata: cd\n\n", 4, &err);
    CHECK_INT(err, LLM_ERR_TOO_LARGE);
    free(got);
    /* the bound is per event: a dispatch starts from zero */
    got = sse_all("data: abcd\n\ndata: efgh\n\ndata: ijkl\n\n", 4, &err);
    CHECK_INT(err, 0);
    CHECK_STR(got, "[|abcd][|efgh][|ijkl]");
    free(got);
    got = sse_all("event: abcd\ndata: x\n\nevent: efgh\ndata: y\n\n", 4, &err);
    CHECK_INT(err, 0);
    CHECK_STR(got, "[abcd|x][efgh|y]");
    free(got);
    got = sse_all("event: abcde\ndata: x\n\n", 4, &err);
    CHECK_INT(err, LLM_ERR_TOO_LARGE);
    free(got);
}

/* CR, LF and CRLF, with the CR as the last byte of a read and a read of
   nothing in between. */
static void test_cr_at_read_end(void) {
    static const char s1[] = "data: a\r\ndata: b\r\r";
    static const char s2[] = "data: a\r\rdata: b\n\n";
    size_t cuts[3] = { 8, 8, 9 };
    char *got = sse_run(s1, sizeof s1 - 1, cuts, 3, 0, NULL, NULL);
    CHECK_STR(got, "[|a\nb]");
    free(got);
    got = sse_run(s2, sizeof s2 - 1, cuts, 1, 0, NULL, NULL); /* CR, then CR: a blank line */
    CHECK_STR(got, "[|a][|b]");
    free(got);
    got = sse_run("\r\n\r\ndata: a\n\n", 13, cuts, 0, 0, NULL, NULL);
    CHECK_STR(got, "[|a]");
    free(got);
    {
        llm__sse st;
        static const size_t c1 = 8;
        got = sse_run("data: a\r\n", 9, &c1, 1, 0, NULL, &st);
        CHECK_INT(st.skip_lf, 0); /* the LF was taken */
        CHECK_INT(st.has_data, 1);
        free(got);
        llm__sse_free(&A, &st);
        got = sse_run("data: a\rx", 9, &c1, 1, 0, NULL, &st); /* not an LF: a line of its own */
        CHECK_INT(st.skip_lf, 0);
        CHECK_STR(st.line.p, "x");
        free(got);
        llm__sse_free(&A, &st);
    }
}

/* The byte buffer the decoders build on: growth from 64, doubling, the
   ceiling, the overflow guard at its exact edge, and a refused allocation
   leaving the buffer as it was. A recording allocator refuses anything
   over 1 MiB, so nothing huge is ever really requested. */
typedef struct rec_alloc { size_t last; long calls; } rec_alloc;
static void *ra_alloc(size_t n, void *u) {
    rec_alloc *a = (rec_alloc *)u;
    a->calls++;
    a->last = n;
    return n > ((size_t)1 << 20) ? NULL : malloc(n);
}
static void *ra_realloc(void *p, size_t n, void *u) {
    rec_alloc *a = (rec_alloc *)u;
    a->calls++;
    a->last = n;
    return n > ((size_t)1 << 20) ? NULL : realloc(p, n);
}
static void ra_free(void *p, void *u) { (void)u; free(p); }

/* Hides a size from the compiler, which would otherwise warn about the
   copy a refused add never makes. */
static size_t opaque(size_t v) { volatile size_t x = v; return x; }

static void test_buf(void) {
    rec_alloc ra;
    llm_allocator al;
    llm__buf b = { NULL, 0, 0 };
    const size_t top = (size_t)-1;
    char *s;
    memset(&ra, 0, sizeof ra);
    al.alloc_fn = ra_alloc;
    al.realloc_fn = ra_realloc;
    al.free_fn = ra_free;
    al.user_data = &ra;
    /* the first allocation is 64 bytes, NUL-terminated even when empty */
    CHECK(llm__buf_add(&al, &b, "", 0));
    CHECK(b.p != NULL && b.p[0] == '\0' && b.len == 0 && b.cap == 64);
    CHECK(ra.calls == 1 && ra.last == 64);
    /* 63 bytes and the NUL fit in 64: no new allocation; one more doubles */
    CHECK(llm__buf_add(&al, &b, "0123456789012345678901234567890123456789012345678901234567890123", 63));
    CHECK(ra.calls == 1 && b.cap == 64 && b.len == 63 && b.p[63] == '\0');
    CHECK(llm__buf_adds(&al, &b, "x"));
    CHECK(ra.calls == 2 && ra.last == 128 && b.cap == 128 && b.len == 64);
    CHECK(b.p[63] == 'x' && b.p[64] == '\0');
    /* a refusal: 0, and the buffer is untouched */
    CHECK(!llm__buf_reserve(&al, &b, (size_t)2 << 20));
    CHECK(ra.calls == 3 && b.cap == 128 && b.len == 64 && b.p[63] == 'x');
    CHECK(!llm__buf_add(&al, &b, "y", opaque((size_t)2 << 20)) && b.len == 64);
    CHECK(!llm__buf_add_max(&al, &b, "y", opaque((size_t)2 << 20), top) && b.len == 64 && b.cap == 128);
    CHECK(!llm__buf_add_max(&al, &b, "y", opaque(top - 64), top) && b.len == 64); /* the guard's refusal */
    CHECK(b.p[63] == 'x' && b.p[64] == '\0');
    llm__buf_clear(&b); /* clear keeps the room */
    CHECK(b.len == 0 && b.cap == 128 && b.p[0] == '\0');
    llm__buf_free(&al, &b);
    CHECK(b.p == NULL && b.len == 0 && b.cap == 0);
    llm__buf_clear(&b); /* nothing to clear: fine */
    /* growth in one step: 64 doubled until it holds the need */
    ra.calls = 0;
    CHECK(llm__buf_reserve(&al, &b, 200));
    CHECK(ra.calls == 1 && b.cap == 256);
    llm__buf_free(&al, &b);
    CHECK(llm__buf_reserve(&al, &b, 63));
    CHECK(b.cap == 64);
    llm__buf_free(&al, &b);
    CHECK(llm__buf_reserve(&al, &b, 64));
    CHECK(b.cap == 128);
    llm__buf_free(&al, &b);
    /* the ceiling: never beyond it unless the need is */
    CHECK(llm__buf_reserve_max(&al, &b, 10, 32) && b.cap == 32);
    llm__buf_free(&al, &b);
    CHECK(llm__buf_reserve_max(&al, &b, 10, 12) && b.cap == 12);
    llm__buf_free(&al, &b);
    CHECK(llm__buf_reserve_max(&al, &b, 10, 11) && b.cap == 11);
    llm__buf_free(&al, &b);
    CHECK(llm__buf_reserve_max(&al, &b, 10, 5) && b.cap == 11);
    llm__buf_free(&al, &b);
    CHECK(llm__buf_reserve_max(&al, &b, 10, 64) && b.cap == 64);
    llm__buf_free(&al, &b);
    CHECK(llm__buf_reserve_max(&al, &b, 10, 63) && b.cap == 63);
    CHECK(llm__buf_add_max(&al, &b, "0123456789", 10, 63) && b.len == 10);
    CHECK_STR(b.p, "0123456789");
    CHECK(llm__buf_add_max(&al, &b, "0123456789012345678901234567890123456789012345678901", 52, 63)); /* 62 + NUL */
    CHECK(b.cap == 63 && b.len == 62 && b.p[62] == '\0');
    CHECK(!memcmp(b.p + 10, "0123456789", 10) && !memcmp(b.p + 60, "01", 2));
    CHECK(llm__buf_add_max(&al, &b, "ab", 2, 100) && b.cap == 100 && b.len == 64); /* 126 > 100 */
    CHECK(!memcmp(b.p + 60, "01ab", 5));
    CHECK(llm__buf_add_max(&al, &b, "", 0, 100) && b.len == 64 && b.p[64] == '\0');
    CHECK(llm__buf_add_max(&al, &b, "0123456789012345678901234567890123456789", 40, 100) && b.cap == 105); /* 128 > 100 < 105: the need */
    llm__buf_free(&al, &b);
    /* the overflow guard: extra == SIZE_MAX - len - 1 needs SIZE_MAX bytes,
       which is asked of the allocator (and refused); one more cannot be
       counted and is refused before any allocation */
    ra.calls = 0;
    ra.last = 0;
    CHECK(!llm__buf_reserve(&al, &b, top - 1));
    CHECK(ra.calls == 1 && ra.last == top);
    CHECK(b.p == NULL && b.cap == 0);
    CHECK(!llm__buf_reserve(&al, &b, top));
    CHECK(ra.calls == 1);
    CHECK(llm__buf_add(&al, &b, "0123456789", 10));
    ra.calls = 0;
    CHECK(!llm__buf_reserve(&al, &b, top - 11));
    CHECK(ra.calls == 1 && ra.last == top);
    CHECK(!llm__buf_reserve_max(&al, &b, top - 11, 100));
    CHECK(ra.calls == 2 && ra.last == top);
    CHECK(!llm__buf_reserve(&al, &b, top - 10));
    CHECK(!llm__buf_add(&al, &b, "x", opaque(top - 10)));
    CHECK(ra.calls == 2);
    CHECK(b.len == 10 && b.cap == 64 && !strcmp(b.p, "0123456789"));
    llm__buf_free(&al, &b);
    { /* doubling up to the top of size_t: a capacity of SIZE_MAX / 2
         doubles to SIZE_MAX - 1 (asked of the allocator, refused, the
         buffer untouched) */
        char room[1] = { 0 };
        llm__buf half;
        half.p = room;
        half.len = 0;
        half.cap = top / 2;
        ra.calls = 0;
        CHECK(!llm__buf_reserve(&al, &half, top / 2 + 5));
        CHECK(ra.calls == 1 && ra.last == top - 1);
        CHECK(half.p == room && half.cap == top / 2);
        CHECK(!llm__buf_reserve(&al, &half, top - 1)); /* more than double: the need itself */
        CHECK(ra.calls == 2 && ra.last == top);
    }
    { /* the guard alone: a buffer that already has all the room there is */
        char room[1] = { 0 };
        llm__buf big;
        big.p = room;
        big.len = top - 100;
        big.cap = top;
        ra.calls = 0;
        CHECK(llm__buf_reserve(&al, &big, 99) == 1);
        CHECK(llm__buf_reserve(&al, &big, 100) == 0);
        CHECK(llm__buf_reserve(&al, &big, top) == 0);
        CHECK(ra.calls == 0);
    }
    /* strndup: SIZE_MAX cannot hold its NUL; 0 is an empty string */
    ra.calls = 0;
    CHECK(llm__strndup(&al, "x", top) == NULL);
    CHECK(ra.calls == 0);
    s = llm__strndup(&al, "abc", 2);
    CHECK(s && !strcmp(s, "ab") && ra.last == 3);
    llm__free(&al, s);
    s = llm__strndup(&al, "abc", 0);
    CHECK(s && s[0] == '\0' && ra.last == 1);
    llm__free(&al, s);
    CHECK(llm__strdup(&al, NULL) == NULL);
    s = (char *)llm__malloc(&al, 0); /* 0 bytes: asked as 1 */
    CHECK(s && ra.last == 1);
    s = (char *)llm__realloc(&al, s, 0);
    CHECK(s && ra.last == 1);
    llm__free(&al, s);
    ra.last = 0;
    s = (char *)llm__realloc(&al, NULL, 0); /* nothing yet: an allocation, of 1 */
    CHECK(s && ra.last == 1);
    llm__free(&al, s);
    s = (char *)llm__calloc(&al, 40);
    CHECK(s && ra.last == 40);
    if (s) { int i, nz = 0; for (i = 0; i < 40; i++) nz += s[i] != 0; CHECK_INT(nz, 0); }
    llm__free(&al, s);
    llm__free(&al, NULL);
}

/* NDJSON: a line of max bytes fits, one more does not, whole, in pieces or
   unfinished at the end; CR before LF and blank lines are dropped. */
static void test_ndjson_bounds(void) {
    static const char *const ok_in[] = { "0123456789\n", "0123456789", "ab\n0123456789\n", NULL };
    static const char *const big_in[] = { "01234567890\n", "01234567890", "ab\n01234567890\n", NULL };
    int i, err;
    size_t c;
    char *got;
    for (i = 0; ok_in[i]; i++)
        for (c = 0; c <= 4; c++) {
            got = nd_run(ok_in[i], c, 10, &err);
            CHECK_MSG(err == 0, "\"%s\" in pieces of %lu: err %d", ok_in[i], (unsigned long)c, err);
            CHECK(strstr(got, "[|0123456789]") != NULL);
            free(got);
            got = nd_run(big_in[i], c, 10, &err);
            CHECK_MSG(err == LLM_ERR_TOO_LARGE, "\"%s\" in pieces of %lu: err %d", big_in[i], (unsigned long)c, err);
            free(got);
        }
    got = nd_run("a\r\n\r\n \t\n\t\r\nb", 0, 0, &err);
    CHECK_INT(err, 0);
    CHECK_STR(got, "[|a][|b]");
    free(got);
    got = nd_run("x\r", 0, 0, &err); /* a last line without LF: its CR goes too */
    CHECK_STR(got, "[|x]");
    free(got);
    { /* counted events; a callback that stops; a finish with nothing left */
        llm__ndjson d;
        rec r;
        memset(&d, 0, sizeof d);
        memset(&r, 0, sizeof r);
        d.max = 100;
        CHECK(llm__nd_feed(&A, &d, "1\n\n \n2\n3", 8, on_ev, &r));
        CHECK_INT(d.events, 2);
        CHECK(llm__nd_finish(&d, on_ev, &r));
        CHECK_INT(d.events, 3);
        CHECK(llm__nd_finish(&d, on_ev, &r)); /* nothing pending: fine, no event */
        CHECK_INT(d.events, 3);
        CHECK_INT(d.err, 0);
        r.stop_after = 4;
        CHECK(!llm__nd_feed(&A, &d, "4\n5\n", 4, on_ev, &r));
        CHECK_INT(d.err, -1);
        CHECK_INT(d.events, 4);
        CHECK_STR(r.log.p, "[|1][|2][|3][|4]");
        llm__buf_free(&A, &d.line);
        llm__buf_free(&A, &r.log);
    }
}

int main(int argc, char **argv) {
    A = llm__allocator(NULL);
    RUN(test_line_endings);
    RUN(test_fields);
    RUN(test_bom_only_at_start);
    RUN(test_every_split);
    RUN(test_crlf_split_multiline);
    RUN(test_limits);
    RUN(test_callback_stop);
    RUN(test_ndjson);
    RUN(test_retry_field);
    RUN(test_id_field);
    RUN(test_dispatch_state);
    RUN(test_bom_edges);
    RUN(test_bom_no_memory);
    RUN(test_line_growth_no_memory);
    RUN(test_init_bounds);
    RUN(test_line_bound);
    RUN(test_data_bound_edges);
    RUN(test_cr_at_read_end);
    RUN(test_buf);
    RUN(test_ndjson_bounds);
    return th_finish("sse");
}
