/* Hardening against hostile servers, end to end against the mock: memory
   bounded by the response whatever its shape, no undefined behaviour on
   hostile numbers, empty streams retried, keys masked in every encoding,
   error kinds that say what happened, misuse caught, proxies controlled.
   Each test fails on llmasync 0.1.0. Every wait is bounded. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "harness.h"
#include <malloc.h>
#include <float.h>
#include "mockctl.h"
#include <sys/wait.h>
#include <locale.h>

static mock M;
static th_alloc A;
static llm_allocator AL;

/* A key of 38 bytes, like a real one; a server may echo it. */
#define KEY "sk-proj-Zq3vN8rT1wXy5bK0mPc7LhGd2fJsA9"
#define AKEY "sk-ant-api03-Hq8wZ2xN5vB7mK1pR4tY6uJ0"

static llm__buf LOG;
static void log_fn(llm_log_level lv, const char *msg, void *ud) {
    (void)lv;
    (void)ud;
    llm__buf_adds(&AL, &LOG, msg);
    llm__buf_adds(&AL, &LOG, "\n");
}

typedef struct cfg { size_t max_response; int max_retries; const char *proxy, *no_proxy, *base; int counted; } cfg;
static llm_client *client_cfg(const cfg *k) {
    llm_client_desc d;
    memset(&d, 0, sizeof d);
    d.base_url = k && k->base ? k->base : M.openai;
    d.api_key = KEY;
    d.anthropic_base_url = M.base;
    d.anthropic_api_key = AKEY;
    d.ollama_host = M.base;
    d.max_response_bytes = k ? k->max_response : 0;
    d.max_retries = k && k->max_retries ? k->max_retries : -1;
    d.retry_max_delay_ms = 1000;
    d.proxy = k ? k->proxy : NULL;
    d.no_proxy = k ? k->no_proxy : NULL;
    d.log_fn = log_fn;
    if (k && k->counted) {
        d.allocator.alloc_fn = th_alloc_fn;
        d.allocator.realloc_fn = th_realloc_fn;
        d.allocator.free_fn = th_free_fn;
        d.allocator.user_data = &A;
    }
    return llm_client_new(&d);
}
static llm_client *client(void) { return client_cfg(NULL); }

static llm_request *chat(llm_client *c, const char *model, const char *directive, int stream) {
    llm_message m = { "user", "question", NULL, NULL, NULL, NULL, 0 };
    llm_chat_desc d;
    char hdr[400];
    const char *h[1];
    memset(&d, 0, sizeof d);
    d.model = model;
    d.messages = &m;
    d.n_messages = 1;
    d.stream = stream;
    snprintf(hdr, sizeof hdr, "X-Mock: %s", directive);
    h[0] = hdr;
    d.headers = h;
    d.n_headers = 1;
    return llm_chat(c, &d);
}
static llm_request *raw(llm_client *c, const char *directive) {
    llm_raw_desc d;
    char hdr[400];
    const char *h[1];
    memset(&d, 0, sizeof d);
    d.path = "/v1/anything";
    d.body_json = "{\"x\":1}";
    snprintf(hdr, sizeof hdr, "X-Mock: %s", directive);
    h[0] = hdr;
    d.headers = h;
    d.n_headers = 1;
    return llm_raw(c, &d);
}
static llm_request *embed(llm_client *c, const char *model, int n, int batch, const char *directive) {
    static const char *in[8] = { "one", "two", "three", "four", "five", "six", "seven", "eight" };
    llm_embed_desc d;
    char hdr[400];
    const char *h[1];
    memset(&d, 0, sizeof d);
    d.model = model;
    d.inputs = in;
    d.n_inputs = n;
    d.batch_size = batch;
    snprintf(hdr, sizeof hdr, "X-Mock: %s", directive);
    h[0] = hdr;
    d.headers = h;
    d.n_headers = 1;
    return llm_embed(c, &d);
}
static llm_request *done(llm_client *c, llm_request *r) {
    llm_request *got = th_next(c, 20000);
    CHECK_MSG(got == r, "request not reported in time");
    return got;
}

/* -------------------------------------------------------------- memory -- */

/* The library's peak heap while one response is handled, over what it held
   before: at most 2 x max_response_bytes + 1 MiB, whatever the shape. */
static void bounded(const char *what, const char *directive, int raw_call, llm_error_kind want) {
    cfg k;
    llm_client *c;
    llm_request *r;
    long before, bound;
    memset(&k, 0, sizeof k);
    k.max_response = (size_t)4 << 20;
    k.counted = 1;
    memset(&A, 0, sizeof A);
    c = client_cfg(&k);
    r = raw_call ? raw(c, directive) : chat(c, "mock-model", directive, 0);
    before = A.live_bytes;
    A.peak_live_bytes = before;
    if (done(c, r) == r) {
        const llm_error *e = llm_request_error(r);
        CHECK_MSG(e->kind == want, "%s: kind %s, want %s (%s)", what, llm_error_string(e->kind), llm_error_string(want), e->message);
        if (want == LLM_ERR_TOO_LARGE) /* the bound named exactly: 2 x 4 MiB + 1 MiB */
            CHECK_MSG(strstr(e->message, "= 9437184 bytes") != NULL, "%s: %s", what, e->message);
    }
    bound = (long)(2 * k.max_response + ((size_t)1 << 20));
    CHECK_MSG(A.peak_live_bytes - before <= bound, "%s: peak %.1f MiB over a bound of %.1f MiB", what,
              (A.peak_live_bytes - before) / 1048576.0, bound / 1048576.0);
    if (th_verbose)
        fprintf(stderr, "    %-28s peak %6.2f MiB of %.2f, %s\n", what, (A.peak_live_bytes - before) / 1048576.0,
                bound / 1048576.0, llm_error_string(llm_request_error(r)->kind));
    llm_request_free(r);
    llm_client_free(c);
    CHECK_INT(A.live, 0);
}

