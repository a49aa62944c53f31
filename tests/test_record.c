/* Record and replay (>>record): a mixed session recorded against the mock
   replays offline, with the mock's port closed, to exactly the same
   results; what is written never holds a key; a request without a
   recording fails naming it; broken files are refused naming the line;
   replay at the recorded pace takes the recorded time, instant replay
   does not; replay under a frame budget of 0 gives the same text. */
#define _POSIX_C_SOURCE 200809L
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "harness.h"
#include "mockctl.h"

static mock M;
static char rec_path[256];
static const char *KEY = "sk-record-secret-4f9a2b7c1d";
static const char *AKEY = "ak-record-secret-8e3d5f0a9b";
#define CLOSED "http://127.0.0.1:9" /* the discard port: nothing listens */

#define N_REQ 14

typedef struct sess {
    llm_request *r[N_REQ];
    llm__buf sig[N_REQ];
} sess;

static llm_client *client(int mode, const char *path, int paced, int retries) {
    llm_client_desc d;
    memset(&d, 0, sizeof d);
    d.base_url = mode == 2 ? CLOSED "/v1" : M.openai;
    d.anthropic_base_url = mode == 2 ? CLOSED : M.base;
    d.ollama_host = mode == 2 ? CLOSED : M.base;
    d.api_key = KEY;
    d.anthropic_api_key = AKEY;
    d.max_retries = retries;
    d.max_concurrent = 16;
    d.retry_seed = 7;
    d.idle_timeout_ms = (int)(400 * th_slow); /* valgrind on a busy machine: no stream stalls that long by accident */
    d.record_path = mode == 1 ? path : "";
    d.replay_path = mode == 2 ? path : "";
    d.replay_paced = paced;
    return llm_client_new(&d);
}

static llm_request *chat(llm_client *c, const char *model, const char *text, const char *directive, int stream) {
    llm_message m;
    llm_chat_desc d;
    char hdr[200];
    const char *h[1];
    memset(&m, 0, sizeof m);
    m.role = "user";
    m.content = text;
    memset(&d, 0, sizeof d);
    d.model = model;
    d.messages = &m;
    d.n_messages = 1;
    d.stream = stream;
    if (directive) {
        snprintf(hdr, sizeof hdr, "X-Mock: %s", directive);
        h[0] = hdr;
        d.headers = h;
        d.n_headers = 1;
    }
    return llm_chat(c, &d);
}

/* The session: every shape the library decodes, errors and retries too. */
static void submit_all(llm_client *c, sess *s) {
    static const char *inputs[2] = { "first input", "second, longer input" };
    static const unsigned char wav[] = { 'R', 'I', 'F', 'F', 0, 1, 2, 0xFF, 0xFE, 'W', 'A', 'V', 'E' };
    llm_embed_desc e;
    llm_speech_desc sp;
    llm_audio_desc au;
    int i = 0;
    s->r[i++] = chat(c, "mock-model", "hello there", NULL, 0);
    s->r[i++] = chat(c, "mock-model", "stream me", "tokens=60", 1);
    s->r[i++] = chat(c, "mock-model", "call tools", "tools=2", 1);
    s->r[i++] = chat(c, "anthropic/claude-test", "think first", "thinking=1", 1);
    s->r[i++] = chat(c, "ollama/llama3", "ndjson please", NULL, 1);
    s->r[i++] = chat(c, "mock-model", "unicode in pieces", "unicode=1 split=1", 1); /* chunks cut characters: base64 events */
    s->r[i++] = chat(c, "mock-model", "retry me", "id=rr status=503 fail_first=1", 0);
    s->r[i++] = chat(c, "mock-model", "bad request", "status=400", 0);
    s->r[i++] = chat(c, "mock-model", "leak the key", "echo_key=plain", 0); /* 401 whose body holds the key */
    s->r[i++] = chat(c, "mock-model", "stall", "stall_after=3", 1);      /* ends by our idle timeout */
    s->r[i++] = chat(c, "mock-model", "json answer", "json=1", 0);
    memset(&e, 0, sizeof e);
    e.model = "text-embedding-3-small";
    e.inputs = inputs;
    e.n_inputs = 2;
    s->r[i++] = llm_embed(c, &e);
    memset(&sp, 0, sizeof sp);
    sp.model = "tts-1";
    sp.input = "speak [[audio_bytes=5000 chunk_bytes=700]]";
    sp.voice = "alloy";
    s->r[i++] = llm_speech(c, &sp);
    memset(&au, 0, sizeof au);
    au.model = "whisper-1";
    au.audio = wav;
    au.audio_len = sizeof wav;
    au.filename = "a.wav";
    s->r[i++] = llm_transcribe(c, &au); /* multipart: a random boundary each time */
    CHECK_INT(i, N_REQ);
}

