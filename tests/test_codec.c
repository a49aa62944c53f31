/* Request bodies per provider, argument validation, routing, headers,
   response decoding, error mapping, retry delays, redaction. No network:
   requests are submitted and inspected before any transfer starts. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "harness.h"

static llm_client *client(void) {
    llm_client_desc d;
    static llm_provider_desc prov[1];
    memset(&d, 0, sizeof d);
    d.base_url = "http://127.0.0.1:9/v1/";
    d.api_key = "sk-test-123456";
    d.anthropic_base_url = "http://127.0.0.1:9";
    d.anthropic_api_key = "ak-test-999999";
    d.ollama_host = "127.0.0.1:9";
    prov[0].name = "groq";
    prov[0].base_url = "http://127.0.0.1:9/openai/v1";
    prov[0].api_key = "gk-test-777777";
    d.providers = prov;
    d.n_providers = 1;
    return llm_client_new(&d);
}

static llm_json_value *body_of(llm_request *r) {
    return (r && r->body) ? llm_json_parse(r->body, r->body_len, NULL, NULL) : NULL;
}
static const char *S(const llm_json_value *root, const char *path) { return llm_json_string(llm_json_path(root, path), NULL); }
static int has_header(const llm_request *r, const char *line) {
    const struct curl_slist *h;
    for (h = r->hdrs; h; h = h->next)
        if (!strcmp(h->data, line)) return 1;
    return 0;
}

static void test_openai_body(void) {
    llm_client *c = client();
    llm_message m[3] = { { "user", "Hi \xC3\xA9", NULL, NULL, NULL, NULL, 0 }, { "assistant", "Hello", NULL, NULL, NULL, NULL, 0 },
                         { "tool", "{\"t\":21}", NULL, "call_1", NULL, NULL, 0 } };
    llm_chat_desc d;
    llm_request *r;
    llm_json_value *b;
    memset(&d, 0, sizeof d);
    d.model = "gpt-4o-mini";
    d.messages = m;
    d.n_messages = 3;
    d.system = "Be brief.";
    d.max_tokens = 50;
    d.has_temperature = 1; /* exactly 0 */
    d.stream = 1;
    d.extra_json = "{\"seed\": 7, \"response_format\": {\"type\": \"json_object\"}, \"tools\": []}";
    r = llm_chat(c, &d);
    CHECK(r && llm_request_status(r) == LLM_QUEUED);
    b = body_of(r);
    CHECK(b != NULL);
    CHECK_STR(S(b, "model"), "gpt-4o-mini");
    CHECK_STR(S(b, "messages.0.role"), "system");
    CHECK_STR(S(b, "messages.0.content"), "Be brief.");
    CHECK_STR(S(b, "messages.1.content"), "Hi \xC3\xA9");
    CHECK_STR(S(b, "messages.3.role"), "tool");
    CHECK_STR(S(b, "messages.3.tool_call_id"), "call_1");
    CHECK(llm_json_get(b, "max_tokens") == NULL);
    CHECK(llm_json_double(llm_json_get(b, "max_completion_tokens"), 0) == 50);
    CHECK(llm_json_get(b, "temperature") && !strcmp(llm_json_get(b, "temperature")->str, "0"));
    CHECK(llm_json_bool(llm_json_get(b, "stream"), 0) == 1);
    CHECK(llm_json_bool(llm_json_path(b, "stream_options.include_usage"), 0) == 1);
    CHECK_STR(llm_json_get(b, "seed")->str, "7");
    CHECK_STR(S(b, "response_format.type"), "json_object");
    CHECK(llm_json_get(b, "tools") && llm_json_get(b, "tools")->type == LLM_JSON_ARRAY);
    CHECK_STR(r->url, "http://127.0.0.1:9/v1/chat/completions");
    CHECK(has_header(r, "Authorization: Bearer sk-test-123456"));
    CHECK(has_header(r, "Content-Type: application/json"));
    CHECK(has_header(r, "Accept: text/event-stream"));
    { /* exactly llmasync/<version> libcurl/<version> */
        char want[256];
        snprintf(want, sizeof want, "llmasync/%s libcurl/%s", LLMASYNC_VERSION, curl_version_info(CURLVERSION_NOW)->version);
        CHECK_STR(c->user_agent, want);
    }
    llm_json_free(b);

    /* temperature unset and 0: not sent; extra_json replaces a field we set */
    d.has_temperature = 0;
    d.temperature = 0.0;
    d.stream = 0;
    d.system = NULL;
    d.extra_json = "{\"max_completion_tokens\": 9, \"stream_options\": {\"include_usage\": false}}";
    r = llm_chat(c, &d);
    b = body_of(r);
    CHECK(llm_json_get(b, "temperature") == NULL);
    CHECK(llm_json_get(b, "stream") == NULL);
    CHECK_STR(llm_json_get(b, "max_completion_tokens")->str, "9");
    CHECK_STR(S(b, "messages.0.role"), "user");
    CHECK(has_header(r, "Accept: application/json"));
    { /* no duplicate keys: each appears once */
        size_t i, k, dup = 0;
        for (i = 0; b && i < b->len; i++)
            for (k = i + 1; k < b->len; k++)
                if (!strcmp(b->items[i].key, b->items[k].key)) dup++;
        CHECK_INT(dup, 0);
    }
    llm_json_free(b);
    d.temperature = 0.7;
    r = llm_chat(c, &d);
    b = body_of(r);
    CHECK_STR(llm_json_get(b, "temperature")->str, "0.7");
    llm_json_free(b);
    llm_client_free(c);
}

static void test_routing(void) {
    llm_client *c = client();
    llm_message m = { "user", "x", NULL, NULL, NULL, NULL, 0 };
    llm_chat_desc d;
    llm_request *r;
    llm_json_value *b;
    memset(&d, 0, sizeof d);
    d.messages = &m;
    d.n_messages = 1;
    d.max_tokens = 5;
    d.model = "openai/gpt-4o";
    r = llm_chat(c, &d);
    b = body_of(r);
    CHECK_STR(S(b, "model"), "gpt-4o");
    CHECK_STR(r->url, "http://127.0.0.1:9/v1/chat/completions");
    llm_json_free(b);
    d.model = "meta-llama/Llama-3.1-8B"; /* unknown prefix: a model name */
    r = llm_chat(c, &d);
    b = body_of(r);
    CHECK_STR(S(b, "model"), "meta-llama/Llama-3.1-8B");
    llm_json_free(b);
    d.model = "groq/llama-3.3-70b";
    r = llm_chat(c, &d);
    b = body_of(r);
    CHECK_STR(S(b, "model"), "llama-3.3-70b");
    CHECK_STR(r->url, "http://127.0.0.1:9/openai/v1/chat/completions");
    CHECK(has_header(r, "Authorization: Bearer gk-test-777777"));
    CHECK(llm_json_get(b, "max_tokens") != NULL); /* compatible servers: max_tokens */
    llm_json_free(b);
    d.model = "ollama/llama3.2";
    r = llm_chat(c, &d);
    CHECK_STR(r->url, "http://127.0.0.1:9/api/chat");
    llm_client_free(c);
}

static void test_anthropic_body(void) {
    llm_client *c = client();
    llm_message m[4] = { { "system", "Sys two.", NULL, NULL, NULL, NULL, 0 }, { "user", "Q", NULL, NULL, NULL, NULL, 0 },
                         { "assistant", "A", NULL, NULL, NULL, NULL, 0 }, { "tool", "42", NULL, "toolu_1", NULL, NULL, 0 } };
    llm_chat_desc d;
    llm_request *r;
    llm_json_value *b;
    memset(&d, 0, sizeof d);
    d.model = "anthropic/claude-sonnet-4-5";
    d.messages = m;
    d.n_messages = 4;
    d.system = "Sys one.";
    d.stream = 1;
    r = llm_chat(c, &d);
    b = body_of(r);
    CHECK(b != NULL);
    CHECK_STR(S(b, "model"), "claude-sonnet-4-5");
    CHECK_STR(S(b, "system"), "Sys one.\n\nSys two.");
    CHECK(llm_json_double(llm_json_get(b, "max_tokens"), 0) == LLM_ANTHROPIC_DEFAULT_MAX_TOKENS);
    CHECK_INT(llm_json_get(b, "messages")->len, 3);
    CHECK_STR(S(b, "messages.0.role"), "user");
    CHECK_STR(S(b, "messages.2.role"), "user");
    CHECK_STR(S(b, "messages.2.content.0.type"), "tool_result");
    CHECK_STR(S(b, "messages.2.content.0.tool_use_id"), "toolu_1");
    CHECK(llm_json_bool(llm_json_get(b, "stream"), 0));
    CHECK(llm_json_get(b, "stream_options") == NULL);
    CHECK_STR(r->url, "http://127.0.0.1:9/v1/messages");
    CHECK(has_header(r, "x-api-key: ak-test-999999"));
    CHECK(has_header(r, "anthropic-version: 2023-06-01"));
    CHECK(!has_header(r, "Authorization: Bearer ak-test-999999"));
    llm_json_free(b);
    /* one choice is what this API gives: n = 1 is not refused */
    d.n = 1;
    r = llm_chat(c, &d);
    CHECK_MSG(llm_request_error(r)->kind == LLM_ERR_NONE, "%s", llm_request_error(r)->message);
    llm_request_free(r);
    d.n = 2;
    r = llm_chat(c, &d);
    CHECK_INT(llm_request_error(r)->kind, LLM_ERR_INVALID);
    llm_request_free(r);
    d.n = 0;
    /* an empty system text is sent as it is */
    d.system = "";
    d.messages = &m[1];
    d.n_messages = 1;
    r = llm_chat(c, &d);
    b = body_of(r);
    CHECK(b != NULL);
    CHECK_STR(S(b, "system"), "");
    CHECK_INT(llm_json_get(b, "messages")->len, 1);
    llm_json_free(b);
    llm_client_free(c);
}

static void test_ollama_body(void) {
    llm_client *c = client();
    llm_message m = { "user", "Q", NULL, NULL, NULL, NULL, 0 };
    llm_chat_desc d;
    llm_request *r;
    llm_json_value *b;
    memset(&d, 0, sizeof d);
    d.model = "ollama/llama3.2";
    d.messages = &m;
    d.n_messages = 1;
    d.temperature = 0.25;
    d.max_tokens = 64;
    r = llm_chat(c, &d);
    b = body_of(r);
    CHECK(llm_json_get(b, "stream") && llm_json_get(b, "stream")->type == LLM_JSON_FALSE); /* Ollama streams unless told */
    CHECK_STR(llm_json_path(b, "options.temperature")->str, "0.25");
    CHECK_STR(llm_json_path(b, "options.num_predict")->str, "64");
    CHECK(!has_header(r, "Authorization: Bearer "));
    llm_json_free(b);
    llm_client_free(c);
}

static void test_embed_body(void) {
    llm_client *c = client();
    const char *in[3] = { "a", "b", "c" };
    llm_embed_desc d;
    llm_request *r;
    llm_json_value *b;
    memset(&d, 0, sizeof d);
    d.model = "text-embedding-3-small";
    d.inputs = in;
    d.n_inputs = 3;
    d.dimensions = 4;
    r = llm_embed(c, &d);
    b = body_of(r);
    CHECK_STR(S(b, "input.2"), "c");
    CHECK_STR(llm_json_get(b, "dimensions")->str, "4");
    CHECK_STR(S(b, "encoding_format"), "float");
    CHECK_STR(r->url, "http://127.0.0.1:9/v1/embeddings");
    llm_json_free(b);
    d.batch_size = 2; /* a group of two batches */
    r = llm_embed(c, &d);
    CHECK(r && r->kind == LLM__K_GROUP && r->n_children == 2);
    CHECK(r && r->children[1]->n_inputs == 1);
    {   /* a bad header in a batched request: nothing sent, the field named */
        const char *h = "Bad Header: x";
        d.headers = &h;
        d.n_headers = 1;
        r = llm_embed(c, &d);
        CHECK(r && r->status == LLM_FAILED && r->o.err.kind == LLM_ERR_INVALID);
        CHECK(r && strstr(llm_request_error(r)->message, "headers[0]") != NULL);
        CHECK(r && r->n_children == 0);
        d.headers = NULL;
        d.n_headers = 0;
    }
    d.model = "anthropic/claude";
    r = llm_embed(c, &d);
    CHECK(r && r->status == LLM_FAILED && r->o.err.kind == LLM_ERR_INVALID);
    llm_client_free(c);
}

/* Each bad argument: FAILED at once, LLM_ERR_INVALID, the field named. */
static void expect_invalid(llm_client *c, const llm_chat_desc *d, const char *field) {
    llm_request *r = llm_chat(c, d);
    CHECK(r != NULL);
    if (!r) return;
    CHECK_INT(llm_request_status(r), LLM_FAILED);
    CHECK_INT(llm_request_error(r)->kind, LLM_ERR_INVALID);
    CHECK_MSG(strstr(llm_request_error(r)->message, field) != NULL, "message \"%s\" should name %s", llm_request_error(r)->message, field);
    CHECK(llm_wait_any(c, 0) == r);   /* reported exactly once */
    CHECK(llm_wait_any(c, 0) == NULL);
    llm_request_free(r);
}

static void test_invalid_arguments(void) {
    llm_client *c = client();
    llm_message ok = { "user", "x", NULL, NULL, NULL, NULL, 0 };
    llm_message m;
    llm_chat_desc d;
    const char *hdr[1];
    llm_request *r;
    memset(&d, 0, sizeof d);
    r = llm_chat(c, NULL);
    CHECK(r && r->o.err.kind == LLM_ERR_INVALID && strstr(r->o.err.message, "desc"));
    llm_request_free(r);
    CHECK(llm_chat(NULL, &d) == NULL);
    expect_invalid(c, &d, "model");
    d.model = "";
    expect_invalid(c, &d, "model");
    d.model = "openai/";
    expect_invalid(c, &d, "model");
    d.model = "m";
    expect_invalid(c, &d, "messages");
    d.messages = &m;
    d.n_messages = 1;
    m = ok; m.role = NULL;
    expect_invalid(c, &d, "messages[0].role");
    m = ok; m.role = "bot";
    expect_invalid(c, &d, "messages[0].role");
    m = ok; m.content = NULL;
    expect_invalid(c, &d, "messages[0].content");
    m = ok; m.content = "bad \xC3\x28 utf8";
    expect_invalid(c, &d, "messages[0].content: invalid UTF-8 at byte 4");
    m = ok; m.role = "tool";
    expect_invalid(c, &d, "messages[0].tool_call_id");
    d.model = "anthropic/claude-x"; /* Anthropic needs the id too (a tool_result block's tool_use_id) */
    expect_invalid(c, &d, "messages[0].tool_call_id");
    d.model = "gpt-4o-mini";
    m = ok; m.raw_json = "[1]";
    expect_invalid(c, &d, "messages[0].raw_json");
    m = ok;
    d.system = "\xFF";
    expect_invalid(c, &d, "system");
    d.system = NULL;
    d.max_tokens = -1;
    expect_invalid(c, &d, "max_tokens");
    d.max_tokens = 0;
    d.has_temperature = 1;
    d.temperature = -1;
    expect_invalid(c, &d, "temperature");
    d.temperature = 1.5; /* fine for OpenAI, not for Anthropic */
    d.model = "anthropic/claude";
    expect_invalid(c, &d, "temperature: anthropic accepts 0..1");
    d.model = "m";
    d.has_temperature = 0;
    d.temperature = 0;
    d.extra_json = "[1]";
    expect_invalid(c, &d, "extra_json");
    d.extra_json = "{\"a\": }";
    expect_invalid(c, &d, "extra_json: invalid JSON at line 1, column 7");
    d.extra_json = NULL;
    hdr[0] = "X-Evil: a\r\nHost: b";
    d.headers = hdr;
    d.n_headers = 1;
    expect_invalid(c, &d, "headers");
    hdr[0] = "no colon here";
    expect_invalid(c, &d, "headers");
    hdr[0] = "Bad Name: x";
    expect_invalid(c, &d, "headers");
    d.headers = NULL;
    d.n_headers = -1; /* a negative count is an error, not a short list */
    expect_invalid(c, &d, "n_headers");
    d.n_headers = 0;
    llm_client_free(c);
    { /* a key or URL with CR/LF */
        llm_client_desc cd;
        memset(&cd, 0, sizeof cd);
        cd.api_key = "sk-abc\r\nX-Injected: 1";
        cd.base_url = "http://127.0.0.1:9/v1";
        c = llm_client_new(&cd);
        expect_invalid(c, &d, "api_key");
        llm_client_free(c);
        cd.api_key = "k";
        cd.base_url = "http://host/v1\r\nX: y";
        c = llm_client_new(&cd);
        expect_invalid(c, &d, "base_url");
        llm_client_free(c);
        cd.base_url = "ftp://host/v1";
        c = llm_client_new(&cd);
        expect_invalid(c, &d, "base_url");
        llm_client_free(c);
    }
}

static void test_status_table(void) {
    CHECK_INT(llm__kind_of_status(400), LLM_ERR_BAD_REQUEST);
    CHECK_INT(llm__kind_of_status(401), LLM_ERR_AUTH);
    CHECK_INT(llm__kind_of_status(403), LLM_ERR_PERMISSION);
    CHECK_INT(llm__kind_of_status(404), LLM_ERR_NOT_FOUND);
    CHECK_INT(llm__kind_of_status(408), LLM_ERR_TIMEOUT);
    CHECK_INT(llm__kind_of_status(409), LLM_ERR_CONFLICT);
    CHECK_INT(llm__kind_of_status(413), LLM_ERR_TOO_LARGE);
    CHECK_INT(llm__kind_of_status(422), LLM_ERR_UNPROCESSABLE);
    CHECK_INT(llm__kind_of_status(429), LLM_ERR_RATE_LIMIT);
    CHECK_INT(llm__kind_of_status(500), LLM_ERR_SERVER);
    CHECK_INT(llm__kind_of_status(503), LLM_ERR_SERVER);
    CHECK_INT(llm__kind_of_status(529), LLM_ERR_OVERLOADED);
    CHECK_INT(llm__kind_of_status(418), LLM_ERR_BAD_REQUEST);
    CHECK_INT(llm__kind_of_status(307), LLM_ERR_PROTOCOL);
    { /* below 400 nothing is an error status: every one a protocol error */
        static const long below[] = { 0, 99, 100, 101, 199, 200, 204, 299, 300, 304, 399 };
        size_t i;
        for (i = 0; i < sizeof below / sizeof below[0]; i++)
            CHECK_MSG(llm__kind_of_status(below[i]) == LLM_ERR_PROTOCOL, "status %ld", below[i]);
    }
    CHECK_INT(llm__kind_of_status(499), LLM_ERR_BAD_REQUEST);
    CHECK_INT(llm__kind_of_status(599), LLM_ERR_SERVER);
    CHECK_STR(llm_error_string(LLM_ERR_RATE_LIMIT), "rate_limit");
    CHECK_STR(llm_error_string(LLM_ERR_NO_MEMORY), "no_memory");
    CHECK_STR(llm_status_string(LLM_RETRY_WAIT), "retry_wait");
}

