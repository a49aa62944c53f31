/* The endpoints beyond chat and embeddings, end to end against the mock:
   the Responses API (plain and streamed: text, reasoning summary, function
   calls, refusals, incomplete and failed answers), speech (bytes whole, as
   they come, through a callback), transcription and translation (every
   response format, streamed), rerank, images in messages (each API's
   shape), n > 1 choices and refusals in chat. Every wait is bounded. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "harness.h"
#include "mockctl.h"

static mock M;

static llm_client *client_cfg(int max_retries, size_t max_response, int idle_ms) {
    llm_client_desc d;
    memset(&d, 0, sizeof d);
    d.base_url = M.openai;
    d.api_key = "sk-Eq9v2Lmx7Tq";
    d.anthropic_base_url = M.base;
    d.anthropic_api_key = "ak-Rt5w8Kzp3Yb";
    d.ollama_host = M.base;
    d.max_retries = max_retries ? max_retries : -1;
    d.max_response_bytes = max_response;
    d.idle_timeout_ms = idle_ms;
    d.retry_max_delay_ms = 1000;
    return llm_client_new(&d);
}
static llm_client *client(void) { return client_cfg(0, 0, 0); }

static const char *hdr(const char *directive) {
    static char h[300];
    snprintf(h, sizeof h, "X-Mock: %s", directive);
    return h;
}
static llm_request *wait_for(llm_client *c, llm_request *r) {
    llm_request *got = th_next(c, 15000);
    CHECK_MSG(got == r, "request not reported in time");
    return got;
}
static uint32_t fnv1a(const void *p, size_t n) {
    const unsigned char *s = (const unsigned char *)p;
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0; i < n; i++) { h ^= s[i]; h *= 16777619u; }
    return h;
}

/* ------------------------------------------------------------ responses -- */

static llm_request *respond(llm_client *c, const char *input, const char *directive, int stream, const char *effort) {
    llm_responses_desc d;
    const char *h[1];
    memset(&d, 0, sizeof d);
    d.model = "gpt-4.1-mini";
    d.input = input;
    d.stream = stream;
    d.reasoning_effort = effort;
    h[0] = hdr(directive);
    d.headers = h;
    d.n_headers = 1;
    return llm_responses(c, &d);
}

static void test_responses_plain(void) {
    llm_client *c = client();
    llm_request *r;
    int stream;
    for (stream = 0; stream < 2; stream++) {
        r = respond(c, "hello there", "", stream, NULL);
        if (wait_for(c, r) == r) {
            CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s", llm_request_error(r)->message);
            CHECK_STR(llm_request_text(r, NULL), "Echo: hello there");
            CHECK_STR(llm_request_finish_reason(r), "completed");
            CHECK(!strncmp(llm_request_id(r), "resp_mock_", 10));
            CHECK_INT(llm_request_usage(r)->prompt_tokens, 2);
            CHECK_INT(llm_request_usage(r)->completion_tokens, 3);
            CHECK_INT(llm_request_usage(r)->total_tokens, 5);
            CHECK_INT(llm_request_tool_call_count(r), 0);
        }
        llm_request_free(r);
        /* reasoning summary, its tokens counted */
        r = respond(c, "think", "", stream, "low");
        if (wait_for(c, r) == r) {
            CHECK_STR(llm_request_reasoning(r, NULL), "mock reasoning summary");
            CHECK_STR(llm_request_text(r, NULL), "Echo: think");
            CHECK_INT(llm_request_usage(r)->reasoning_tokens, 5);
        }
        llm_request_free(r);
        /* cut by max_output_tokens: incomplete, and why */
        {
            llm_responses_desc d;
            memset(&d, 0, sizeof d);
            d.model = "gpt-4.1-mini";
            d.input = "one two three four";
            d.max_output_tokens = 2;
            d.stream = stream;
            r = llm_responses(c, &d);
            if (wait_for(c, r) == r) {
                CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s", llm_request_error(r)->message);
                CHECK_STR(llm_request_finish_reason(r), "max_output_tokens");
                CHECK_STR(llm_request_text(r, NULL), "Echo: one");
            }
            llm_request_free(r);
        }
        /* a refusal is not text */
        r = respond(c, "do it", "refusal=1", stream, NULL);
        if (wait_for(c, r) == r) {
            CHECK_STR(llm_request_refusal(r, NULL), "I'm sorry, I cannot help with that.");
            CHECK_STR(llm_request_text(r, NULL), "");
        }
        llm_request_free(r);
    }
    llm_client_free(c);
}