/* Everything the host can read of a finished request, as text. */
static void signature(llm_request *r, llm__buf *b) {
    char line[512];
    const llm_error *e = llm_request_error(r);
    const llm_usage *u = llm_request_usage(r);
    size_t n, k;
    const char *t = llm_request_text(r, &n);
    const void *bytes;
    int i;
    llm_allocator a = llm__allocator(NULL);
    snprintf(line, sizeof line, "status=%s kind=%s http=%d retryable=%d timeout=%d retries=%d finish=%s model=%s\n",
             llm_status_string(llm_request_status(r)), llm_error_string(e->kind), e->http_status, e->retryable,
             (int)e->timeout, e->retries, llm_request_finish_reason(r), llm_request_model(r));
    llm__buf_adds(&a, b, line);
    llm__buf_adds(&a, b, "message=");
    llm__buf_adds(&a, b, e->message);
    llm__buf_adds(&a, b, "\nprovider_message=");
    llm__buf_adds(&a, b, e->provider_message ? e->provider_message : "(none)");
    llm__buf_adds(&a, b, "\ntext=");
    llm__buf_add(&a, b, t, n);
    t = llm_request_reasoning(r, &n);
    llm__buf_adds(&a, b, "\nreasoning=");
    llm__buf_add(&a, b, t ? t : "", t ? n : 0);
    snprintf(line, sizeof line, "\nusage=%lld/%lld/%lld tools=%d embeddings=%d\n", (long long)u->prompt_tokens,
             (long long)u->completion_tokens, (long long)u->total_tokens, llm_request_tool_call_count(r),
             llm_request_embedding_count(r));
    llm__buf_adds(&a, b, line);
    for (i = 0; i < llm_request_tool_call_count(r); i++) {
        const llm_tool_call *tc = llm_request_tool_call(r, i);
        llm__buf_adds(&a, b, tc->id);
        llm__buf_adds(&a, b, " ");
        llm__buf_adds(&a, b, tc->name);
        llm__buf_adds(&a, b, " ");
        llm__buf_add(&a, b, tc->arguments, tc->arguments_len);
        llm__buf_adds(&a, b, "\n");
    }
    for (i = 0; i < llm_request_embedding_count(r); i++) {
        int dim = 0;
        const float *v = llm_request_embedding(r, i, &dim);
        for (k = 0; v && k < (size_t)dim; k++) {
            snprintf(line, sizeof line, "%.9g ", (double)v[k]);
            llm__buf_adds(&a, b, line);
        }
        llm__buf_adds(&a, b, "\n");
    }
    bytes = llm_request_bytes(r, &n);
    {
        uint32_t h = 2166136261u;
        for (k = 0; bytes && k < n; k++) h = (h ^ ((const unsigned char *)bytes)[k]) * 16777619u;
        snprintf(line, sizeof line, "bytes=%lu fnv=%08lx\n", (unsigned long)n, (unsigned long)h);
        llm__buf_adds(&a, b, line);
    }
}

