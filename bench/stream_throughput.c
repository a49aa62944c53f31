/* stream_throughput.c -- streamed chunks per second through llmasync versus
   a raw curl_multi loop reading the same streams from the same mock server.

   Both sides send the same HTTP request (body, headers, user agent) to the
   mock's POST /v1/chat/completions with "X-Mock: tokens=N pace=0": the mock
   answers with N+4 OpenAI SSE chunks (role, N content tokens "tok0", " tok1",
   ..., finish, usage, [DONE]) as fast as the socket drains.

     baseline  one curl multi handle, S easy handles, a write callback that
               only counts bytes (and keeps the last 32 bytes to check that
               the stream ended with "data: [DONE]"); curl_multi_perform +
               curl_multi_poll until every transfer is done. No decoding.
     llmasync  one client (max_concurrent = S), S llm_chat with stream = 1
               and an on_delta callback that counts bytes, driven by
               llm_wait_any(c, ...) until S requests were reported. Every
               stream is then checked: status DONE, the whole text equal to
               "tok0 tok1 ... tok{N-1}", every byte of it delivered through
               on_delta, usage.completion_tokens == N, finish_reason "stop".

   Repetitions alternate (B L L B B L ...) so that drift hits both sides.
   Reported: per repetition, wall time, content chunks (S*N) per second,
   MB/s of SSE bytes received, and the CPU time of this process per chunk
   (the mock runs in its own process, so this is the client's own cost);
   then medians and the ratios llmasync/baseline.

   A warm-up of both sides checks that they send the same request: after
   each, GET /mock/stats gives last_body, last_user_agent,
   last_authorization, last_content_type and last_x_mock, which must match.
   The baseline sends the very body llmasync built (taken from last_body).

   Usage (the environment of tools/with_mock.sh: OPENAI_BASE_URL, e.g.
   http://127.0.0.1:PORT/v1, and OPENAI_API_KEY):
     stream_throughput [--streams S] [--tokens N] [--reps R]
                       [--side both|baseline|llmasync] [--no-warmup]
   --side with one side and --no-warmup are for instruction counting under
   callgrind (bench/run.sh): they run R repetitions of that side only.
   Exit status: 0 ok, 1 a self-check failed, 2 bad usage or set-up. The last
   line of output is "RESULT stream_throughput key=value ...". */
#define _POSIX_C_SOURCE 200809L
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "bench_common.h"

#define BENCH_UA "llmasync-bench/1"
#define BENCH_PROMPT "Count for me."
#define TAIL 32
#define MAX_STREAMS 64
#define MAX_REPS 101

static char g_base[512];     /* OpenAI base URL, ".../v1" */
static char g_root[512];     /* the mock's root URL */
static char g_url[600];      /* base + /chat/completions */
static char g_auth[512];     /* "Authorization: Bearer KEY" */
static const char *g_key;
static char *g_body;         /* the request body the baseline sends */
static size_t g_body_len;
static char *g_expected;     /* "tok0 tok1 ... tok{N-1}" */
static size_t g_expected_len;

typedef struct result {
    double wall, cpu;  /* seconds */
    double bytes;      /* SSE body bytes over all streams */
    int ok;
} result;

/* ------------------------------------------------------------- llmasync */

typedef struct lstream { size_t delta_bytes; long deltas; } lstream;

static void on_delta(llm_request *r, const char *d, size_t n, void *ud) {
    lstream *s = (lstream *)ud;
    (void)r;
    (void)d;
    s->delta_bytes += n;
    s->deltas++;
}