static void test_responses_tools(void) {
    llm_client *c = client();
    int stream, i;
    for (stream = 0; stream < 2; stream++) {
        llm_request *r = respond(c, "weather?", "tools=3", stream, NULL);
        if (wait_for(c, r) == r) {
            CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s", llm_request_error(r)->message);
            CHECK_INT(llm_request_tool_call_count(r), 3);
            for (i = 0; i < llm_request_tool_call_count(r); i++) {
                const llm_tool_call *t = llm_request_tool_call(r, i);
                char id[16];
                snprintf(id, sizeof id, "call_%d", i);
                CHECK_STR(t->id, id);
                CHECK_STR(t->type, "function");
                CHECK_STR(t->name, "get_weather");
                CHECK_MSG(llm_json_double(llm_json_get(t->arguments_json, "i"), -1) == i, "stream %d call %d: %s", stream, i, t->arguments);
                CHECK_STR(llm_json_string(llm_json_get(t->arguments_json, "city"), NULL), "Paris");
            }
        }
        llm_request_free(r);
    }
    { /* a function call's output goes back as an input item */
        llm_message items[2] = { { "user", "Weather in Paris?", NULL, NULL, NULL, NULL, 0 },
                                 { "tool", "{\"temp_c\":21}", NULL, "call_0", NULL, NULL, 0 } };
        llm_responses_desc d;
        llm_request *r;
        char *body;
        memset(&d, 0, sizeof d);
        d.model = "gpt-4.1-mini";
        d.messages = items;
        d.n_messages = 2;
        d.previous_response_id = "resp_prev";
        d.store = -1;
        r = llm_responses(c, &d);
        if (wait_for(c, r) == r) {
            CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s", llm_request_error(r)->message);
            CHECK_STR(llm_request_text(r, NULL), "Echo: Weather in Paris?");
            CHECK_STR(llm_json_string(llm_json_get(llm_request_json(r), "previous_response_id"), NULL), "resp_prev");
            CHECK(llm_json_bool(llm_json_get(llm_request_json(r), "store"), 1) == 0);
        }
        body = mock_stat_str(&M, "last_body");
        CHECK(body && strstr(body, "\"type\":\"function_call_output\",\"call_id\":\"call_0\""));
        free(body);
        llm_request_free(r);
    }
    llm_client_free(c);
}

static void test_responses_errors(void) {
    llm_client *c = client_cfg(2, 0, 300);
    llm_request *r;
    /* a failed response fails the request with its reason; retried while
       nothing was shown */
    r = respond(c, "x", "fail_after=0 id=rf1 fail_first=1 retry_after_ms=10", 1, NULL);
    if (wait_for(c, r) == r) {
        CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s", llm_request_error(r)->message);
        CHECK_INT(llm_request_error(r)->retries, 1);
    }
    llm_request_free(r);
    r = respond(c, "x y z", "fail_after=1", 1, NULL);
    if (wait_for(c, r) == r) {
        const llm_error *e = llm_request_error(r);
        CHECK_INT(e->kind, LLM_ERR_SERVER);
        CHECK_MSG(strstr(e->message, "mock response failed") != NULL, "%s", e->message);
        CHECK_INT(e->retries, 0); /* text was shown: never replayed */
        CHECK_STR(llm_request_text(r, NULL), "Echo:");
    }
    llm_request_free(r);
    r = respond(c, "x", "error_after=0 error_type=rate_limit_exceeded retry_after_ms=10", 1, NULL);
    if (wait_for(c, r) == r) {
        CHECK_INT(llm_request_error(r)->kind, LLM_ERR_RATE_LIMIT);
        CHECK_INT(llm_request_error(r)->retries, 2);
    }
    llm_request_free(r);
    r = respond(c, "x", "status=429 retry_after_ms=10", 0, NULL);
    if (wait_for(c, r) == r) CHECK_INT(llm_request_error(r)->kind, LLM_ERR_RATE_LIMIT);
    llm_request_free(r);
    /* a stream cut without response.completed */
    r = respond(c, "a b c", "reset_after=1", 1, NULL);
    if (wait_for(c, r) == r) CHECK_INT(llm_request_error(r)->kind, LLM_ERR_CONNECTION);
    llm_request_free(r);
    r = respond(c, "a b c", "stall_after=1", 1, NULL);
    if (wait_for(c, r) == r) CHECK_INT(llm_request_error(r)->timeout, LLM_TIMEOUT_IDLE);
    llm_request_free(r);
    /* the providers without the endpoint say so at once */
    {
        llm_responses_desc d;
        memset(&d, 0, sizeof d);
        d.model = "anthropic/claude";
        d.input = "x";
        r = llm_responses(c, &d);
        CHECK_INT(llm_request_error(r)->kind, LLM_ERR_INVALID);
        CHECK_MSG(strstr(llm_request_error(r)->message, "no responses endpoint") != NULL, "%s", llm_request_error(r)->message);
        llm_request_free(r);
        d.model = "m";
        d.input = NULL;
        r = llm_responses(c, &d);
        CHECK_INT(llm_request_error(r)->kind, LLM_ERR_INVALID);
        llm_request_free(r);
    }
    llm_client_free(c);
}

/* ---------------------------------------------------------------- speech -- */