/* Runs the session to its end; every request reported exactly once. */
static void run_session(llm_client *c, sess *s) {
    int got = 0, i;
    memset(s, 0, sizeof *s);
    submit_all(c, s);
    while (got < N_REQ) {
        llm_request *r = th_next(c, 20000);
        if (!r) break;
        for (i = 0; i < N_REQ && s->r[i] != r; i++) {}
        CHECK(i < N_REQ);
        if (i < N_REQ) { CHECK(s->sig[i].len == 0); signature(r, &s->sig[i]); }
        got++;
    }
    CHECK_INT(got, N_REQ);
}
/* The requests go before their client; the signatures stay. */
static void sess_free_requests(sess *s) {
    int i;
    for (i = 0; i < N_REQ; i++) {
        llm_request_free(s->r[i]);
        s->r[i] = NULL;
    }
}
static void sess_free(sess *s) {
    llm_allocator a = llm__allocator(NULL);
    int i;
    sess_free_requests(s);
    for (i = 0; i < N_REQ; i++) llm__buf_free(&a, &s->sig[i]);
}

static char *slurp(const char *path, size_t *len) {
    llm_allocator a = llm__allocator(NULL);
    size_t n = 0;
    char *p = llm__read_file(&a, path, &n);
    if (len) *len = n;
    return p;
}

static void test_record_then_replay(void) {
    sess rec, rep;
    llm_client *c;
    char *file;
    size_t len;
    long before;
    int i, lines = 0, attempts = 0;
    remove(rec_path);
    c = client(1, rec_path, 0, 1);
    CHECK(c != NULL);
    if (!c) return;
    run_session(c, &rec);
    /* what the session should have been (the recording is only as good
       as the session it recorded) */
    CHECK_STR(llm_request_text(rec.r[0], NULL), "Echo: hello there");
    CHECK_INT(llm_request_error(rec.r[6])->retries, 1);
    CHECK_INT(llm_request_status(rec.r[6]), LLM_DONE);
    CHECK_INT(llm_request_error(rec.r[7])->kind, LLM_ERR_BAD_REQUEST);
    CHECK_INT(llm_request_error(rec.r[8])->kind, LLM_ERR_AUTH);
    CHECK_INT(llm_request_error(rec.r[9])->kind, LLM_ERR_TIMEOUT);
    CHECK_INT(llm_request_error(rec.r[9])->timeout, LLM_TIMEOUT_IDLE);
    CHECK_INT(llm_request_error(rec.r[9])->retries, 0); /* text came: never retried */
    CHECK_INT(llm_request_tool_call_count(rec.r[2]), 2);
    CHECK_INT(llm_request_embedding_count(rec.r[11]), 2);
    CHECK(llm_request_bytes(rec.r[12], &len) && len == 5000);
    CHECK_INT(llm_request_status(rec.r[13]), LLM_DONE);
    for (i = 0; i < N_REQ; i++) attempts += llm_request_error(rec.r[i])->retries + 1;
    sess_free_requests(&rec);
    llm_client_free(c);

    /* the file: one line per attempt, no key, no credential header */
    file = slurp(rec_path, &len);
    CHECK(file != NULL);
    if (file) {
        for (i = 0; i < (int)len; i++) lines += file[i] == '\n';
        CHECK_INT(lines, attempts); /* one per attempt: N_REQ + 1 (the 503's retry) when nothing else was retried */
        CHECK(strstr(file, KEY) == NULL);
        CHECK(strstr(file, AKEY) == NULL);
        CHECK(strstr(file, "record-secret") == NULL);
        CHECK(strstr(file, "Incorrect API key provided: ***") != NULL); /* the 401 body, masked */
        CHECK(strstr(file, "uthorization") == NULL && strstr(file, "x-api-key") == NULL);
        CHECK(strstr(file, "\"b64\"") != NULL);           /* cut characters and audio bytes */
        CHECK(strstr(file, "\"timeout\":\"idle\"") != NULL);
        free(file);
    }

    /* replay: the mock's port is not even asked */
    before = mock_stat(&M, "requests");
    c = client(2, rec_path, 0, 1);
    CHECK(c != NULL);
    if (!c) { sess_free(&rec); return; }
    memset(&rep, 0, sizeof rep);
    run_session(c, &rep);
    for (i = 0; i < N_REQ; i++)
        CHECK_MSG(rec.sig[i].len && rep.sig[i].len && !strcmp(rec.sig[i].p, rep.sig[i].p),
                  "request %d differs:\n--- recorded\n%s--- replayed\n%s", i, rec.sig[i].p ? rec.sig[i].p : "",
                  rep.sig[i].p ? rep.sig[i].p : "");
    CHECK_INT(mock_stat(&M, "requests"), before);
    sess_free_requests(&rep);
    /* every exchange was used: the same session again finds none left */
    {
        llm_request *r = chat(c, "mock-model", "hello there", NULL, 0);
        CHECK(th_next(c, 5000) == r);
        CHECK_INT(llm_request_status(r), LLM_FAILED);
        CHECK_INT(llm_request_error(r)->kind, LLM_ERR_CONNECTION);
        llm_request_free(r);
    }
    llm_client_free(c);
    sess_free(&rec);
    sess_free(&rep);
}