static BENCH_NOINLINE int run_llmasync(int streams, long tokens, result *out) {
    llm_client_desc cd;
    llm_client *c;
    llm_message m;
    llm_chat_desc d;
    llm_request *rs[MAX_STREAMS];
    lstream st[MAX_STREAMS];
    char xmock[96];
    const char *hdrs[1];
    double t0, c0, deadline;
    int i, done = 0, ok = 1;
    memset(out, 0, sizeof *out);
    memset(&cd, 0, sizeof cd);
    cd.base_url = g_base;
    cd.api_key = g_key;
    cd.max_concurrent = streams;
    cd.max_retries = -1;
    cd.user_agent = BENCH_UA;
    cd.max_response_bytes = (size_t)1 << 30;
    c = llm_client_new(&cd);
    if (!c) { fprintf(stderr, "llm_client_new failed\n"); return 0; }
    snprintf(xmock, sizeof xmock, "X-Mock: tokens=%ld pace=0", tokens);
    hdrs[0] = xmock;
    memset(&m, 0, sizeof m);
    m.role = "user";
    m.content = BENCH_PROMPT;
    memset(&d, 0, sizeof d);
    d.model = "mock-model";
    d.messages = &m;
    d.n_messages = 1;
    d.stream = 1;
    d.headers = hdrs;
    d.n_headers = 1;
    d.on_delta = on_delta;
    memset(st, 0, sizeof st);

    t0 = bench_now_s();
    c0 = bench_cpu_s();
    for (i = 0; i < streams; i++) {
        d.user_data = &st[i];
        rs[i] = llm_chat(c, &d);
        if (!rs[i]) { fprintf(stderr, "llm_chat returned NULL\n"); llm_client_free(c); return 0; }
    }
    deadline = t0 + 300;
    while (done < streams && bench_now_s() < deadline)
        if (llm_wait_any(c, 1000) != NULL) done++;
    out->wall = bench_now_s() - t0;
    out->cpu = bench_cpu_s() - c0;

    if (done < streams) { fprintf(stderr, "llmasync: %d of %d streams finished in time\n", done, streams); ok = 0; }
    for (i = 0; i < streams && ok; i++) {
        llm_request *r = rs[i];
        size_t len = 0;
        const char *text = llm_request_text(r, &len);
        const llm_usage *u = llm_request_usage(r);
        char last[32];
        snprintf(last, sizeof last, "tok%ld", tokens - 1);
        if (llm_request_status(r) != LLM_DONE) {
            fprintf(stderr, "llmasync stream %d: %s: %s\n", i, llm_status_string(llm_request_status(r)),
                    llm_request_error(r)->message);
            ok = 0;
        } else if (len > g_expected_len || memcmp(text, g_expected, len) != 0 ||
                   (len < g_expected_len && g_expected[len] != ' ')) { /* g_expected is for >= tokens */
            fprintf(stderr, "llmasync stream %d: decoded text (%lu bytes) differs from \"tok0 ... %s\"\n",
                    i, (unsigned long)len, last);
            ok = 0;
        } else if (len < strlen(last) || memcmp(text + len - strlen(last), last, strlen(last)) != 0) {
            fprintf(stderr, "llmasync stream %d: last token %s missing\n", i, last);
            ok = 0;
        } else if (st[i].delta_bytes != len) {
            fprintf(stderr, "llmasync stream %d: on_delta delivered %lu of %lu bytes\n", i,
                    (unsigned long)st[i].delta_bytes, (unsigned long)len);
            ok = 0;
        } else if (!u || u->completion_tokens != tokens) {
            fprintf(stderr, "llmasync stream %d: usage.completion_tokens %lld, expected %ld\n", i,
                    u ? (long long)u->completion_tokens : -1LL, tokens);
            ok = 0;
        } else if (strcmp(llm_request_finish_reason(r), "stop") != 0) {
            fprintf(stderr, "llmasync stream %d: finish_reason \"%s\"\n", i, llm_request_finish_reason(r));
            ok = 0;
        }
        out->bytes += (double)llm_request_timings(r)->bytes_received;
    }
    llm_client_free(c);
    out->ok = ok;
    return ok;
}

/* ------------------------------------------------------------- baseline */

typedef struct bstream {
    uint64_t bytes;
    char tail[TAIL];
    size_t tail_len;
    CURLcode result;
    int finished;
} bstream;

static size_t base_write(char *p, size_t size, size_t nmemb, void *ud) {
    bstream *b = (bstream *)ud;
    size_t k = size * nmemb;
    b->bytes += k;
    if (k >= TAIL) {
        memcpy(b->tail, p + k - TAIL, TAIL);
        b->tail_len = TAIL;
    } else {
        size_t keep = b->tail_len < TAIL - k ? b->tail_len : TAIL - k;
        memmove(b->tail, b->tail + b->tail_len - keep, keep);
        memcpy(b->tail + keep, p, k);
        b->tail_len = keep + k;
    }
    return k;
}

