/* Providers end to end: Anthropic Messages, Ollama native, embeddings
   (single and batched), raw endpoints, routing and registered providers,
   structured outputs; one client with all of them in flight at once. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "harness.h"
#include "mockctl.h"

static mock M;

static llm_client *client_cfg(int max_retries, int max_concurrent) {
    llm_client_desc d;
    static llm_provider_desc prov[3];
    static char local_base[96];
    memset(&d, 0, sizeof d);
    d.base_url = M.openai;
    d.api_key = "sk-openai-prov";
    d.anthropic_base_url = M.base;
    d.anthropic_api_key = "ak-anthropic-prov";
    d.ollama_host = M.base;
    d.max_retries = max_retries;
    d.max_concurrent = max_concurrent;
    memset(prov, 0, sizeof prov);
    snprintf(local_base, sizeof local_base, "%s/", M.openai); /* a trailing slash is fine */
    prov[0].name = "groq";
    prov[0].base_url = local_base;
    prov[0].api_key = "gk-groq-prov";
    prov[1].name = "claudeproxy"; /* an Anthropic-compatible gateway */
    prov[1].api = LLM_API_ANTHROPIC;
    prov[1].base_url = M.base;
    prov[1].api_key = "ak-proxy";
    prov[2].name = "ollamaproxy"; /* Ollama behind a proxy that wants a key */
    prov[2].api = LLM_API_OLLAMA;
    prov[2].base_url = M.base;
    prov[2].api_key = "ol-proxy-key";
    d.providers = prov;
    d.n_providers = 3;
    return llm_client_new(&d);
}
static llm_client *client(void) { return client_cfg(0, 0); }

static llm_request *chat(llm_client *c, const char *model, const char *text, const char *directive, int stream,
                         const char *extra, void *ud) {
    llm_message m = { "user", text, NULL, NULL, NULL, NULL, 0 };
    llm_chat_desc d;
    char hdr[200];
    const char *h[1];
    memset(&d, 0, sizeof d);
    d.model = model;
    d.messages = &m;
    d.n_messages = 1;
    d.stream = stream;
    d.extra_json = extra;
    d.user_data = ud;
    d.system = "You are terse.";
    if (directive) {
        snprintf(hdr, sizeof hdr, "X-Mock: %s", directive);
        h[0] = hdr;
        d.headers = h;
        d.n_headers = 1;
    }
    return llm_chat(c, &d);
}
static llm_request *run(llm_client *c, llm_request *r) {
    llm_request *got = th_next(c, 8000);
    CHECK(got == r);
    return got;
}