static void test_replay_missing(void) {
    llm_client *c = client(2, rec_path, 0, 2);
    llm_request *r;
    const llm_error *e;
    CHECK(c != NULL);
    if (!c) return;
    r = chat(c, "mock-model", "never recorded", NULL, 0);
    CHECK(th_next(c, 5000) == r);
    e = llm_request_error(r);
    CHECK_INT(llm_request_status(r), LLM_FAILED);
    CHECK_INT(e->kind, LLM_ERR_CONNECTION);
    CHECK_INT(e->retries, 0);
    CHECK_INT(e->retryable, 0);
    CHECK_MSG(strstr(e->message, "replay: no recorded exchange for POST /v1/chat/completions") != NULL, "%s", e->message);
    CHECK_MSG(strstr(e->message, "of them POST /v1/chat/completions") != NULL, "%s", e->message);
    llm_request_free(r);
    llm_client_free(c);
}

static char logged[1024];
static void log_fn(llm_log_level lv, const char *msg, void *ud) {
    (void)ud;
    if (lv == LLM_LOG_ERROR) snprintf(logged, sizeof logged, "%s", msg);
}
static int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fputs(text, f);
    fclose(f);
    return 1;
}
static llm_client *client_logged(const char *record, const char *replay) {
    llm_client_desc d;
    memset(&d, 0, sizeof d);
    d.record_path = record;
    d.replay_path = replay;
    d.log_fn = log_fn;
    logged[0] = '\0';
    return llm_client_new(&d);
}