static BENCH_NOINLINE int run_baseline(int streams, long tokens, result *out) {
    CURLM *multi = curl_multi_init();
    CURL *easy[MAX_STREAMS];
    bstream st[MAX_STREAMS];
    struct curl_slist *hl = NULL, *t;
    char xmock[96];
    double t0, c0, deadline;
    int i, running = 1, ok = 1;
    static const char done_tail[] = "data: [DONE]\n\n";
    memset(out, 0, sizeof *out);
    if (!multi) return 0;
    snprintf(xmock, sizeof xmock, "X-Mock: tokens=%ld pace=0", tokens);
    /* the headers llmasync sends for an OpenAI stream, in its order */
    {
        const char *h[5];
        int nh = 0;
        h[nh++] = "Content-Type: application/json";
        h[nh++] = "Accept: text/event-stream";
        h[nh++] = "Expect:";
        if (*g_key) h[nh++] = g_auth;
        h[nh++] = xmock;
        for (i = 0; i < nh; i++) {
            t = curl_slist_append(hl, h[i]);
            if (!t) { curl_slist_free_all(hl); curl_multi_cleanup(multi); return 0; }
            hl = t;
        }
    }
    memset(st, 0, sizeof st);

    t0 = bench_now_s();
    c0 = bench_cpu_s();
    for (i = 0; i < streams; i++) {
        CURL *e = easy[i] = curl_easy_init();
        if (!e) { fprintf(stderr, "curl_easy_init failed\n"); exit(2); }
        curl_easy_setopt(e, CURLOPT_URL, g_url);
        curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)&st[i]);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, g_body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)g_body_len);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(e, CURLOPT_USERAGENT, BENCH_UA);
        curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, base_write);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)&st[i]);
        curl_multi_add_handle(multi, e);
    }
    deadline = t0 + 300;
    while (running && bench_now_s() < deadline) {
        CURLMsg *msg;
        int left;
        curl_multi_perform(multi, &running);
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            char *priv = NULL;
            if (msg->msg != CURLMSG_DONE) continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
            ((bstream *)(void *)priv)->result = msg->data.result;
            ((bstream *)(void *)priv)->finished = 1;
        }
        if (running) curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
    out->wall = bench_now_s() - t0;
    out->cpu = bench_cpu_s() - c0;

    for (i = 0; i < streams; i++) {
        long status = 0;
        curl_easy_getinfo(easy[i], CURLINFO_RESPONSE_CODE, &status);
        if (ok && (!st[i].finished || st[i].result != CURLE_OK || status != 200)) {
            fprintf(stderr, "baseline stream %d: %s, HTTP %ld, %s\n", i, st[i].finished ? "finished" : "unfinished",
                    status, curl_easy_strerror(st[i].result));
            ok = 0;
        } else if (ok && (st[i].tail_len < sizeof done_tail - 1 ||
                          memcmp(st[i].tail + st[i].tail_len - (sizeof done_tail - 1), done_tail,
                                 sizeof done_tail - 1) != 0)) {
            fprintf(stderr, "baseline stream %d: does not end with data: [DONE]\n", i);
            ok = 0;
        } else if (ok && st[i].bytes < (uint64_t)tokens * 100) {
            fprintf(stderr, "baseline stream %d: only %llu bytes\n", i, (unsigned long long)st[i].bytes);
            ok = 0;
        }
        out->bytes += (double)st[i].bytes;
        curl_multi_remove_handle(multi, easy[i]);
        curl_easy_cleanup(easy[i]);
    }
    curl_multi_cleanup(multi);
    curl_slist_free_all(hl);
    out->ok = ok;
    return ok;
}

/* ------------------------------------------------ same request, both sides */

static const char *const req_keys[] = { "last_body", "last_user_agent", "last_authorization",
                                        "last_content_type", "last_x_mock", "last_path" };
#define N_REQ_KEYS (sizeof req_keys / sizeof req_keys[0])

static void grab_request(char **vals) {
    size_t i;
    for (i = 0; i < N_REQ_KEYS; i++) vals[i] = bench_mock_stat_str(g_root, req_keys[i]);
}
static void free_request(char **vals) {
    size_t i;
    for (i = 0; i < N_REQ_KEYS; i++) { free(vals[i]); vals[i] = NULL; }
}