static llm__buf AUDIO;
static int audio_calls;
static void on_audio(llm_request *r, const void *data, size_t len, void *ud) {
    llm_allocator a = llm__allocator(NULL);
    (void)r;
    (void)ud;
    llm__buf_add(&a, &AUDIO, data, len);
    audio_calls++;
}
static int audio_ok(const unsigned char *d, size_t n, const char *input) {
    uint32_t h = fnv1a(input, strlen(input));
    size_t i;
    for (i = 0; i < n; i++)
        if (d[i] != (unsigned char)((i * 7 + h) & 0xff)) return 0;
    return 1;
}
static llm_request *speak(llm_client *c, const char *input, const char *directive, llm_bytes_fn cb) {
    llm_speech_desc d;
    const char *h[1];
    memset(&d, 0, sizeof d);
    d.model = "gpt-4o-mini-tts";
    d.input = input;
    d.voice = "alloy";
    d.format = "pcm";
    d.on_audio = cb;
    h[0] = hdr(directive);
    d.headers = h;
    d.n_headers = 1;
    return llm_speech(c, &d);
}

static void test_speech(void) {
    llm_client *c = client();
    llm_request *r, *got = NULL;
    const void *p;
    size_t n, total = 0;
    int takes = 0;
    double t0;
    llm__buf acc = { NULL, 0, 0 };
    llm_allocator a = llm__allocator(NULL);
    /* whole */
    r = speak(c, "Hello there.", "audio_bytes=100000", NULL);
    if (wait_for(c, r) == r) {
        const void *all = llm_request_bytes(r, &n);
        CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s", llm_request_error(r)->message);
        CHECK_INT(n, 100000);
        CHECK(audio_ok((const unsigned char *)all, n, "Hello there."));
        CHECK_STR(llm_request_text(r, NULL), "");
    }
    llm_request_free(r);
    /* as it comes: 8 chunks 60 ms apart, taken between waits */
    r = speak(c, "Stream me.", "audio_bytes=32768 chunk_bytes=4096 pace=60", NULL);
    t0 = th_now_ms();
    while (!got && th_now_ms() - t0 < 10000) {
        int what = llm_wait(c, 5000);
        n = llm_request_take_bytes(r, &p);
        if (n) { llm__buf_add(&a, &acc, p, n); takes++; total += n; }
        if (what & LLM_WAIT_DONE) got = llm_wait_any(c, 0);
    }
    n = llm_request_take_bytes(r, &p);
    if (n) { llm__buf_add(&a, &acc, p, n); total += n; }
    CHECK(got == r);
    CHECK_INT(total, 32768);
    CHECK(acc.p && audio_ok((const unsigned char *)acc.p, acc.len, "Stream me."));
    CHECK_MSG(takes >= 4, "bytes arrived in %d takes (paced chunks)", takes);
    free(acc.p);
    llm_request_free(r);
    /* through the callback */
    AUDIO.len = 0;
    audio_calls = 0;
    r = speak(c, "Call me.", "audio_bytes=20000 chunk_bytes=5000 pace=40", on_audio);
    if (wait_for(c, r) == r) {
        CHECK_INT(AUDIO.len, 20000);
        CHECK(AUDIO.p && audio_ok((const unsigned char *)AUDIO.p, AUDIO.len, "Call me."));
        CHECK_MSG(audio_calls >= 3, "%d callbacks", audio_calls);
    }
    llm_request_free(r);
    free(AUDIO.p);
    AUDIO.p = NULL;
    /* errors are JSON, read as ever; a bad desc fails at once */
    r = speak(c, "x", "status=400", NULL);
    if (wait_for(c, r) == r) {
        CHECK_INT(llm_request_error(r)->kind, LLM_ERR_BAD_REQUEST);
        CHECK(llm_request_error(r)->provider_message && strstr(llm_request_error(r)->provider_message, "mock error 400"));
    }
    llm_request_free(r);
    {
        llm_speech_desc d;
        memset(&d, 0, sizeof d);
        d.model = "tts-1";
        d.input = "x";
        r = llm_speech(c, &d);
        CHECK_INT(llm_request_error(r)->kind, LLM_ERR_INVALID);
        CHECK(strstr(llm_request_error(r)->message, "voice") != NULL);
        llm_request_free(r);
        d.voice = "alloy";
        d.format = "ogg";
        r = llm_speech(c, &d);
        CHECK(strstr(llm_request_error(r)->message, "format") != NULL);
        llm_request_free(r);
        d.format = NULL;
        { /* each text is checked as UTF-8, and named */
            static const char *field[3] = { "input", "voice", "instructions" };
            int k;
            for (k = 0; k < 3; k++) {
                d.input = k == 0 ? "caf\xC3" : "x";
                d.voice = k == 1 ? "al\xFFloy" : "alloy";
                d.instructions = k == 2 ? "calm\xC0\xAF" : "calm";
                r = llm_speech(c, &d);
                CHECK_INT(llm_request_error(r)->kind, LLM_ERR_INVALID);
                CHECK_MSG(strstr(llm_request_error(r)->message, field[k]) != NULL && strstr(llm_request_error(r)->message, "UTF-8"),
                          "%s: %s", field[k], llm_request_error(r)->message);
                llm_request_free(r);
            }
        }
    }
    { /* a raw path with a space is refused before anything is sent */
        llm_raw_desc d;
        memset(&d, 0, sizeof d);
        d.path = "/v1/a b";
        r = llm_raw(c, &d);
        CHECK_INT(llm_request_error(r)->kind, LLM_ERR_INVALID);
        CHECK_MSG(strstr(llm_request_error(r)->message, "at byte 5") != NULL, "%s", llm_request_error(r)->message);
        llm_request_free(r);
    }
    llm_client_free(c);
    /* bounded by max_response_bytes; retried when cut before a byte */
    c = client_cfg(2, 50000, 0);
    r = speak(c, "big", "audio_bytes=200000", NULL);
    if (wait_for(c, r) == r) CHECK_INT(llm_request_error(r)->kind, LLM_ERR_TOO_LARGE);
    llm_request_free(r);
    r = speak(c, "again", "audio_bytes=1000 fault=reset_headers id=sp1 fail_first=1 retry_after_ms=10", NULL);
    if (wait_for(c, r) == r) {
        CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s", llm_request_error(r)->message);
        CHECK_INT(llm_request_error(r)->retries, 1);
        llm_request_bytes(r, &n);
        CHECK_INT(n, 1000);
    }
    llm_request_free(r);
    llm_client_free(c);
}