static llm_request *fake(llm_client *c, llm_api api) {
    llm_request *r = llm__new_request(c, LLM__K_CHAT);
    r->prov = &c->prov[api == LLM_API_OPENAI ? 0 : api == LLM_API_ANTHROPIC ? 1 : 2];
    return r;
}
static void set_raw(llm_request *r, const char *s) {
    llm__buf_clear(&r->a.raw);
    llm__buf_adds(&r->ra, &r->a.raw, s);
}

static int feed_events(llm_request *r, const char *stream);

/* Only the content array's own blocks are read: an object shaped like a
   block inside a block (here its first member, which the parsed document
   places right after the content's last block) is not one of them. */
static void test_an_blocks_only_content(void) {
    static const char body[] = "{\"content\":[{\"meta\":{\"type\":\"text\",\"text\":\"EXTRA\"},"
                               "\"type\":\"text\",\"text\":\"ok\"}],\"stop_reason\":\"end_turn\"}";
    llm_client *c = client();
    llm_request *r = fake(c, LLM_API_ANTHROPIC);
    llm_json_value *doc = llm_json_parse(body, strlen(body), NULL, NULL);
    CHECK(doc != NULL);
    llm__an_dec_chat(r, doc);
    CHECK_INT(r->a.abort_kind, 0);
    CHECK_INT(r->a.text.len, 2);
    CHECK(r->a.text.len == 2 && !memcmp(r->a.text.p, "ok", 2));
    CHECK_STR(r->a.finish_reason, "end_turn");
    llm_json_free(doc);
    llm__destroy(r);
    llm_client_free(c);
}

/* A vector with an element that is not a number is malformed, whatever
   its place (first, middle, last), in both vector APIs. */
static void test_vector_element_not_number(void) {
    static const char *bodies[] = {
        "{\"data\":[{\"index\":0,\"embedding\":[\"x\",0.5]}]}", "{\"data\":[{\"index\":0,\"embedding\":[0.5,null]}]}",
        "{\"data\":[{\"index\":0,\"embedding\":[0.5,0.25]}]}", "{\"embeddings\":[[0.5,true]]}", "{\"embeddings\":[[0.5,0.25]]}",
        "{\"data\":5}", "{\"object\":\"list\"}",
    };
    llm_client *c = client();
    int i;
    for (i = 0; i < 7; i++) {
        llm_request *r = llm__new_request(c, LLM__K_EMBED);
        llm_json_value *doc = llm_json_parse(bodies[i], strlen(bodies[i]), NULL, NULL);
        r->n_inputs = 1;
        CHECK(doc != NULL);
        if (i < 3 || i > 4) llm__oa_dec_embed(r, doc); else llm__ol_dec_embed(r, doc);
        if (i == 2 || i == 4) CHECK_MSG(r->a.abort_kind == 0 && r->a.n_vec == 1 && r->a.vec[1] == 0.25f, "body %d: %s", i, r->a.abort_msg);
        else CHECK_MSG(r->a.abort_kind == LLM_ERR_PROTOCOL, "body %d accepted", i);
        llm_json_free(doc);
        llm__destroy(r);
    }
    llm_client_free(c);
}

/* Responses: reasoning summary parts are joined by a blank line. */
static void test_responses_summary_parts(void) {
    llm_client *c = client();
    llm_request *r = llm__new_request(c, LLM__K_RESPONSES);
    r->prov = &c->prov[0];
    CHECK(feed_events(r, "event: response.reasoning_summary_part.added\ndata: {\"type\":\"response.reasoning_summary_part.added\"}\n\n"
                         "event: response.reasoning_summary_text.delta\ndata: {\"type\":\"response.reasoning_summary_text.delta\",\"delta\":\"a\"}\n\n"
                         "event: response.reasoning_summary_part.added\ndata: {\"type\":\"response.reasoning_summary_part.added\"}\n\n"
                         "event: response.reasoning_summary_text.delta\ndata: {\"type\":\"response.reasoning_summary_text.delta\",\"delta\":\"b\"}\n\n"));
    CHECK_MSG(r->a.reasoning.len == 4 && !memcmp(r->a.reasoning.p, "a\n\nb", 4), "%lu bytes", (unsigned long)r->a.reasoning.len);
    llm__destroy(r);
    llm_client_free(c);
}

/* Every reader takes NULL for the request and answers "nothing": empty
   texts with length 0, counts of 0, NULL views, -1 for a rank. */
static void test_readers_null(void) {
    size_t n;
    const char *txt;
    const void *bytes;
    double score = 7;
    int dim = 7, num = 0;
    CHECK_INT(llm_request_status(NULL), LLM_FAILED);
    CHECK(llm_request_user_data(NULL) == NULL);
    n = 77; CHECK_STR(llm_request_text(NULL, &n), ""); CHECK(n == 0);
    txt = "x"; CHECK(llm_request_take(NULL, &txt) == 0);
    n = 77; CHECK_STR(llm_request_reasoning(NULL, &n), ""); CHECK(n == 0);
    n = 77; CHECK_STR(llm_request_refusal(NULL, &n), ""); CHECK(n == 0);
    CHECK(llm_request_error(NULL) == NULL && llm_request_usage(NULL) == NULL && llm_request_timings(NULL) == NULL);
    CHECK_STR(llm_request_finish_reason(NULL), "");
    CHECK_STR(llm_request_id(NULL), "");
    CHECK_STR(llm_request_model(NULL), "");
    CHECK(llm_request_json(NULL) == NULL && llm_request_content_json(NULL) == NULL && llm_request_partial_json(NULL) == NULL);
    CHECK_INT(llm_request_partial_tool_count(NULL), 0);
    txt = "x"; CHECK(llm_request_partial_tool_args(NULL, 0, &txt) == NULL);
    CHECK_INT(llm_request_tool_call_count(NULL), 0);
    CHECK(llm_request_tool_call(NULL, 0) == NULL);
    CHECK_INT(llm_request_embedding_count(NULL), 0);
    CHECK(llm_request_embedding(NULL, 0, &dim) == NULL && dim == 0);
    CHECK_INT(llm_request_choice_count(NULL), 0);
    n = 77; CHECK_STR(llm_request_choice_text(NULL, 1, &n), ""); CHECK(n == 0);
    CHECK_STR(llm_request_choice_finish_reason(NULL, 1), "");
    CHECK_INT(llm_request_choice_tool_call_count(NULL, 1), 0);
    CHECK(llm_request_choice_tool_call(NULL, 1, 0) == NULL);
    n = 77; bytes = llm_request_bytes(NULL, &n); CHECK(bytes != NULL && n == 0);
    bytes = NULL; CHECK(llm_request_take_bytes(NULL, &bytes) == 0 && bytes != NULL);
    CHECK_INT(llm_request_rank_count(NULL), 0);
    CHECK(llm_request_rank(NULL, 0, &score) == -1 && score == 0);
    CHECK_STR(llm_version(NULL), LLMASYNC_VERSION);
    CHECK_STR(llm_version(&num), LLMASYNC_VERSION);
    CHECK_INT(num, LLMASYNC_VERSION_NUM);
}

/* A zero desc gives the documented defaults; negatives turn limits off;
   given values are kept (ms to us where the client keeps us). */
static void test_client_defaults(void) {
    llm_client_desc d;
    llm_client *c;
    memset(&d, 0, sizeof d);
    c = llm_client_new(&d);
    CHECK(c != NULL);
    if (!c) return;
    CHECK_INT(c->max_concurrent, 16);
    CHECK_INT(c->max_retries, 2);
    CHECK_INT(c->retry_cap_ms, 60000);
    CHECK_INT(c->connect_ms, 5000);
    CHECK(c->first_byte_us == 0);
    CHECK(c->idle_us == (int64_t)120000 * 1000);
    CHECK(c->total_us == (int64_t)600000 * 1000);
    CHECK(c->max_response == (size_t)64 << 20);
    CHECK(c->max_event == (size_t)4 << 20);
    CHECK_INT(c->max_depth, 128);
    CHECK_INT(c->max_tools, 128);
    CHECK(!c->native_ca && !c->pacing && c->rate_rpm == 0 && c->rate_tpm == 0);
    CHECK_STR(c->anthropic_version, "2023-06-01");
    llm_client_free(c);
    d.max_retries = d.connect_timeout_ms = d.idle_timeout_ms = d.timeout_ms = d.first_byte_timeout_ms = -1;
    c = llm_client_new(&d);
    CHECK(c != NULL);
    if (!c) return;
    CHECK_INT(c->max_retries, 0);
    CHECK_INT(c->connect_ms, 0);
    CHECK(c->idle_us == 0 && c->total_us == 0 && c->first_byte_us == 0);
    llm_client_free(c);
    d.max_concurrent = 3;
    d.max_retries = 5;
    d.retry_max_delay_ms = 7;
    d.connect_timeout_ms = 11;
    d.first_byte_timeout_ms = 13;
    d.idle_timeout_ms = 17;
    d.timeout_ms = 19;
    d.max_response_bytes = 23;
    d.max_event_bytes = 29;
    d.max_json_depth = 5000; /* beyond the parser's limit: the limit */
    d.max_tool_calls = 31;
    d.rate_rpm = 37;
    d.native_ca = 2;
    c = llm_client_new(&d);
    CHECK(c != NULL);
    if (!c) return;
    CHECK_INT(c->max_concurrent, 3);
    CHECK_INT(c->max_retries, 5);
    CHECK_INT(c->retry_cap_ms, 7);
    CHECK_INT(c->connect_ms, 11);
    CHECK(c->first_byte_us == 13000 && c->idle_us == 17000 && c->total_us == 19000);
    CHECK(c->max_response == 23 && c->max_event == 29);
    CHECK_INT(c->max_depth, LLM_JSON_DEPTH_LIMIT);
    CHECK_INT(c->max_tools, 31);
    CHECK(c->rate_rpm == 37 && c->pacing && c->native_ca == 1);
    llm_client_free(c);
}

/* The response meter counts every block with its 16-byte header and
   refuses exactly past its limit, for new blocks and growing ones. */
static void test_meter_exact(void) {
    llm_client *c = client();
    llm_request *r = fake(c, LLM_API_OPENAI);
    size_t used0 = r->meter_used;
    void *p, *q;
    r->meter_limit = used0 + 1000;
    r->meter_over = 0;
    p = llm__meter_alloc(984, r); /* 984 + 16: exactly the limit */
    CHECK(p != NULL && r->meter_used == used0 + 1000 && !r->meter_over);
    llm__meter_free(p, r);
    CHECK(r->meter_used == used0);
    CHECK(llm__meter_alloc(985, r) == NULL && r->meter_over);
    r->meter_over = 0;
    CHECK(llm__meter_alloc(990, r) == NULL && r->meter_over); /* the header would not fit */
    r->meter_over = 0;
    p = llm__meter_alloc(100, r);
    CHECK(p != NULL && r->meter_used == used0 + 116);
    CHECK(llm__meter_realloc(p, 985, r) == NULL && r->meter_over); /* p stays as it was */
    r->meter_over = 0;
    q = llm__meter_realloc(p, 984, r);
    CHECK(q != NULL && r->meter_used == used0 + 1000 && !r->meter_over);
    if (q) p = q;
    q = llm__meter_realloc(p, 10, r); /* shrinking gives back */
    CHECK(q != NULL && r->meter_used == used0 + 26);
    if (q) p = q;
    llm__meter_free(p, r);
    CHECK(r->meter_used == used0);
    llm__destroy(r);
    llm_client_free(c);
}

static llm_request *resp_req(llm_client *c) {
    llm_request *r = llm__new_request(c, LLM__K_RESPONSES);
    r->prov = &c->prov[0];
    return r;
}
#define RESP_EV(type, json) "event: " type "\ndata: {\"type\":\"" type "\"" json "}\n\n"

/* Responses stream events: arguments go to the call at their output index
   (one without an index belongs to none); the end's status is the finish
   reason; a failed response and an error event take their kind from the
   error's code, and are retryable. */
static void test_responses_events(void) {
    llm_client *c = client();
    llm_request *r = resp_req(c);
    CHECK(feed_events(r, RESP_EV("response.output_item.added", ",\"output_index\":0,\"item\":{\"type\":\"function_call\","
                                 "\"call_id\":\"c0\",\"name\":\"f\",\"arguments\":\"\"}")
                         RESP_EV("response.function_call_arguments.delta", ",\"output_index\":0,\"delta\":\"{}\"")));
    CHECK_INT(r->a.n_tools, 1);
    CHECK(!feed_events(r, RESP_EV("response.function_call_arguments.delta", ",\"delta\":\"x\"")));
    CHECK_INT(r->a.abort_kind, LLM_ERR_PROTOCOL);
    CHECK_MSG(strstr(r->a.abort_msg, "unknown function call (output -1)") != NULL, "%s", r->a.abort_msg);
    CHECK(r->a.tools[0].args.len == 2 && !memcmp(r->a.tools[0].args.p, "{}", 2));
    llm__destroy(r);

    r = resp_req(c);
    CHECK(feed_events(r, RESP_EV("response.completed", ",\"response\":{\"status\":\"completed\"}")));
    CHECK_STR(r->a.finish_reason, "completed");
    CHECK(r->a.stream_done);
    llm__destroy(r);

    r = resp_req(c);
    CHECK(feed_events(r, RESP_EV("response.incomplete", ",\"response\":{\"status\":\"incomplete\","
                                 "\"incomplete_details\":{\"reason\":\"max_output_tokens\"}}")));
    CHECK_STR(r->a.finish_reason, "max_output_tokens");
    llm__destroy(r);

    r = resp_req(c); /* no type: the code says which kind */
    CHECK(!feed_events(r, RESP_EV("response.failed", ",\"response\":{\"status\":\"failed\",\"error\":"
                                  "{\"code\":\"rate_limit_exceeded\",\"message\":\"slow down\"}}")));
    CHECK_INT(r->a.abort_kind, LLM_ERR_RATE_LIMIT);
    CHECK_INT(r->a.abort_retryable, 1);
    CHECK_STR(r->a.type, "rate_limit_exceeded");
    CHECK_MSG(strstr(r->a.abort_msg, "slow down") != NULL, "%s", r->a.abort_msg);
    llm__destroy(r);

    r = resp_req(c); /* a type wins over the code */
    CHECK(!feed_events(r, RESP_EV("response.failed", ",\"response\":{\"status\":\"failed\",\"error\":"
                                  "{\"type\":\"server_error\",\"code\":\"rate_limit_exceeded\",\"message\":\"m\"}}")));
    CHECK_INT(r->a.abort_kind, LLM_ERR_SERVER);
    CHECK_STR(r->a.type, "server_error");
    llm__destroy(r);

    r = resp_req(c);
    CHECK(!feed_events(r, RESP_EV("error", ",\"code\":\"server_error\",\"message\":\"boom\"")));
    CHECK_INT(r->a.abort_kind, LLM_ERR_SERVER);
    CHECK_INT(r->a.abort_retryable, 1);
    CHECK_STR(r->a.type, "server_error");
    CHECK_MSG(strstr(r->a.abort_msg, "stream error: boom") != NULL, "%s", r->a.abort_msg);
    llm__destroy(r);
    llm_client_free(c);
}

/* An audio file's type from its name; an unknown extension is sent as
   application/octet-stream (the table's end is not read past). */
static void test_audio_mime(void) {
    CHECK_STR(llm__audio_mime("clip.wav"), "audio/wav");
    CHECK_STR(llm__audio_mime("CLIP.MP3"), "audio/mpeg");
    CHECK_STR(llm__audio_mime("voice.pcm"), "audio/pcm"); /* the table's last row */
    CHECK_STR(llm__audio_mime("clip.xyz"), "application/octet-stream");
    CHECK_STR(llm__audio_mime(""), "application/octet-stream");
}

/* A JSON answer in a ``` fence is read from the line after the fence's
   first, past blank lines and indentation, while it streams. */
static void test_partial_json_in_fence(void) {
    static const char *texts[] = { "```json\n{\"say\": \"hel", "  ```\r\n\n   {\"say\": \"hel", "```json\n\t[{\"say\": \"hel" };
    llm_client *c = client();
    int i;
    for (i = 0; i < 3; i++) {
        llm_request *r = fake(c, LLM_API_OPENAI);
        const llm_json_value *v;
        llm__buf_adds(&r->ra, &r->a.text, texts[i]);
        v = llm_request_partial_json(r);
        if (i == 2) v = llm_json_at(v, 0);
        CHECK_MSG(v && v->type == LLM_JSON_OBJECT, "text %d", i);
        CHECK_MSG(S(v, "say") && !strcmp(S(v, "say"), "hel"), "text %d", i);
        llm__destroy(r);
    }
    { /* the fence's first line not ended: nothing yet */
        llm_request *r = fake(c, LLM_API_OPENAI);
        llm__buf_adds(&r->ra, &r->a.text, "```jso");
        CHECK(llm_request_partial_json(r) == NULL);
        llm__destroy(r);
    }
    llm_client_free(c);
}

/* The error's type: the error object's own, however short, before the
   body's top-level "type" (which is only a fallback, and never "error"). */
static void test_error_type_precedence(void) {
    static const struct { const char *body, *type; } cs[] = {
        { "{\"type\":\"error\",\"error\":{\"type\":\"x\",\"message\":\"m\"}}", "x" },
        { "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"m\"}}", "overloaded_error" },
        { "{\"type\":\"rate_limited\",\"message\":\"slow down\"}", "rate_limited" },
        { "{\"type\":\"error\",\"message\":\"m\"}", "" },
        { "{\"message\":\"m\"}", "" },
    };
    llm_client *c = client();
    llm_request *r = fake(c, LLM_API_ANTHROPIC);
    size_t i;
    for (i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        set_raw(r, cs[i].body);
        llm__decode_error_body(r);
        CHECK_MSG(!strcmp(r->a.type, cs[i].type), "%s: type \"%s\"", cs[i].body, r->a.type);
    }
    llm__destroy(r);
    llm_client_free(c);
}