static int warm_up_and_compare(int streams, long tokens) {
    char *lv[N_REQ_KEYS], *bv[N_REQ_KEYS];
    result r;
    size_t i;
    int same = 1;
    if (!run_llmasync(streams, tokens, &r)) { fprintf(stderr, "warm-up (llmasync) failed\n"); return 0; }
    grab_request(lv);
    if (!lv[0]) { fprintf(stderr, "GET %s/mock/stats gave no last_body\n", g_root); free_request(lv); return 0; }
    if (strlen(lv[0]) != g_body_len || memcmp(lv[0], g_body, g_body_len) != 0)
        printf("note: llmasync's body differs from the hand-built one; the baseline sends llmasync's:\n  %s\n", lv[0]);
    free(g_body);
    g_body = lv[0];
    g_body_len = strlen(g_body);
    lv[0] = NULL;
    if (!run_baseline(streams, tokens, &r)) { fprintf(stderr, "warm-up (baseline) failed\n"); free_request(lv); return 0; }
    grab_request(bv);
    if (!bv[0] || strcmp(bv[0], g_body) != 0) { fprintf(stderr, "request check: body differs\n"); same = 0; }
    for (i = 1; i < N_REQ_KEYS; i++) {
        if ((lv[i] == NULL) != (bv[i] == NULL) || (lv[i] && strcmp(lv[i], bv[i]) != 0)) {
            fprintf(stderr, "request check: %s differs: llmasync \"%s\", baseline \"%s\"\n", req_keys[i],
                    lv[i] ? lv[i] : "(null)", bv[i] ? bv[i] : "(null)");
            same = 0;
        }
    }
    printf("request check: baseline and llmasync sent the same body (%lu bytes), path, user agent, "
           "authorization, content type and X-Mock: %s\n", (unsigned long)g_body_len, same ? "yes" : "NO");
    free_request(lv);
    free_request(bv);
    return same;
}

/* ------------------------------------------------------------------ main */

static void usage(void) {
    fprintf(stderr, "usage: stream_throughput [--streams S] [--tokens N] [--reps R] "
                    "[--side both|baseline|llmasync] [--no-warmup]\n"
                    "needs OPENAI_BASE_URL (the mock's .../v1) in the environment\n");
    exit(2);
}