/* ----------------------------------------------------------- transcribe -- */

static llm_request *hear(llm_client *c, int translate, const void *audio, size_t n, const char *fmt, int stream,
                         const char *directive) {
    llm_audio_desc d;
    const char *h[1];
    memset(&d, 0, sizeof d);
    d.model = "whisper-1";
    d.audio = audio;
    d.audio_len = n;
    d.filename = "clip.wav";
    d.response_format = fmt;
    d.stream = stream;
    d.prompt = "a \"quoted\" prompt";
    if (!translate) d.language = "fr";
    h[0] = hdr(directive);
    d.headers = h;
    d.n_headers = 1;
    return translate ? llm_translate(c, &d) : llm_transcribe(c, &d);
}

static void test_transcription(void) {
    llm_client *c = client();
    unsigned char audio[3200];
    char want[200], fnv[16];
    size_t i;
    llm_request *r;
    for (i = 0; i < sizeof audio; i++) audio[i] = (unsigned char)(i * 31 + 7); /* boundary-like bytes too */
    memcpy(audio + 100, "\r\n--llmasync-", 13);
    snprintf(fnv, sizeof fnv, "%08x", (unsigned)fnv1a(audio, sizeof audio));
    snprintf(want, sizeof want, "transcript of %u bytes from clip.wav (%s)", (unsigned)sizeof audio, fnv);
    r = hear(c, 0, audio, sizeof audio, NULL, 0, "");
    if (wait_for(c, r) == r) {
        CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s", llm_request_error(r)->message);
        CHECK_STR(llm_request_text(r, NULL), want);
        CHECK_INT(llm_request_usage(r)->prompt_tokens, 32);
    }
    llm_request_free(r);
    { /* what the server received, field by field */
        char *st = mock_http(&M, "GET", "/mock/stats");
        llm_json_value *v = st ? llm_json_parse(st, strlen(st), NULL, NULL) : NULL;
        const llm_json_value *mp = llm_json_get(v, "last_multipart");
        CHECK_INT((long)llm_json_double(llm_json_get(mp, "file_bytes"), 0), (long)sizeof audio);
        CHECK_STR(llm_json_string(llm_json_get(mp, "filename"), NULL), "clip.wav");
        CHECK_STR(llm_json_string(llm_json_get(mp, "file_content_type"), NULL), "audio/wav");
        CHECK_STR(llm_json_string(llm_json_get(mp, "file_fnv"), NULL), fnv);
        CHECK_STR(llm_json_string(llm_json_path(mp, "fields.model"), NULL), "whisper-1");
        CHECK_STR(llm_json_string(llm_json_path(mp, "fields.language"), NULL), "fr");
        CHECK_STR(llm_json_string(llm_json_path(mp, "fields.prompt"), NULL), "a \"quoted\" prompt");
        llm_json_free(v);
        free(st);
    }
    r = hear(c, 0, audio, sizeof audio, "text", 0, "");
    if (wait_for(c, r) == r) CHECK_STR(llm_request_text(r, NULL), want);
    llm_request_free(r);
    r = hear(c, 0, audio, sizeof audio, "verbose_json", 0, "");
    if (wait_for(c, r) == r) {
        CHECK_STR(llm_request_text(r, NULL), want);
        CHECK_STR(llm_json_string(llm_json_get(llm_request_json(r), "task"), NULL), "transcribe");
        CHECK(llm_json_double(llm_json_get(llm_request_json(r), "duration"), 0) == 0.1);
    }
    llm_request_free(r);
    r = hear(c, 0, audio, sizeof audio, "srt", 0, "");
    if (wait_for(c, r) == r) CHECK_MSG(strstr(llm_request_text(r, NULL), "00:00:00,000 --> 00:00:00,100") != NULL, "%s", llm_request_text(r, NULL));
    llm_request_free(r);
    r = hear(c, 0, audio, sizeof audio, NULL, 1, "pace=20");
    if (wait_for(c, r) == r) {
        CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s", llm_request_error(r)->message);
        CHECK_STR(llm_request_text(r, NULL), want);
    }
    llm_request_free(r);
    r = hear(c, 1, audio, sizeof audio, NULL, 0, "");
    if (wait_for(c, r) == r) {
        char tr[200];
        snprintf(tr, sizeof tr, "translation of %u bytes from clip.wav (%s)", (unsigned)sizeof audio, fnv);
        CHECK_STR(llm_request_text(r, NULL), tr);
    }
    llm_request_free(r);
    r = hear(c, 0, audio, sizeof audio, NULL, 0, "status=413");
    if (wait_for(c, r) == r) CHECK_INT(llm_request_error(r)->kind, LLM_ERR_TOO_LARGE);
    llm_request_free(r);
    r = hear(c, 0, audio, 0, NULL, 0, "");
    CHECK_INT(llm_request_error(r)->kind, LLM_ERR_INVALID);
    llm_request_free(r);
    r = hear(c, 1, audio, sizeof audio, NULL, 1, ""); /* translations do not stream */
    CHECK_INT(llm_request_error(r)->kind, LLM_ERR_INVALID);
    llm_request_free(r);
    llm_client_free(c);
}

