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
    return th_finish("sse");
}