int main(int argc, char **argv) {
    int streams = 4, reps = 7, warm = 1, side = 0; /* 0 both, 1 baseline, 2 llmasync */
    long tokens = 50000;
    const char *env_base = getenv("OPENAI_BASE_URL");
    double b_cps[MAX_REPS], l_cps[MAX_REPS], b_mbs[MAX_REPS], l_mbs[MAX_REPS];
    double b_cpu[MAX_REPS], l_cpu[MAX_REPS], ratio[MAX_REPS];
    int nb = 0, nl = 0, np = 0, rep, failed = 0, i;
    size_t pos;
    double chunks;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--streams") && i + 1 < argc) streams = (int)bench_arg_long("--streams", argv[++i], 1, MAX_STREAMS);
        else if (!strcmp(argv[i], "--tokens") && i + 1 < argc) tokens = bench_arg_long("--tokens", argv[++i], 1, 2000000);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = (int)bench_arg_long("--reps", argv[++i], 1, MAX_REPS);
        else if (!strcmp(argv[i], "--no-warmup")) warm = 0;
        else if (!strcmp(argv[i], "--side") && i + 1 < argc) {
            i++;
            if (!strcmp(argv[i], "both")) side = 0;
            else if (!strcmp(argv[i], "baseline")) side = 1;
            else if (!strcmp(argv[i], "llmasync")) side = 2;
            else usage();
        } else usage();
    }
    if (!env_base || !*env_base || strlen(env_base) >= sizeof g_base || !bench_mock_root(g_root, sizeof g_root)) usage();
    memcpy(g_base, env_base, strlen(env_base) + 1);
    pos = strlen(g_base);
    while (pos && g_base[pos - 1] == '/') g_base[--pos] = '\0';
    snprintf(g_url, sizeof g_url, "%s/chat/completions", g_base);
    g_key = getenv("OPENAI_API_KEY");
    if (!g_key) g_key = "";
    snprintf(g_auth, sizeof g_auth, "Authorization: Bearer %s", g_key);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    /* The body llmasync builds for this desc (replaced by the one it really
       sent after the warm-up). */
    {
        static const char body[] = "{\"model\":\"mock-model\",\"messages\":[{\"role\":\"user\",\"content\":\"" BENCH_PROMPT
                                   "\"}],\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
        g_body_len = sizeof body - 1;
        g_body = (char *)malloc(sizeof body);
        if (!g_body) return 2;
        memcpy(g_body, body, sizeof body);
    }
    /* The text llmasync must have decoded. */
    {
        size_t cap = (size_t)tokens * 16 + 16, n = 0;
        long k;
        g_expected = (char *)malloc(cap);
        if (!g_expected) return 2;
        for (k = 0; k < tokens; k++) {
            int w = snprintf(g_expected + n, cap - n, k ? " tok%ld" : "tok%ld", k);
            if (w < 0 || (size_t)w >= cap - n) return 2;
            n += (size_t)w;
        }
        g_expected_len = n;
    }

    printf("stream_throughput: %d concurrent streams x %ld tokens (content chunks), %d repetitions%s\n",
           streams, tokens, reps, side == 0 ? ", baseline and llmasync alternating" : side == 1 ? ", baseline only" : ", llmasync only");
    if (warm && side == 0 && !warm_up_and_compare(streams, tokens < 1000 ? tokens : 1000)) {
        printf("RESULT stream_throughput status=FAIL reason=request_check\n");
        return 1;
    }
    chunks = (double)streams * (double)tokens;
    printf("%-4s %-9s %8s %12s %8s %8s %12s\n", "rep", "side", "wall_s", "chunks/s", "MB/s", "cpu_s", "cpu_ns/chunk");
    for (rep = 0; rep < reps; rep++) {
        /* B L, L B, B L, ...: each side goes first half of the time */
        int order[2], k;
        double bc = 0, lc = 0;
        order[0] = (rep % 2 == 0) ? 1 : 2;
        order[1] = 3 - order[0];
        for (k = 0; k < 2; k++) {
            result r;
            int s = order[k], ok;
            if (side && s != side) continue;
            ok = s == 1 ? run_baseline(streams, tokens, &r) : run_llmasync(streams, tokens, &r);
            if (!ok) { failed = 1; break; }
            printf("%-4d %-9s %8.3f %12.0f %8.1f %8.3f %12.1f\n", rep + 1, s == 1 ? "baseline" : "llmasync", r.wall,
                   chunks / r.wall, r.bytes / r.wall / 1e6, r.cpu, r.cpu / chunks * 1e9);
            fflush(stdout);
            if (s == 1) {
                b_cps[nb] = bc = chunks / r.wall;
                b_mbs[nb] = r.bytes / r.wall / 1e6;
                b_cpu[nb++] = r.cpu / chunks * 1e9;
            } else {
                l_cps[nl] = lc = chunks / r.wall;
                l_mbs[nl] = r.bytes / r.wall / 1e6;
                l_cpu[nl++] = r.cpu / chunks * 1e9;
            }
        }
        if (failed) break;
        if (bc > 0 && lc > 0) ratio[np++] = lc / bc;
    }
    if (failed) {
        printf("RESULT stream_throughput status=FAIL reason=self_check\n");
        return 1;
    }
    if (nb) printf("median baseline: %.0f chunks/s, %.1f MB/s, %.1f ns client CPU per chunk\n",
                   bench_median(b_cps, (size_t)nb), bench_median(b_mbs, (size_t)nb), bench_median(b_cpu, (size_t)nb));
    if (nl) printf("median llmasync: %.0f chunks/s, %.1f MB/s, %.1f ns client CPU per chunk\n",
                   bench_median(l_cps, (size_t)nl), bench_median(l_mbs, (size_t)nl), bench_median(l_cpu, (size_t)nl));
    if (nb && nl) {
        double rc = bench_median(l_cps, (size_t)nl) / bench_median(b_cps, (size_t)nb);
        double rcpu = bench_median(l_cpu, (size_t)nl) / bench_median(b_cpu, (size_t)nb);
        printf("ratio llmasync/baseline: chunks/s %.3f (median of paired repetitions %.3f), "
               "client CPU per chunk %.2fx\n", rc, bench_median(ratio, (size_t)np), rcpu);
        printf("RESULT stream_throughput status=ok streams=%d tokens=%ld reps=%d base_cps=%.0f llm_cps=%.0f "
               "base_mbs=%.1f llm_mbs=%.1f ratio=%.3f paired_ratio=%.3f base_cpu_ns=%.1f llm_cpu_ns=%.1f cpu_ratio=%.2f\n",
               streams, tokens, reps, bench_median(b_cps, (size_t)nb), bench_median(l_cps, (size_t)nl),
               bench_median(b_mbs, (size_t)nb), bench_median(l_mbs, (size_t)nl), rc, bench_median(ratio, (size_t)np),
               bench_median(b_cpu, (size_t)nb), bench_median(l_cpu, (size_t)nl), rcpu);
    } else {
        printf("RESULT stream_throughput status=ok side=%s streams=%d tokens=%ld reps=%d\n", side == 1 ? "baseline" : "llmasync",
               streams, tokens, reps);
    }
    free(g_body);
    free(g_expected);
    curl_global_cleanup();
    return 0;
}