static void test_memory_bound_any_shape(void) {
    /* 3.9 MB bodies under a 4 MiB max_response_bytes: a value used to cost
       48 bytes, so [0,0,...] asked for about 94 MB */
    bounded("zeros", "fill=zeros huge_bytes=3900000", 0, LLM_ERR_TOO_LARGE);
    bounded("empty arrays and objects", "fill=empties huge_bytes=3900000", 0, LLM_ERR_TOO_LARGE);
    bounded("nested 100 deep", "fill=nested huge_bytes=3900000", 0, LLM_ERR_TOO_LARGE);
    bounded("many keys", "fill=keys huge_bytes=3900000", 0, LLM_ERR_TOO_LARGE);
    /* the same shapes as error bodies: the status still says what happened */
    bounded("zeros as a 500 body", "status=500 fill=zeros huge_bytes=3900000", 0, LLM_ERR_SERVER);
    bounded("keys as a 429 body", "status=429 fill=keys huge_bytes=3900000", 0, LLM_ERR_RATE_LIMIT);
    /* a raw call gets the whole document: parsed when it fits */
    bounded("3.9 MB string (raw)", "fault=huge huge_bytes=3900000", 1, LLM_ERR_NONE);
    bounded("small zeros (raw)", "fill=zeros huge_bytes=200000", 1, LLM_ERR_NONE);
}

/* An embeddings answer whose first vector is long but whose others are
   missing: refused before n_inputs x dimension floats are allocated. */
static void test_huge_vector(void) {
    cfg k;
    llm_client *c;
    llm_request *r;
    memset(&k, 0, sizeof k);
    k.counted = 1;
    memset(&A, 0, sizeof A);
    c = client_cfg(&k);
    r = embed(c, "mock-embed", 8, 0, "long_vector=1000000"); /* 4 MB: 8 x 1M floats would be 32 MB */
    if (done(c, r) == r) {
        CHECK_INT(llm_request_error(r)->kind, LLM_ERR_PROTOCOL);
        CHECK_MSG(strstr(llm_request_error(r)->message, "1 of 8") != NULL, "%s", llm_request_error(r)->message);
    }
    /* body 4 MB + its parsed tree (48 B a value today: 48 MB); 8 x 1M
       floats (32 MB more) are never allocated */
    CHECK_MSG(A.peak_live_bytes < (56L << 20), "peak %.1f MiB", A.peak_live_bytes / 1048576.0);
    llm_request_free(r);
    r = embed(c, "ollama/mock-embed", 8, 0, "long_vector=1000000");
    if (done(c, r) == r) CHECK_INT(llm_request_error(r)->kind, LLM_ERR_PROTOCOL);
    llm_request_free(r);
    llm_client_free(c);
    CHECK_INT(A.live, 0);
}

/* A malformed vector (here an empty one) is the server's answer, not a
   transient fault: PROTOCOL, not retryable, not retried, on both APIs. */
static void test_malformed_vector_not_retried(void) {
    cfg k;
    llm_client *c;
    llm_request *r;
    const char *models[2] = { "mock-embed", "ollama/mock-embed" };
    int i;
    memset(&k, 0, sizeof k);
    k.max_retries = 2;
    c = client_cfg(&k);
    for (i = 0; i < 2; i++) {
        r = embed(c, models[i], 1, 0, "long_vector=0");
        if (done(c, r) == r) {
            const llm_error *e = llm_request_error(r);
            CHECK_MSG(e->kind == LLM_ERR_PROTOCOL && strstr(e->message, "malformed"), "%s: %s", models[i], e->message);
            CHECK_INT(e->retryable, 0);
            CHECK_INT(e->retries, 0);
        }
        llm_request_free(r);
    }
    llm_client_free(c);
}

/* Every vector there but each too long for the bound: TOO_LARGE before the
   allocation (a unit check with a small bound). */