static void test_anthropic(void) {
    llm_client *c = client();
    llm_request *r;
    char *s;
    r = run(c, chat(c, "anthropic/claude-test", "hello claude", NULL, 0, NULL, NULL));
    if (!r) { llm_client_free(c); return; }
    CHECK_INT(llm_request_status(r), LLM_DONE);
    CHECK_STR(llm_request_text(r, NULL), "Echo: hello claude");
    CHECK_STR(llm_request_finish_reason(r), "end_turn");
    CHECK(!strncmp(llm_request_id(r), "msg_mock_", 9));
    CHECK_STR(llm_request_model(r), "claude-test"); /* prefix stripped on the wire */
    CHECK_INT(llm_request_usage(r)->prompt_tokens, 5);
    CHECK_INT(llm_request_usage(r)->completion_tokens, 3);
    CHECK_INT(llm_request_usage(r)->total_tokens, 8);
    CHECK(llm_request_error(r)->request_id && !strncmp(llm_request_error(r)->request_id, "req_mock_", 9));
    s = mock_stat_str(&M, "last_x_api_key");
    CHECK_STR(s, "ak-anthropic-prov");
    free(s);
    s = mock_stat_str(&M, "last_anthropic_version");
    CHECK_STR(s, "2023-06-01");
    free(s);
    s = mock_stat_str(&M, "last_authorization");
    CHECK(s == NULL); /* the OpenAI key does not go to Anthropic */
    free(s);
    /* stream: thinking, text, a tool_use assembled from input_json_delta */
    r = run(c, chat(c, "anthropic/claude-test", "x", "tokens=5 thinking=1 split=7 split_gap=0", 1, NULL, NULL));
    CHECK_INT(llm_request_status(r), LLM_DONE);
    CHECK_STR(llm_request_text(r, NULL), "tok0 tok1 tok2 tok3 tok4");
    CHECK(llm_request_reasoning(r, NULL)[0] != '\0');
    CHECK_INT(llm_request_usage(r)->completion_tokens, 5);
    CHECK_STR(llm_request_finish_reason(r), "end_turn");
    r = run(c, chat(c, "anthropic/claude-test", "x", "tools=2 split=5 split_gap=0", 1, NULL, NULL));
    CHECK_STR(llm_request_finish_reason(r), "tool_use");
    CHECK_INT(llm_request_tool_call_count(r), 2);
    if (llm_request_tool_call_count(r) == 2) {
        const llm_tool_call *t = llm_request_tool_call(r, 1);
        CHECK_STR(t->name, "get_weather");
        CHECK(!strncmp(t->id, "toolu_", 6));
        CHECK_STR(llm_json_string(llm_json_get(t->arguments_json, "city"), NULL), "Paris");
    }
    r = run(c, chat(c, "anthropic/claude-test", "x", "tools=1", 0, NULL, NULL)); /* non-stream tool_use */
    CHECK_INT(llm_request_tool_call_count(r), 1);
    CHECK(llm_request_tool_call(r, 0) && llm_request_tool_call(r, 0)->arguments_json != NULL);
    /* max_tokens cut */
    {
        llm_message m = { "user", "a b c d e f g h", NULL, NULL, NULL, NULL, 0 };
        llm_chat_desc d;
        memset(&d, 0, sizeof d);
        d.model = "anthropic/claude-test";
        d.messages = &m;
        d.n_messages = 1;
        d.max_tokens = 3;
        r = run(c, llm_chat(c, &d));
        CHECK_STR(llm_request_finish_reason(r), "max_tokens");
        CHECK_INT(llm_request_usage(r)->completion_tokens, 3);
    }
    /* error event mid-stream: overloaded, with its type */
    r = run(c, chat(c, "anthropic/claude-test", "x", "tokens=5 error_after=2", 1, NULL, NULL));
    CHECK_INT(llm_request_error(r)->kind, LLM_ERR_OVERLOADED);
    CHECK_STR(llm_request_error(r)->type, "overloaded_error");
    CHECK(strstr(llm_request_error(r)->message, "Overloaded") != NULL);
    llm_client_free(c);
    /* before the first delta, an overloaded_error is retried */
    c = client_cfg(2, 0);
    r = run(c, chat(c, "anthropic/claude-test", "x", "tokens=3 error_after=0 id=an1 fail_first=1", 1, NULL, NULL));
    CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s", llm_request_error(r)->message);
    CHECK_INT(llm_request_error(r)->retries, 1);
    /* an Anthropic-compatible gateway registered by the host */
    r = run(c, chat(c, "claudeproxy/claude-gw", "via proxy", NULL, 0, NULL, NULL));
    CHECK_STR(llm_request_text(r, NULL), "Echo: via proxy");
    s = mock_stat_str(&M, "last_x_api_key");
    CHECK_STR(s, "ak-proxy");
    free(s);
    llm_client_free(c);
}

