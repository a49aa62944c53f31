/* Soak: SOAK_N requests (default 3000) through a random mix of the mock's
   faults, with a fixed seed, at most SOAK_OUTSTANDING (500) submitted and
   not yet reported at once. Every request must end in exactly one terminal
   state with the kind its fault implies, be reported once (or never, when the
   host freed it), and the library's memory must stay bounded and all come
   back. `make soak` runs a larger count. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "harness.h"
#include "mockctl.h"

static mock M;
static th_alloc A;

typedef struct scenario {
    const char *name;
    const char *directive; /* %d: the request number (for ids) */
    int stream;            /* 1: a stream; 2: embeddings of 3 inputs */
    llm_status status;
    llm_error_kind kind;
} scenario;

/* Long enough that the mock's echoes of it can be checked for fragments. */
#define SOAK_KEY "sk-soak-0123456789abcdefghijklmnopqrstuv"

static const scenario S[] = {
    { "ok", "delay=5 x=%d", 0, LLM_DONE, LLM_ERR_NONE },
    { "ok-stream", "tokens=8 split=13 split_gap=0 x=%d", 1, LLM_DONE, LLM_ERR_NONE },
    { "ok-stream-paced", "tokens=4 pace=5 keepalive=3 x=%d", 1, LLM_DONE, LLM_ERR_NONE },
    { "429-then-ok", "status=429 retry_after_ms=20 id=q%d fail_first=1", 0, LLM_DONE, LLM_ERR_NONE },
    { "503-date", "status=503 retry_after_date=0 id=d%d fail_first=1", 0, LLM_DONE, LLM_ERR_NONE },
    { "500-always", "status=500 retry_after_ms=5 x=%d", 0, LLM_FAILED, LLM_ERR_SERVER },
    { "529", "status=529 retry_after_ms=5 x=%d", 0, LLM_FAILED, LLM_ERR_OVERLOADED },
    { "400", "status=400 x=%d", 0, LLM_FAILED, LLM_ERR_BAD_REQUEST },
    { "401", "status=401 x=%d", 0, LLM_FAILED, LLM_ERR_AUTH },
    { "404", "status=404 x=%d", 0, LLM_FAILED, LLM_ERR_NOT_FOUND },
    { "reset-then-ok", "fault=reset_headers id=r%d fail_first=1", 0, LLM_DONE, LLM_ERR_NONE },
    { "reset-body", "fault=reset_body x=%d", 0, LLM_FAILED, LLM_ERR_CONNECTION },
    { "truncated", "fault=truncated x=%d", 0, LLM_FAILED, LLM_ERR_PROTOCOL },
    { "garbage", "fault=garbage x=%d", 0, LLM_FAILED, LLM_ERR_PROTOCOL },
    { "not-json", "fault=not_json x=%d", 0, LLM_FAILED, LLM_ERR_PROTOCOL },
    { "wrong-ctype", "fault=wrong_ctype x=%d", 0, LLM_FAILED, LLM_ERR_PROTOCOL },
    { "html-502", "fault=html status=502 retry_after_ms=5 x=%d", 0, LLM_FAILED, LLM_ERR_SERVER },
    { "empty-503", "fault=empty status=503 retry_after_ms=5 x=%d", 0, LLM_FAILED, LLM_ERR_SERVER },
    { "huge", "fault=huge huge_bytes=300000 x=%d", 0, LLM_FAILED, LLM_ERR_TOO_LARGE },
    { "never", "fault=never x=%d", 0, LLM_FAILED, LLM_ERR_TIMEOUT },
    { "drip", "fault=drip pace=1 x=%d", 0, LLM_DONE, LLM_ERR_NONE },
    { "stream-error", "tokens=6 error_after=2 x=%d", 1, LLM_FAILED, LLM_ERR_SERVER },
    { "stream-error-first", "tokens=6 error_after=0 id=e%d fail_first=1", 1, LLM_DONE, LLM_ERR_NONE },
    { "stream-reset", "tokens=6 reset_after=3 x=%d", 1, LLM_FAILED, LLM_ERR_CONNECTION },
    { "stream-stall", "tokens=6 stall_after=2 keepalive=20 x=%d", 1, LLM_FAILED, LLM_ERR_TIMEOUT },
    /* hostile shapes: amplifying JSON, huge vectors, INT64 usage, empty
       streams, oversized headers, key echoes in every encoding */
    { "amplify-zeros", "fill=zeros huge_bytes=90000 x=%d", 0, LLM_FAILED, LLM_ERR_TOO_LARGE },
    { "amplify-keys", "fill=keys huge_bytes=90000 x=%d", 0, LLM_FAILED, LLM_ERR_PROTOCOL }, /* fits: no choices */
    { "amplify-error", "status=500 fill=empties huge_bytes=90000 retry_after_ms=5 x=%d", 0, LLM_FAILED, LLM_ERR_SERVER },
    { "huge-vector", "long_vector=20000 x=%d", 2, LLM_FAILED, LLM_ERR_PROTOCOL },
    { "usage-max", "usage_max=1 x=%d", 0, LLM_DONE, LLM_ERR_NONE },
    { "usage-max-stream", "usage_max=1 tokens=3 x=%d", 1, LLM_DONE, LLM_ERR_NONE },
    { "usage-max-embed", "usage_max=1 x=%d", 2, LLM_DONE, LLM_ERR_NONE },
    { "empty-stream-then-ok", "fault=empty_stream id=z%d fail_first=1", 1, LLM_DONE, LLM_ERR_NONE },
    { "empty-stream", "fault=empty_stream retry_after_ms=5 x=%d", 1, LLM_FAILED, LLM_ERR_PROTOCOL },
    { "header-lines", "header_lines=80 x=%d", 0, LLM_FAILED, LLM_ERR_TOO_LARGE },
    { "header-line-300k", "header_bytes=300000 x=%d", 0, LLM_FAILED, LLM_ERR_TOO_LARGE },
    { "key-plain", "echo_key=plain x=%d", 0, LLM_FAILED, LLM_ERR_AUTH },
    { "key-json", "echo_key=json x=%d", 0, LLM_FAILED, LLM_ERR_AUTH },
    { "key-url", "echo_key=url x=%d", 0, LLM_FAILED, LLM_ERR_AUTH },
    { "key-split", "echo_key=split status=429 retry_after_ms=5 x=%d", 0, LLM_FAILED, LLM_ERR_RATE_LIMIT },
    { "key-reqid", "echo_key=reqid x=%d", 0, LLM_DONE, LLM_ERR_NONE },
    { "key-location", "echo_key=location x=%d", 0, LLM_FAILED, LLM_ERR_PROTOCOL },
    { "key-event", "echo_key=event tokens=4 error_after=2 x=%d", 1, LLM_FAILED, LLM_ERR_SERVER },
    { "cancel", "delay=2000 x=%d", 0, LLM_CANCELLED, LLM_ERR_CANCELLED },
    { "free", "tokens=40 pace=50 x=%d", 1, LLM_CANCELLED, LLM_ERR_CANCELLED }, /* 2 s: freed long before */
};
enum { NS = sizeof S / sizeof S[0] };