static void test_vectors_beyond_bound(void) {
    cfg k;
    llm_client *c;
    llm_request *r;
    llm__buf b = { NULL, 0, 0 };
    llm_json_value *v;
    int i, j;
    memset(&k, 0, sizeof k);
    k.max_response = 100000; /* bound: 2 x 100000 + 1 MiB */
    c = client_cfg(&k);
    r = llm__new_request(c, LLM__K_EMBED);
    r->n_inputs = 8;
    llm__buf_adds(&AL, &b, "{\"data\":[");
    for (i = 0; i < 8; i++) {
        llm__buf_adds(&AL, &b, i ? ",{\"index\":" : "{\"index\":");
        llm__buf_add(&AL, &b, "01234567" + i, 1);
        llm__buf_adds(&AL, &b, ",\"embedding\":[");
        for (j = 0; j < 60000; j++) llm__buf_adds(&AL, &b, j ? ",1" : "1");
        llm__buf_adds(&AL, &b, "]}");
    }
    llm__buf_adds(&AL, &b, "]}");
    v = llm_json_parse(b.p, b.len, NULL, NULL);
    CHECK(v != NULL);
    llm__decode_embed(r, v); /* 8 x 60000 floats = 1.9 MB > 1.2 MB */
    CHECK_INT(r->a.abort_kind, LLM_ERR_TOO_LARGE);
    CHECK(r->a.vec == NULL);
    llm_json_free(v);
    free(b.p);
    llm__destroy(r);
    llm_client_free(c);
}

/* ------------------------------------------------------------- numbers -- */

static void test_int64_usage_saturates(void) {
    llm_client *c = client();
    llm_request *r;
    const char *models[] = { "mock-model", "anthropic/claude-mock", "ollama/llama-mock" };
    int i, stream;
    for (i = 0; i < 3; i++)
        for (stream = 0; stream < 2; stream++) {
            r = chat(c, models[i], "usage_max=1 tokens=3", stream);
            if (done(c, r) == r) {
                const llm_usage *u = llm_request_usage(r);
                CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s: %s", models[i], llm_request_error(r)->message);
                CHECK_MSG(u->total_tokens == INT64_MAX, "%s stream %d: total %lld", models[i], stream, (long long)u->total_tokens);
                CHECK(u->prompt_tokens == INT64_MAX && u->completion_tokens == INT64_MAX);
            }
            llm_request_free(r);
        }
    /* batched embeddings sum their batches' usage */
    r = embed(c, "mock-embed", 6, 2, "usage_max=1");
    if (done(c, r) == r) {
        CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s", llm_request_error(r)->message);
        CHECK(llm_request_usage(r)->prompt_tokens == INT64_MAX);
        CHECK(llm_request_usage(r)->total_tokens == INT64_MAX);
    }
    llm_request_free(r);
    { /* and the other way round */
        llm_usage u;
        const char *j = "{\"input_tokens\":-9223372036854775808,\"output_tokens\":-5}";
        llm_json_value *v = llm_json_parse(j, strlen(j), NULL, NULL);
        memset(&u, 0, sizeof u);
        llm__usage_read(&u, v);
        CHECK(u.total_tokens == INT64_MIN);
        llm_json_free(v);
        CHECK(llm__sat_add(INT64_MAX, 1) == INT64_MAX && llm__sat_add(INT64_MIN, -1) == INT64_MIN && llm__sat_add(2, -3) == -1);
    }
    llm_client_free(c);
}

/* Embedding values beyond float's range are refused, not converted; float's
   own extremes, exactly, are kept. */
static void test_float_range(void) {
    static const struct { const char *vec; int ok; } cs[] = {
        { "[1e300,2]", 0 }, { "[2,-1e300]", 0 }, { "[3.4028235677973366e38,0]", 0 }, /* the next double past FLT_MAX */
        { "[0,-3.4028235677973366e38]", 0 }, { "[1e39,0]", 0 },
        { "[3.4028234663852886e38,-3.4028234663852886e38]", 1 }, /* FLT_MAX, -FLT_MAX */
        { "[1.401298464324817e-45,-0.0]", 1 },
    };
    llm_client *c = client();
    size_t i;
    for (i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        llm_request *r = llm__new_request(c, LLM__K_EMBED);
        char j[200];
        llm_json_value *v;
        snprintf(j, sizeof j, "{\"data\":[{\"index\":0,\"embedding\":%s}]}", cs[i].vec);
        v = llm_json_parse(j, strlen(j), NULL, NULL);
        r->n_inputs = 1;
        llm__decode_embed(r, v);
        CHECK_MSG(r->a.abort_kind == (cs[i].ok ? 0 : LLM_ERR_PROTOCOL), "%s: abort %d", cs[i].vec, r->a.abort_kind);
        if (cs[i].ok && !r->a.abort_kind) {
            CHECK(r->a.n_vec == 1 && r->a.dim == 2);
            if (i == 5) CHECK(r->a.vec[0] == FLT_MAX && r->a.vec[1] == -FLT_MAX);
            else CHECK_MSG(r->a.vec[0] > 0 && (double)r->a.vec[0] < 2e-45 && r->a.vec[1] == 0, "%g %g", r->a.vec[0], r->a.vec[1]);
        }
        llm_json_free(v);
        llm__destroy(r);
    }
    llm_client_free(c);
}

/* -------------------------------------------------------- empty stream -- */