static void test_ollama(void) {
    llm_client *c = client_cfg(2, 0);
    llm_request *r;
    r = run(c, chat(c, "ollama/llama3.2", "hi ollama", NULL, 0, NULL, NULL));
    CHECK_INT(llm_request_status(r), LLM_DONE);
    CHECK_STR(llm_request_text(r, NULL), "Echo: hi ollama");
    CHECK_STR(llm_request_finish_reason(r), "stop");
    CHECK_INT(llm_request_usage(r)->prompt_tokens, 5);
    CHECK_INT(llm_request_usage(r)->completion_tokens, 3);
    CHECK_STR(llm_request_model(r), "llama3.2");
    { /* no key: no Authorization; a registered Ollama with a key: a bearer */
        char *auth = mock_stat_str(&M, "last_authorization");
        CHECK_MSG(auth == NULL, "%s", auth);
        free(auth);
        r = run(c, chat(c, "ollamaproxy/llama3.2", "hi proxy", NULL, 0, NULL, NULL));
        CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s", llm_request_error(r)->message);
        auth = mock_stat_str(&M, "last_authorization");
        CHECK_MSG(auth && !strcmp(auth, "Bearer ol-proxy-key"), "%s", auth ? auth : "(none)");
        free(auth);
    }
    r = run(c, chat(c, "ollama/llama3.2", "x", "tokens=7 split=9 split_gap=0", 1, NULL, NULL));
    CHECK_STR(llm_request_text(r, NULL), "tok0 tok1 tok2 tok3 tok4 tok5 tok6");
    CHECK_INT(llm_request_usage(r)->completion_tokens, 7);
    {
        llm_message m = { "user", "x", NULL, NULL, NULL, NULL, 0 };
        llm_chat_desc d;
        const char *h = "X-Mock: tokens=9";
        memset(&d, 0, sizeof d);
        d.model = "ollama/llama3.2";
        d.messages = &m;
        d.n_messages = 1;
        d.max_tokens = 4; /* options.num_predict */
        d.has_temperature = 1;
        d.stream = 1;
        d.headers = &h;
        d.n_headers = 1;
        r = run(c, llm_chat(c, &d));
        CHECK_STR(llm_request_finish_reason(r), "length");
        CHECK_STR(llm_request_text(r, NULL), "tok0 tok1 tok2 tok3");
    }
    r = run(c, chat(c, "ollama/llama3.2", "x", "tokens=5 error_after=2", 1, NULL, NULL)); /* {"error"} under 200 */
    CHECK_INT(llm_request_status(r), LLM_FAILED);
    CHECK_INT(llm_request_error(r)->kind, LLM_ERR_SERVER);
    CHECK_INT(llm_request_error(r)->http_status, 200);
    CHECK(strstr(llm_request_error(r)->message, "mock ollama error") != NULL);
    r = run(c, chat(c, "ollama/llama3.2", "x", "tokens=3 error_after=0 id=ol1 fail_first=1", 1, NULL, NULL));
    CHECK_MSG(llm_request_status(r) == LLM_DONE && llm_request_error(r)->retries == 1, "%s", llm_request_error(r)->message);
    r = run(c, chat(c, "ollama/llama3.2", "x", "status=404", 0, NULL, NULL));
    CHECK_INT(llm_request_error(r)->kind, LLM_ERR_NOT_FOUND);
    CHECK(strstr(llm_request_error(r)->message, "mock error 404") != NULL);
    r = run(c, chat(c, "ollama/llama3.2", "x", "tools=1", 0, NULL, NULL));
    CHECK_INT(llm_request_tool_call_count(r), 1);
    llm_client_free(c);
}

static float expect_e(const char *s, int j) {
    uint32_t h = 2166136261u;
    const unsigned char *p = (const unsigned char *)s;
    if (j == 0) return (float)strlen(s);
    while (*p) { h ^= *p++; h *= 16777619u; }
    return (float)(((h >> (j % 24)) % 1000) / 1000.0);
}
static int vectors_ok(llm_request *r, const char *const *in, int n, int dim) {
    int i, j, d, bad = 0;
    if (llm_request_embedding_count(r) != n) return 0;
    for (i = 0; i < n; i++) {
        const float *v = llm_request_embedding(r, i, &d);
        if (!v || d != dim) return 0;
        for (j = 0; j < dim; j++)
            if (v[j] != expect_e(in[i], j)) bad++;
    }
    return bad == 0;
}