typedef struct item { int scenario, reported, freed; llm_request *r; double cancel_at; } item;

/* 8 or more consecutive characters of the key, plainly or encoded. */
static int hexv(int c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}
static int has_key_run(const char *s) {
    char dec[8192];
    size_t n = 0, i, j;
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
    for (j = 0; j + 8 <= strlen(SOAK_KEY); j++) {
        char w[9];
        memcpy(w, SOAK_KEY + j, 8);
        w[8] = '\0';
        if (strstr(dec, w)) return 1;
    }
    return 0;
}
static long log_lines, log_leaks;
static void soak_log(llm_log_level lv, const char *msg, void *ud) {
    (void)lv;
    (void)ud;
    log_lines++;
    if (has_key_run(msg)) log_leaks++;
}

static uint64_t rng = 0x5eed;
static unsigned rnd(unsigned n) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static void test_soak(void) {
    long n = getenv("SOAK_N") ? strtol(getenv("SOAK_N"), NULL, 10) : 3000;
    long outstanding_max = getenv("SOAK_OUTSTANDING") ? strtol(getenv("SOAK_OUTSTANDING"), NULL, 10) : 500;
    long submitted = 0, finished = 0, outstanding = 0, per_kind[NS], bad = 0, i, n_cancel = 0;
    item *items = (item *)calloc((size_t)n, sizeof *items);
    long *cancels = (long *)calloc((size_t)n, sizeof *cancels); /* items still to cancel or free */
    llm_client_desc d;
    llm_client *c;
    double t0 = th_now_ms();
    memset(per_kind, 0, sizeof per_kind);
    memset(&A, 0, sizeof A);
    memset(&d, 0, sizeof d);
    d.base_url = M.openai;
    d.api_key = SOAK_KEY;
    d.log_fn = soak_log;
    d.max_concurrent = 64;
    d.max_retries = 2;
    d.first_byte_timeout_ms = 400;
    d.idle_timeout_ms = 300;
    d.max_response_bytes = 100000;
    d.retry_seed = 99;
    d.allocator.alloc_fn = th_alloc_fn;
    d.allocator.realloc_fn = th_realloc_fn;
    d.allocator.free_fn = th_free_fn;
    d.allocator.user_data = &A;
    c = llm_client_new(&d);
    while (finished < n && th_now_ms() - t0 < 600000) {
        llm_request *r;
        double now = th_now_ms();
        while (submitted < n && outstanding < outstanding_max) {
            item *it = &items[submitted];
            const scenario *s;
            llm_message m = { "user", "soak", NULL, NULL, NULL, NULL, 0 };
            llm_chat_desc cd;
            char dir[160];
            const char *h[1];
            it->scenario = (int)rnd(NS);
            s = &S[it->scenario];
            snprintf(dir, sizeof dir, "X-Mock: ");
            snprintf(dir + 8, sizeof dir - 8, s->directive, (int)submitted);
            h[0] = dir;
            memset(&cd, 0, sizeof cd);
            cd.model = "mock-model";
            cd.messages = &m;
            cd.n_messages = 1;
            cd.stream = s->stream;
            cd.headers = h;
            cd.n_headers = 1;
            cd.user_data = it;
            if (s->stream == 2) {
                const char *in[3] = { "one", "two", "three" };
                llm_embed_desc ed;
                memset(&ed, 0, sizeof ed);
                ed.model = "mock-embed";
                ed.inputs = in;
                ed.n_inputs = 3;
                ed.headers = h;
                ed.n_headers = 1;
                ed.user_data = it;
                it->r = llm_embed(c, &ed);
            } else {
                cd.stream = s->stream;
                it->r = llm_chat(c, &cd);
            }
            if (s->status == LLM_CANCELLED) {
                it->cancel_at = now + 20 + rnd(200);
                cancels[n_cancel++] = submitted;
            }
            per_kind[it->scenario]++;
            submitted++;
            outstanding++;
        }
        for (i = 0; i < n_cancel;) { /* cancel or free the chosen ones, mid-flight */
            item *it = &items[cancels[i]];
            if (now < it->cancel_at) { i++; continue; }
            cancels[i] = cancels[--n_cancel];
            if (it->reported) continue; /* ended first (it should not): freed already */
            if (!strcmp(S[it->scenario].name, "free")) {
                llm_request_free(it->r);
                it->freed = 1;
                outstanding--;
                finished++;
            } else {
                llm_cancel(it->r);
            }
        }
        r = llm_wait_any(c, 50);
        while (r) {
            item *it = (item *)llm_request_user_data(r);
            const scenario *s = &S[it->scenario];
            const llm_error *e = llm_request_error(r);
            it->reported++;
            if (has_key_run(e->message) || has_key_run(e->provider_message) || has_key_run(e->type) ||
                has_key_run(e->code) || has_key_run(e->param) || has_key_run(e->request_id)) {
                if (bad++ < 10) fprintf(stderr, "    %s: a key fragment survived: %s / %s\n", s->name, e->message,
                                        e->request_id ? e->request_id : "");
            }
            if (llm_request_status(r) == LLM_DONE && s->stream != 2 && llm_request_usage(r)->total_tokens < 0) bad++;
            if (it->reported != 1 || it->freed || llm_request_status(r) != s->status || e->kind != s->kind) {
                if (bad++ < 10)
                    fprintf(stderr, "    %s: reported %d, status %s kind %s (%s)\n", s->name, it->reported,
                            llm_status_string(llm_request_status(r)), llm_error_string(e->kind), e->message);
            }
            llm_request_free(r);
            outstanding--;
            finished++;
            r = llm_wait_any(c, 0);
        }
    }
    CHECK_INT(bad, 0);
    CHECK_INT(log_leaks, 0);
    CHECK(log_lines > 0);
    CHECK_INT(finished, n);
    CHECK_INT(llm_poll(c), 0);
    CHECK(llm_wait_any(c, 0) == NULL);
    for (i = 0; i < submitted; i++) {
        if (items[i].freed) CHECK(items[i].reported == 0);
        else CHECK(items[i].reported == 1);
    }
    /* bounded: at most SOAK_OUTSTANDING requests' worth, whatever n is */
    CHECK_MSG(A.peak_live_bytes < 64L << 20, "peak %ld bytes", A.peak_live_bytes);
    llm_client_free(c);
    CHECK_INT(A.live, 0); /* everything came back */
    if (th_verbose || getenv("SOAK_REPORT")) {
        long lost = 0, twice = 0;
        for (i = 0; i < submitted; i++) {
            if (!items[i].freed && items[i].reported == 0) lost++;
            if (items[i].reported > 1) twice++;
        }
        fprintf(stderr, "    soak: %ld requests in %.1f s, peak library memory %.1f MiB, %ld allocations, "
                        "%ld log lines, %ld lost, %ld double-reported, %ld blocks leaked\n", n,
                (th_now_ms() - t0) / 1000, A.peak_live_bytes / 1048576.0, A.allocs, log_lines, lost, twice, A.live);
        for (i = 0; i < NS; i++) fprintf(stderr, "      %-20s %ld\n", S[i].name, per_kind[i]);
    }
    free(items);
    free(cancels);
}

int main(int argc, char **argv) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!mock_start(&M)) { printf("soak: 0 passed, 1 failed\n"); return 1; }
    RUN(test_soak);
    mock_stop(&M);
    curl_global_cleanup();
    return th_finish("soak");
}