static void test_empty_stream_is_retried(void) {
    cfg k;
    llm_client *c;
    llm_request *r;
    const char *models[] = { "mock-model", "anthropic/claude-mock", "ollama/llama-mock" };
    int i;
    memset(&k, 0, sizeof k);
    k.max_retries = 2;
    c = client_cfg(&k);
    for (i = 0; i < 3; i++) {
        char dir[128];
        /* cut right after the headers, then a good answer */
        snprintf(dir, sizeof dir, "fault=empty_stream id=empty%d fail_first=1 retry_after_ms=10 tokens=3", i);
        r = chat(c, models[i], dir, 1);
        if (done(c, r) == r) {
            CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s: %s", models[i], llm_request_error(r)->message);
            CHECK_INT(llm_request_error(r)->retries, 1);
            CHECK_STR(llm_request_text(r, NULL), "tok0 tok1 tok2");
        }
        llm_request_free(r);
        /* always cut: the stream-cut error, retryable, retries spent */
        r = chat(c, models[i], "fault=empty_stream retry_after_ms=10", 1);
        if (done(c, r) == r) {
            const llm_error *e = llm_request_error(r);
            CHECK_INT(e->kind, LLM_ERR_PROTOCOL);
            CHECK(e->retryable == 1);
            CHECK_INT(e->retries, 2);
            CHECK_MSG(strstr(e->message, "stream ended before its end marker") != NULL, "%s", e->message);
        }
        llm_request_free(r);
    }
    llm_client_free(c);
}

/* ---------------------------------------------------------------- keys -- */

/* 8 or more consecutive characters of a key, plainly or encoded. */
static int hexv(int ch) {
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}
static int key_run(const char *s) {
    static const char *keys[] = { KEY, AKEY };
    char dec[16384];
    size_t n = 0, i, j, k;
    if (!s) return 0;
    for (i = 0; s[i] && n < sizeof dec - 1; i++) {
        if (s[i] == '%' && hexv((unsigned char)s[i + 1]) >= 0 && hexv((unsigned char)s[i + 2]) >= 0) {
            dec[n++] = (char)(hexv((unsigned char)s[i + 1]) * 16 + hexv((unsigned char)s[i + 2]));
            i += 2;
        } else if (s[i] == '\\' && s[i + 1] == 'u' && s[i + 2] && s[i + 3] && hexv((unsigned char)s[i + 4]) >= 0 &&
                   hexv((unsigned char)s[i + 5]) >= 0) {
            dec[n++] = (char)(hexv((unsigned char)s[i + 4]) * 16 + hexv((unsigned char)s[i + 5]));
            i += 5;
        } else {
            dec[n++] = s[i];
        }
    }
    dec[n] = '\0';
    for (k = 0; k < 2; k++)
        for (j = 0; j + 8 <= strlen(keys[k]); j++) {
            char w[9];
            memcpy(w, keys[k] + j, 8);
            w[8] = '\0';
            if (strstr(dec, w)) return 1;
        }
    return 0;
}
static int error_has_key(const llm_error *e) {
    return key_run(e->message) || key_run(e->provider_message) || key_run(e->type) || key_run(e->code) ||
           key_run(e->param) || key_run(e->request_id);
}

static void test_keys_masked_everywhere(void) {
    static const char *modes[] = { "echo_key=plain", "echo_key=json", "echo_key=url", "echo_key=split",
                                   "echo_key=location", "echo_key=reqid status=500", "echo_key=reqid",
                                   "echo_key=event tokens=4 error_after=0", "echo_key=plain status=429 retry_after_ms=5",
                                   "echo_key=url status=403", NULL };
    static const char *models[] = { "mock-model", "anthropic/claude-mock", "ollama/llama-mock" };
    cfg k;
    llm_client *c;
    int i, m;
    memset(&k, 0, sizeof k);
    k.max_retries = 1;
    c = client_cfg(&k);
    LOG.len = 0;
    for (m = 0; m < 3; m++)
        for (i = 0; modes[i]; i++) {
            llm_request *r = chat(c, models[m], modes[i], strstr(modes[i], "event") != NULL);
            if (done(c, r) == r) {
                const llm_error *e = llm_request_error(r);
                CHECK_MSG(!error_has_key(e), "%s %s: %s | %s | %s", models[m], modes[i], e->message,
                          e->provider_message ? e->provider_message : "-", e->request_id ? e->request_id : "-");
                if (!strcmp(modes[i], "echo_key=reqid") && m < 2) /* Ollama has no key to echo */
                    CHECK_MSG(llm_request_status(r) == LLM_DONE && e->request_id && !strcmp(e->request_id, "***"),
                              "%s: request id %s", models[m], e->request_id ? e->request_id : "NULL");
                if (strstr(modes[i], "location") && m == 0)
                    CHECK_MSG(strstr(e->message, "redirect to http://127.0.0.1/xxxx") != NULL, "%s", e->message);
                CHECK(!key_run(llm_request_id(r)) && !key_run(llm_request_model(r)));
            }
            llm_request_free(r);
        }
    CHECK(LOG.len > 0);
    CHECK_MSG(!key_run(LOG.p ? LOG.p : ""), "a log line holds the key");
    llm_client_free(c);
}