static const char *slow_hdr = "X-Mock: delay=300";
static void test_embeddings(void) {
    llm_client *c = client_cfg(0, 4);
    const char *in[3] = { "alpha", "be", "gamma ray" };
    static char big[1000][24];
    const char *many[1000];
    llm_embed_desc d;
    llm_request *r;
    int i;
    memset(&d, 0, sizeof d);
    d.model = "text-embedding-3-small";
    d.inputs = in;
    d.n_inputs = 3;
    r = llm_embed(c, &d);
    CHECK(th_next(c, 5000) == r);
    CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s", llm_request_error(r)->message);
    CHECK(vectors_ok(r, in, 3, 8));
    CHECK_INT(llm_request_usage(r)->prompt_tokens, 4);
    CHECK(llm_request_embedding(r, 3, NULL) == NULL);
    d.dimensions = 5; /* and the index, not the order, places each vector */
    d.extra_json = "{\"user\": \"t\"}";
    {
        const char *h = "X-Mock: shuffle=1";
        d.headers = &h;
        d.n_headers = 1;
        r = llm_embed(c, &d);
        CHECK(th_next(c, 5000) == r);
        CHECK(vectors_ok(r, in, 3, 5));
        d.headers = NULL;
        d.n_headers = 0;
    }
    d.extra_json = "{\"encoding_format\": \"base64\"}"; /* base64 floats decode the same */
    r = llm_embed(c, &d);
    CHECK(th_next(c, 5000) == r);
    CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s", llm_request_error(r)->message);
    CHECK(vectors_ok(r, in, 3, 5));
    d.extra_json = NULL;
    d.dimensions = 0;
    d.model = "ollama/nomic-embed-text";
    r = llm_embed(c, &d);
    CHECK(th_next(c, 5000) == r);
    CHECK(vectors_ok(r, in, 3, 8));
    CHECK_INT(llm_request_usage(r)->prompt_tokens, 4);
    /* a batch of 1000 inputs in requests of 100, run under the client's limit (4) */
    for (i = 0; i < 1000; i++) {
        snprintf(big[i], sizeof big[i], "input number %d", i * 7);
        many[i] = big[i];
    }
    mock_reset(&M);
    d.model = "text-embedding-3-small";
    d.inputs = many;
    d.n_inputs = 1000;
    d.batch_size = 100;
    {
        double t0 = th_now_ms();
        const char *h = "X-Mock: delay=50";
        d.headers = &h;
        d.n_headers = 1;
        r = llm_embed(c, &d);
        CHECK_INT(llm_request_status(r), LLM_QUEUED);
        CHECK_INT(llm_poll(c), 1); /* one request for the host */
        CHECK(th_next(c, 10000) == r);
        CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s", llm_request_error(r)->message);
        CHECK(vectors_ok(r, many, 1000, 8));
        CHECK_INT(mock_stat(&M, "requests"), 10);
        CHECK_INT(mock_stat(&M, "max_inflight"), 4);
        CHECK_MSG(th_now_ms() - t0 < 1000 * th_slow, "10 batches of 50 ms, 4 at once: %.0f ms", th_now_ms() - t0);
        CHECK(llm_request_usage(r)->prompt_tokens == 3000);
        CHECK_INT(llm_request_timings(r)->attempts, 10);
    }
    /* one failing batch fails the whole request, naming the batch */
    {
        static char bad[24] = "x [[status=400]]";
        many[200] = bad; /* the mock reads a batch's directive from its first input */
        d.headers = NULL;
        d.n_headers = 0;
        r = llm_embed(c, &d);
        CHECK(th_next(c, 10000) == r);
        CHECK_INT(llm_request_status(r), LLM_FAILED);
        CHECK_INT(llm_request_error(r)->kind, LLM_ERR_BAD_REQUEST);
        CHECK(strstr(llm_request_error(r)->message, "batch 3 of 10") != NULL);
        CHECK(llm_request_embedding(r, 0, NULL) == NULL);
        CHECK_INT(llm_poll(c), 0);
        many[200] = big[200];
    }
    /* cancelling a batched request cancels every batch */
    d.headers = &slow_hdr;
    d.n_headers = 1;
    r = llm_embed(c, &d);
    llm_poll(c);
    llm_cancel(r);
    CHECK_INT(llm_request_status(r), LLM_CANCELLED);
    CHECK(th_next(c, 1000) == r);
    CHECK_INT(llm_poll(c), 0);
    llm_request_free(llm_embed(c, &d)); /* freed in flight */
    CHECK_INT(llm_poll(c), 0);
    llm_client_free(c);
}

typedef struct evlog { llm__buf b; int n; } evlog;
static void on_event(llm_request *r, const char *ev, const char *data, size_t n, void *ud) {
    evlog *l = (evlog *)ud;
    llm_allocator a = llm__allocator(NULL);
    (void)r;
    llm__buf_adds(&a, &l->b, ev);
    llm__buf_adds(&a, &l->b, "=");
    llm__buf_add(&a, &l->b, data, n);
    llm__buf_adds(&a, &l->b, ";");
    l->n++;
}