static void test_error_bodies(void) {
    llm_client *c = client();
    llm_request *r = fake(c, LLM_API_OPENAI);
    set_raw(r, "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}");
    llm__decode_error_body(r);
    CHECK_STR(llm__pmsg(r), "Rate limit reached");
    CHECK_STR(r->a.type, "requests");
    CHECK_STR(r->a.code, "rate_limit_exceeded");
    CHECK_STR(r->a.param, "");
    set_raw(r, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}");
    llm__decode_error_body(r);
    CHECK_STR(llm__pmsg(r), "Overloaded");
    CHECK_STR(r->a.type, "overloaded_error");
    set_raw(r, "{\"error\":\"model 'x' not found\"}");
    llm__decode_error_body(r);
    CHECK_STR(llm__pmsg(r), "model 'x' not found");
    set_raw(r, "{\"detail\":[{\"loc\":[\"body\"],\"msg\":\"field required\"}]}");
    llm__decode_error_body(r);
    CHECK_STR(llm__pmsg(r), "field required");
    set_raw(r, "{\"error\":{\"message\":\"x\",\"code\":429}}");
    llm__decode_error_body(r);
    CHECK_STR(r->a.code, "429");
    set_raw(r, "<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>");
    llm__decode_error_body(r);
    CHECK_STR(llm__pmsg(r), "502 Bad Gateway");
    set_raw(r, "<html><body><h1>Service</h1>\n  <p>Unavailable</p></body></html>");
    llm__decode_error_body(r);
    CHECK_STR(llm__pmsg(r), "Service Unavailable");
    set_raw(r, "");
    llm__decode_error_body(r);
    CHECK_STR(llm__pmsg(r), "");
    llm__destroy(r);
    llm_client_free(c);
}

static void test_decode_openai(void) {
    llm_client *c = client();
    llm_request *r = fake(c, LLM_API_OPENAI);
    llm_json_value *v = llm_json_parse(
        "{\"id\":\"chatcmpl-1\",\"model\":\"gpt-x\",\"choices\":[{\"index\":1,\"message\":{\"content\":\"other\"}},"
        "{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello!\",\"tool_calls\":[{\"id\":\"call_9\","
        "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]},\"finish_reason\":\"tool_calls\"}],"
        "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,\"total_tokens\":12,"
        "\"prompt_tokens_details\":{\"cached_tokens\":2},\"completion_tokens_details\":{\"reasoning_tokens\":3}}}",
        (size_t)-1 / 2 > 0 ? strlen("{\"id\":\"chatcmpl-1\",\"model\":\"gpt-x\",\"choices\":[{\"index\":1,\"message\":{\"content\":\"other\"}},"
        "{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello!\",\"tool_calls\":[{\"id\":\"call_9\","
        "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]},\"finish_reason\":\"tool_calls\"}],"
        "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,\"total_tokens\":12,"
        "\"prompt_tokens_details\":{\"cached_tokens\":2},\"completion_tokens_details\":{\"reasoning_tokens\":3}}}") : 0, NULL, NULL);
    CHECK(v != NULL);
    llm__decode_chat(r, v);
    CHECK_INT(r->a.abort_kind, 0);
    CHECK_STR(r->a.text.p, "Hello!");
    CHECK_STR(r->a.finish_reason, "tool_calls");
    CHECK_STR(r->a.resp_id, "chatcmpl-1");
    CHECK_STR(r->a.resp_model, "gpt-x");
    CHECK_INT(r->a.usage.prompt_tokens, 5);
    CHECK_INT(r->a.usage.completion_tokens, 7);
    CHECK_INT(r->a.usage.total_tokens, 12);
    CHECK_INT(r->a.usage.cached_tokens, 2);
    CHECK_INT(r->a.usage.reasoning_tokens, 3);
    CHECK_INT(r->a.n_tools, 1);
    CHECK(llm__finalize(r));
    CHECK_STR(r->a.tools[0].pub.name, "f");
    CHECK_STR(r->a.tools[0].pub.id, "call_9");
    CHECK(llm_json_double(llm_json_get(r->a.tools[0].pub.arguments_json, "a"), 0) == 1);
    llm_json_free(v);
    llm__destroy(r);
    llm_client_free(c);
}

static int feed_events(llm_request *r, const char *stream) {
    r->c->cb_now = llm__now_us();
    return llm__sse_feed(&r->ra, &r->a.sse, stream, strlen(stream), llm__stream_event, r);
}

static void test_stream_openai(void) {
    llm_client *c = client();
    llm_request *r = fake(c, LLM_API_OPENAI);
    int ok = feed_events(r,
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}\n\n"
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}],\"usage\":null}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"g\",\"arguments\":\"\"}}]}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"x\\\"\"}}]}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\":1}\"}},{\"index\":1,\"function\":{\"arguments\":\"{}\"}}]}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n"
        "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}\n\n"
        "data: [DONE]\n\n");
    CHECK(ok);
    CHECK_STR(r->a.text.p, "Hello");
    CHECK_STR(r->a.finish_reason, "stop");
    CHECK_INT(r->a.usage.total_tokens, 5);
    CHECK(r->a.stream_done);
    CHECK_INT(r->a.n_tools, 2);
    CHECK(llm__finalize(r));
    {
        int i;
        for (i = 0; i < r->a.n_tools; i++) {
            const llm_tool_call *t = &r->a.tools[i].pub;
            if (t->index == 0) { CHECK_STR(t->name, "f"); CHECK_STR(t->arguments, "{\"x\":1}"); CHECK(t->arguments_json != NULL); }
            else { CHECK_STR(t->name, "g"); CHECK_STR(t->id, "call_b"); CHECK_STR(t->arguments, "{}"); }
        }
    }
    llm__destroy(r);
    /* a mid-stream error object fails with the provider's message */
    r = fake(c, LLM_API_OPENAI);
    ok = feed_events(r, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"
                        "data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}\n\n");
    CHECK(!ok && r->a.abort_kind == LLM_ERR_SERVER && strstr(r->a.abort_msg, "boom"));
    llm__destroy(r);
    r = fake(c, LLM_API_OPENAI);
    ok = feed_events(r, "event: error\ndata: {\"message\":\"bad\"}\n\n");
    CHECK(!ok && r->a.abort_kind == LLM_ERR_SERVER && strstr(r->a.abort_msg, "bad"));
    llm__destroy(r);
    r = fake(c, LLM_API_OPENAI); /* a tool index beyond the bound */
    ok = feed_events(r, "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":500,\"id\":\"x\"}]}}]}\n\n");
    CHECK(!ok && r->a.abort_kind == LLM_ERR_PROTOCOL);
    llm__destroy(r);
    r = fake(c, LLM_API_OPENAI);
    ok = feed_events(r, "data: {not json}\n\n");
    CHECK(!ok && r->a.abort_kind == LLM_ERR_PROTOCOL);
    llm__destroy(r);
    llm_client_free(c);
}