/* A rejected desc never echoes a base URL: it may hold a secret. */
static void test_rejected_desc_no_secret(void) {
    llm_client_desc d;
    llm_client *c;
    llm_request *r;
    memset(&d, 0, sizeof d);
    d.base_url = "ftp://user:" KEY "@host/v1";
    d.api_key = "x";
    c = llm_client_new(&d);
    r = chat(c, "mock-model", "", 0);
    CHECK_INT(llm_request_error(r)->kind, LLM_ERR_INVALID);
    CHECK_MSG(strstr(llm_request_error(r)->message, "base_url") != NULL, "%s", llm_request_error(r)->message);
    CHECK_MSG(strstr(llm_request_error(r)->message, "Zq3vN8rT") == NULL, "%s", llm_request_error(r)->message);
    llm_request_free(r);
    llm_client_free(c);
}

/* --------------------------------------------------------- error kinds -- */

static void test_header_limits(void) {
    llm_client *c = client();
    llm_request *r;
    /* one 300 KB header line: libcurl's own limit, which it calls "out of memory" */
    r = chat(c, "mock-model", "header_bytes=300000", 0);
    if (done(c, r) == r) {
        CHECK_MSG(llm_request_error(r)->kind == LLM_ERR_TOO_LARGE, "%s", llm_request_error(r)->message);
        CHECK(strstr(llm_request_error(r)->message, "header") != NULL);
        CHECK_INT(llm_request_error(r)->retryable, 0); /* the same headers would come again */
        CHECK_INT(llm_request_error(r)->retries, 0);
    }
    llm_request_free(r);
    /* 100 lines of 1 KB: ours, 64 KiB for the whole block, named */
    r = chat(c, "mock-model", "header_lines=100", 0);
    if (done(c, r) == r) {
        CHECK_MSG(llm_request_error(r)->kind == LLM_ERR_TOO_LARGE, "%s", llm_request_error(r)->message);
        CHECK_MSG(strstr(llm_request_error(r)->message, "65536") != NULL, "%s", llm_request_error(r)->message);
    }
    llm_request_free(r);
    /* and under the limit all is well */
    r = chat(c, "mock-model", "header_lines=40", 1);
    if (done(c, r) == r) CHECK_INT(llm_request_status(r), LLM_DONE);
    llm_request_free(r);
    llm_client_free(c);
}

/* A 408 is the server's own timeout: LLM_ERR_TIMEOUT of kind
   LLM_TIMEOUT_SERVER, retryable. */
static void test_408_server_timeout(void) {
    llm_client *c = client();
    llm_request *r = chat(c, "mock-model", "status=408", 0);
    if (done(c, r) == r) {
        const llm_error *e = llm_request_error(r);
        CHECK_INT(e->kind, LLM_ERR_TIMEOUT);
        CHECK_INT(e->timeout, LLM_TIMEOUT_SERVER);
        CHECK_INT(e->http_status, 408);
        CHECK_INT(e->retryable, 1);
    }
    llm_request_free(r);
    llm_client_free(c);
}

static void test_304_named(void) {
    llm_client *c = client();
    llm_request *r = chat(c, "mock-model", "status=304 body=1", 0);
    if (done(c, r) == r) {
        const llm_error *e = llm_request_error(r);
        CHECK_INT(e->kind, LLM_ERR_PROTOCOL);
        CHECK_INT(e->http_status, 304);
        CHECK_INT(e->retryable, 0);
        CHECK_INT(e->retries, 0);
        CHECK_MSG(strstr(e->message, "not modified") != NULL && strstr(e->message, "redirect") == NULL, "%s", e->message);
    }
    llm_request_free(r);
    llm_client_free(c);
}

/* A real Anthropic 429 message of 497 bytes is kept whole; a message above
   the cap is cut at a character and marked. */