static void test_raw(void) {
    llm_client *c = client();
    llm_raw_desc d;
    llm_request *r;
    evlog l;
    memset(&d, 0, sizeof d);
    d.path = "/echo";
    d.body_json = "{\"model\": \"gpt-x\", \"input\": \"hello\", \"n\": [1, 2]}";
    r = llm_raw(c, &d);
    CHECK(th_next(c, 5000) == r);
    CHECK_INT(llm_request_status(r), LLM_DONE);
    CHECK_STR(llm_json_string(llm_json_path(llm_request_json(r), "path"), NULL), "/v1/echo");
    CHECK_STR(llm_json_string(llm_json_path(llm_request_json(r), "body.input"), NULL), "hello");
    CHECK(strstr(llm_request_text(r, NULL), "\"object\":\"echo\"") != NULL); /* the body as text */
    memset(&l, 0, sizeof l);
    d.stream = 1;
    d.on_event = on_event;
    d.user_data = &l;
    d.body_json = "{\"stream\": true, \"input\": \"[[tokens=3]]\"}";
    r = llm_raw(c, &d);
    CHECK(th_next(c, 5000) == r);
    CHECK_INT(llm_request_status(r), LLM_DONE);
    CHECK_STR(l.b.p, "echo={\"i\":0};echo={\"i\":1};echo={\"i\":2};done={};");
    { /* events go to on_event: a waiting host is not woken for each */
        int nulls = 0;
        llm_request *got;
        r = llm_raw(c, &d);
        for (;;) {
            got = llm_wait_any(c, 5000);
            if (got) break;
            if (++nulls > 5) break;
        }
        CHECK(got == r);
        CHECK_INT(nulls, 0);
    }
    CHECK_STR(llm_request_text(r, NULL), "{\"i\":0}\n{\"i\":1}\n{\"i\":2}\n{}\n");
    free(l.b.p);
    { /* an NDJSON stream (Ollama's own endpoints): one event per line */
        llm_raw_desc od;
        evlog ol;
        memset(&od, 0, sizeof od);
        memset(&ol, 0, sizeof ol);
        od.provider = "ollama";
        od.path = "/api/chat";
        od.body_json = "{\"model\": \"llama\", \"messages\": [{\"role\": \"user\", \"content\": \"[[tokens=2]]\"}]}";
        od.stream = 1;
        od.on_event = on_event;
        od.user_data = &ol;
        r = llm_raw(c, &od);
        CHECK(th_next(c, 5000) == r);
        CHECK_INT(llm_request_status(r), LLM_DONE);
        CHECK_INT(ol.n, 3); /* two tokens and the done line */
        CHECK(ol.b.p && strstr(ol.b.p, "\"done\":true") != NULL);
        free(ol.b.p);
    }
    d.provider = "anthropic"; /* any provider's base URL and credentials */
    d.path = "/v1/messages/count_tokens";
    d.stream = 0;
    d.on_event = NULL;
    d.body_json = "{}";
    r = llm_raw(c, &d);
    CHECK(th_next(c, 5000) == r);
    CHECK_STR(llm_json_string(llm_json_path(llm_request_json(r), "path"), NULL), "/v1/messages/count_tokens");
    {
        char *k = mock_stat_str(&M, "last_x_api_key");
        CHECK_STR(k, "ak-anthropic-prov");
        free(k);
    }
    d.provider = "nope";
    r = llm_raw(c, &d);
    CHECK_INT(llm_request_error(r)->kind, LLM_ERR_INVALID);
    CHECK(llm_wait_any(c, 0) == r); /* failed at submit, reported like any other */
    d.provider = NULL;
    d.path = "/models"; /* a GET */
    d.body_json = NULL;
    r = llm_raw(c, &d);
    CHECK(th_next(c, 5000) == r);
    CHECK_STR(llm_json_string(llm_json_path(llm_request_json(r), "data.0.id"), NULL), "mock-model");
    d.path = "/chat/completions"; /* errors decode as for chat */
    d.body_json = "{\"model\": \"\", \"messages\": []}";
    r = llm_raw(c, &d);
    CHECK(th_next(c, 5000) == r);
    CHECK_INT(llm_request_error(r)->kind, LLM_ERR_BAD_REQUEST);
    CHECK(strstr(llm_request_error(r)->message, "mock: invalid request") != NULL);
    llm_client_free(c);
}

