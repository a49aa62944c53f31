/* Out of memory: a failing allocator fails the 1st, 2nd, ... Nth allocation
   of a request's whole life in turn (submit, transfer, decode, read, free).
   Each run must give a clean LLM_ERR_NO_MEMORY (or NULL from the call that
   could not allocate), never a crash, and nothing may leak. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "harness.h"
#include "mockctl.h"

static mock M;
static th_alloc A;

typedef struct scen { const char *name, *model, *directive; int stream, kind, retries; size_t max_response; } scen;
enum { CHAT, EMBED, RAW, RESPONSES, SPEECH, AUDIO, RERANK };
static const scen SC[] = {
    { "chat", "mock-model", "", 0, CHAT, 0, 0 },
    { "chat-json", "mock-model", "json=1", 0, CHAT, 0, 0 },
    { "chat-stream", "mock-model", "tokens=6 split=9 split_gap=0", 1, CHAT, 0, 0 },
    { "chat-stream-tools", "mock-model", "tools=2 split=11 split_gap=0", 1, CHAT, 0, 0 },
    { "chat-tools", "mock-model", "tools=2", 0, CHAT, 0, 0 },
    { "chat-error-retry", "mock-model", "status=500 retry_after_ms=1", 0, CHAT, 1, 0 },
    { "anthropic-stream", "anthropic/claude", "tokens=4 thinking=1 tools=1", 1, CHAT, 0, 0 },
    { "anthropic", "anthropic/claude", "tools=1", 0, CHAT, 0, 0 },
    { "ollama-stream", "ollama/llama", "tokens=4", 1, CHAT, 0, 0 },
    { "embed-batches", "text-embedding-3-small", "", 0, EMBED, 0, 0 },
    { "raw-stream", "", "tokens=3", 1, RAW, 0, 0 },
    { "responses", "m", "tools=1", 0, RESPONSES, 0, 0 },
    { "responses-stream", "m", "tools=1 split=13 split_gap=0", 1, RESPONSES, 0, 0 },
    { "chat-n-refusal", "mock-model", "refusal=1", 1, CHAT, 0, 0 },
    { "speech", "tts-1", "audio_bytes=9000 chunk_bytes=3000", 0, SPEECH, 0, 0 },
    { "transcription", "whisper-1", "", 0, AUDIO, 0, 0 },
    { "transcription-stream", "whisper-1", "", 1, AUDIO, 0, 0 },
    { "rerank", "r", "", 0, RERANK, 0, 0 },
    /* content that is JSON too large to parse under the bound (30,000 values
       under 2 x 64 KiB + 1 MiB): the view is refused and the answer done;
       a real failure after it is still NO_MEMORY, not the bound's TOO_LARGE */
    { "chat-content-over-bound", "mock-model", "zeros=30000", 0, CHAT, 0, 65536 },
};
enum { NSC = sizeof SC / sizeof SC[0] };

static llm_client *new_client(const scen *s) {
    llm_client_desc d;
    memset(&d, 0, sizeof d);
    d.max_response_bytes = s->max_response;
    d.base_url = M.openai;
    d.api_key = "sk-oom";
    d.anthropic_base_url = M.base;
    d.anthropic_api_key = "ak-oom";
    d.ollama_host = M.base;
    d.allocator.alloc_fn = th_alloc_fn;
    d.allocator.realloc_fn = th_realloc_fn;
    d.allocator.free_fn = th_free_fn;
    d.allocator.user_data = &A;
    return llm_client_new(&d);
}

static int last_retryable; /* of the last request life() saw */