static void test_provider_message_whole(void) {
    static const char *msg497 =
        "This request would exceed the rate limit for your organization (aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee) of "
        "80,000 input tokens per minute. For details, refer to: https://docs.anthropic.com/en/api/rate-limits. You can "
        "see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, "
        "or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your "
        "options for a rate limit increase. Remedy: wait for the retry-after header and then retry the request.";
    llm_client *c = client();
    llm_request *r = llm__new_request(c, LLM__K_CHAT);
    llm__buf body = { NULL, 0, 0 };
    size_t n;
    int i;
    CHECK(strlen(msg497) >= 450);
    llm__buf_adds(&AL, &body, "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"");
    llm__buf_adds(&AL, &body, msg497);
    llm__buf_adds(&AL, &body, "\"}}");
    llm__buf_add(&r->ra, &r->a.raw, body.p, body.len);
    llm__decode_error_body(r);
    CHECK_STR(llm__pmsg(r), msg497);
    r->status = LLM_ACTIVE;
    r->a.http_status = 429;
    llm__fail_or_retry(r, LLM_ERR_RATE_LIMIT, 429, 0, LLM_TIMEOUT_NONE, llm__pmsg(r));
    CHECK_STR(llm_request_error(r)->provider_message, msg497);
    CHECK(strstr(llm_request_error(r)->message, "retry the request.") != NULL);
    llm__destroy(r);
    /* 6000 bytes of 3-byte characters: cut at a boundary, marked */
    r = llm__new_request(c, LLM__K_CHAT);
    body.len = 0;
    llm__buf_adds(&AL, &body, "{\"error\":{\"message\":\"");
    for (i = 0; i < 2000; i++) llm__buf_adds(&AL, &body, "\xE2\x82\xAC"); /* the euro sign */
    llm__buf_adds(&AL, &body, "\"}}");
    llm__buf_add(&r->ra, &r->a.raw, body.p, body.len);
    llm__decode_error_body(r);
    n = strlen(llm__pmsg(r));
    CHECK(n <= LLM_PROVIDER_MESSAGE_MAX && n > LLM_PROVIDER_MESSAGE_MAX - 8);
    CHECK_INT(llm__utf8_valid((const unsigned char *)llm__pmsg(r), n), n);
    CHECK(n >= 6 && !strcmp(llm__pmsg(r) + n - 6, " [...]"));
    llm__destroy(r);
    free(body.p);
    llm_client_free(c);
}

/* After a retried success the error is empty: no status, type or message of
   the failed attempt survives; retries and the final request id remain. */
static void test_success_after_retry_is_clean(void) {
    cfg k;
    llm_client *c;
    llm_request *r;
    const char *models[] = { "mock-model", "anthropic/claude-mock" };
    int i;
    memset(&k, 0, sizeof k);
    k.max_retries = 2;
    c = client_cfg(&k);
    for (i = 0; i < 2; i++) {
        char dir[128];
        snprintf(dir, sizeof dir, "status=429 retry_after_ms=10 id=clean%d fail_first=1", i);
        r = chat(c, models[i], dir, i);
        if (done(c, r) == r) {
            const llm_error *e = llm_request_error(r);
            CHECK_INT(llm_request_status(r), LLM_DONE);
            CHECK_INT(e->kind, LLM_ERR_NONE);
            CHECK_INT(e->http_status, 0);
            CHECK_STR(e->message, "");
            CHECK(e->provider_message == NULL && e->type == NULL && e->code == NULL && e->param == NULL);
            CHECK(e->retryable == 0 && e->timeout == LLM_TIMEOUT_NONE && e->curl_code == 0);
            CHECK_INT(e->retries, 1);
            CHECK_MSG(e->request_id && !strncmp(e->request_id, "req_mock_", 9), "request id %s", e->request_id ? e->request_id : "NULL");
        }
        llm_request_free(r);
    }
    /* a cancelled request keeps its outcome after a later llm_cancel */
    r = chat(c, "mock-model", "status=400", 0);
    if (done(c, r) == r) {
        llm_cancel(r);
        CHECK_INT(llm_request_error(r)->kind, LLM_ERR_BAD_REQUEST);
        CHECK_INT(llm_request_status(r), LLM_FAILED);
    }
    llm_request_free(r);
    llm_client_free(c);
}

/* -------------------------------------------------------------- misuse -- */

static void on_done_frees_client(llm_request *r, void *ud) {
    (void)r;
    llm_client_free((llm_client *)ud);
}

/* Runs fn in a child; 1 when the child was stopped by an assertion (or by
   AddressSanitizer, whichever sees the misuse first). */
static const char *misuse_needs; /* the check's own words, when set */
static int dies_of_misuse(void (*fn)(void), const char *what) {
    int fds[2], st = 0;
    char out[4096];
    ssize_t n, got = 0;
    pid_t pid;
    if (pipe(fds)) return 0;
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        fn();
        _exit(0); /* not caught */
    }
    close(fds[1]);
    while ((n = read(fds[0], out + got, sizeof out - 1 - (size_t)got)) > 0) got += n;
    out[got] = '\0';
    close(fds[0]);
    waitpid(pid, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        fprintf(stderr, "    %s: not caught\n", what);
        return 0;
    }
    if (misuse_needs ? !strstr(out, misuse_needs) : !strstr(out, "llm") && !strstr(out, "AddressSanitizer")) {
        fprintf(stderr, "    %s: died, but not of the check: %s\n", what, out);
        return 0;
    }
    return 1;
}
/* Frees nothing: the block is filled with 0xDD and kept, so a read after
   llm_request_free finds garbage, not a sanitizer's report, and only the
   library's own check (LLM__LIVE) can stop it. For the misuse children. */
static void *keep_alloc(size_t n, void *u) { (void)u; return malloc(n ? n : 1); }
static void *keep_realloc(void *q, size_t n, void *u) { (void)u; return realloc(q, n ? n : 1); }
static void keep_free(void *q, void *u) {
    (void)u;
    if (q) memset(q, 0xDD, malloc_usable_size(q));
}
static void double_free(void) {
    llm_client *c = client();
    llm_request *r = chat(c, "mock-model", "", 0);
    llm_request_free(r);
    llm_request_free(r);
}
static void free_client_in_callback(void) {
    llm_client *c = client();
    llm_message m = { "user", "hi", NULL, NULL, NULL, NULL, 0 };
    llm_chat_desc d;
    memset(&d, 0, sizeof d);
    d.model = "mock-model";
    d.messages = &m;
    d.n_messages = 1;
    d.on_done = on_done_frees_client;
    d.user_data = c;
    llm_chat(c, &d);
    llm_wait_any(c, 5000);
}
/* Every call that takes a request checks it is still alive. */
static int which_call;
/* Every call that takes a request, once it is freed: each must stop at
   its check (LLM__LIVE), not read freed memory quietly. */