/* An evaluator reads {"score", "justification"} in two calls. */
static void test_structured_output(void) {
    llm_client *c = client();
    llm_request *r = run(c, chat(c, "gpt-4o-mini", "Rate this text for clarity.", NULL, 0,
                                 "{\"response_format\": {\"type\": \"json_object\"}}", NULL));
    const llm_json_value *j = llm_request_content_json(r);
    int64_t score = 0;
    CHECK(j != NULL);
    CHECK(llm_json_int64(llm_json_get(j, "score"), &score) && score >= 1 && score <= 10);
    CHECK(!strncmp(llm_json_string(llm_json_get(j, "justification"), NULL), "mock justification for", 22));
    r = run(c, chat(c, "gpt-4o-mini", "plain", NULL, 0, NULL, NULL));
    CHECK(llm_request_content_json(r) == NULL); /* not JSON: NULL */
    r = run(c, chat(c, "gpt-4o-mini", "x", "json=1 split=3 split_gap=0", 1, NULL, NULL)); /* streamed too */
    CHECK(llm_json_get(llm_request_content_json(r), "score") != NULL);
    r = run(c, chat(c, "gpt-4o-mini", "x", "tools=2", 0, "{\"tools\": [], \"tool_choice\": \"auto\"}", NULL));
    CHECK_INT(llm_request_tool_call_count(r), 2);
    CHECK_STR(llm_request_finish_reason(r), "tool_calls");
    CHECK(llm_json_get(llm_request_tool_call(r, 0)->arguments_json, "city") != NULL);
    llm_client_free(c);
}

static void test_registered_provider(void) {
    llm_client *c = client();
    llm_request *r = run(c, chat(c, "groq/llama-3.3-70b", "hi groq", NULL, 0, NULL, NULL));
    char *s;
    CHECK_STR(llm_request_text(r, NULL), "Echo: hi groq");
    CHECK_STR(llm_request_model(r), "llama-3.3-70b");
    s = mock_stat_str(&M, "last_authorization");
    CHECK_STR(s, "Bearer gk-groq-prov");
    free(s);
    s = mock_stat_str(&M, "last_body");
    CHECK(s && strstr(s, "\"max_tokens\"") == NULL && strstr(s, "\"model\":\"llama-3.3-70b\"") != NULL);
    free(s);
    r = run(c, chat(c, "Qwen/Qwen2.5-7B", "hi", NULL, 0, NULL, NULL)); /* unknown prefix: a model name */
    CHECK_STR(llm_request_model(r), "Qwen/Qwen2.5-7B");
    llm_client_free(c);
}

/* One client, every provider and endpoint in flight at once. */
static void test_all_at_once(void) {
    llm_client *c = client_cfg(0, 32);
    const char *in[2] = { "one", "two" };
    llm_embed_desc e;
    llm_raw_desc rd;
    int done = 0, failed = 0, i;
    memset(&e, 0, sizeof e);
    e.inputs = in;
    e.n_inputs = 2;
    memset(&rd, 0, sizeof rd);
    rd.path = "/echo";
    rd.body_json = "{\"stream\": true}";
    rd.stream = 1;
    for (i = 0; i < 3; i++) {
        chat(c, "gpt-4o-mini", "a", "tokens=20 pace=5", 1, NULL, NULL);
        chat(c, "gpt-4o-mini", "b", "delay=30", 0, NULL, NULL);
        chat(c, "anthropic/claude", "c", "tokens=20 pace=5", 1, NULL, NULL);
        chat(c, "anthropic/claude", "d", "delay=20", 0, NULL, NULL);
        chat(c, "ollama/llama", "e", "tokens=20 pace=5", 1, NULL, NULL);
        chat(c, "ollama/llama", "f", NULL, 0, NULL, NULL);
        chat(c, "groq/llama", "g", "tokens=5 pace=3", 1, NULL, NULL);
        e.model = "text-embedding-3-small";
        llm_embed(c, &e);
        e.model = "ollama/embed";
        llm_embed(c, &e);
        llm_raw(c, &rd);
    }
    CHECK_INT(c->n_inflight, 30); /* before any pump: nothing could finish yet */
    while (done + failed < 30) {
        llm_request *r = th_next(c, 10000);
        if (!r) break;
        if (llm_request_status(r) == LLM_DONE) done++;
        else { failed++; fprintf(stderr, "    failed: %s\n", llm_request_error(r)->message); }
        llm_request_free(r);
    }
    CHECK_INT(done, 30);
    CHECK_INT(failed, 0);
    llm_client_free(c);
}

int main(int argc, char **argv) {
    th_slow_from_env();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!mock_start(&M)) { printf("providers: 0 passed, 1 failed\n"); return 1; }
    RUN(test_anthropic);
    RUN(test_ollama);
    RUN(test_embeddings);
    RUN(test_raw);
    RUN(test_structured_output);
    RUN(test_registered_provider);
    RUN(test_all_at_once);
    mock_stop(&M);
    curl_global_cleanup();
    return th_finish("providers");
}