static void test_stream_anthropic(void) {
    llm_client *c = client();
    llm_request *r = fake(c, LLM_API_ANTHROPIC);
    int ok = feed_events(r,
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-x\",\"usage\":{\"input_tokens\":11,\"output_tokens\":1}}}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"s\"}}\n\n"
        "event: ping\ndata: {\"type\":\"ping\"}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get\",\"input\":{}}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"q\\\":\"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"2}\"}}\n\n"
        "event: future_event\ndata: {\"type\":\"future_event\"}\n\n"
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    CHECK(ok);
    CHECK_STR(r->a.text.p, "Hi");
    CHECK_STR(r->a.reasoning.p, "hmm");
    CHECK_STR(r->a.finish_reason, "tool_use");
    CHECK_STR(r->a.resp_id, "msg_1");
    CHECK_INT(r->a.usage.prompt_tokens, 11);
    CHECK_INT(r->a.usage.completion_tokens, 15);
    CHECK_INT(r->a.usage.total_tokens, 26);
    CHECK(r->a.stream_done);
    CHECK(llm__finalize(r));
    CHECK_INT(r->a.n_tools, 1);
    CHECK_STR(r->a.tools[0].pub.arguments, "{\"q\":2}");
    CHECK_STR(r->a.tools[0].pub.type, "tool_use");
    llm__destroy(r);
    /* a server tool's input is streamed too, but it is not a call for the
       host; a tool_use without arguments reads as {} */
    r = fake(c, LLM_API_ANTHROPIC);
    ok = feed_events(r,
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\",\"name\":\"web_search\",\"input\":{}}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"query\\\": \\\"x\\\"}\"}}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_9\",\"name\":\"now\",\"input\":{}}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    CHECK(ok);
    CHECK(llm__finalize(r));
    CHECK_INT(r->a.n_tools, 1);
    CHECK_STR(r->a.tools[0].pub.name, "now");
    CHECK_STR(r->a.tools[0].pub.arguments, "{}");
    CHECK(r->a.tools[0].pub.arguments_json && r->a.tools[0].pub.arguments_json->type == LLM_JSON_OBJECT);
    llm__destroy(r);
    r = fake(c, LLM_API_ANTHROPIC);
    ok = feed_events(r, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n");
    CHECK(!ok && r->a.abort_kind == LLM_ERR_OVERLOADED && r->a.abort_retryable);
    CHECK_STR(r->a.type, "overloaded_error");
    llm__destroy(r);
    { /* a tool_use block's index outside 0..999999: a protocol error, not retried */
        static const char *idx[] = { "-1", "1000000", "999999" };
        int k;
        for (k = 0; k < 3; k++) {
            char ev[300];
            r = fake(c, LLM_API_ANTHROPIC);
            snprintf(ev, sizeof ev, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":%s,"
                     "\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"n\",\"input\":{}}}\n\n", idx[k]);
            ok = feed_events(r, ev);
            if (k < 2) {
                CHECK_MSG(!ok && r->a.abort_kind == LLM_ERR_PROTOCOL && !r->a.abort_retryable, "index %s: %d", idx[k], r->a.abort_kind);
                CHECK_STR(r->a.abort_msg, "bad content block index");
            } else {
                CHECK_MSG(ok && r->a.abort_kind == 0 && r->a.n_tools == 1, "index %s", idx[k]);
            }
            llm__destroy(r);
        }
    }
    llm_client_free(c);
}

/* n > 1: a choice index up to LLM__MAX_CHOICES - 1 is kept, the next is a
   protocol error naming the range. */
static void test_choice_index_bound(void) {
    llm_client *c = client();
    int k;
    for (k = 0; k < 2; k++) {
        llm_request *r = fake(c, LLM_API_OPENAI);
        char ev[300], want[80];
        int idx = LLM__MAX_CHOICES - 1 + k, ok;
        snprintf(ev, sizeof ev, "data: {\"choices\":[{\"index\":%d,\"delta\":{\"content\":\"x\"}}]}\n\n", idx);
        ok = feed_events(r, ev);
        if (k == 0) CHECK_MSG(ok && r->a.abort_kind == 0 && r->a.n_choices == 1, "index %d: %s", idx, r->a.abort_msg);
        else {
            snprintf(want, sizeof want, "choice index %d outside 0..%d", idx, LLM__MAX_CHOICES - 1);
            CHECK_MSG(!ok && r->a.abort_kind == LLM_ERR_PROTOCOL && !strcmp(r->a.abort_msg, want), "index %d: %s", idx, r->a.abort_msg);
            CHECK(!r->a.abort_retryable); /* the server's answer, not a fault to retry */
        }
        llm__destroy(r);
    }
    llm_client_free(c);
}

/* A message's name goes to OpenAI-compatible bodies only when given. */
static void test_message_name(void) {
    llm_client *c = client();
    llm_message m[2] = { { "user", "Hi", "alice", NULL, NULL, NULL, 0 }, { "user", "Hello", NULL, NULL, NULL, NULL, 0 } };
    llm_chat_desc d;
    llm_request *r;
    llm_json_value *b;
    memset(&d, 0, sizeof d);
    d.model = "gpt-4o-mini";
    d.messages = m;
    d.n_messages = 2;
    r = llm_chat(c, &d);
    b = body_of(r);
    CHECK_STR(S(b, "messages.0.name"), "alice");
    CHECK(llm_json_path(b, "messages.1.name") == NULL);
    llm_json_free(b);
    llm_request_free(r);
    llm_client_free(c);
}

static void test_stream_ollama(void) {
    llm_client *c = client();
    llm_request *r = fake(c, LLM_API_OLLAMA);
    const char *s = "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"He\"},\"done\":false}\n"
                    "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"y\"},\"done\":false}\n"
                    "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"length\",\"prompt_eval_count\":4,\"eval_count\":2}\n";
    int ok;
    c->cb_now = llm__now_us();
    ok = llm__nd_feed(&r->ra, &r->a.nd, s, strlen(s), llm__stream_event, r);
    CHECK(ok);
    CHECK_STR(r->a.text.p, "Hey");
    CHECK_STR(r->a.finish_reason, "length");
    CHECK_INT(r->a.usage.total_tokens, 6);
    CHECK(r->a.stream_done);
    llm__destroy(r);
    /* tool calls in separate lines are separate calls */
    r = fake(c, LLM_API_OLLAMA);
    s = "{\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"a\",\"arguments\":{\"x\":1}}}]},\"done\":false}\n"
        "{\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"b\",\"arguments\":{\"y\":2}}}]},\"done\":false}\n"
        "{\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\"}\n";
    ok = llm__nd_feed(&r->ra, &r->a.nd, s, strlen(s), llm__stream_event, r);
    CHECK(ok && llm__finalize(r));
    CHECK_INT(r->a.n_tools, 2);
    if (r->a.n_tools == 2) {
        CHECK_STR(r->a.tools[0].pub.name, "a");
        CHECK_STR(r->a.tools[0].pub.arguments, "{\"x\":1}");
        CHECK_STR(r->a.tools[1].pub.name, "b");
        CHECK_STR(r->a.tools[1].pub.arguments, "{\"y\":2}");
    }
    llm__destroy(r);
    /* the last line without its newline still counts when the body ends */
    r = fake(c, LLM_API_OLLAMA);
    r->stream = 1;
    r->a.http_status = 200;
    strcpy(r->a.h_content_type, "application/x-ndjson");
    s = "{\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"done\":false}\n"
        "{\"message\":{\"role\":\"assistant\",\"content\":\"!\"},\"done\":true,\"done_reason\":\"stop\"}";
    llm__decide_mode(r);
    CHECK(r->a.mode == LLM__M_STREAM && r->a.framing == 2);
    ok = llm__nd_feed(&r->ra, &r->a.nd, s, strlen(s), llm__stream_event, r);
    CHECK(ok && !r->a.stream_done);
    CHECK(llm__decode_success(r));
    CHECK(r->a.stream_done && r->a.abort_kind == 0);
    CHECK_STR(r->a.text.p, "Hi!");
    CHECK_STR(r->a.finish_reason, "stop");
    llm__destroy(r);
    r = fake(c, LLM_API_OLLAMA);
    s = "{\"error\":\"model crashed\"}\n";
    ok = llm__nd_feed(&r->ra, &r->a.nd, s, strlen(s), llm__stream_event, r);
    CHECK(!ok && r->a.abort_kind == LLM_ERR_SERVER && strstr(r->a.abort_msg, "model crashed"));
    llm__destroy(r);
    llm_client_free(c);
}

/* Before every attempt the attempt starts from nothing: decoder state,
   text, tools, usage, headers, error detail, timings of the last one. */
static void test_attempt_reset(void) {
    llm_client *c = client();
    llm_request *r = fake(c, LLM_API_OPENAI);
    const char *s1 = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\",\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":\"{\"}}]}}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\n\ndata: {\"choi";
    const char *s2 = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    c->cb_now = llm__now_us();
    r->stream = 1;
    CHECK(llm__sse_feed(&r->ra, &r->a.sse, s1, strlen(s1), llm__stream_event, r));
    CHECK_STR(r->a.text.p, "Hel");
    CHECK_INT(r->a.n_tools, 1);
    CHECK(r->a.sse.line.len > 0); /* half an event pending */
    snprintf(r->a.h_request_id, sizeof r->a.h_request_id, "req_1");
    snprintf(r->a.type, sizeof r->a.type, "server_error");
    r->a.h_should_retry = 1;
    r->a.http_status = 500;
    r->a.abort_kind = LLM_ERR_SERVER;
    llm__attempt_reset(r);
    CHECK_INT(r->a.text.len, 0);
    CHECK_INT(r->a.n_tools, 0);
    CHECK_INT(r->a.usage.prompt_tokens, 0);
    CHECK_INT(r->a.usage.total_tokens, 0);
    CHECK_STR(r->a.h_request_id, "");
    CHECK_STR(r->a.type, "");
    CHECK_INT(r->a.h_should_retry, -1);
    CHECK_INT(r->a.http_status, 0);
    CHECK_INT(r->a.abort_kind, 0);
    CHECK_INT(r->a.sse.line.len, 0);
    CHECK_INT(r->a.sse.max, c->max_event);
    CHECK_INT(r->a.nd.max, c->max_event);
    CHECK_INT(r->meter_used, 0); /* every byte of it went back */
    /* the next attempt's stream decodes as if it were the first */
    CHECK(llm__sse_feed(&r->ra, &r->a.sse, s2, strlen(s2), llm__stream_event, r));
    CHECK_STR(r->a.text.p, "Hi");
    CHECK_INT(r->a.n_tools, 0);
    CHECK(r->a.stream_done);
    llm__destroy(r);
    llm_client_free(c);
}

/* Ollama: the developer role becomes system; a tool call without a type is
   a function call; the tool-call limit holds, and its default is 128. */
static void test_ollama_mapping(void) {
    llm_client *c = client();
    llm_message m[2] = { { "developer", "be brief", NULL, NULL, NULL, NULL, 0 }, { "user", "Q", NULL, NULL, NULL, NULL, 0 } };
    llm_chat_desc d;
    llm_request *r;
    llm_json_value *b;
    const char *s;
    int i, ok;
    memset(&d, 0, sizeof d);
    d.model = "ollama/llama3.2";
    d.messages = m;
    d.n_messages = 2;
    r = llm_chat(c, &d);
    b = body_of(r);
    CHECK_STR(llm_json_string(llm_json_path(b, "messages.0.role"), NULL), "system");
    CHECK_STR(llm_json_string(llm_json_path(b, "messages.1.role"), NULL), "user");
    llm_json_free(b);
    llm_request_free(r);
    r = fake(c, LLM_API_OLLAMA);
    s = "{\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"a\",\"arguments\":{}}}]},\"done\":true}";
    b = llm_json_parse(s, strlen(s), NULL, NULL);
    llm__decode_chat(r, b);
    CHECK(llm__finalize(r));
    CHECK_INT(r->a.n_tools, 1);
    if (r->a.n_tools == 1) CHECK_STR(r->a.tools[0].pub.type, "function");
    llm_json_free(b);
    llm__destroy(r);
    /* 128 tool calls fit, the 129th is refused */
    for (i = 0; i < 2; i++) {
        llm__buf body = { NULL, 0, 0 };
        int k, n = 128 + i;
        r = fake(c, LLM_API_OPENAI);
        llm__buf_adds(&r->ra, &body, "{\"choices\":[{\"index\":0,\"message\":{\"tool_calls\":[");
        for (k = 0; k < n; k++) llm__buf_adds(&r->ra, &body, k ? ",{\"id\":\"x\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}" :
                                                                  "{\"id\":\"x\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}");
        llm__buf_adds(&r->ra, &body, "]}}]}");
        b = llm_json_parse(body.p, body.len, NULL, NULL);
        llm__decode_chat(r, b);
        ok = r->a.abort_kind == 0;
        CHECK_MSG(ok == (i == 0), "%d tool calls: abort %d", n, r->a.abort_kind);
        if (i == 0) CHECK_INT(r->a.n_tools, 128);
        else CHECK_INT(r->a.abort_kind, LLM_ERR_PROTOCOL);
        llm_json_free(b);
        llm__buf_free(&r->ra, &body);
        llm__destroy(r);
    }
    llm_client_free(c);
    { /* max_tool_calls = 2: two fit, three do not, also streamed by index */
        llm_client_desc cd;
        memset(&cd, 0, sizeof cd);
        cd.max_tool_calls = 2;
        c = llm_client_new(&cd);
        CHECK_INT(c->max_tools, 2);
        r = fake(c, LLM_API_OPENAI);
        c->cb_now = llm__now_us();
        s = "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"b\",\"function\":{\"name\":\"g\"}}]}}]}\n\n";
        CHECK(llm__sse_feed(&r->ra, &r->a.sse, s, strlen(s), llm__stream_event, r));
        s = "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":2,\"id\":\"c\",\"function\":{\"name\":\"h\"}}]}}]}\n\n";
        CHECK(!llm__sse_feed(&r->ra, &r->a.sse, s, strlen(s), llm__stream_event, r));
        CHECK_INT(r->a.abort_kind, LLM_ERR_PROTOCOL);
        llm__destroy(r);
        llm_client_free(c);
    }
}

/* Base64 vectors in both alphabets: standard (+/) and URL-safe (-_). */
static void test_base64_vectors(void) {
    llm_client *c = client();
    /* the floats 1.0 and -0.37497: bytes whose base64 holds both '+' and
       '/' (standard) or '-' and '_' (URL-safe) */
    static const unsigned char raw[8] = { 0x00, 0x00, 0x80, 0x3f, 0xef, 0xfb, 0xbf, 0xbe };
    static const char *forms[2] = { "\"AACAP+/7v74=\"", "\"AACAP-_7v74=\"" };
    int k;
    for (k = 0; k < 2; k++) {
        llm_request *r = fake(c, LLM_API_OPENAI);
        char j[200];
        llm_json_value *v;
        float want[2];
        memcpy(want, raw, 8);
        snprintf(j, sizeof j, "{\"data\":[{\"index\":0,\"embedding\":%s}]}", forms[k]);
        v = llm_json_parse(j, strlen(j), NULL, NULL);
        r->n_inputs = 1;
        llm__decode_embed(r, v);
        CHECK_MSG(r->a.abort_kind == 0, "%s: %s", forms[k], r->a.abort_msg);
        CHECK_INT(r->a.dim, 2);
        if (r->a.vec) CHECK(r->a.vec[0] == want[0] && r->a.vec[1] == want[1]);
        llm_json_free(v);
        llm__destroy(r);
    }
    llm_client_free(c);
}

static void test_retry_delay(void) {
    llm_client_desc cd;
    llm_client *c;
    llm_request *r;
    int i;
    char date[64];
    time_t t = time(NULL) + 30;
    struct tm g;
    memset(&cd, 0, sizeof cd);
    cd.retry_seed = 42;
    c = llm_client_new(&cd);
    r = llm__new_request(c, LLM__K_CHAT);
    snprintf(r->a.h_retry_after_ms, sizeof r->a.h_retry_after_ms, "1500.5");
    CHECK_INT(llm__retry_delay_us(r), 1500500);
    r->a.h_retry_after_ms[0] = '\0';
    snprintf(r->a.h_retry_after, sizeof r->a.h_retry_after, "2");
    CHECK_INT(llm__retry_delay_us(r), 2000000);
    snprintf(r->a.h_retry_after, sizeof r->a.h_retry_after, "0.25");
    CHECK_INT(llm__retry_delay_us(r), 250000);
    gmtime_r(&t, &g);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &g);
    snprintf(r->a.h_retry_after, sizeof r->a.h_retry_after, "%s", date);
    CHECK_MSG(llm__retry_delay_us(r) > 28000000 && llm__retry_delay_us(r) <= 30000000, "%s", date);
    snprintf(r->a.h_retry_after, sizeof r->a.h_retry_after, "3600"); /* above the 60 s cap: backoff instead */
    for (i = 0; i < 4; i++) {
        int64_t d;
        double base = 0.5 * (1 << i);
        r->retries = i;
        d = llm__retry_delay_us(r);
        CHECK_MSG(d >= (int64_t)(base * 0.75e6) && d <= (int64_t)(base * 1e6), "retry %d: %lld us", i, (long long)d);
    }
    r->a.h_retry_after[0] = '\0';
    r->retries = 10;
    CHECK(llm__retry_delay_us(r) <= 8000000 && llm__retry_delay_us(r) >= 6000000);
    /* retry-after-ms wins over Retry-After, both present */
    r->retries = 0;
    snprintf(r->a.h_retry_after_ms, sizeof r->a.h_retry_after_ms, "120");
    snprintf(r->a.h_retry_after, sizeof r->a.h_retry_after, "7");
    CHECK_INT(llm__retry_delay_us(r), 120000);
    /* a malformed retry-after-ms leaves Retry-After in charge */
    snprintf(r->a.h_retry_after_ms, sizeof r->a.h_retry_after_ms, "12ms");
    CHECK_INT(llm__retry_delay_us(r), 7000000);
    /* a malformed Retry-After (neither seconds nor a date): backoff */
    r->a.h_retry_after_ms[0] = '\0';
    for (i = 0; i < 4; i++) {
        static const char *bad[] = { "soon", "-5", "1e3", "Sun, 32 Nov 1994 08:49:37 GMT" };
        int64_t d;
        snprintf(r->a.h_retry_after, sizeof r->a.h_retry_after, "%s", bad[i]);
        d = llm__retry_delay_us(r);
        CHECK_MSG(d >= 375000 && d <= 500000, "Retry-After \"%s\": %lld us", bad[i], (long long)d);
    }
    /* a delay of exactly the cap is honoured, one above it is not */
    snprintf(r->a.h_retry_after, sizeof r->a.h_retry_after, "60");
    CHECK_INT(llm__retry_delay_us(r), 60000000);
    snprintf(r->a.h_retry_after, sizeof r->a.h_retry_after, "60.001");
    CHECK(llm__retry_delay_us(r) <= 500000);
    CHECK_INT(llm__http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    CHECK_INT(llm__http_date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
    CHECK_INT(llm__http_date("Sun Nov  6 08:49:37 1994"), 784111777);
    CHECK_INT(llm__http_date("soon"), -1);
    /* the calendar past 2099: century years are leap years only every 400 */
    CHECK(llm__http_date("Mon, 01 Mar 2100 00:00:00 GMT") == 4107542400LL);
    CHECK(llm__http_date("Tue, 29 Feb 2400 00:00:00 GMT") == 13574563200LL);
    CHECK(llm__http_date("Tue, 29 Feb 2000 00:00:00 GMT") == 951782400LL);
    CHECK(llm__http_date("Fri, 31 Dec 9999 00:00:00 GMT") == 253402214400LL);
    CHECK(llm__http_date("Thu, 01 Jan 1970 00:00:00 GMT") == 0);
    { /* decimal seconds and milliseconds, every digit */
        static const struct { const char *s; double v; } D[] = {
            { "9", 9 }, { "19", 19 }, { " 29 ", 29 }, { "1.9", 1.9 }, { "0.99", 0.99 }, { "1234567890", 1234567890 },
        };
        size_t k;
        for (k = 0; k < sizeof D / sizeof D[0]; k++) {
            double v = -1;
            CHECK_MSG(llm__parse_decimal(D[k].s, &v) && v == D[k].v, "\"%s\": %g", D[k].s, v);
        }
        CHECK(!llm__parse_decimal("9x", NULL) && !llm__parse_decimal("", NULL) && !llm__parse_decimal("-1", NULL));
    }
    /* day 00 is no day: a number after it is not taken for the day */
    CHECK_INT(llm__http_date("Sun, 00 06 Nov 1994 08:49:37 GMT"), -1);
    CHECK_INT(llm__http_date("Sun, 00 Nov 1994 08:49:37 GMT"), -1);
    { /* each field at its ends, and one past them */
        static const struct { const char *s; long long want; } d[] = {
            { "Thu, 01 Jan 1970 00:00:00 GMT", 0 }, { "Fri, 31 Dec 1999 23:59:59 GMT", 946684799 },
            { "Sat, 31 Dec 2016 23:59:60 GMT", 1483228800 }, { "Tue, 29 Feb 2000 12:00:00 GMT", 951825600 },
            { "Wed, 31 Dec 1969 23:59:59 GMT", -1 }, { "Thu, 01 Jan 1970 24:00:00 GMT", -1 },
            { "Thu, 01 Jan 1970 00:60:00 GMT", -1 }, { "Thu, 01 Jan 1970 00:00:61 GMT", -1 },
            { "Thu, 00 Jan 1970 00:00:00 GMT", -1 }, { "Thu, 32 Jan 1970 00:00:00 GMT", -1 },
            { "Thu, 01 Jam 1970 00:00:00 GMT", -1 }, { "Thu, 01 Dec 1970 00:00:00 GMT", 28857600 },
        };
        size_t i;
        for (i = 0; i < sizeof d / sizeof d[0]; i++)
            CHECK_MSG(llm__http_date(d[i].s) == d[i].want, "%s: %lld", d[i].s, (long long)llm__http_date(d[i].s));
    }
    llm__destroy(r);
    llm_client_free(c);
}

/* Masks n bytes (NULs allowed) with the client's keys, in a heap copy of
   exactly n bytes, so that a read past the text is caught (ASan); returns
   the masked copy (static) and its length in *out. */
static const char *masked_n(llm_client *c, const char *in, size_t n, size_t *out) {
    static char buf[4096];
    char *t = (char *)malloc(n ? n : 1);
    size_t m = n;
    if (!t) return "";
    memcpy(t, in, n);
    llm__mask_n(c, t, &m);
    CHECK(m <= n);
    memcpy(buf, t, m);
    buf[m] = '\0';
    free(t);
    if (out) *out = m;
    return buf;
}
/* The same for a string. */
static const char *masked(llm_client *c, const char *in) {
    size_t n;
    const char *r = masked_n(c, in, strlen(in), &n);
    CHECK_INT(n, strlen(r));
    return r;
}

static void test_redaction(void) {
    llm_client *c = client(); /* keys sk-test-123456, ak-test-999999, gk-test-777777 */
    /* plain, whole, several times */
    CHECK_STR(masked(c, "Incorrect API key provided: sk-test-123456. Key sk-test-123456 again"),
              "Incorrect API key provided: ***. Key *** again");
    /* any run of 8 or more characters of a key, wherever it starts */
    CHECK_STR(masked(c, "cut in the middle: sk-test-1"), "cut in the middle: ***");
    CHECK_STR(masked(c, "the end: est-123456 was echoed"), "the end: *** was echoed");
    CHECK_STR(masked(c, "two pieces: sk-test- and 123456"), "two pieces: *** and 123456"); /* "123456": 6, kept */
    CHECK_STR(masked(c, "seven: sk-test is not enough"), "seven: sk-test is not enough");
    /* URL-encoded and JSON-escaped forms, and mixes */
    CHECK_STR(masked(c, "key=%73%6B%2D%74%65%73%74%2D%31%32%33%34%35%36&x=1"), "key=***&x=1");
    CHECK_STR(masked(c, "key=sk%2Dtest%2d123456&x"), "key=***&x");
    CHECK_STR(masked(c, "\\u0073\\u006b-test-123456 end"), "*** end");
    CHECK_STR(masked(c, "ak-test-999999/gk-test-777777"), "***/***");
    /* text that only looks alike is left alone */
    CHECK_STR(masked(c, "sk-tes and %73k"), "sk-tes and %73k");
    CHECK_STR(masked(c, ""), "");
    { /* a key straddling any cut of a long provider message: no 8-run survives */
        llm_request *r = fake(c, LLM_API_OPENAI);
        char body[LLM_PROVIDER_MESSAGE_MAX + 600];
        int pad;
        for (pad = LLM_PROVIDER_MESSAGE_MAX - 40; pad < LLM_PROVIDER_MESSAGE_MAX + 20; pad += 3) {
            int k = snprintf(body, sizeof body, "{\"error\":{\"message\":\"");
            memset(body + k, 'x', (size_t)pad);
            snprintf(body + k + pad, sizeof body - (size_t)(k + pad), "Bearer sk-test-123456 rejected\"}}");
            set_raw(r, body);
            r->status = LLM_ACTIVE;
            r->terminal = 0;
            llm__decode_error_body(r);
            r->max_retries = 0;
            llm__fail_or_retry(r, LLM_ERR_AUTH, 401, 0, LLM_TIMEOUT_NONE, llm__pmsg(r));
            CHECK_MSG(strstr(llm_request_error(r)->message, "sk-test-") == NULL && strstr(llm_request_error(r)->message, "est-1234") == NULL,
                      "pad %d: %s", pad, llm_request_error(r)->message);
            CHECK(!llm_request_error(r)->provider_message || strstr(llm_request_error(r)->provider_message, "t-123456") == NULL);
        }
        llm__destroy(r);
    }
    llm_client_free(c);
}

/* The fuzzers' finds, kept: exact int64, whole characters, duplicate
   embedding indexes (fuzz/regressions replays the inputs themselves). */
static void test_fuzz_finds(void) {
    llm_client *c = client();
    llm_request *r = fake(c, LLM_API_OPENAI);
    llm_json_value *v;
    char body[600];
    int k;
    {
        const char *dup = "{\"data\":[{\"index\":1,\"embedding\":[1,2]},{\"index\":1,\"embedding\":[3,4]}]}";
        v = llm_json_parse(dup, strlen(dup), NULL, NULL);
    }
    CHECK(v != NULL);
    r->n_inputs = 2;
    llm__decode_embed(r, v);
    CHECK_INT(r->a.abort_kind, LLM_ERR_PROTOCOL);
    CHECK(strstr(r->a.abort_msg, "given twice") != NULL);
    llm_json_free(v);
    llm__destroy(r);
    r = fake(c, LLM_API_OPENAI); /* a 200-byte cut never splits a character */
    k = snprintf(body, sizeof body, "{\"note\":\"");
    while (k < 400) { memcpy(body + k, "\xC3\xA9", 2); k += 2; }
    memcpy(body + k, "\"}", 3);
    set_raw(r, body); /* "{"note":" is 9 bytes: byte 200 falls inside a character */
    llm__decode_error_body(r);
    CHECK_INT(llm__utf8_valid((const unsigned char *)llm__pmsg(r), strlen(llm__pmsg(r))), strlen(llm__pmsg(r)));
    CHECK(strlen(llm__pmsg(r)) <= 200);
    r->status = LLM_ACTIVE; /* and a long multi-byte message in err_msg */
    llm__fail_or_retry(r, LLM_ERR_SERVER, 500, 0, LLM_TIMEOUT_NONE, body);
    CHECK_INT(llm__utf8_valid((const unsigned char *)r->o.err.message, strlen(r->o.err.message)), strlen(r->o.err.message));
    llm__destroy(r);
    llm_client_free(c);
}

static void test_client_desc(void) {
    llm_client_desc cd;
    llm_client *c;
    llm_provider_desc bad;
    memset(&cd, 0, sizeof cd);
    setenv("OPENAI_BASE_URL", "http://env-host:1/v1", 1);
    setenv("OPENAI_API_KEY", "sk-from-env", 1);
    setenv("OLLAMA_HOST", "gpu-box", 1);
    c = llm_client_new(NULL);
    CHECK(c != NULL);
    CHECK_STR(c->prov[0].base_url, "http://env-host:1/v1");
    CHECK_STR(c->prov[0].api_key, "sk-from-env");
    CHECK_STR(c->prov[2].base_url, "http://gpu-box:11434");
    CHECK_INT(c->max_concurrent, 16);
    CHECK_INT(c->max_retries, 2);
    CHECK_INT(c->connect_ms, 5000);
    /* the documented defaults, every one */
    CHECK_INT(c->idle_us, 120000LL * 1000);
    CHECK_INT(c->total_us, 600000LL * 1000);
    CHECK_INT(c->first_byte_us, 0);
    CHECK_INT(c->retry_cap_ms, 60000);
    CHECK_INT(c->max_response, 64 << 20);
    CHECK_INT(c->max_event, 4 << 20);
    CHECK_INT(c->max_depth, 128);
    CHECK_INT(c->max_tools, 128);
    CHECK(c->proxy == NULL && c->no_proxy == NULL);
    { /* and a request takes the client's unless its desc says otherwise */
        llm_request *q = llm__new_request(c, LLM__K_CHAT);
        llm__settings(q, 0, 0, 0);
        CHECK_INT(q->idle_us, 120000LL * 1000);
        CHECK_INT(q->max_retries, 2);
        CHECK_INT(q->deadline_total - q->t_submit, 600000LL * 1000);
        llm__settings(q, 1500, 250, 5);
        CHECK_INT(q->idle_us, 250000);
        CHECK_INT(q->max_retries, 5);
        CHECK_INT(q->deadline_total - q->t_submit, 1500000);
        llm__settings(q, -1, -1, -1);
        CHECK_INT(q->idle_us, 0);
        CHECK_INT(q->max_retries, 0);
        CHECK_INT(q->deadline_total, 0);
        llm__destroy(q);
    }
    llm_client_free(c);
    unsetenv("OPENAI_BASE_URL");
    unsetenv("OPENAI_API_KEY");
    unsetenv("OLLAMA_HOST");
    c = llm_client_new(NULL);
    CHECK_STR(c->prov[0].base_url, "https://api.openai.com/v1");
    CHECK_STR(c->prov[1].base_url, "https://api.anthropic.com");
    CHECK_STR(c->prov[2].base_url, "http://127.0.0.1:11434");
    llm_client_free(c);
    cd.max_retries = -1;
    c = llm_client_new(&cd);
    CHECK_INT(c->max_retries, 0);
    llm_client_free(c);
    memset(&bad, 0, sizeof bad);
    bad.name = "a/b";
    bad.base_url = "http://x";
    cd.providers = &bad;
    cd.n_providers = 1;
    CHECK(llm_client_new(&cd) == NULL);
    cd.n_providers = -2;
    CHECK(llm_client_new(&cd) == NULL);
    cd.n_providers = 0;
    cd.anthropic_version = "2023-06-01\r\nX-Injected: 1";
    CHECK(llm_client_new(&cd) == NULL);
    cd.anthropic_version = NULL;
    cd.user_agent = "agent\nX-Injected: 1";
    CHECK(llm_client_new(&cd) == NULL);
    cd.user_agent = NULL;
    { /* a host's own user agent is sent whole, however long */
        char ua[600];
        llm_client *c;
        memset(ua, 'u', sizeof ua - 1);
        memcpy(ua, "MyGame/1.0 ", 11);
        ua[sizeof ua - 1] = '\0';
        cd.user_agent = ua;
        c = llm_client_new(&cd);
        CHECK(c && c->user_agent && !strcmp(c->user_agent, ua));
        llm_client_free(c);
        cd.user_agent = NULL;
    }
    cd.allocator.alloc_fn = th_alloc_fn; /* partial allocator */
    CHECK(llm_client_new(&cd) == NULL);
}

/* A client whose keys are exactly these ("" for none; custom NULL: no
   custom provider), never the environment's. */
static llm_client *client_keys(const char *openai, const char *anthropic, const char *custom) {
    llm_client_desc d;
    static llm_provider_desc prov[1];
    memset(&d, 0, sizeof d);
    memset(prov, 0, sizeof prov);
    d.base_url = "http://127.0.0.1:9/v1";
    d.api_key = openai;
    d.anthropic_base_url = "http://127.0.0.1:9";
    d.anthropic_api_key = anthropic;
    d.ollama_host = "127.0.0.1:9";
    prov[0].name = "custom";
    prov[0].base_url = "http://127.0.0.1:9/c";
    prov[0].api_key = custom;
    d.providers = prov;
    d.n_providers = custom ? 1 : 0;
    return llm_client_new(&d);
}

/* Keys of 6 and 7 characters are masked only whole, wherever they are,
   plain or encoded; a key under 6 characters is never looked for. */
static void test_redaction_short_keys(void) {
    llm_client *c = client_keys("", "", "abc123"); /* only the fourth provider has a key, of exactly 6 */
    CHECK(c != NULL);
    if (!c) return;
    CHECK_STR(masked(c, "abc123"), "***");
    CHECK_STR(masked(c, "x abc123 y"), "x *** y");
    CHECK_STR(masked(c, "!abc123"), "!***");
    CHECK_STR(masked(c, "abc123!"), "***!");
    CHECK_STR(masked(c, "key=%61bc123&x=1"), "key=***&x=1");
    CHECK_STR(masked(c, "key=%61%62%63%31%32%33&x=1"), "key=***&x=1");
    CHECK_STR(masked(c, "\"k\":\"\\u0061bc123\",\"n\":1"), "\"k\":\"***\",\"n\":1");
    CHECK_STR(masked(c, "\"k\":\"abc\\u0031\\u00323\"}"), "\"k\":\"***\"}");
    CHECK_STR(masked(c, "end abc12%33"), "end ***");        /* an encoding as the last bytes */
    CHECK_STR(masked(c, "end abc12\\u0033"), "end ***");
    CHECK_STR(masked(c, "end abc12%3"), "end abc12%3");      /* cut encodings are not the key */
    CHECK_STR(masked(c, "end abc12\\u003"), "end abc12\\u003");
    CHECK_STR(masked(c, "abc123abc123"), "******");         /* back to back */
    CHECK_STR(masked(c, "xabc123abc123x"), "x******x");
    CHECK_STR(masked(c, "abc123abc12"), "***abc12");
    CHECK_STR(masked(c, "ababc123"), "ab***");
    CHECK_STR(masked(c, "a abc12 3 b"), "a abc12 3 b");     /* a part is not the key */
    CHECK_STR(masked(c, "bc123 abc12"), "bc123 abc12");
    CHECK_STR(masked(c, "ABC123 %41bc123"), "ABC123 %41bc123");
    CHECK_STR(masked(c, "\\abc123"), "\\***");               /* "\a" is no escape of 'a' */
    CHECK_STR(masked(c, "x %61bc123 %61bc123 y"), "x *** *** y");
    llm_client_free(c);
    c = client_keys("abcdefg", "", NULL); /* 7: still whole only */
    CHECK_STR(masked(c, "--abcdefg--"), "--***--");
    CHECK_STR(masked(c, "--%61bcdefg--"), "--***--");
    CHECK_STR(masked(c, "--\\u0061bcdef\\u0067--"), "--***--");
    CHECK_STR(masked(c, "--abcdef--bcdefg--"), "--abcdef--bcdefg--");
    llm_client_free(c);
    c = client_keys("abcde", "", NULL); /* 5: too short to look for */
    CHECK_STR(masked(c, "x abcde y"), "x abcde y");
    CHECK_STR(masked(c, "abcde"), "abcde");
    llm_client_free(c);
    c = client_keys("abcde", "", "vwxyz1"); /* a short key does not stop the search for the next */
    CHECK_STR(masked(c, "abcde vwxyz1 abcde"), "abcde *** abcde");
    llm_client_free(c);
    c = client_keys("", "", NULL); /* no keys at all */
    CHECK_STR(masked(c, "nothing to hide"), "nothing to hide");
    llm_client_free(c);
}

/* A key holding the escape characters themselves: its '%' and backslash
   are masked in every encoding too (URL-encoded, JSON-escaped, \u). */
static void test_redaction_escape_chars(void) {
    llm_client *c = client_keys("abcd\\efghi", "", "abcd%efghi");
    CHECK(c != NULL);
    if (!c) return;
    CHECK_STR(masked(c, "x abcd\\efghi y"), "x *** y");            /* plain */
    CHECK_STR(masked(c, "x abcd\\\\efghi y"), "x *** y");        /* JSON-escaped */
    CHECK_STR(masked(c, "x abcd\\u005cefghi y"), "x *** y");       /* \u005c */
    CHECK_STR(masked(c, "x abcd%5Cefghi y"), "x *** y");             /* URL-encoded */
    CHECK_STR(masked(c, "x abcd%efghi y"), "x *** y");               /* plain */
    CHECK_STR(masked(c, "x abcd%25efghi y"), "x *** y");             /* URL-encoded */
    CHECK_STR(masked(c, "x abcd\\u0025efghi y"), "x *** y");       /* \u0025 */
    CHECK_STR(masked(c, "x abcd%2efghi y"), "x abcd%2efghi y");      /* not the key */
    llm_client_free(c);
}

/* Where several keys match at one place, the longest text run goes. */
static void test_redaction_longest(void) {
    int k;
    for (k = 0; k < 2; k++) { /* either order of the providers */
        llm_client *c = k ? client_keys("abcdefgh12", "", "abcdef") : client_keys("abcdef", "", "abcdefgh12");
        CHECK_STR(masked(c, "[abcdefgh12]"), "[***]");
        CHECK_STR(masked(c, "[abcdefgh1]"), "[***]");
        CHECK_STR(masked(c, "[abcdef]"), "[***]");
        CHECK_STR(masked(c, "[abcdefg]"), "[***g]");  /* 7 of the long key: only the short one */
        CHECK_STR(masked(c, "[%61bcdefgh12]"), "[***]");
        llm_client_free(c);
    }
}

/* Long keys: a run may start at any of the key's characters that leave 8,
   the last 8 included, and end at the text's end in any encoding. */
static void test_redaction_edges(void) {
    llm_client *c = client(); /* keys sk-test-123456, ak-test-999999, gk-test-777777 */
    CHECK_STR(masked(c, "x t-123456 y"), "x *** y");          /* the key's last 8 */
    CHECK_STR(masked(c, "x -123456 y"), "x -123456 y");       /* its last 7 */
    CHECK_STR(masked(c, "x est-1234 y"), "x *** y");          /* 8 from the middle */
    CHECK_STR(masked(c, "x est-123 y"), "x est-123 y");
    CHECK_STR(masked(c, "key=sk-test-12345%36"), "key=***");
    CHECK_STR(masked(c, "key=sk-test-12345\\u0036"), "key=***");
    CHECK_STR(masked(c, "key=sk-test-%3"), "key=***%3");
    CHECK_STR(masked(c, "key=sk-test-\\u003"), "key=***\\u003");
    CHECK_STR(masked(c, "key=sk-test-\\"), "key=***\\");
    CHECK_STR(masked(c, "\\sk-test-1"), "\\***");
    CHECK_STR(masked(c, "sk-test-123456ak-test-999999"), "******");
    CHECK_STR(masked(c, "sk-sk-test-123456"), "sk-***");
    CHECK_STR(masked(c, "sk-test-\\u0031\\u00323456"), "***");
    CHECK_STR(masked(c, "sk\\u002Dtest\\u002d123456"), "***");  /* either case of hex */
    CHECK_STR(masked(c, "sk%2dtest%2D123456"), "***");
    CHECK_STR(masked(c, "sk%2xtest-123456"), "sk%2x***");          /* not hex: no encoding */
    CHECK_STR(masked(c, "sk\\u00x2dtest-123456"), "sk\\u00x2d***");
    llm_client_free(c);
    c = client_keys("ab/cd\"efgh", "", NULL); /* '/' and '"' may be backslash-escaped */
    CHECK_STR(masked(c, "{\"k\":\"ab\\/cd\\\"efgh\"}"), "{\"k\":\"***\"}");
    CHECK_STR(masked(c, "ab/cd\"efgh"), "***");
    CHECK_STR(masked(c, "ab\\u002fcd\\u0022efgh"), "***");
    llm_client_free(c);
    c = client_keys("abc0def0gh", "", NULL); /* hex digits 0 decode too */
    CHECK_STR(masked(c, "abc%30def%30gh"), "***");
    CHECK_STR(masked(c, "abc\\u0030def0gh"), "***");
    CHECK_STR(masked(c, "abc%3"), "abc%3");
    llm_client_free(c);
    c = client_keys("abcd\x01" "efgh", "", NULL); /* any byte: %01 and \u0001 */
    CHECK_STR(masked(c, "[abcd%01efgh]"), "[***]");
    CHECK_STR(masked(c, "[abcd\\u0001efgh]"), "[***]");
    CHECK_STR(masked(c, "[abcd%02efgh]"), "[abcd%02efgh]");
    llm_client_free(c);
    c = client_keys("abcdefghij", "", NULL); /* other letters may not */
    CHECK_STR(masked(c, "\\abcdefghij"), "\\***");
    CHECK_STR(masked(c, "ab\\cdefghij"), "ab\\***");
    CHECK_STR(masked(c, "a\\bcdefghij"), "a\\***");
    llm_client_free(c);
    { /* NULs are text like any other byte, and the key's end is its end */
        size_t n;
        static const char in1[] = "x sk-test-123456\0y";
        static const char in2[] = "\0sk-test-1\0";
        const char *r;
        c = client();
        r = masked_n(c, in1, sizeof in1 - 1, &n);
        CHECK_INT(n, 7);
        CHECK(!memcmp(r, "x ***\0y", 7));
        r = masked_n(c, in2, sizeof in2 - 1, &n);
        CHECK_INT(n, 5);
        CHECK(!memcmp(r, "\0***\0", 5));
        r = masked_n(c, "sk-test-1", 0, &n); /* nothing */
        CHECK_INT(n, 0);
        { /* llm__mask: a string, still a string after it shrank */
            char t[] = "x sk-test-123456 y ak-test-999999";
            llm__mask(c, t);
            CHECK_STR(t, "x *** y ***");
        }
        llm_client_free(c);
    }
}

/* The provider's message: whole up to LLM_PROVIDER_MESSAGE_MAX bytes; a
   longer one keeps LLM_PROVIDER_MESSAGE_MAX - 6 bytes, cut back to a
   character's start, and ends with " [...]". */
static void test_pmsg_cut(void) {
    llm_client *c = client();
    llm_request *r = fake(c, LLM_API_OPENAI);
    static char msg[LLM_PROVIDER_MESSAGE_MAX + 100], body[LLM_PROVIDER_MESSAGE_MAX + 200], want[LLM_PROVIDER_MESSAGE_MAX + 100];
    const size_t M = LLM_PROVIDER_MESSAGE_MAX, keep = LLM_PROVIDER_MESSAGE_MAX - 6;
    size_t n;
    for (n = M - 1; n <= M + 2; n++) {
        memset(msg, 'a', n);
        msg[n] = '\0';
        snprintf(body, sizeof body, "{\"error\":{\"message\":\"%s\"}}", msg);
        set_raw(r, body);
        llm__decode_error_body(r);
        if (n <= M) {
            CHECK_INT(strlen(llm__pmsg(r)), n);
            CHECK_STR(llm__pmsg(r), msg);
        } else {
            memset(want, 'a', keep);
            memcpy(want + keep, " [...]", 7);
            CHECK_INT(strlen(llm__pmsg(r)), M);
            CHECK_STR(llm__pmsg(r), want);
        }
    }
    /* a character across the cut is left out whole */
    memset(msg, 'a', M + 50);
    memcpy(msg + keep - 1, "\xC3\xA9", 2); /* its second byte at the cut */
    msg[M + 50] = '\0';
    llm__set_pmsg(r, msg, M + 50);
    memset(want, 'a', keep - 1);
    memcpy(want + keep - 1, " [...]", 7);
    CHECK_STR(llm__pmsg(r), want);
    memcpy(msg + keep - 2, "\xE2\x82\xAC", 3); /* three bytes, the cut at its last */
    llm__set_pmsg(r, msg, M + 50);
    memset(want, 'a', keep - 2);
    memcpy(want + keep - 2, " [...]", 7);
    CHECK_STR(llm__pmsg(r), want);
    memset(msg, 'a', M + 50);
    memcpy(msg + keep, "\xC3\xA9", 2); /* starting at the cut: out, nothing more */
    llm__set_pmsg(r, msg, M + 50);
    memset(want, 'a', keep);
    memcpy(want + keep, " [...]", 7);
    CHECK_STR(llm__pmsg(r), want);
    memset(msg, 0x80, M + 50); /* no character start at all: only the mark */
    llm__set_pmsg(r, msg, M + 50);
    CHECK_STR(llm__pmsg(r), " [...]");
    CHECK_INT(r->a.abort_kind, 0);
    llm__destroy(r);
    llm_client_free(c);
}

/* The error object's type, code and param: whole up to 63 bytes, else cut
   to 57 at a character's start and marked " [...]"; a numeric code too. */
/* Error bodies that are not JSON are read within their length: each from an
   exact-size heap copy (no terminator; the sanitizers see a byte past it),
   the page's <title> when it is whole, else the text without its tags. */
static void test_error_text_bounded(void) {
    static const struct { const char *body, *want; } cs[] = {
        { "<html><head><TITLE>502 Bad Gateway</title></head><body>nginx</body></html>", "502 Bad Gateway" },
        { "<p>Service down</p>", "Service down" },
        { "upstream timed out <title>", "upstream timed out" },
        { "x <title>half", "x half" },
        { "<title>cut</titl", "cut" },
        { "<title", "" },
        { "plain", "plain" },
        { "oops <title>T</title>", "T" }, /* the title's end is the body's */
        { "{\"status\":\"bad\"}", "{\"status\":\"bad\"}" }, /* JSON without a message: itself */
    };
    llm_client *c = client();
    llm_request *r = fake(c, LLM_API_OPENAI);
    size_t i;
    for (i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        size_t n = strlen(cs[i].body);
        char *exact = (char *)malloc(n);
        llm__buf keep = r->a.raw;
        memcpy(exact, cs[i].body, n);
        r->a.raw.p = exact;
        r->a.raw.len = r->a.raw.cap = n;
        llm__decode_error_body(r);
        r->a.raw = keep;
        free(exact);
        CHECK_MSG(!strcmp(llm__pmsg(r), cs[i].want), "%s: \"%s\"", cs[i].body, llm__pmsg(r));
    }
    { /* JSON without a message, over 200 bytes: its first 200, a character across the cut left out */
        char body[300], want[210];
        size_t n, k;
        for (k = 0; k < 2; k++) {
            char *exact;
            llm__buf keep = r->a.raw;
            memset(body, 'a', sizeof body);
            memcpy(body, "{\"s\":\"", 6);
            if (k) memcpy(body + 199, "\xC3\xA9", 2); /* bytes 199..200 */
            memcpy(body + 296, "\"}", 3);
            n = strlen(body);
            exact = (char *)malloc(n);
            memcpy(exact, body, n);
            r->a.raw.p = exact;
            r->a.raw.len = r->a.raw.cap = n;
            llm__decode_error_body(r);
            r->a.raw = keep;
            free(exact);
            memcpy(want, body, k ? 199 : 200);
            want[k ? 199 : 200] = '\0';
            CHECK_MSG(!strcmp(llm__pmsg(r), want), "%lu: %lu bytes", (unsigned long)k, (unsigned long)strlen(llm__pmsg(r)));
        }
    }
    llm__destroy(r);
    llm_client_free(c);
}

/* An abort's summary holds 383 bytes: a longer one (a provider's long text
   quoted in it) is cut at a character's start and marked " [...]". */
static void test_abort_message_cut(void) {
    llm_client *c = client();
    size_t n;
    for (n = 360; n <= 380; n++) {
        llm_request *r = fake(c, LLM_API_OPENAI);
        char msg[400], want[440];
        size_t total = n + 14, keep = 383 - 6; /* "stream error: " is 14 bytes */
        memset(msg, 'm', n);
        msg[n] = '\0';
        if (n == 370) memcpy(msg + keep - 14 - 1, "\xE2\x82\xAC", 3); /* a character across the cut */
        llm__abort(r, LLM_ERR_SERVER, 1, "stream error: %s", msg);
        if (total <= 383) snprintf(want, sizeof want, "stream error: %s", msg);
        else {
            if (n == 370) keep -= 1;
            memcpy(want, "stream error: ", 14);
            memcpy(want + 14, msg, keep - 14);
            memcpy(want + keep, " [...]", 7);
        }
        CHECK_MSG(!strcmp(r->a.abort_msg, want), "%lu bytes: %lu, \"...%s\"", (unsigned long)n,
                  (unsigned long)strlen(r->a.abort_msg), r->a.abort_msg + 340);
        llm__destroy(r);
    }
    llm_client_free(c);
}

static void test_error_fields_cut(void) {
    llm_client *c = client();
    llm_request *r = fake(c, LLM_API_OPENAI);
    char body[800], v[200], want[200];
    size_t n;
    for (n = 62; n <= 65; n++) {
        memset(v, 't', n);
        v[n] = '\0';
        if (n == 65) memcpy(v + 56, "\xC3\xA9", 2); /* a character across the cut: left out whole */
        snprintf(body, sizeof body, "{\"error\":{\"message\":\"m\",\"type\":\"%s\",\"param\":\"%s\",\"code\":\"%s\"}}", v, v, v);
        set_raw(r, body);
        llm__decode_error_body(r);
        if (n <= 63) snprintf(want, sizeof want, "%s", v);
        else {
            size_t keep = n == 65 ? 56 : 57;
            memcpy(want, v, keep);
            memcpy(want + keep, " [...]", 7);
        }
        CHECK_MSG(!strcmp(r->a.type, want) && !strcmp(r->a.param, want) && !strcmp(r->a.code, want),
                  "%lu bytes: type \"%s\", want \"%s\"", (unsigned long)n, r->a.type, want);
    }
    memset(v, '7', 70);
    v[70] = '\0';
    snprintf(body, sizeof body, "{\"error\":{\"message\":\"m\",\"code\":%s}}", v);
    set_raw(r, body);
    llm__decode_error_body(r);
    memcpy(want, v, 57);
    memcpy(want + 57, " [...]", 7);
    CHECK_STR(r->a.code, want);
    llm__destroy(r);
    llm_client_free(c);
}

/* A provider message over the response's memory bound: the message says
   less, the kind stays right, and the refusal is used up there, so a real
   shortage after it is still "no memory". */
static void test_meter_pmsg(void) {
    th_alloc ta;
    llm_client_desc cd;
    llm_client *c;
    llm_request *r;
    char big[5001], body[5200];
    size_t lim;
    int L, found = -1, k;
    memset(&ta, 0, sizeof ta);
    memset(&cd, 0, sizeof cd);
    cd.api_key = "";
    cd.anthropic_api_key = "";
    cd.allocator.alloc_fn = th_alloc_fn;
    cd.allocator.realloc_fn = th_realloc_fn;
    cd.allocator.free_fn = th_free_fn;
    cd.allocator.user_data = &ta;
    c = llm_client_new(&cd);
    CHECK(c != NULL);
    if (!c) return;
    memset(big, 'm', 5000);
    big[5000] = '\0';
    /* straight: set_pmsg refused by the meter */
    r = fake(c, LLM_API_OPENAI);
    lim = r->meter_limit;
    r->meter_limit = r->meter_used + 1000; /* the message needs 8 KiB */
    llm__set_pmsg(r, big, 5000);
    CHECK_INT(r->a.abort_kind, 0);
    CHECK_STR(llm__pmsg(r), "");
    CHECK_INT(r->meter_over, 0);
    r->meter_limit = lim;
    ta.fail_at = ta.allocs + 1; /* now the system says no */
    llm__set_pmsg(r, "short", 5);
    CHECK_INT(r->a.abort_kind, LLM_ERR_NO_MEMORY);
    CHECK_STR(r->a.abort_msg, "out of memory for the provider's error message");
    ta.fail_at = 0;
    llm__destroy(r);
    r = fake(c, LLM_API_OPENAI); /* and any later "no memory" is not read as the bound */
    lim = r->meter_limit;
    r->meter_limit = r->meter_used + 1000;
    llm__set_pmsg(r, big, 5000);
    r->meter_limit = lim;
    llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory while receiving text");
    CHECK_INT(r->a.abort_kind, LLM_ERR_NO_MEMORY);
    CHECK_STR(r->a.abort_msg, "out of memory while receiving text");
    llm__destroy(r);
    /* the same through the error body: find the bound under which the
       document is parsed but its 5000-byte message is refused (the
       message then is the body's first 200 bytes) */
    snprintf(body, sizeof body, "{\"error\":{\"message\":\"%s\",\"type\":\"invalid_request_error\"}}", big);
    for (L = 0; L < 65536 && found < 0; L += 64) {
        r = fake(c, LLM_API_OPENAI);
        set_raw(r, body);
        r->meter_limit = r->meter_used + (size_t)L;
        llm__decode_error_body(r);
        if (!r->a.abort_kind && strlen(llm__pmsg(r)) == 200) {
            found = L;
            CHECK(!strncmp(llm__pmsg(r), body, 200));
            CHECK_STR(r->a.type, "invalid_request_error");
            CHECK_INT(r->meter_over, 0);
        }
        llm__destroy(r);
    }
    CHECK_MSG(found >= 0, "no bound parses the body but refuses its message");
    if (found >= 0) {
        long before, used;
        r = fake(c, LLM_API_OPENAI);
        set_raw(r, body);
        r->meter_limit = r->meter_used + (size_t)found;
        before = ta.allocs;
        llm__decode_error_body(r);
        used = ta.allocs - before;
        llm__destroy(r);
        for (k = 0; k < 2; k++) {
            r = fake(c, LLM_API_OPENAI);
            set_raw(r, body);
            r->meter_limit = r->meter_used + (size_t)found;
            r->status = LLM_ACTIVE;
            r->max_retries = 0;
            if (k) ta.fail_at = ta.allocs + used; /* the last one: the 200-byte message */
            llm__decode_error_body(r);
            ta.fail_at = 0;
            if (!k) {
                CHECK_INT(r->a.abort_kind, 0);
                CHECK_INT(strlen(llm__pmsg(r)), 200);
            } else {
                CHECK_INT(r->a.abort_kind, LLM_ERR_NO_MEMORY);
                CHECK_STR(r->a.abort_msg, "out of memory for the provider's error message");
                CHECK_STR(llm__pmsg(r), "");
            }
            llm__destroy(r);
        }
    }
    llm_client_free(c);
    CHECK_INT(ta.live, 0);
}

/* Header lines as libcurl hands them over need no terminator: each from
   an exact-size heap copy (the sanitizers see a byte past it). */
static int hdr_exact(llm_request *r, const char *s) {
    size_t n = strlen(s);
    char *b = (char *)malloc(n ? n : 1);
    int ok;
    memcpy(b, s, n);
    ok = llm__on_header(b, 1, n, r) == n;
    free(b);
    return ok;
}
static void test_header_lines_bounded(void) {
    static const struct { const char *line; long status; } st[] = {
        { "HTTP/1.1", 0 }, { "HTTP/1.1 ", 0 }, { "HTTP/2 200", 200 }, { "HTTP/1.1 429", 429 }, { "HTTP/1.1 99999 X", 9999 },
        { "HTTP/", 0 }, { "HTTP/1.1   503\r\n", 503 },
    };
    llm_client *c = client();
    llm_request *r = fake(c, LLM_API_OPENAI);
    size_t i;
    for (i = 0; i < sizeof st / sizeof st[0]; i++) {
        r->a.http_status = -7;
        CHECK(hdr_exact(r, st[i].line));
        CHECK_MSG(r->a.http_status == st[i].status, "%s: %ld", st[i].line, (long)r->a.http_status);
    }
    CHECK(hdr_exact(r, "Retry-After: 5"));
    CHECK_STR(r->a.h_retry_after, "5");
    CHECK(hdr_exact(r, "retry-after-ms:"));
    CHECK_STR(r->a.h_retry_after_ms, "");
    CHECK(hdr_exact(r, "X-Should-Retry: true"));
    CHECK_INT(r->a.h_should_retry, 1);
    CHECK(hdr_exact(r, "x-should-retry:false"));
    CHECK_INT(r->a.h_should_retry, 0);
    CHECK(hdr_exact(r, "request-id: \t req_1 \r\n"));
    CHECK_STR(r->a.h_request_id, "req_1");
    CHECK(hdr_exact(r, "no colon here"));
    CHECK(hdr_exact(r, ""));
    llm__destroy(r);
    llm_client_free(c);
}

/* The Location of a redirect: kept up to 255 bytes, control bytes shown as
   '?', and named in the error. */
static void test_location_header(void) {
    llm_client *c = client();
    llm_request *r;
    char loc[400], line[500], want[800];
    size_t i;
    int len;
    for (len = 254; len <= 300; len++) {
        r = fake(c, LLM_API_OPENAI);
        memcpy(loc, "http://elsewhere.example/", 25);
        for (i = 25; i < (size_t)len; i++) loc[i] = (char)('a' + i % 26);
        loc[len] = '\0';
        snprintf(line, sizeof line, "HTTP/1.1 302 Found\r\n");
        CHECK_INT(llm__on_header(line, 1, strlen(line), r), strlen(line));
        snprintf(line, sizeof line, "Location: %s\r\n", loc);
        CHECK_INT(llm__on_header(line, 1, strlen(line), r), strlen(line));
        CHECK_INT(r->a.http_status, 302);
        CHECK_INT(strlen(r->a.h_location), len < 255 ? len : 255);
        CHECK(!strncmp(r->a.h_location, loc, 255));
        if (len == 254 || len == 255 || len == 256 || len == 300) {
            r->status = LLM_ACTIVE;
            r->max_retries = 0;
            llm__attempt_done(r, CURLE_OK);
            loc[len < 255 ? len : 255] = '\0';
            snprintf(want, sizeof want, "HTTP 302 (protocol): redirect to %s not followed (credentials never go to another "
                     "URL); set the base URL to the final one", loc);
            CHECK_STR(llm_request_error(r)->message, want);
            CHECK_INT(llm_request_error(r)->kind, LLM_ERR_PROTOCOL);
            CHECK_INT(llm_request_error(r)->retryable, 0);
        }
        llm__destroy(r);
    }
    r = fake(c, LLM_API_OPENAI);
    snprintf(line, sizeof line, "location:  \t/a\x01" "b\xC3\xA9 \r\n"); /* any case; spaces around; bytes */
    llm__on_header(line, 1, strlen(line), r);
    CHECK_STR(r->a.h_location, "/a?b??");
    snprintf(line, sizeof line, "HTTP/1.1 301 Moved\r\n"); /* a new response forgets it */
    llm__on_header(line, 1, strlen(line), r);
    CHECK_STR(r->a.h_location, "");
    r->status = LLM_ACTIVE;
    r->max_retries = 0;
    llm__attempt_done(r, CURLE_OK);
    CHECK_STR(llm_request_error(r)->message, "HTTP 301 (protocol): redirect to (no Location) not followed (credentials "
              "never go to another URL); set the base URL to the final one");
    llm__destroy(r);
    llm_client_free(c);
}

/* The log line: the library's messages fit whole; the line buffer (its
   last resort) holds LLM_PROVIDER_MESSAGE_MAX + 1023 bytes, cut at a
   character boundary, keys masked first. */
typedef struct logrec { char line[LLM_PROVIDER_MESSAGE_MAX + 4096]; size_t len; int n; llm_log_level lv; } logrec;
static void log_keep(llm_log_level lv, const char *m, void *u) {
    logrec *l = (logrec *)u;
    l->len = strlen(m);
    l->n++;
    l->lv = lv;
    snprintf(l->line, sizeof l->line, "%s", m);
}
static void test_log_line(void) {
    static logrec lr;
    static char big[LLM_PROVIDER_MESSAGE_MAX + 2048], want[LLM_PROVIDER_MESSAGE_MAX + 2048];
    const size_t cap = LLM_PROVIDER_MESSAGE_MAX + 1023;
    llm_client_desc cd;
    llm_client *c;
    llm_request *r;
    memset(&cd, 0, sizeof cd);
    cd.api_key = "sk-test-123456";
    cd.anthropic_api_key = "";
    cd.log_fn = log_keep;
    cd.log_user_data = &lr;
    c = llm_client_new(&cd);
    CHECK(c != NULL);
    if (!c) return;
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    llm__log(c, LLM_LOG_INFO, "%s", big);
    CHECK_INT(lr.len, cap);
    CHECK(!strncmp(lr.line, big, cap));
    big[cap] = '\0';
    llm__log(c, LLM_LOG_INFO, "%s", big);  /* exactly the room */
    CHECK_INT(lr.len, cap);
    big[cap - 1] = '\0';
    llm__log(c, LLM_LOG_INFO, "%s", big);
    CHECK_INT(lr.len, cap - 1);
    memcpy(big + cap - 1, "\xC3\xA9", 3);   /* a character across the cut goes whole */
    llm__log(c, LLM_LOG_INFO, "%s", big);
    CHECK_INT(lr.len, cap - 1);
    memcpy(big + cap - 20, "sk-test-123456", 14); /* masked before the cut */
    llm__log(c, LLM_LOG_WARN, "%s", big);
    CHECK_INT(lr.len, cap - 1 - 11);
    CHECK(strstr(lr.line, "***") == lr.line + cap - 20);
    CHECK_INT(lr.lv, LLM_LOG_WARN);
    /* a failed request's line: its whole message, the longest there is */
    memset(big, 'y', sizeof big - 1);
    r = fake(c, LLM_API_OPENAI);
    r->max_retries = 0;
    llm__fail_or_retry(r, LLM_ERR_SERVER, 500, 0, LLM_TIMEOUT_NONE, big);
    snprintf(want, sizeof want, "llmasync: request %u failed: %s", r->seq, llm_request_error(r)->message);
    CHECK_INT(strlen(llm_request_error(r)->message), LLM_PROVIDER_MESSAGE_MAX + 511);
    CHECK_STR(lr.line, want);
    CHECK(lr.len < cap);
    llm__destroy(r);
    lr.n = 0;
    c->log_fn = NULL; /* no callback: nothing formatted */
    llm__log(c, LLM_LOG_INFO, "%s", "x");
    CHECK_INT(lr.n, 0);
    llm_client_free(c);
}

/* The monotonic clock in microseconds: every reading lies between two
   readings of CLOCK_MONOTONIC taken around it (truncated to microseconds),
   and never goes back. Over a 50 ms busy wait (and at least 1000 samples)
   the sub-second part takes all sorts of values, so both parts of the
   conversion are checked exactly; there is no tolerance to tune. */
static int64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
static void test_clock(void) {
    int64_t start = mono_ns(), last = 0, t1, t2, v;
    long n = 0, bad = 0;
    do {
        t1 = mono_ns();
        v = llm__now_us();
        t2 = mono_ns();
        if (v < t1 / 1000 || v > t2 / 1000 || v < last) {
            if (bad++ < 3) fprintf(stderr, "    %lld not in [%lld, %lld] or before %lld\n", (long long)v,
                                   (long long)(t1 / 1000), (long long)(t2 / 1000), (long long)last);
        }
        last = v;
        n++;
    } while (t2 - start < 50000000 || n < 1000);
    CHECK_INT(bad, 0);
}

/* Base64 as RFC 4648 has it (padding, no line breaks), for the checks. */
static void ref_b64(const unsigned char *d, size_t n, char *o) {
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;
    for (i = 0; i < n; i += 3) {
        unsigned long v = (unsigned long)d[i] << 16 | (i + 1 < n ? (unsigned long)d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
        *o++ = a[v >> 18 & 63];
        *o++ = a[v >> 12 & 63];
        *o++ = i + 1 < n ? a[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? a[v & 63] : '=';
    }
    *o = '\0';
}

/* Images in the request bodies, exactly: OpenAI's image_url parts (the URL
   as given with its detail, bytes as a data: URL), Anthropic's base64 and
   url sources, Ollama's bare base64; the bytes' base64 checked against the
   reference for every length mod 3 and every byte value. */
static void test_image_bodies(void) {
    llm_client *c = client();
    static unsigned char png[8 + 256 + 2];
    char want[600], url[700];
    size_t len, k;
    static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    memcpy(png, sig, 8);
    for (k = 0; k < 258; k++) png[8 + k] = (unsigned char)(k * 37 + 11); /* every byte value */
    for (len = 8 + 253; len <= 8 + 258; len++) {
        llm_image im[2];
        llm_message m = { "user", "Look.", NULL, NULL, NULL, NULL, 2 };
        const char *models[3] = { "gpt-4o-mini", "anthropic/claude-x", "ollama/llava" };
        int a;
        memset(im, 0, sizeof im);
        im[0].url = "https://example.com/cat.png";
        im[0].detail = "high";
        im[1].data = png;
        im[1].len = len;
        m.images = im;
        ref_b64(png, len, want);
        snprintf(url, sizeof url, "data:image/png;base64,%s", want);
        for (a = 0; a < 3; a++) {
            llm_chat_desc d;
            llm_request *r;
            llm_json_value *b;
            memset(&d, 0, sizeof d);
            d.model = models[a];
            d.messages = &m;
            d.n_messages = 1;
            d.max_tokens = 10;
            if (a == 2) { m.n_images = 1; m.images = im + 1; }
            r = llm_chat(c, &d);
            b = body_of(r);
            CHECK_MSG(b != NULL, "%s: %s", models[a], llm_request_error(r)->message);
            if (a == 0) {
                CHECK_STR(S(b, "messages.0.content.0.type"), "text");
                CHECK_STR(S(b, "messages.0.content.0.text"), "Look.");
                CHECK_STR(S(b, "messages.0.content.1.type"), "image_url");
                CHECK_STR(S(b, "messages.0.content.1.image_url.url"), "https://example.com/cat.png");
                CHECK_STR(S(b, "messages.0.content.1.image_url.detail"), "high");
                CHECK_STR(S(b, "messages.0.content.2.image_url.url"), url);
                CHECK(llm_json_path(b, "messages.0.content.2.image_url.detail") == NULL); /* none given: none sent */
                CHECK(llm_json_path(b, "messages.0.content.3") == NULL);
            } else if (a == 1) {
                const llm_json_value *ct = llm_json_path(b, "messages.0.content");
                size_t i;
                int seen_url = 0, seen_b64 = 0;
                for (i = 0; ct && i < ct->len; i++) {
                    const llm_json_value *p = llm_json_at(ct, i);
                    const char *ty = S(p, "source.type");
                    if (ty && !strcmp(ty, "url")) { seen_url++; CHECK_STR(S(p, "source.url"), "https://example.com/cat.png"); }
                    if (ty && !strcmp(ty, "base64")) {
                        seen_b64++;
                        CHECK_STR(S(p, "source.media_type"), "image/png");
                        CHECK_STR(S(p, "source.data"), want);
                    }
                }
                CHECK(seen_url == 1 && seen_b64 == 1);
            } else {
                CHECK_STR(S(b, "messages.0.images.0"), want);
                CHECK(llm_json_path(b, "messages.0.images.1") == NULL);
                m.n_images = 2;
                m.images = im;
            }
            llm_json_free(b);
            llm_request_free(r);
        }
        { /* the Responses API: input_image parts */
            llm_responses_desc d;
            llm_request *r;
            llm_json_value *b;
            memset(&d, 0, sizeof d);
            d.model = "gpt-4o-mini";
            d.messages = &m;
            d.n_messages = 1;
            r = llm_responses(c, &d);
            b = body_of(r);
            CHECK_MSG(b != NULL, "responses: %s", llm_request_error(r)->message);
            CHECK_STR(S(b, "input.0.content.0.type"), "input_text");
            CHECK_STR(S(b, "input.0.content.1.type"), "input_image");
            CHECK_STR(S(b, "input.0.content.1.image_url"), "https://example.com/cat.png");
            CHECK_STR(S(b, "input.0.content.1.detail"), "high");
            CHECK_STR(S(b, "input.0.content.2.image_url"), url);
            CHECK(llm_json_path(b, "input.0.content.2.detail") == NULL);
            llm_json_free(b);
            llm_request_free(r);
        }
    }
    llm_client_free(c);
}

/* An image given as a data: URL goes to the APIs that take only bytes as
   its media type and payload, cut exactly at "data:" and ";base64,". */
static void test_image_data_url_split(void) {
    llm_client *c = client();
    llm_image im;
    llm_message m = { "user", "Look.", NULL, NULL, NULL, NULL, 1 };
    const char *models[2] = { "anthropic/claude-x", "ollama/llava" };
    int a;
    memset(&im, 0, sizeof im);
    im.url = "data:image/webp;base64,UklGRg==";
    m.images = &im;
    for (a = 0; a < 2; a++) {
        llm_chat_desc d;
        llm_request *r;
        llm_json_value *b;
        memset(&d, 0, sizeof d);
        d.model = models[a];
        d.messages = &m;
        d.n_messages = 1;
        d.max_tokens = 10;
        r = llm_chat(c, &d);
        b = body_of(r);
        CHECK_MSG(b != NULL, "%s: %s", models[a], llm_request_error(r)->message);
        if (a == 0) {
            CHECK_STR(S(b, "messages.0.content.0.source.type"), "base64");
            CHECK_STR(S(b, "messages.0.content.0.source.media_type"), "image/webp");
            CHECK_STR(S(b, "messages.0.content.0.source.data"), "UklGRg==");
        } else {
            CHECK_STR(S(b, "messages.0.images.0"), "UklGRg==");
        }
        llm_json_free(b);
        llm_request_free(r);
    }
    llm_client_free(c);
}

/* Speech sends its format, mp3 when none is given (the API's default, sent
   so the Content-Type we expect is never a guess). */
static void test_speech_format_sent(void) {
    llm_client *c = client();
    llm_speech_desc d;
    llm_request *r;
    llm_json_value *b;
    memset(&d, 0, sizeof d);
    d.model = "tts-1";
    d.input = "hi";
    d.voice = "alloy";
    r = llm_speech(c, &d);
    b = body_of(r);
    CHECK_MSG(b != NULL, "%s", llm_request_error(r)->message);
    CHECK_STR(S(b, "response_format"), "mp3");
    llm_json_free(b);
    llm_request_free(r);
    d.format = "pcm";
    r = llm_speech(c, &d);
    b = body_of(r);
    CHECK_STR(S(b, "response_format"), "pcm");
    llm_json_free(b);
    llm_request_free(r);
    llm_client_free(c);
}

/* Checked at submit: every way an image can be wrong has its message, and
   each accepted form passes (for the APIs that take URLs and those that
   take only bytes). */
static void test_image_problems(void) {
    static const unsigned char png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0 };
    static const struct { const char *url, *mime, *detail; int data, urls_ok; const char *want; } cs[] = {
        { "https://x/a.png", NULL, NULL, 0, 1, NULL },
        { "https://x/a.png", NULL, NULL, 0, 0, "this API takes images as bytes or data: URLs only" },
        { "http://x/a.png", NULL, "low", 0, 1, NULL },
        { "https://x/a.png", NULL, "medium", 0, 1, "detail must be low, high or auto" },
        { "https://x/a b.png", NULL, NULL, 0, 1, "url holds a space or control character" },
        { "ftp://x/a.png", NULL, NULL, 0, 1, "url must be http(s):// or data:image/...;base64," },
        { "data:image/png;base64,iVBO", NULL, NULL, 0, 0, NULL },
        { "data:text/plain;base64,aGk=", NULL, NULL, 0, 1, "a data: URL must hold an image" },
        { "data:image/png;base64,", NULL, NULL, 0, 1, "a data: URL without data" },
        { "https://x/a.png", NULL, NULL, 1, 1, "give url or data, not both" },
        { NULL, NULL, NULL, 0, 1, "neither url nor data" },
        { NULL, NULL, "high", 1, 0, NULL },
        { NULL, "image/webp", NULL, 1, 0, NULL },
        { NULL, "image/gif", NULL, 1, 0, NULL },
        { NULL, "image/jpeg", NULL, 1, 0, NULL },
        { NULL, "image/bmp", NULL, 1, 0, "mime_type must be image/png, image/jpeg, image/gif or image/webp" },
        { NULL, "image/webpx", NULL, 1, 0, "mime_type must be image/png, image/jpeg, image/gif or image/webp" },
    };
    size_t i;
    for (i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        llm_image im;
        const char *got;
        memset(&im, 0, sizeof im);
        im.url = cs[i].url;
        im.mime_type = cs[i].mime;
        im.detail = cs[i].detail;
        if (cs[i].data) { im.data = png; im.len = sizeof png; }
        got = llm__image_problem(&im, cs[i].urls_ok);
        CHECK_MSG(cs[i].want ? (got && !strcmp(got, cs[i].want)) : got == NULL, "case %lu: %s", (unsigned long)i,
                  got ? got : "(accepted)");
    }
    {
        llm_image im;
        unsigned char junk[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
        memset(&im, 0, sizeof im);
        im.data = junk;
        im.len = sizeof junk;
        CHECK_STR(llm__image_problem(&im, 1), "unknown image type (set mime_type)");
    }
}

/* An image's media type from its first bytes: each signature exactly, each
   with any one of its bytes changed (then none), and each cut one byte
   short (the bytes beyond the length are never looked at). */
static void test_image_signatures(void) {
    static const struct { const char *sig; size_t n; const char *mime; } s[] = {
        { "\x89PNG\r\n\x1a\n", 8, "image/png" }, { "\xFF\xD8\xFF", 3, "image/jpeg" },
        { "GIF87a", 6, "image/gif" }, { "GIF89a", 6, "image/gif" }, { "RIFF\x10\0\0\0WEBP", 12, "image/webp" },
    };
    size_t i, k;
    for (i = 0; i < sizeof s / sizeof s[0]; i++) {
        unsigned char b[32];
        llm_image im;
        const char *m;
        memset(&im, 0, sizeof im);
        memset(b, 0, sizeof b);
        memcpy(b, s[i].sig, s[i].n);
        memcpy(b + s[i].n, "\x01\x02\x03\x04", 4); /* a body after the signature */
        im.data = b;
        im.len = s[i].n + 4;
        m = llm__image_mime(&im);
        CHECK_MSG(m && !strcmp(m, s[i].mime), "%s", s[i].mime);
        im.mime_type = "image/x-given";
        CHECK_STR(llm__image_mime(&im), "image/x-given");
        im.mime_type = NULL;
        im.len = s[i].n - 1;
        CHECK_MSG(llm__image_mime(&im) == NULL, "%s one byte short", s[i].mime);
        im.len = s[i].n + 4;
        for (k = 0; k < s[i].n; k++) {
            if (i == 4 && k >= 4 && k < 8) continue; /* RIFF's size: any value */
            b[k] ^= 0x20;
            m = llm__image_mime(&im);
            CHECK_MSG(m == NULL, "%s with byte %lu changed: %s", s[i].mime, (unsigned long)k, m);
            b[k] ^= 0x20;
        }
    }
}

/* The Responses body's optional fields: each sent only when asked for. */
static void test_responses_optional_fields(void) {
    llm_client *c = client();
    int k;
    for (k = 0; k < 5; k++) {
        llm_responses_desc d;
        llm_request *r;
        llm_json_value *b;
        const llm_json_value *tv;
        memset(&d, 0, sizeof d);
        d.model = "gpt-4o-mini";
        d.input = "Hi";
        if (k == 1) d.temperature = 0.7;
        if (k == 2) d.has_temperature = 1; /* an explicit 0 */
        if (k == 3) { d.store = -1; d.max_output_tokens = 5; }
        if (k == 4) d.store = 1;
        r = llm_responses(c, &d);
        b = body_of(r);
        CHECK_MSG(b != NULL, "%d: %s", k, llm_request_error(r)->message);
        tv = llm_json_get(b, "temperature");
        if (k == 0 || k >= 3) CHECK_MSG(tv == NULL, "%d: temperature sent", k);
        if (k == 1) CHECK(tv && llm_json_double(tv, 0) == 0.7);
        if (k == 2) CHECK(tv && tv->type == LLM_JSON_NUMBER && llm_json_double(tv, 1) == 0);
        CHECK_MSG(k >= 3 ? llm_json_get(b, "store") && llm_json_bool(llm_json_get(b, "store"), -1) == (k == 4)
                        : llm_json_get(b, "store") == NULL, "%d: store", k);
        CHECK_MSG(k == 3 ? llm_json_double(llm_json_get(b, "max_output_tokens"), 0) == 5 : llm_json_get(b, "max_output_tokens") == NULL,
                  "%d: max_output_tokens", k);
        llm_json_free(b);
        llm_request_free(r);
    }
    llm_client_free(c);
}

/* A rerank answer without a results array (nor data, nor a bare array) is a
   protocol error naming it; results without a valid index or score too. */
static void test_rerank_shapes(void) {
    static const struct { const char *body; const char *msg; int n; } cs[] = {
        { "{}", "rerank: no results array", 0 },
        { "{\"results\":{}}", "rerank: no results array", 0 },
        { "{\"data\":5}", "rerank: no results array", 0 },
        { "{\"results\":[{\"index\":0}]}", "rerank: result 0 has no valid index and score", 0 },
        { "{\"results\":[{\"index\":2,\"score\":0.5}]}", "rerank: result 0 has no valid index and score", 0 },
        { "{\"results\":[{\"index\":1,\"relevance_score\":0.5},{\"index\":1,\"score\":0.1}]}", "rerank: document 1 ranked twice", 0 },
        { "{\"data\":[{\"index\":1,\"score\":0.2},{\"index\":0,\"score\":0.9}]}", NULL, 2 },
        { "[{\"index\":0,\"score\":0.1}]", NULL, 1 },
    };
    llm_client *c = client();
    size_t i;
    for (i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        llm_request *r = llm__new_request(c, LLM__K_RERANK);
        llm_json_value *v = llm_json_parse(cs[i].body, strlen(cs[i].body), NULL, NULL);
        r->n_inputs = 2;
        llm__rerank_decode(r, v);
        if (cs[i].msg) {
            CHECK_MSG(r->a.abort_kind == LLM_ERR_PROTOCOL && !strcmp(r->a.abort_msg, cs[i].msg), "%s: %d %s", cs[i].body,
                      r->a.abort_kind, r->a.abort_msg);
        } else {
            CHECK_MSG(r->a.abort_kind == 0 && r->a.n_ranks == cs[i].n, "%s: %s", cs[i].body, r->a.abort_msg);
            if (cs[i].n == 2) CHECK(r->a.ranks[0].index == 0 && r->a.ranks[0].score == 0.9 && r->a.ranks[1].index == 1);
        }
        llm_json_free(v);
        llm__destroy(r);
    }
    llm_client_free(c);
}

/* The response bound 2 x max_response_bytes + 1 MiB saturates instead of
   wrapping, also right at the edge where it would. */
static void test_meter_limit_saturates(void) {
    const size_t mib = (size_t)1 << 20, edge = ((size_t)-1 - ((size_t)1 << 20)) / 2;
    const size_t ms[] = { 1000, edge - 1, edge, edge + 1, (size_t)-1 / 2, (size_t)-1 };
    size_t i;
    for (i = 0; i < sizeof ms / sizeof ms[0]; i++) {
        llm_client_desc d;
        llm_client *c;
        llm_request *r;
        size_t want;
        memset(&d, 0, sizeof d);
        d.max_response_bytes = ms[i];
        c = llm_client_new(&d);
        r = llm__new_request(c, LLM__K_CHAT);
        llm__meter_init(r);
        want = ms[i] > edge ? (size_t)-1 : 2 * ms[i] + mib;
        CHECK_MSG(r->meter_limit == want - LLM__METER_SLACK, "max_response_bytes %lu: limit %lu", (unsigned long)ms[i],
                  (unsigned long)r->meter_limit);
        llm__destroy(r);
        llm_client_free(c);
    }
}

/* The content and a tool call's arguments are read as strict JSON: a
   trailing comma or a comment makes no document, whatever the text. */
static void test_finalize_strict(void) {
    static const struct { const char *text; int ok; } cs[] = {
        { "{\"a\":1}", 1 }, { "{\"a\":1,}", 0 }, { "[1,2,]", 0 }, { "{\"a\":1 /* c */}", 0 }, { "```json\n[1]\n```", 1 },
        { "```json\n{\"a\":1}```", 1 }, { "```\n[2]```", 1 }, { " \t```json\n[3]\n```\t", 1 }, { "```\n[4]\n``` \r\n\t", 1 },
    };
    llm_client *c = client();
    size_t i;
    for (i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        llm_request *r = fake(c, LLM_API_OPENAI);
        llm__tool *t = llm__tool_at(r, 0);
        CHECK(t != NULL);
        if (!t) { llm__destroy(r); continue; }
        llm__buf_adds(&r->ra, &r->a.text, cs[i].text);
        llm__buf_adds(&r->ra, &t->args, cs[i].text);
        CHECK(llm__finalize(r));
        CHECK_MSG((r->a.content_doc != NULL) == cs[i].ok, "content %s", cs[i].text);
        if (!strstr(cs[i].text, "```")) CHECK_MSG((r->a.tools[0].pub.arguments_json != NULL) == cs[i].ok, "arguments %s", cs[i].text);
        llm__destroy(r);
    }
    llm_client_free(c);
}

/* A NULL desc is refused by every submit call, naming it; an audio upload's
   header fields (filename, mime_type, ...) refuse a quote, CR or LF, except
   the prompt, which is sent as a field's value. */
static void test_null_descs_and_audio_fields(void) {
    llm_client *c = client();
    llm_request *rs[8];
    int i;
    rs[0] = llm_chat(c, NULL);
    rs[1] = llm_embed(c, NULL);
    rs[2] = llm_raw(c, NULL);
    rs[3] = llm_responses(c, NULL);
    rs[4] = llm_speech(c, NULL);
    rs[5] = llm_transcribe(c, NULL);
    rs[6] = llm_translate(c, NULL);
    rs[7] = llm_rerank(c, NULL);
    for (i = 0; i < 8; i++) {
        CHECK_MSG(rs[i] && llm_request_status(rs[i]) == LLM_FAILED && llm_request_error(rs[i])->kind == LLM_ERR_INVALID,
                  "call %d", i);
        if (rs[i]) {
            CHECK_STR(llm_request_error(rs[i])->message, "invalid argument: desc: is NULL");
            CHECK(llm_request_error(rs[i])->timeout == LLM_TIMEOUT_NONE && !llm_request_error(rs[i])->retryable &&
                  llm_request_error(rs[i])->http_status == 0);
        }
        llm_request_free(rs[i]);
    }
    for (i = 0; i < 4; i++) { /* JSON in a desc is strict: no trailing comma, no comment */
        static const char *bad[4] = { "[{\"type\":\"function\"},]", "[1 /* c */]", "{\"a\":1,}", "{\"a\":1} // c" };
        llm_chat_desc d;
        llm_message m = { "user", "x", NULL, NULL, NULL, NULL, 0 };
        llm_request *r;
        const char *want = i < 2 ? "invalid argument: tools_json: invalid JSON" : "invalid argument: extra_json: invalid JSON";
        memset(&d, 0, sizeof d);
        d.model = "m";
        d.messages = &m;
        d.n_messages = 1;
        if (i < 2) {
            llm_responses_desc rd;
            memset(&rd, 0, sizeof rd);
            rd.model = "m";
            rd.input = "x";
            rd.tools_json = bad[i];
            r = llm_responses(c, &rd);
        } else {
            d.extra_json = bad[i];
            r = llm_chat(c, &d);
        }
        CHECK_MSG(llm_request_status(r) == LLM_FAILED && !strncmp(llm_request_error(r)->message, want, strlen(want)), "%s: %s",
                  bad[i], llm_request_error(r)->message);
        llm_request_free(r);
    }
    for (i = 0; i < 3; i++) { /* Responses: tools_json must be an array */
        static const char *tj[3] = { "{}", "[]", "[{\"type\":\"function\",\"name\":\"f\"}]" };
        llm_responses_desc d;
        llm_request *r;
        memset(&d, 0, sizeof d);
        d.model = "m";
        d.input = "x";
        d.tools_json = tj[i];
        r = llm_responses(c, &d);
        if (i == 0) CHECK_STR(llm_request_error(r)->message, "invalid argument: tools_json: must be a JSON array");
        else CHECK_MSG(llm_request_status(r) != LLM_FAILED, "%s: %s", tj[i], llm_request_error(r)->message);
        llm_request_free(r);
    }
    for (i = 0; i < 2; i++) { /* Responses: a message's raw_json is an input item as given */
        llm_message m[2] = { { "user", "What is 6 x 7?", NULL, NULL, NULL, NULL, 0 }, { "user", NULL, NULL, NULL, NULL, NULL, 0 } };
        llm_responses_desc d;
        llm_request *r;
        llm_json_value *b;
        m[1].raw_json = i == 0 ? "{\"type\":\"function_call_output\",\"call_id\":\"c1\",\"output\":\"42\"}" : "{\"type\":";
        memset(&d, 0, sizeof d);
        d.model = "m";
        d.messages = m;
        d.n_messages = 2;
        r = llm_responses(c, &d);
        if (i == 0) {
            b = body_of(r);
            CHECK_MSG(b != NULL, "%s", llm_request_error(r)->message);
            CHECK_STR(S(b, "input.1.type"), "function_call_output");
            CHECK_STR(S(b, "input.1.call_id"), "c1");
            CHECK_STR(S(b, "input.1.output"), "42");
            CHECK_STR(S(b, "input.0.role"), "user");
            llm_json_free(b);
        } else {
            CHECK(llm_request_status(r) == LLM_FAILED && llm_request_error(r)->kind == LLM_ERR_INVALID &&
                  strstr(llm_request_error(r)->message, "messages[1].raw_json") != NULL);
        }
        llm_request_free(r);
    }
    for (i = 0; i < 8; i++) {
        static const char wav[] = "RIFF....WAVEfmt ";
        llm_audio_desc d;
        llm_request *r;
        const char *field = NULL;
        memset(&d, 0, sizeof d);
        d.model = "whisper-1";
        d.audio = wav;
        d.audio_len = sizeof wav;
        switch (i) {
        case 0: d.filename = "a\"b.wav"; field = "filename"; break;
        case 1: d.filename = "a\r\nX: 1.wav"; field = "filename"; break;
        case 2: d.mime_type = "audio/wav\r\nX: 1"; field = "mime_type"; break;
        case 3: d.language = "e\"n"; field = "language"; break;
        case 4: d.response_format = "json\n"; field = "response_format"; break;
        case 5: d.model = "whisper\"1"; field = "model"; break;
        case 6: d.prompt = "say \"hi\""; break; /* a quote in the prompt is fine */
        default: break;
        }
        r = llm_transcribe(c, &d);
        if (field) {
            char want[64];
            snprintf(want, sizeof want, "invalid argument: %s:", field);
            CHECK_MSG(llm_request_status(r) == LLM_FAILED && llm_request_error(r)->kind == LLM_ERR_INVALID &&
                      !strncmp(llm_request_error(r)->message, want, strlen(want)), "case %d: %s", i, llm_request_error(r)->message);
        } else {
            CHECK_MSG(llm_request_status(r) != LLM_FAILED, "case %d: %s", i, llm_request_error(r)->message);
        }
        llm_request_free(r);
    }
    llm_client_free(c);
}

/* A key holding CR or LF (read from a file with its newline, say) is
   refused at submit, naming the provider, never the key; the request stays
   failed and is reported once. And llm_version. */
static void test_key_with_newline_and_version(void) {
    llm_client_desc cd;
    llm_client *c;
    llm_request *r;
    llm_chat_desc d;
    llm_message m = { "user", "x", NULL, NULL, NULL, NULL, 0 };
    int num = 0;
    memset(&cd, 0, sizeof cd);
    cd.base_url = "http://127.0.0.1:9/v1";
    cd.api_key = "sk-secret-key-1234\n";
    c = llm_client_new(&cd);
    memset(&d, 0, sizeof d);
    d.model = "m";
    d.messages = &m;
    d.n_messages = 1;
    r = llm_chat(c, &d);
    CHECK(r && llm_request_status(r) == LLM_FAILED);
    CHECK_STR(llm_request_error(r)->message, "invalid argument: api_key: the key of provider openai contains CR or LF");
    CHECK_INT(llm_poll(c), 0);
    CHECK(llm_wait_any(c, 0) == r);
    CHECK(llm_wait_any(c, 0) == NULL);
    CHECK_INT(llm_request_status(r), LLM_FAILED);
    CHECK(r->easy == NULL);
    llm_request_free(r);
    llm_client_free(c);
    CHECK_STR(llm_version(NULL), LLMASYNC_VERSION);
    CHECK_STR(llm_version(&num), LLMASYNC_VERSION);
    CHECK_INT(num, LLMASYNC_VERSION_NUM);
}

/* Each refusal names its field exactly, however long its index makes it:
   embeddings' inputs[i], a Responses message's tool_call_id, and none given
   (a count of 0 with an array). */
static void test_fields_named(void) {
    llm_client *c = client();
    llm_request *r;
    {
        const char *inputs[12] = { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "bad \xff" };
        llm_embed_desc d;
        memset(&d, 0, sizeof d);
        d.model = "text-embedding-3-small";
        d.inputs = inputs;
        d.n_inputs = 12;
        r = llm_embed(c, &d);
        CHECK_STR(llm_request_error(r)->message, "invalid argument: inputs[11]: invalid UTF-8 at byte 4");
        llm_request_free(r);
        inputs[3] = NULL;
        r = llm_embed(c, &d);
        CHECK_STR(llm_request_error(r)->message, "invalid argument: inputs[3]: NULL");
        llm_request_free(r);
        d.n_inputs = 0;
        r = llm_embed(c, &d);
        CHECK_STR(llm_request_error(r)->message, "invalid argument: inputs: none given (n_inputs must be at least 1)");
        llm_request_free(r);
    }
    {
        llm_message m[12];
        llm_responses_desc d;
        llm_chat_desc cd;
        int i;
        memset(m, 0, sizeof m);
        for (i = 0; i < 12; i++) { m[i].role = "user"; m[i].content = "x"; }
        m[11].role = "tool";
        memset(&d, 0, sizeof d);
        d.model = "m";
        d.messages = m;
        d.n_messages = 12;
        r = llm_responses(c, &d);
        CHECK_STR(llm_request_error(r)->message, "invalid argument: messages[11].tool_call_id: required for role \"tool\"");
        llm_request_free(r);
        memset(&cd, 0, sizeof cd);
        cd.model = "m";
        cd.messages = m;
        cd.n_messages = 0;
        r = llm_chat(c, &cd);
        CHECK_STR(llm_request_error(r)->message, "invalid argument: messages: none given (n_messages must be at least 1)");
        llm_request_free(r);
        cd.n_messages = 12;
        r = llm_chat(c, &cd);
        CHECK_STR(llm_request_error(r)->message, "invalid argument: messages[11].tool_call_id: required for role \"tool\"");
        llm_request_free(r);
    }
    llm_client_free(c);
}

/* Fills a stretch of the stack below the caller with a pattern, so that a
   local the next call forgets to set is not zero by luck. */
static void stain_stack(void) {
    volatile unsigned char b[2048];
    size_t i;
    for (i = 0; i < sizeof b; i++) b[i] = 0x5A;
}

/* Rate-limit headers: OpenAI durations, Anthropic RFC 3339 times, counts;
   anything else (hostile or malformed) is ignored, never UB. */
static void test_ratelimit_parsers(void) {
    static const struct { const char *in; int64_t us; } durs[] = {
        { "1s", 1000000 }, { "6m0s", 360000000 }, { "20ms", 20000 }, { "1h2m3.5s", 3723500000LL },
        { "0.5s", 500000 }, { "2", 2000000 }, { "59m59s", 3599000000LL }, { "0s", 0 },
        { "", -1 }, { "s", -1 }, { "1x", -1 }, { "-1s", -1 }, { "1s junk", -1 }, { "25h", -1 },
        { "99999999999999999999s", -1 }, { "1.s", 1000000 }, { "m", -1 },
    };
    size_t i;
    int64_t t;
    for (i = 0; i < sizeof durs / sizeof durs[0]; i++) {
        int64_t got = llm__rl_duration(durs[i].in, strlen(durs[i].in));
        CHECK_MSG(got == durs[i].us, "\"%s\": %lld, want %lld", durs[i].in, (long long)got, (long long)durs[i].us);
    }
    CHECK(llm__rl_count("0", 1) == 0 && llm__rl_count("59", 2) == 59);
    CHECK(llm__rl_count("-1", 2) == -1 && llm__rl_count("", 0) == -1 && llm__rl_count("1e3", 3) == -1);
    CHECK(llm__rl_count("9999999999999999999", 19) == -1); /* would overflow: ignored */
    t = llm__rl_time("2000-01-01T00:00:00Z", 20); /* long past: negative, from now */
    CHECK(t < -((int64_t)86400 * 365 * 20) * 1000000);
    {
        char buf[64];
        time_t later = time(NULL) + 30;
        struct tm tmv;
#ifdef _WIN32
        gmtime_s(&tmv, &later);
#else
        gmtime_r(&later, &tmv);
#endif
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tmv);
        t = llm__rl_time(buf, strlen(buf));
        CHECK_MSG(t > 28000000 && t <= 30000000, "%s: %lld us from now", buf, (long long)t);
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.123+00:00", &tmv);
        t = llm__rl_time(buf, strlen(buf));
        CHECK_MSG(t > 28000000 && t <= 30200000, "%s: %lld us from now", buf, (long long)t);
    }
    { /* an offset moves the time by exactly its hours and minutes */
        int64_t z = llm__rl_time("2000-01-01T00:00:00Z", 20);
        int64_t p = llm__rl_time("2000-01-01T05:30:00+05:30", 25);
        int64_t m = llm__rl_time("1999-12-31T21:15:00-02:45", 25);
        CHECK_MSG(p - z > -1000000 && p - z < 1000000, "+05:30 is %lld us off", (long long)(p - z));
        CHECK_MSG(m - z > -1000000 && m - z < 1000000, "-02:45 is %lld us off", (long long)(m - z));
    }
    CHECK(llm__rl_time("2024-13-01T00:00:00Z", 20) == -1);
    CHECK(llm__rl_time("2024-01-01 00:00:00", 19) == -1); /* no zone */
    CHECK(llm__rl_time("2024-01-01T00:00:00+5:00", 24) == -1);
    CHECK(llm__rl_time("garbage", 7) == -1);
    { /* a fixed time, exactly: 2024-04-18T12:34:56Z is 1713443696 */
        int64_t want = ((int64_t)1713443696 - (int64_t)time(NULL)) * 1000000;
        stain_stack();
        t = llm__rl_time("2024-04-18T12:34:56Z", 20);
        CHECK_MSG(t - want >= -1000000 && t - want <= 0, "%lld us from now, want %lld", (long long)t, (long long)want);
        stain_stack();
        t = llm__rl_time("2023-11-29T23:59:60Z", 20); /* a leap second: 1701302400 */
        want = ((int64_t)1701302400 - (int64_t)time(NULL)) * 1000000;
        CHECK_MSG(t - want >= -1000000 && t - want <= 0, "%lld us from now, want %lld", (long long)t, (long long)want);
    }
    { /* an offset at the very end of the header value: nothing past it is read */
        static const char *zones[] = { "2000-01-01T05:30:00+05:30", "2000-01-01T00:00:00-00:00", "2000-01-01T23:59:00+23:59",
                                       "1999-12-31T00:01:00-23:59" };
        int64_t z = llm__rl_time("2000-01-01T00:00:00Z", 20);
        for (i = 0; i < 4; i++) {
            size_t n = strlen(zones[i]);
            char *b = (char *)malloc(n + 1);
            if (!b) continue;
            memcpy(b, zones[i], n);
            b[n] = 'Z'; /* a byte that is no digit, past the value's end */
            t = llm__rl_time(b, n);
            CHECK_MSG(t - z > -1000000 && t - z < 1000000, "%s: %lld us off", zones[i], (long long)(t - z));
            free(b);
            b = (char *)malloc(n); /* and a buffer that ends there (ASan) */
            if (!b) continue;
            memcpy(b, zones[i], n);
            t = llm__rl_time(b, n);
            CHECK_MSG(t - z > -1000000 && t - z < 1000000, "%s: %lld us off", zones[i], (long long)(t - z));
            free(b);
        }
    }
}

/* Which rate-limit header sets which budget: requests and tokens apart. */
static void test_ratelimit_headers(void) {
    static const struct { const char *k, *v; int have; int64_t req, tok, req_reset, tok_reset; } H[] = {
        { "x-ratelimit-remaining-requests", "7", LLM__RL_REQ, 7, 0, 0, 0 },
        { "X-RateLimit-Remaining-Tokens", "900", LLM__RL_TOK, 0, 900, 0, 0 },
        { "x-ratelimit-reset-requests", "1.5s", LLM__RL_REQ_RESET, 0, 0, 1500000, 0 },
        { "x-ratelimit-reset-tokens", "6m0s", LLM__RL_TOK_RESET, 0, 0, 0, 360000000 },
        { "x-ratelimit-limit-requests", "100", 0, 0, 0, 0, 0 },
        { "anthropic-ratelimit-requests-remaining", "3", LLM__RL_REQ, 3, 0, 0, 0 },
        { "anthropic-ratelimit-tokens-remaining", "4000", LLM__RL_TOK, 0, 4000, 0, 0 },
        { "anthropic-ratelimit-input-tokens-remaining", "2500", LLM__RL_TOK, 0, 2500, 0, 0 },
        { "anthropic-ratelimit-requests-limit", "50", 0, 0, 0, 0, 0 },
    };
    llm_client *c = client();
    size_t i;
    for (i = 0; i < sizeof H / sizeof H[0]; i++) {
        llm_request *r = fake(c, LLM_API_OPENAI);
        llm__attempt *a = &r->a;
        CHECK_INT(llm__rl_header(r, H[i].k, strlen(H[i].k), H[i].v, strlen(H[i].v)), 1);
        CHECK_MSG((int)a->rl_have == H[i].have, "%s: have %d, want %d", H[i].k, (int)a->rl_have, H[i].have);
        if (H[i].have & LLM__RL_REQ) CHECK_MSG(a->rl_req == H[i].req, "%s: requests %lld", H[i].k, (long long)a->rl_req);
        if (H[i].have & LLM__RL_TOK) CHECK_MSG(a->rl_tok == H[i].tok, "%s: tokens %lld", H[i].k, (long long)a->rl_tok);
        if (H[i].have & LLM__RL_REQ_RESET) CHECK(a->rl_req_reset_us == H[i].req_reset);
        if (H[i].have & LLM__RL_TOK_RESET) CHECK(a->rl_tok_reset_us == H[i].tok_reset);
        llm__destroy(r);
    }
    {
        llm_request *r = fake(c, LLM_API_OPENAI);
        CHECK_INT(llm__rl_header(r, "content-type", 12, "x", 1), 0);
        CHECK_INT(r->a.rl_have, 0);
        llm__destroy(r);
    }
    llm_client_free(c);
}

/* The rate_tpm bucket: a request waits for exactly the tokens it lacks
   (its body at four bytes a token, plus one). */
static void test_pace_wait_exact(void) {
    llm_client *c = client();
    llm_request *r = fake(c, LLM_API_OPENAI);
    llm__pace *p = llm__pace_of(r);
    int64_t now = 1000000000;
    c->rate_tpm = 6000; /* a bucket of 100 tokens, refilled at 100 a second */
    r->body_len = 36;   /* 36 / 4 + 1 = 10 tokens */
    p->refilled = now;
    p->tok_avail = 4;
    stain_stack();
    CHECK_MSG(llm__pace_wait(r, now) == now + 1 + 60000, "waits %lld us", (long long)(llm__pace_wait(r, now) - now));
    p->tok_avail = 10;
    CHECK(llm__pace_wait(r, now) == 0);
    r->body_len = 4000; /* more than the bucket: waits for a full one */
    p->tok_avail = 40;
    CHECK_MSG(llm__pace_wait(r, now) == now + 1 + 600000, "waits %lld us", (long long)(llm__pace_wait(r, now) - now));
    /* a start spends the bucket: a fresh one of 100 tokens, a request of
       100 (396 / 4 + 1), and the next waits a whole second for its refill */
    memset(p, 0, sizeof *p);
    r->body_len = 396;
    CHECK(llm__pace_wait(r, now) == 0);
    llm__pace_take(r, now);
    CHECK_MSG(llm__pace_wait(r, now) == now + 1 + 1000000, "waits %lld us", (long long)(llm__pace_wait(r, now) - now));
    memset(p, 0, sizeof *p);
    p->refilled = now;
    c->rate_tpm = 0;
    c->rate_rpm = 120; /* two a second */
    p->req_avail = 0.5;
    CHECK_MSG(llm__pace_wait(r, now) == now + 1 + 250000, "waits %lld us", (long long)(llm__pace_wait(r, now) - now));
    c->rate_rpm = 0;
    llm__destroy(r);
    llm_client_free(c);
}

int main(int argc, char **argv) {
    RUN(test_openai_body);
    RUN(test_routing);
    RUN(test_anthropic_body);
    RUN(test_ollama_body);
    RUN(test_embed_body);
    RUN(test_invalid_arguments);
    RUN(test_status_table);
    RUN(test_error_bodies);
    RUN(test_decode_openai);
    RUN(test_stream_openai);
    RUN(test_stream_anthropic);
    RUN(test_stream_ollama);
    RUN(test_attempt_reset);
    RUN(test_ollama_mapping);
    RUN(test_base64_vectors);
    RUN(test_retry_delay);
    RUN(test_redaction);
    RUN(test_fuzz_finds);
    RUN(test_client_desc);
    RUN(test_redaction_short_keys);
    RUN(test_redaction_escape_chars);
    RUN(test_redaction_longest);
    RUN(test_redaction_edges);
    RUN(test_pmsg_cut);
    RUN(test_error_fields_cut);
    RUN(test_abort_message_cut);
    RUN(test_error_text_bounded);
    RUN(test_meter_pmsg);
    RUN(test_location_header);
    RUN(test_log_line);
    RUN(test_clock);
    RUN(test_image_signatures);
    RUN(test_image_problems);
    RUN(test_image_bodies);
    RUN(test_responses_summary_parts);
    RUN(test_responses_events);
    RUN(test_meter_exact);
    RUN(test_client_defaults);
    RUN(test_readers_null);
    RUN(test_audio_mime);
    RUN(test_vector_element_not_number);
    RUN(test_an_blocks_only_content);
    RUN(test_partial_json_in_fence);
    RUN(test_image_data_url_split);
    RUN(test_speech_format_sent);
    RUN(test_responses_optional_fields);
    RUN(test_rerank_shapes);
    RUN(test_meter_limit_saturates);
    RUN(test_header_lines_bounded);
    RUN(test_finalize_strict);
    RUN(test_null_descs_and_audio_fields);
    RUN(test_key_with_newline_and_version);
    RUN(test_fields_named);
    RUN(test_error_type_precedence);
    RUN(test_choice_index_bound);
    RUN(test_message_name);
    RUN(test_ratelimit_parsers);
    RUN(test_ratelimit_headers);
    RUN(test_pace_wait_exact);
    return th_finish("codec");
}