/* llm_audio_desc.path: the file read at submit, named by its last part;
   timestamp granularities as repeated fields; an upload cut by a reset is
   sent again whole; bad paths and settings named. */
/* The value of a field of the last multipart body the mock saw, or NULL;
   *count: how many fields have that name. */
static char *mp_field(const char *name, int *count) {
    char *st = mock_http(&M, "GET", "/mock/stats"), *out = NULL;
    llm_json_value *v = st ? llm_json_parse(st, strlen(st), NULL, NULL) : NULL;
    const llm_json_value *fields = llm_json_path(v, "last_multipart.fields");
    size_t i;
    *count = 0;
    for (i = 0; fields && i < fields->len; i++)
        if (!strcmp(fields->items[i].key, name)) {
            (*count)++;
            if (!out && fields->items[i].str) out = strdup(fields->items[i].str);
        }
    llm_json_free(v);
    free(st);
    return out;
}

/* A transcription's temperature is sent when given (0 too, with
   has_temperature) and only then; a response_format outside the API's
   five is refused. */
static void test_transcription_fields(void) {
    static const unsigned char audio[] = "RIFF----WAVEfmt ";
    llm_client *c = client();
    llm_audio_desc d;
    llm_request *r;
    char *v;
    int k, n;
    for (k = 0; k < 3; k++) {
        memset(&d, 0, sizeof d);
        d.model = "whisper-1";
        d.audio = audio;
        d.audio_len = sizeof audio - 1;
        if (k == 0) d.temperature = 0.5;
        if (k == 1) d.has_temperature = 1;
        r = llm_transcribe(c, &d);
        if (wait_for(c, r) == r) CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s", llm_request_error(r)->message);
        llm_request_free(r);
        v = mp_field("temperature", &n);
        if (k == 0) CHECK(n == 1 && v && !strcmp(v, "0.5"));
        if (k == 1) CHECK(n == 1 && v && !strcmp(v, "0"));
        if (k == 2) CHECK_INT(n, 0);
        free(v);
    }
    d.response_format = "mp3";
    r = llm_transcribe(c, &d);
    CHECK_INT(llm_request_error(r)->kind, LLM_ERR_INVALID);
    CHECK_MSG(strstr(llm_request_error(r)->message, "response_format") != NULL, "%s", llm_request_error(r)->message);
    llm_request_free(r);
    d.response_format = NULL;
    d.temperature = 1.5;
    r = llm_transcribe(c, &d);
    CHECK_INT(llm_request_error(r)->kind, LLM_ERR_INVALID);
    CHECK_MSG(strstr(llm_request_error(r)->message, "temperature") != NULL, "%s", llm_request_error(r)->message);
    llm_request_free(r);
    d.temperature = 0;
    d.stream = 1;
    r = llm_translate(c, &d);
    CHECK_INT(llm_request_error(r)->kind, LLM_ERR_INVALID);
    CHECK_MSG(strstr(llm_request_error(r)->message, "do not stream") != NULL, "%s", llm_request_error(r)->message);
    llm_request_free(r);
    d.stream = 0;
    d.user_data = &k; /* the host's pointer comes back, failed or not */
    r = llm_transcribe(c, &d);
    CHECK(llm_request_user_data(r) == &k);
    if (wait_for(c, r) == r) CHECK(llm_request_user_data(r) == &k && llm_request_status(r) == LLM_DONE);
    llm_request_free(r);
    llm_client_free(c);
}