static void test_bad_files(void) {
    char bad[300];
    const char *good = "{\"llmasync_exchange\":1,\"method\":\"GET\",\"path\":\"/v1/models\",\"body_len\":0,"
                       "\"body_hash\":\"cbf29ce484222325\",\"events\":[],\"curl\":0}\n";
    char text[1024];
    snprintf(bad, sizeof bad, "%s.bad", rec_path);
    CHECK(client_logged(NULL, "/nonexistent/dir/none.jsonl") == NULL);
    CHECK_MSG(strstr(logged, "cannot be read") && strstr(logged, "none.jsonl"), "%s", logged);
    CHECK(client_logged("/nonexistent/dir/rec.jsonl", NULL) == NULL);
    CHECK_MSG(strstr(logged, "cannot be opened"), "%s", logged);
    CHECK(client_logged(rec_path, rec_path) == NULL);
    CHECK_MSG(strstr(logged, "record and replay at once"), "%s", logged);
    snprintf(text, sizeof text, "%s\n{\"llmasync_exchange\":1,", good); /* line 3 (after a blank one) is cut */
    CHECK(write_file(bad, text));
    CHECK(client_logged(NULL, bad) == NULL);
    CHECK_MSG(strstr(logged, "line 3:"), "%s", logged);
    snprintf(text, sizeof text, "%s{\"llmasync_exchange\":1,\"method\":\"GET\",\"path\":\"/x\",\"body_len\":0,"
             "\"body_hash\":\"cbf29ce484222325\",\"events\":[[0,\"b\",{\"b64\":\"!!\"}]],\"curl\":0}\n", good);
    CHECK(write_file(bad, text));
    CHECK(client_logged(NULL, bad) == NULL);
    CHECK_MSG(strstr(logged, "line 2: an event's b64 data is not base64"), "%s", logged);
    snprintf(text, sizeof text, "{\"llmasync_exchange\":1,\"method\":\"GET\",\"path\":\"/x\",\"body_len\":0,"
             "\"body_hash\":\"cbf29ce484222325\",\"events\":[[0,\"x\",\"\"]],\"curl\":0}\n");
    CHECK(write_file(bad, text));
    CHECK(client_logged(NULL, bad) == NULL);
    CHECK_MSG(strstr(logged, "line 1: an event's tag"), "%s", logged);
    snprintf(text, sizeof text, "{\"llmasync_exchange\":1,\"method\":\"GET\",\"path\":\"/x\",\"body_len\":0,"
             "\"body_hash\":\"cbf29ce484222325\",\"events\":[],\"curl\":0,\"timeout\":\"connect\"}\n");
    CHECK(write_file(bad, text));
    CHECK(client_logged(NULL, bad) == NULL);
    CHECK_MSG(strstr(logged, "timeout is not"), "%s", logged);
    snprintf(text, sizeof text, "%s%s", good, good); /* strict JSON: a trailing comma is refused */
    strcpy(strrchr(text, '}'), ",}\n");
    CHECK(write_file(bad, text));
    CHECK(client_logged(NULL, bad) == NULL);
    CHECK_MSG(strstr(logged, "line 2:"), "%s", logged);
    /* a good file, and an empty one, load */
    CHECK(write_file(bad, good));
    {
        llm_client *c = client_logged(NULL, bad);
        CHECK(c != NULL);
        llm_client_free(c);
    }
    CHECK(write_file(bad, ""));
    {
        llm_client *c = client_logged(NULL, bad);
        CHECK(c != NULL);
        llm_client_free(c);
    }
    remove(bad);
}

/* A recorded exchange whose events are edited by hand replays as edited:
   the file is the source of truth, so QA can write the answers it needs. */
static void test_hand_written(void) {
    char path[300];
    llm_client *c;
    llm_request *r;
    llm_message m;
    llm_chat_desc d;
    const char *body;
    size_t blen;
    char hash[17], line[2048];
    llm_request probe;
    snprintf(path, sizeof path, "%s.hand", rec_path);
    /* the identity of this request, as the library computes it */
    memset(&m, 0, sizeof m);
    m.role = "user";
    m.content = "hi";
    memset(&d, 0, sizeof d);
    d.model = "mock-model";
    d.messages = &m;
    d.n_messages = 1;
    c = client_logged("", "");
    CHECK(c != NULL);
    if (!c) return;
    r = llm_chat(c, &d);
    body = r->body;
    blen = r->body_len;
    memset(&probe, 0, sizeof probe);
    probe.body = (char *)body;
    probe.body_len = blen;
    llm__rec_hash(&probe, hash);
    snprintf(line, sizeof line,
             "{\"llmasync_exchange\":1,\"method\":\"POST\",\"path\":\"/v1/chat/completions\",\"body_len\":%lu,"
             "\"body_hash\":\"%s\",\"events\":[[0,\"h\",\"HTTP/1.1 200 OK\\r\\n\"],"
             "[0,\"h\",\"Content-Type: application/json\\r\\n\"],[0,\"h\",\"\\r\\n\"],"
             "[0,\"b\",\"{\\\"choices\\\":[{\\\"index\\\":0,\\\"message\\\":{\\\"role\\\":\\\"assistant\\\",\"],"
             /* base64 without its "==": nothing is decoded past the end */
             "[0,\"b\",{\"b64\":\"ImNvbnRlbnQiOiJ3cml0dGVuIGJ5IGhhbmQifSwiZmluaXNoX3JlYXNvbiI6InN0b3AifV19IA\"}]],"
             "\"curl\":0}\n",
             (unsigned long)blen, hash);
    llm_request_free(r);
    llm_client_free(c);
    CHECK(write_file(path, line));
    c = client(2, path, 0, 0);
    CHECK(c != NULL);
    if (!c) return;
    r = llm_chat(c, &d);
    CHECK(th_next(c, 5000) == r);
    CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s", llm_request_error(r)->message);
    CHECK_STR(llm_request_text(r, NULL), "written by hand");
    CHECK_STR(llm_request_finish_reason(r), "stop");
    llm_request_free(r);
    llm_client_free(c);
    remove(path);
}