static const char *const uaf_calls[] = {
    "llm_request_status", "llm_request_text", "llm_request_take", "llm_request_error", "llm_request_timings",
    "llm_cancel", "llm_request_user_data", "llm_request_reasoning", "llm_request_usage", "llm_request_finish_reason",
    "llm_request_id", "llm_request_model", "llm_request_json", "llm_request_content_json", "llm_request_partial_json",
    "llm_request_partial_tool_count", "llm_request_partial_tool_args", "llm_request_tool_call_count",
    "llm_request_tool_call", "llm_request_embedding_count", "llm_request_embedding", "llm_request_refusal",
    "llm_request_choice_count", "llm_request_choice_text", "llm_request_choice_finish_reason", "llm_request_bytes",
    "llm_request_take_bytes", "llm_request_rank_count", "llm_request_rank",
};
#define N_UAF_CALLS ((int)(sizeof uaf_calls / sizeof uaf_calls[0]))
static void use_after_free(void) {
    llm_client_desc d;
    llm_client *c;
    memset(&d, 0, sizeof d);
    d.base_url = M.openai;
    d.api_key = KEY;
    d.allocator.alloc_fn = keep_alloc;
    d.allocator.realloc_fn = keep_realloc;
    d.allocator.free_fn = keep_free;
    c = llm_client_new(&d);
    llm_request *r = chat(c, "mock-model", "", 0);
    const char *p;
    const void *q;
    double sc;
    int dim;
    llm_request_free(r);
    switch (which_call) {
    case 0: (void)llm_request_status(r); break;
    case 1: (void)llm_request_text(r, NULL); break;
    case 2: (void)llm_request_take(r, &p); break;
    case 3: (void)llm_request_error(r); break;
    case 4: (void)llm_request_timings(r); break;
    case 5: llm_cancel(r); break;
    case 6: (void)llm_request_user_data(r); break;
    case 7: (void)llm_request_reasoning(r, NULL); break;
    case 8: (void)llm_request_usage(r); break;
    case 9: (void)llm_request_finish_reason(r); break;
    case 10: (void)llm_request_id(r); break;
    case 11: (void)llm_request_model(r); break;
    case 12: (void)llm_request_json(r); break;
    case 13: (void)llm_request_content_json(r); break;
    case 14: (void)llm_request_partial_json(r); break;
    case 15: (void)llm_request_partial_tool_count(r); break;
    case 16: (void)llm_request_partial_tool_args(r, 0, &p); break;
    case 17: (void)llm_request_tool_call_count(r); break;
    case 18: (void)llm_request_tool_call(r, 0); break;
    case 19: (void)llm_request_embedding_count(r); break;
    case 20: (void)llm_request_embedding(r, 0, &dim); break;
    case 21: (void)llm_request_refusal(r, NULL); break;
    case 22: (void)llm_request_choice_count(r); break;
    case 23: (void)llm_request_choice_text(r, 0, NULL); break;
    case 24: (void)llm_request_choice_finish_reason(r, 0); break;
    case 25: (void)llm_request_bytes(r, NULL); break;
    case 26: (void)llm_request_take_bytes(r, &q); break;
    case 27: (void)llm_request_rank_count(r); break;
    case 28: (void)llm_request_rank(r, 0, &sc); break;
    default: break;
    }
}
/* The external-loop calls on a client that has no external loop. */
static void timer_fired_without_loop(void) {
    llm_client *c = client();
    llm_timer_fired(c);
}
static void socket_ready_without_loop(void) {
    llm_client *c = client();
    llm_socket_ready(c, 0, LLM_IO_IN);
}
static void test_misuse_caught(void) {
    CHECK(dies_of_misuse(double_free, "llm_request_free twice"));
    CHECK(dies_of_misuse(timer_fired_without_loop, "llm_timer_fired without set_timer"));
    CHECK(dies_of_misuse(socket_ready_without_loop, "llm_socket_ready without watch_socket"));
    CHECK(dies_of_misuse(free_client_in_callback, "llm_client_free in a callback"));
    misuse_needs = "request used after llm_request_free";
    for (which_call = 0; which_call < N_UAF_CALLS; which_call++)
        CHECK_MSG(dies_of_misuse(use_after_free, uaf_calls[which_call]), "%s after llm_request_free", uaf_calls[which_call]);
    misuse_needs = NULL;
}

/* ------------------------------------------------------------- proxies -- */