static void test_transcription_from_file(void) {
    llm_client *c = client();
    unsigned char audio[5000];
    char path[256], fnv[16], want[200];
    llm_audio_desc d;
    llm_request *r;
    const char *h[1];
    size_t i;
    FILE *f;
    for (i = 0; i < sizeof audio; i++) audio[i] = (unsigned char)(i * 13 + 1);
    snprintf(path, sizeof path, "%s/llmasync-voice-%ld.mp3", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
    f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) { llm_client_free(c); return; }
    fwrite(audio, 1, sizeof audio, f);
    fclose(f);
    snprintf(fnv, sizeof fnv, "%08x", (unsigned)fnv1a(audio, sizeof audio));
    snprintf(want, sizeof want, "transcript of %u bytes from %s (%s)", (unsigned)sizeof audio, strrchr(path, '/') + 1, fnv);
    memset(&d, 0, sizeof d);
    d.model = "whisper-1";
    d.path = path;
    d.response_format = "verbose_json";
    d.timestamp_granularities = "word,segment";
    h[0] = hdr("id=upload-reset fault=reset_headers fail_first=1"); /* the first try is reset: sent again whole */
    d.headers = h;
    d.n_headers = 1;
    d.max_retries = 2;
    r = llm_transcribe(c, &d);
    remove(path); /* read at submit: the request no longer needs it */
    if (wait_for(c, r) == r) {
        CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s", llm_request_error(r)->message);
        CHECK_STR(llm_request_text(r, NULL), want);
        CHECK_INT(llm_request_error(r)->retries, 1);
    }
    llm_request_free(r);
    {
        char *st = mock_http(&M, "GET", "/mock/stats");
        llm_json_value *v = st ? llm_json_parse(st, strlen(st), NULL, NULL) : NULL;
        const llm_json_value *mp = llm_json_get(v, "last_multipart"), *fields = llm_json_get(mp, "fields");
        int words = 0, segments = 0;
        CHECK_INT((long)llm_json_double(llm_json_get(mp, "file_bytes"), 0), (long)sizeof audio);
        CHECK_STR(llm_json_string(llm_json_get(mp, "file_fnv"), NULL), fnv);
        CHECK_STR(llm_json_string(llm_json_get(mp, "file_content_type"), NULL), "audio/mpeg");
        for (i = 0; fields && i < fields->len; i++) {
            const llm_json_value *fv = &fields->items[i];
            if (!strcmp(fv->key, "timestamp_granularities[]")) {
                words += !strcmp(fv->str, "word");
                segments += !strcmp(fv->str, "segment");
            }
        }
        CHECK_INT(words, 1);
        CHECK_INT(segments, 1);
        llm_json_free(v);
        free(st);
    }
    /* refused, each naming its field, nothing sent */
    memset(&d, 0, sizeof d);
    d.model = "whisper-1";
    d.path = "/nonexistent/dir/voice.wav";
    r = llm_transcribe(c, &d);
    CHECK_INT(llm_request_error(r)->kind, LLM_ERR_INVALID);
    CHECK_MSG(strstr(llm_request_error(r)->message, "path") != NULL, "%s", llm_request_error(r)->message);
    llm_request_free(r);
    d.path = path;
    d.audio = audio;
    d.audio_len = sizeof audio;
    r = llm_transcribe(c, &d);
    CHECK_INT(llm_request_error(r)->kind, LLM_ERR_INVALID);
    CHECK_MSG(strstr(llm_request_error(r)->message, "not both") != NULL, "%s", llm_request_error(r)->message);
    llm_request_free(r);
    d.path = NULL;
    d.timestamp_granularities = "word";
    r = llm_transcribe(c, &d); /* json, not verbose_json */
    CHECK_MSG(strstr(llm_request_error(r)->message, "timestamp_granularities") != NULL, "%s", llm_request_error(r)->message);
    llm_request_free(r);
    d.response_format = "verbose_json";
    d.timestamp_granularities = "letter";
    r = llm_transcribe(c, &d);
    CHECK_INT(llm_request_error(r)->kind, LLM_ERR_INVALID);
    llm_request_free(r);
    llm_client_free(c);
}

/* ---------------------------------------------------------------- rerank -- */