/* Paced replay takes the recorded time; instant replay does not. */
static void test_paced(void) {
    char path[300];
    llm_client *c;
    llm_request *r;
    double t0, rec_ms, paced_ms, instant_ms;
    char *want;
    snprintf(path, sizeof path, "%s.paced", rec_path);
    remove(path);
    c = client(1, path, 0, 0);
    CHECK(c != NULL);
    if (!c) return;
    t0 = th_now_ms();
    r = chat(c, "mock-model", "slowly", "tokens=12 pace=50", 1);
    CHECK(th_next(c, 10000) == r);
    rec_ms = th_now_ms() - t0;
    CHECK_INT(llm_request_status(r), LLM_DONE);
    want = strdup(llm_request_text(r, NULL));
    llm_request_free(r);
    llm_client_free(c);
    CHECK(rec_ms >= 500);

    c = client(2, path, 1, 0);
    t0 = th_now_ms();
    r = chat(c, "mock-model", "slowly", "tokens=12 pace=50", 1);
    CHECK(th_next(c, 10000) == r);
    paced_ms = th_now_ms() - t0;
    CHECK_STR(llm_request_text(r, NULL), want);
    llm_request_free(r);
    llm_client_free(c);

    c = client(2, path, 0, 0);
    t0 = th_now_ms();
    r = chat(c, "mock-model", "slowly", "tokens=12 pace=50", 1);
    CHECK(th_next(c, 10000) == r);
    instant_ms = th_now_ms() - t0;
    CHECK_STR(llm_request_text(r, NULL), want);
    llm_request_free(r);
    llm_client_free(c);
    /* the stream's last event was recorded after 11 gaps of 50 ms */
    CHECK_MSG(paced_ms >= 540, "paced replay took %.0f ms (recorded %.0f ms)", paced_ms, rec_ms);
    CHECK_MSG(instant_ms < 200 * th_slow, "instant replay took %.0f ms", instant_ms);
    if (th_verbose) fprintf(stderr, "    recorded %.0f ms, paced %.0f ms, instant %.0f ms\n", rec_ms, paced_ms, instant_ms);
    free(want);
    remove(path);
}

/* Each of our timeouts comes back as the same kind: a first-byte timeout
   and a total one, recorded and replayed (the idle one is in the session). */