/* One request's whole life. Returns 1 when it ran to a clean end. */
static int life(llm_client *c, const scen *s, llm_status *status, llm_error_kind *kind) {
    llm_request *r = NULL, *got;
    char hdr[128];
    const char *h[1];
    double t0 = th_now_ms();
    snprintf(hdr, sizeof hdr, "X-Mock: %s", s->directive);
    h[0] = hdr;
    if (s->kind == CHAT) {
        llm_message m = { "user", "tell me [[x=1]]", NULL, NULL, NULL, NULL, 0 };
        llm_chat_desc d;
        memset(&d, 0, sizeof d);
        d.model = s->model;
        d.messages = &m;
        d.n_messages = 1;
        d.stream = s->stream;
        d.max_retries = s->retries ? s->retries : -1;
        d.extra_json = "{\"seed\": 1}";
        d.headers = h;
        d.n_headers = 1;
        if (!strcmp(s->name, "chat-n-refusal")) d.n = 2; /* two choices, choice 0 refusing */
        r = llm_chat(c, &d);
    } else if (s->kind == RESPONSES) {
        static const unsigned char png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 1 };
        llm_image im;
        llm_message m = { "user", "look", NULL, NULL, NULL, NULL, 1 };
        llm_responses_desc d;
        memset(&im, 0, sizeof im);
        im.data = png;
        im.len = sizeof png;
        m.images = &im;
        memset(&d, 0, sizeof d);
        d.model = s->model;
        d.messages = &m;
        d.n_messages = 1;
        d.stream = s->stream;
        d.reasoning_effort = "low";
        d.max_retries = -1;
        d.headers = h;
        d.n_headers = 1;
        r = llm_responses(c, &d);
    } else if (s->kind == SPEECH) {
        llm_speech_desc d;
        memset(&d, 0, sizeof d);
        d.model = s->model;
        d.input = "say";
        d.voice = "alloy";
        d.max_retries = -1;
        d.headers = h;
        d.n_headers = 1;
        r = llm_speech(c, &d);
    } else if (s->kind == AUDIO) {
        llm_audio_desc d;
        memset(&d, 0, sizeof d);
        d.model = s->model;
        d.audio = "RIFF----WAVE";
        d.audio_len = 12;
        d.stream = s->stream;
        d.max_retries = -1;
        d.headers = h;
        d.n_headers = 1;
        r = llm_transcribe(c, &d);
    } else if (s->kind == RERANK) {
        const char *docs[3] = { "a b", "b c", "c d" };
        llm_rerank_desc d;
        memset(&d, 0, sizeof d);
        d.model = s->model;
        d.query = "b";
        d.documents = docs;
        d.n_documents = 3;
        d.max_retries = -1;
        d.headers = h;
        d.n_headers = 1;
        r = llm_rerank(c, &d);
    } else if (s->kind == EMBED) {
        const char *in[5] = { "a", "bb", "ccc", "dddd", "eeeee" };
        llm_embed_desc d;
        memset(&d, 0, sizeof d);
        d.model = s->model;
        d.inputs = in;
        d.n_inputs = 5;
        d.batch_size = 2;
        d.max_retries = -1;
        r = llm_embed(c, &d);
    } else {
        llm_raw_desc d;
        memset(&d, 0, sizeof d);
        d.path = "/v1/echo";
        d.body_json = "{\"stream\": true, \"input\": \"x\"}";
        d.stream = 1;
        d.max_retries = -1;
        d.headers = h;
        d.n_headers = 1;
        r = llm_raw(c, &d);
    }
    if (!r) { *status = LLM_FAILED; *kind = LLM_ERR_NO_MEMORY; last_retryable = 0; return 1; }
    got = NULL;
    while (!got && th_now_ms() - t0 < 5000) got = llm_wait_any(c, 1000);
    if (got != r) return 0;
    *status = llm_request_status(r);
    *kind = llm_request_error(r)->kind;
    if (s->max_response && *status == LLM_DONE) /* what the scenario is for: the view was refused */
        CHECK_MSG(llm_request_content_json(r) == NULL && llm_request_text(r, NULL)[0] == '[', "%s: content JSON parsed",
                  s->name);
    last_retryable = llm_request_error(r)->retryable;
    /* read everything a host would */
    {
        int i, dim;
        size_t n;
        llm_request_text(r, &n);
        llm_request_content_json(r);
        llm_request_json(r);
        for (i = 0; i < llm_request_tool_call_count(r); i++) (void)llm_request_tool_call(r, i)->arguments_json;
        for (i = 0; i < llm_request_embedding_count(r); i++) (void)llm_request_embedding(r, i, &dim);
        for (i = 0; i < llm_request_choice_count(r); i++) (void)llm_request_choice_text(r, i, &n);
        for (i = 0; i < llm_request_rank_count(r); i++) (void)llm_request_rank(r, i, NULL);
        llm_request_bytes(r, &n);
        llm_request_refusal(r, &n);
    }
    llm_request_free(r);
    return 1;
}

static void test_every_allocation_fails_once(void) {
    int s;
    for (s = 0; s < NSC; s++) {
        llm_client *c;
        long base, total, k, nomem = 0, done = 0;
        llm_status st;
        llm_error_kind kind;
        memset(&A, 0, sizeof A);
        c = new_client(&SC[s]);
        base = A.allocs;
        CHECK(life(c, &SC[s], &st, &kind));
        total = A.allocs - base;
        CHECK_MSG(st == (SC[s].retries ? LLM_FAILED : LLM_DONE), "%s: baseline ended %s (%s)", SC[s].name,
                  llm_status_string(st), llm_error_string(kind));
        llm_client_free(c);
        CHECK_MSG(A.live == 0, "%s: %ld blocks leaked in the baseline", SC[s].name, A.live);
        for (k = 1; k <= total + 2; k++) {
            int ok;
            memset(&A, 0, sizeof A);
            c = new_client(&SC[s]);
            A.fail_at = A.allocs + k;
            ok = life(c, &SC[s], &st, &kind);
            CHECK_MSG(ok, "%s: allocation %ld failed: request not reported", SC[s].name, k);
            if (A.allocs >= A.fail_at) { /* the failure happened */
                CHECK_MSG(kind == LLM_ERR_NO_MEMORY, "%s: allocation %ld failed, got %s / %s", SC[s].name, k,
                          llm_status_string(st), llm_error_string(kind));
                CHECK_MSG(!last_retryable || (kind != LLM_ERR_NO_MEMORY), "%s: allocation %ld failed: NO_MEMORY marked retryable",
                          SC[s].name, k);
                nomem++;
            } else {
                done++;
            }
            llm_client_free(c);
            CHECK_MSG(A.live == 0, "%s: allocation %ld failed: %ld blocks leaked", SC[s].name, k, A.live);
        }
        CHECK(nomem >= total - 2);
        if (th_verbose) fprintf(stderr, "    %-18s %ld allocations; each failed once: %ld clean NO_MEMORY\n", SC[s].name, total, nomem);
    }
}

/* And the client itself. */
static void test_client_new_fails_cleanly(void) {
    long k, total;
    llm_client *c;
    memset(&A, 0, sizeof A);
    c = new_client(&SC[0]);
    total = A.allocs;
    llm_client_free(c);
    for (k = 1; k <= total; k++) {
        memset(&A, 0, sizeof A);
        A.fail_at = k;
        c = new_client(&SC[0]);
        CHECK(c == NULL);
        CHECK_INT(A.live, 0);
    }
}

int main(int argc, char **argv) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!mock_start(&M)) { printf("oom: 0 passed, 1 failed\n"); return 1; }
    RUN(test_every_allocation_fails_once);
    RUN(test_client_new_fails_cleanly);
    mock_stop(&M);
    curl_global_cleanup();
    return th_finish("oom");
}