static void test_rerank(void) {
    static const char *docs[4] = { "Paris is the capital of France.", "Bananas are yellow.",
                                   "The capital of Italy is Rome.", "France borders Spain." };
    llm_client *c = client();
    llm_rerank_desc d;
    llm_request *r;
    double s0, s1;
    memset(&d, 0, sizeof d);
    d.model = "rerank-mock";
    d.query = "capital of France";
    d.documents = docs;
    d.n_documents = 4;
    r = llm_rerank(c, &d);
    if (wait_for(c, r) == r) {
        CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s", llm_request_error(r)->message);
        CHECK_INT(llm_request_rank_count(r), 4);
        CHECK_INT(llm_request_rank(r, 0, &s0), 0); /* all three words */
        CHECK_INT(llm_request_rank(r, 1, &s1), 2); /* "capital", "of" */
        CHECK(s0 > s1 && s0 > 0.99 && s0 < 1.01);
        CHECK_INT(llm_request_rank(r, 3, NULL), 1); /* no word */
        CHECK_INT(llm_request_rank(r, 4, NULL), -1);
    }
    llm_request_free(r);
    d.top_n = 2;
    r = llm_rerank(c, &d);
    if (wait_for(c, r) == r) CHECK_INT(llm_request_rank_count(r), 2);
    llm_request_free(r);
    d.model = "ollama/x"; /* no rerank endpoint */
    r = llm_rerank(c, &d);
    CHECK_INT(llm_request_error(r)->kind, LLM_ERR_INVALID);
    llm_request_free(r);
    d.model = "m";
    d.n_documents = 0;
    r = llm_rerank(c, &d);
    CHECK_INT(llm_request_error(r)->kind, LLM_ERR_INVALID);
    llm_request_free(r);
    llm_client_free(c);
    { /* the bare-array shape of text-embeddings-inference, decoded */
        llm_client *c2 = client();
        llm_request *q = llm__new_request(c2, LLM__K_RERANK);
        const char *j = "[{\"index\":1,\"score\":0.25},{\"index\":0,\"score\":0.75}]";
        llm_json_value *v = llm_json_parse(j, strlen(j), NULL, NULL);
        q->n_inputs = 2;
        llm__rerank_decode(q, v);
        CHECK_INT(q->a.n_ranks, 2);
        CHECK(q->a.n_ranks == 2 && q->a.ranks[0].index == 0 && q->a.ranks[0].score == 0.75);
        llm_json_free(v);
        llm__destroy(q);
        llm_client_free(c2);
    }
}

/* ------------------------------------------------------- images, n, refusal -- */

static const unsigned char PNG[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 1, 2, 3 };

static llm_request *look(llm_client *c, const char *model, const llm_image *im, int n, int stream) {
    llm_message m = { "user", "What is this?", NULL, NULL, NULL, NULL, 0 };
    llm_chat_desc d;
    m.images = im;
    m.n_images = n;
    memset(&d, 0, sizeof d);
    d.model = model;
    d.messages = &m;
    d.n_messages = 1;
    d.stream = stream;
    return llm_chat(c, &d);
}

static void test_images(void) {
    llm_client *c = client();
    llm_image im[3];
    llm_request *r;
    const char *models[3] = { "mock-model", "anthropic/claude-mock", "ollama/llava" };
    int k;
    memset(im, 0, sizeof im);
    im[0].data = PNG;
    im[0].len = sizeof PNG;
    im[1].url = "data:image/jpeg;base64,/9j/4AAQ";
    im[2].url = "https://example.com/a.png";
    im[2].detail = "high";
    for (k = 0; k < 3; k++) {
        int n = k == 2 ? 2 : 3; /* Ollama takes no URL */
        r = look(c, models[k], im, n, k == 1);
        if (wait_for(c, r) == r) {
            CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s: %s", models[k], llm_request_error(r)->message);
            CHECK_STR(llm_request_text(r, NULL), "Echo: What is this?");
        }
        CHECK_MSG(mock_stat(&M, "last_images") == n, "%s: the server saw %ld images", models[k], mock_stat(&M, "last_images"));
        llm_request_free(r);
    }
    { /* the Responses API */
        llm_message m = { "user", "Describe.", NULL, NULL, NULL, NULL, 2 };
        llm_responses_desc d;
        m.images = im;
        memset(&d, 0, sizeof d);
        d.model = "m";
        d.messages = &m;
        d.n_messages = 1;
        r = llm_responses(c, &d);
        if (wait_for(c, r) == r) CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s", llm_request_error(r)->message);
        CHECK_INT(mock_stat(&M, "last_images"), 2);
        llm_request_free(r);
    }
    /* refused at submit, the image named */
    r = look(c, "ollama/llava", im + 2, 1, 0);
    CHECK_INT(llm_request_error(r)->kind, LLM_ERR_INVALID);
    CHECK(strstr(llm_request_error(r)->message, "messages[0].images[0]") != NULL);
    llm_request_free(r);
    {
        llm_image bad;
        memset(&bad, 0, sizeof bad);
        bad.url = "ftp://x/y.png";
        r = look(c, "mock-model", &bad, 1, 0);
        CHECK_INT(llm_request_error(r)->kind, LLM_ERR_INVALID);
        llm_request_free(r);
        memset(&bad, 0, sizeof bad);
        bad.data = "not an image";
        bad.len = 12;
        r = look(c, "mock-model", &bad, 1, 0);
        CHECK(strstr(llm_request_error(r)->message, "unknown image type") != NULL);
        llm_request_free(r);
    }
    llm_client_free(c);
}