static void test_timeouts_replayed(void) {
    char path[300];
    llm_client_desc d;
    llm_client *c;
    llm_request *a, *b;
    int pass;
    snprintf(path, sizeof path, "%s.timeouts", rec_path);
    remove(path);
    for (pass = 0; pass < 2; pass++) {
        memset(&d, 0, sizeof d);
        d.base_url = pass ? CLOSED "/v1" : M.openai;
        d.max_retries = -1;
        d.first_byte_timeout_ms = 150;
        d.record_path = pass ? "" : path;
        d.replay_path = pass ? path : "";
        c = llm_client_new(&d);
        CHECK(c != NULL);
        if (!c) return;
        a = chat(c, "mock-model", "late", "delay=600", 0);
        {
            llm_chat_desc cd;
            llm_message m;
            const char *h[1] = { "X-Mock: tokens=40 pace=50" };
            memset(&m, 0, sizeof m);
            m.role = "user";
            m.content = "too long";
            memset(&cd, 0, sizeof cd);
            cd.model = "mock-model";
            cd.messages = &m;
            cd.n_messages = 1;
            cd.stream = 1;
            cd.timeout_ms = 400;
            cd.headers = h;
            cd.n_headers = 1;
            b = llm_chat(c, &cd);
        }
        while (th_next(c, 5000) != NULL) {}
        CHECK_INT(llm_request_error(a)->kind, LLM_ERR_TIMEOUT);
        CHECK_MSG(llm_request_error(a)->timeout == LLM_TIMEOUT_FIRST_BYTE, "pass %d: %d", pass, (int)llm_request_error(a)->timeout);
        CHECK_INT(llm_request_error(b)->kind, LLM_ERR_TIMEOUT);
        CHECK_MSG(llm_request_error(b)->timeout == LLM_TIMEOUT_TOTAL, "pass %d: %d", pass, (int)llm_request_error(b)->timeout);
        llm_request_free(a);
        llm_request_free(b);
        llm_client_free(c);
    }
    remove(path);
}

/* Replay under llm_poll_budget(c, 0): one unit a call, same text, and the
   environment variable alone turns replay on. */
static void test_budget_and_env(void) {
    char path[300];
    llm_client *c;
    llm_request *r;
    char *want;
    int calls = 0, deferred = 0, left = 1;
    snprintf(path, sizeof path, "%s.env", rec_path);
    remove(path);
    setenv("LLMASYNC_RECORD", path, 1);
    {
        llm_client_desc d;
        memset(&d, 0, sizeof d);
        d.base_url = M.openai;
        d.api_key = KEY;
        c = llm_client_new(&d);
    }
    unsetenv("LLMASYNC_RECORD");
    CHECK(c != NULL);
    if (!c) return;
    r = chat(c, "mock-model", "many", "tokens=200 pace=1", 1);
    CHECK(th_next(c, 10000) == r);
    CHECK_INT(llm_request_status(r), LLM_DONE);
    want = strdup(llm_request_text(r, NULL));
    llm_request_free(r);
    llm_client_free(c);

    setenv("LLMASYNC_REPLAY", path, 1);
    {
        llm_client_desc d;
        memset(&d, 0, sizeof d);
        d.base_url = CLOSED "/v1";
        c = llm_client_new(&d);
    }
    unsetenv("LLMASYNC_REPLAY");
    CHECK(c != NULL);
    if (!c) { free(want); return; }
    r = chat(c, "mock-model", "many", "tokens=200 pace=1", 1);
    while ((left || deferred) && calls < 100000) {
        left = llm_poll_budget(c, 0, &deferred);
        calls++;
    }
    CHECK_INT(llm_request_status(r), LLM_DONE);
    CHECK_STR(llm_request_text(r, NULL), want);
    CHECK_MSG(calls > 50, "%d calls", calls);
    if (th_verbose) fprintf(stderr, "    %d calls, left %d deferred %d rp_i %lu\n", calls, left, deferred, (unsigned long)r->rp_i); /* one event a call, not the whole stream */
    CHECK(llm_take_done(c) == r);
    llm_request_free(r);
    llm_client_free(c);
    free(want);
    remove(path);
}

int main(int argc, char **argv) {
    const char *tmp = getenv("TMPDIR");
    (void)argc;
    (void)argv;
    th_slow_from_env();
    snprintf(rec_path, sizeof rec_path, "%s/llmasync-record-%ld.jsonl", tmp && *tmp ? tmp : "/tmp", (long)getpid());
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!mock_start(&M)) { printf("record: 0 passed, 1 failed\n"); return 1; }
    RUN(test_record_then_replay);
    RUN(test_replay_missing);
    RUN(test_bad_files);
    RUN(test_hand_written);
    RUN(test_paced);
    RUN(test_timeouts_replayed);
    RUN(test_budget_and_env);
    remove(rec_path);
    mock_stop(&M);
    curl_global_cleanup();
    return th_finish("record");
}