static void test_proxy_settings(void) {
    cfg k;
    llm_client *c;
    llm_request *r;
    char proxy[80];
    char *target;
    snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", M.port);
    mock_reset(&M);
    /* proxy set: the request goes through it, whatever the host name */
    memset(&k, 0, sizeof k);
    k.proxy = proxy;
    k.base = "http://api.example.invalid/v1";
    c = client_cfg(&k);
    r = chat(c, "mock-model", "", 0);
    if (done(c, r) == r) CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s", llm_request_error(r)->message);
    llm_request_free(r);
    llm_client_free(c);
    CHECK_INT(mock_stat(&M, "proxied"), 1);
    target = mock_stat_str(&M, "last_proxy_target");
    CHECK_MSG(target && !strcmp(target, "http://api.example.invalid/v1/chat/completions"), "%s", target ? target : "NULL");
    free(target);
    /* the environment names a dead proxy: "" means none, so it goes direct */
    setenv("http_proxy", "http://127.0.0.1:1", 1);
    setenv("no_proxy", "", 1);
    memset(&k, 0, sizeof k);
    k.proxy = "";
    c = client_cfg(&k);
    r = chat(c, "mock-model", "", 0);
    if (done(c, r) == r) CHECK_MSG(llm_request_status(r) == LLM_DONE, "proxy \"\": %s", llm_request_error(r)->message);
    llm_request_free(r);
    llm_client_free(c);
    /* without the setting the environment's dead proxy is used: it fails */
    c = client();
    r = chat(c, "mock-model", "", 0);
    if (done(c, r) == r) CHECK_MSG(llm_request_error(r)->kind == LLM_ERR_CONNECTION, "env proxy: %s", llm_request_error(r)->message);
    llm_request_free(r);
    llm_client_free(c);
    /* no_proxy names the host: direct again */
    memset(&k, 0, sizeof k);
    k.no_proxy = "127.0.0.1";
    c = client_cfg(&k);
    r = chat(c, "mock-model", "", 0);
    if (done(c, r) == r) CHECK_MSG(llm_request_status(r) == LLM_DONE, "no_proxy: %s", llm_request_error(r)->message);
    llm_request_free(r);
    llm_client_free(c);
    unsetenv("http_proxy");
    unsetenv("no_proxy");
    /* CR or LF in a proxy setting: no client */
    {
        llm_client_desc d;
        memset(&d, 0, sizeof d);
        d.proxy = "http://p:1\r\nX: y";
        CHECK(llm_client_new(&d) == NULL);
    }
}

/* --------------------------------------------------------- allocators -- */

static long localeconv_calls;
struct lconv *__real_localeconv(void);
struct lconv *__wrap_localeconv(void);
struct lconv *__wrap_localeconv(void) {
    localeconv_calls++;
    return __real_localeconv();
}

/* Numbers read and written without the locale, and the slow path of the
   reader allocates nothing (it used LLMASYNC_MALLOC, bypassing the
   caller's allocator). */
static void test_numbers_no_locale_no_malloc(void) {
    llm_json_options o;
    llm_allocator al;
    llm_json_value *v;
    llm__buf b = { NULL, 0, 0 };
    llm_json_writer w;
    double d;
    int i;
    memset(&A, 0, sizeof A);
    al.alloc_fn = th_alloc_fn;
    al.realloc_fn = th_realloc_fn;
    al.free_fn = th_free_fn;
    al.user_data = &A;
    memset(&o, 0, sizeof o);
    o.allocator = &al;
    llm__buf_adds(&AL, &b, "[0.");
    for (i = 0; i < 700; i++) llm__buf_adds(&AL, &b, "1");
    llm__buf_adds(&AL, &b, "e-3, 2.2250738585072011e-308, 123456789012345678901234567890]");
    localeconv_calls = 0;
    v = llm_json_parse(b.p, b.len, &o, NULL);
    CHECK(v != NULL);
    CHECK_INT(A.allocs, 1); /* the document, nothing else */
    CHECK(llm_json_number(llm_json_at(v, 0), &d) && d == 1.1111111111111111e-4);
    CHECK(llm_json_number(llm_json_at(v, 1), &d) && d == 2.2250738585072011e-308);
    CHECK(llm_json_number(llm_json_at(v, 2), &d) && d == 1.2345678901234568e29);
    CHECK_INT(A.allocs, 1);
    llm_jw_init(&w, &al);
    llm_jw_array_begin(&w);
    llm_jw_number(&w, 0.1);
    llm_jw_number(&w, 0.1 + 0.2); /* needs 17 digits */
    llm_jw_number(&w, -1.5e-300);
    llm_jw_array_end(&w);
    CHECK_STR(llm_jw_text(&w, NULL), "[0.1,0.30000000000000004,-1.5e-300]");
    llm_jw_free(&w);
    CHECK_INT(localeconv_calls, 0);
    llm_json_free(v);
    free(b.p);
    CHECK_INT(A.live, 0);
}

int main(int argc, char **argv) {
    AL = llm__allocator(NULL);
    th_slow_from_env();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!mock_start(&M)) { printf("hardening: 0 passed, 1 failed\n"); return 1; }
    RUN(test_memory_bound_any_shape);
    RUN(test_huge_vector);
    RUN(test_malformed_vector_not_retried);
    RUN(test_vectors_beyond_bound);
    RUN(test_int64_usage_saturates);
    RUN(test_float_range);
    RUN(test_empty_stream_is_retried);
    RUN(test_keys_masked_everywhere);
    RUN(test_rejected_desc_no_secret);
    RUN(test_header_limits);
    RUN(test_304_named);
    RUN(test_408_server_timeout);
    RUN(test_provider_message_whole);
    RUN(test_success_after_retry_is_clean);
    RUN(test_misuse_caught);
    RUN(test_proxy_settings);
    RUN(test_numbers_no_locale_no_malloc);
    mock_stop(&M);
    free(LOG.p);
    curl_global_cleanup();
    return th_finish("hardening");
}