static void test_choices_and_refusals(void) {
    llm_client *c = client();
    int stream, i;
    for (stream = 0; stream < 2; stream++) {
        llm_message m = { "user", "hi you", NULL, NULL, NULL, NULL, 0 };
        llm_chat_desc d;
        llm_request *r;
        memset(&d, 0, sizeof d);
        d.model = "mock-model";
        d.messages = &m;
        d.n_messages = 1;
        d.n = 3;
        d.stream = stream;
        r = llm_chat(c, &d);
        if (wait_for(c, r) == r) {
            CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s", llm_request_error(r)->message);
            CHECK_INT(llm_request_choice_count(r), 3);
            CHECK_STR(llm_request_choice_text(r, 0, NULL), "Echo: hi you");
            for (i = 1; i < 3; i++) {
                char want[64];
                snprintf(want, sizeof want, "Echo %d: hi you", i);
                CHECK_STR(llm_request_choice_text(r, i, NULL), want);
                CHECK_STR(llm_request_choice_finish_reason(r, i), "stop");
            }
            CHECK_STR(llm_request_choice_text(r, 3, NULL), "");
        }
        llm_request_free(r);
        /* every choice's tool calls, assembled per choice */
        m.content = "weather [[tools=2]]";
        d.n = 3;
        r = llm_chat(c, &d);
        if (wait_for(c, r) == r) {
            CHECK_MSG(llm_request_status(r) == LLM_DONE, "%s", llm_request_error(r)->message);
            for (i = 0; i < 3; i++) {
                int k;
                CHECK_MSG(llm_request_choice_tool_call_count(r, i) == 2, "stream %d choice %d: %d calls", stream, i,
                          llm_request_choice_tool_call_count(r, i));
                CHECK_STR(llm_request_choice_finish_reason(r, i), "tool_calls");
                for (k = 0; k < 2; k++) {
                    const llm_tool_call *tc = llm_request_choice_tool_call(r, i, k);
                    char want[64];
                    CHECK(tc != NULL);
                    if (!tc) continue;
                    snprintf(want, sizeof want, "{\"city\":\"Paris\",\"i\":%d}", k);
                    CHECK_STR(tc->name, "get_weather");
                    CHECK_MSG(!strcmp(tc->arguments, want), "stream %d choice %d call %d: %s", stream, i, k, tc->arguments);
                    CHECK_INT((long)llm_json_double(llm_json_get(tc->arguments_json, "i"), -1), k);
                }
                CHECK(llm_request_choice_tool_call(r, i, 2) == NULL);
            }
            CHECK(llm_request_choice_tool_call(r, 0, 0) == llm_request_tool_call(r, 0));
            CHECK(llm_request_choice_tool_call_count(r, 3) == 0 && llm_request_choice_tool_call(r, 3, 0) == NULL);
        }
        llm_request_free(r);
        d.n = 3;
        /* refusals */
        m.content = "do it [[refusal=1]]";
        d.n = 0;
        r = llm_chat(c, &d);
        if (wait_for(c, r) == r) {
            CHECK_STR(llm_request_refusal(r, NULL), "I'm sorry, I cannot help with that.");
            CHECK_STR(llm_request_text(r, NULL), "");
        }
        llm_request_free(r);
        d.model = "anthropic/claude-mock";
        r = llm_chat(c, &d);
        if (wait_for(c, r) == r) CHECK_STR(llm_request_finish_reason(r), "refusal");
        llm_request_free(r);
        d.model = "ollama/x";
        d.n = 2;
        r = llm_chat(c, &d);
        CHECK_INT(llm_request_error(r)->kind, LLM_ERR_INVALID); /* one choice only there */
        llm_request_free(r);
    }
    llm_client_free(c);
}

int main(int argc, char **argv) {
    th_slow_from_env();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!mock_start(&M)) { printf("endpoints: 0 passed, 1 failed\n"); return 1; }
    RUN(test_responses_plain);
    RUN(test_responses_tools);
    RUN(test_responses_errors);
    RUN(test_speech);
    RUN(test_transcription);
    RUN(test_transcription_from_file);
    RUN(test_transcription_fields);
    RUN(test_rerank);
    RUN(test_images);
    RUN(test_choices_and_refusals);
    mock_stop(&M);
    curl_global_cleanup();
    return th_finish("endpoints");
}
