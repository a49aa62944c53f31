/* libFuzzer harness: each provider's response decoders, without a network.

   As tests/test_codec.c does, a request is made with llm__new_request and
   pointed at a provider (r->prov), then fed what a server could send.

   Input: two selector bytes, then the payload.
     byte 0  api  = b % 3          LLM_API_OPENAI, _ANTHROPIC, _OLLAMA
             op   = (b / 3) % 5    0 chat body      llm__decode_chat
                                   1 embeddings     llm__decode_embed
                                   2 error body     llm__decode_error_body
                                   3 stream         llm__sse_feed (OpenAI,
                                                    Anthropic) or llm__nd_feed
                                                    (Ollama) -> llm__stream_event
                                   4 HTTP exchange  llm__on_header, llm__on_write,
                                                    llm__attempt_done, retries,
                                                    llm__deliver (callbacks)
             tight = (b / 15) & 1  the client with small limits (event 256 B,
                                   response 2 KiB, depth 6, 3 tool calls)
             kind  = (b / 30) % 3  op 4 only: chat, embeddings, raw
             ep    = b / 90        1: the Responses API (op 0 its answers,
                                   op 3 its typed events, op 4 an exchange);
                                   2: rerank answers (op 0), transcript
                                   events (op 3), speech bytes (op 4)
     byte 1  bits 0-1  embeddings: n_inputs - 1 (1..4); op 4 chat: bit 0
                       sets an on_delta callback
             bit  2    op 4, chat and raw: the request streams (as
                       llm_embed never does, embeddings do not)
             bits 3-7  seed and style of the reads a stream is cut into;
                       op 2 / op 4 without a status line: the HTTP status
   For op 4 a payload that starts with "HTTP/" carries a status line and
   headers up to a blank line (as curl hands them over, line by line).

   Afterwards: llm__finalize when the decode succeeded, the terminal
   transition (DONE, or llm__fail_or_retry with the decoder's reason), every
   public llm_request_* accessor, then llm__destroy. It aborts when
     - a state is not terminal after the run, or the error kind and status
       disagree, or error.message is NULL;
     - any string the request hands out (error message, provider message,
       type, code, param, request id; response id, model, finish reason)
       or any log line holds 8 or more consecutive characters of one of the
       client's API keys, plainly, %XX-encoded or \uXXXX-escaped;
     - a fixed-size string (finish reason, id, model, error detail) is not
       NUL-terminated in its array, or is not valid UTF-8;
     - text / reasoning lengths disagree with their NUL terminator, or
       llm_request_take does not hand out exactly the text;
     - callbacks did not see exactly the text (on_delta) / events (on_event);
     - a tool call view is inconsistent, or arguments_json disagrees with a
       parse of the arguments;
     - an accepted embeddings response did not provide every vector, or a
       vector has another size;
     - after llm__destroy, the client still lists the request. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "fuzz_util.h"

#define KEY_OPENAI "sk-fuzz-0123456789abcdef"
#define KEY_ANTHROPIC "ak-fuzz-fedcba9876543210"

static llm_client *clients[2];

static const char *key_fragment(const char *s) {
    static const char *const keys[] = { KEY_OPENAI, KEY_ANTHROPIC };
    return fz_key_fragment(s, keys, 2);
}

static void log_fn(llm_log_level lv, const char *msg, void *ud) {
    (void)lv;
    (void)ud;
    FZ_CHECK(msg != NULL);
    if (key_fragment(msg)) fz_fail("a log line holds 8+ characters of an API key: %s", msg);
}

static void free_clients(void) {
    llm_client_free(clients[0]);
    llm_client_free(clients[1]);
    clients[0] = clients[1] = NULL;
}

static llm_client *client(int tight) {
    if (!clients[0]) {
        llm_client_desc d;
        int i;
        for (i = 0; i < 2; i++) {
            memset(&d, 0, sizeof d);
            d.base_url = "http://127.0.0.1:9/v1";
            d.api_key = KEY_OPENAI;
            d.anthropic_base_url = "http://127.0.0.1:9";
            d.anthropic_api_key = KEY_ANTHROPIC;
            d.ollama_host = "127.0.0.1:9";
            d.retry_seed = 7;
            d.log_fn = log_fn;
            if (i == 1) {
                d.max_event_bytes = 256;
                d.max_response_bytes = 2048;
                d.max_json_depth = 6;
                d.max_tool_calls = 3;
            }
            clients[i] = llm_client_new(&d);
            if (!clients[i]) fz_fail("llm_client_new failed");
        }
        atexit(free_clients);
    }
    return clients[tight];
}

/* What the host callbacks saw. */
typedef struct seen { fz_log deltas, events; int done_calls; } seen;

static void on_delta(llm_request *r, const char *d, size_t n, void *ud) {
    seen *s = (seen *)ud;
    FZ_CHECK(llm_request_user_data(r) == ud && d != NULL && n > 0);
    fz_log_add(&s->deltas, d, n);
}
static void on_event(llm_request *r, const char *ev, const char *data, size_t n, void *ud) {
    seen *s = (seen *)ud;
    FZ_CHECK(llm_request_user_data(r) == ud && ev != NULL && data != NULL && data[n] == '\0');
    fz_log_add(&s->events, data, n);
    fz_log_add(&s->events, "\n", 1);
}
static void on_done(llm_request *r, void *ud) {
    seen *s = (seen *)ud;
    FZ_CHECK(llm_request_user_data(r) == ud);
    s->done_calls++;
}

static const long statuses[32] = { 200, 200, 200, 201, 400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503,
                                   529, 301, 302, 418, 0, 99, 204, 299, 300, 399, 450, 499, 504, 599, 600, 999 };

static void check_cstr(const char *s, size_t cap, const char *what) {
    const char *nul = (const char *)memchr(s, '\0', cap);
    if (!nul) fz_fail("%s is not NUL-terminated in its array", what);
    if (!fz_utf8_ok(s, (size_t)(nul - s))) fz_fail("%s is not valid UTF-8: \"%s\"", what, s);
}

/* FUZZ_MASK_KNOWN_BUGS (long runs only, never the replay) would skip here
   the invariants that a known, reported bug breaks, each mask naming its
   file in regressions/. None is open: bugs 1, 3 and 4 of
   regressions/README.md are fixed. */

static void check_no_key(const char *s, const char *what) {
    if (s && key_fragment(s)) fz_fail("%s holds 8+ characters of an API key: %s", what, s);
}

/* Whether an accepted embeddings response named every slot (written from
   the API shapes, independently of llm__decode_embed). */
static void check_embed_slots(const llm_request *r, const llm_json_value *root) {
    unsigned char got[4] = { 0, 0, 0, 0 };
    size_t i;
    int k;
    const llm_json_value *data;
    if (r->prov->api == LLM_API_OLLAMA) {
        data = llm_json_get(root, "embeddings");
        FZ_CHECK(data && data->len == (size_t)r->n_inputs);
        return;
    }
    data = llm_json_get(root, "data");
    FZ_CHECK(data && data->type == LLM_JSON_ARRAY);
    for (i = 0; i < data->len; i++) {
        int64_t idx = (int64_t)i;
        llm_json_int64(llm_json_get(&data->items[i], "index"), &idx);
        FZ_CHECK(idx >= 0 && idx < r->n_inputs);
        got[idx] = 1;
    }
    for (k = 0; k < r->n_inputs; k++)
        if (!got[k]) fz_fail("embeddings accepted, but no vector was sent for input %d (duplicate index?)", k);
}

static void check_json_tree(const llm_json_value *v) {
    size_t i;
    FZ_CHECK(v->type >= LLM_JSON_NULL && v->type <= LLM_JSON_OBJECT);
    if (v->type == LLM_JSON_STRING || v->type == LLM_JSON_NUMBER) FZ_CHECK(v->str && v->str[v->len] == '\0');
    if (v->type == LLM_JSON_ARRAY || v->type == LLM_JSON_OBJECT)
        for (i = 0; i < v->len; i++) check_json_tree(&v->items[i]);
}

/* Every public reader, with the invariants that tie them together. */
static void check_request(llm_request *r, seen *s) {
    llm_client *c = r->c;
    const llm_error *e = llm_request_error(r);
    const llm_usage *u = llm_request_usage(r);
    const llm_timings *tm = llm_request_timings(r);
    llm_status st = llm_request_status(r);
    const char *t, *d;
    size_t n, m, total = 0;
    int i, nt, ne;
    FZ_CHECK(st == LLM_DONE || st == LLM_FAILED);
    FZ_CHECK(r->terminal);
    FZ_CHECK(e != NULL && u != NULL && tm != NULL && e->message != NULL);
    FZ_CHECK((st == LLM_DONE) == (e->kind == LLM_ERR_NONE));
    FZ_CHECK(e->kind >= LLM_ERR_NONE && e->kind < LLM_ERR_COUNT_);
    FZ_CHECK(strcmp(llm_error_string(e->kind), "unknown") != 0);
    FZ_CHECK(strcmp(llm_status_string(st), "unknown") != 0);
    if (st == LLM_DONE) FZ_CHECK(e->message[0] == '\0' && e->provider_message == NULL && e->type == NULL);
    else FZ_CHECK(e->message[0] != '\0');
    FZ_CHECK(e->retries >= 0 && e->retries <= r->max_retries);
    check_no_key(e->message, "error.message");
    check_no_key(e->provider_message, "error.provider_message");
    check_no_key(e->type, "error.type");
    check_no_key(e->code, "error.code");
    check_no_key(e->param, "error.param");
    check_no_key(e->request_id, "error.request_id");
    check_no_key(llm_request_finish_reason(r), "finish_reason");
    check_no_key(llm_request_id(r), "response id");
    check_no_key(llm_request_model(r), "response model");
    check_cstr(e->message, strlen(e->message) + 1, "error.message");
    if (e->provider_message) check_cstr(e->provider_message, strlen(e->provider_message) + 1, "error.provider_message");
    FZ_CHECK(!e->provider_message || strlen(e->provider_message) <= LLM_PROVIDER_MESSAGE_MAX);
    check_cstr(r->a.type, sizeof r->a.type, "error.type");
    check_cstr(r->a.code, sizeof r->a.code, "error.code");
    check_cstr(r->a.param, sizeof r->a.param, "error.param");
    check_cstr(r->a.finish_reason, sizeof r->a.finish_reason, "finish_reason");
    check_cstr(r->a.resp_id, sizeof r->a.resp_id, "response id");
    check_cstr(r->a.resp_model, sizeof r->a.resp_model, "response model");
    check_cstr(r->a.h_request_id, sizeof r->a.h_request_id, "request id header");
    FZ_CHECK(!strcmp(llm_request_finish_reason(r), r->a.finish_reason));
    FZ_CHECK(llm_request_id(r) == r->a.resp_id && llm_request_model(r) == r->a.resp_model);
    FZ_CHECK(llm_request_json(r) == r->a.doc);
    if (llm_request_content_json(r)) check_json_tree(llm_request_content_json(r));
    if (r->a.doc) check_json_tree(r->a.doc);
    (void)llm_request_user_data(r);

    t = llm_request_text(r, &n);
    FZ_CHECK(t != NULL && t[n] == '\0' && n == r->a.text.len);
    m = llm_request_take(r, &d);
    FZ_CHECK(m == n && (n == 0 || d == t));
    FZ_CHECK(llm_request_take(r, &d) == 0 && d != NULL && llm_request_take(r, NULL) == 0);
    t = llm_request_reasoning(r, &n);
    FZ_CHECK(t != NULL && t[n] == '\0' && n == r->a.reasoning.len);
    FZ_CHECK(llm_request_text(r, NULL) != NULL && llm_request_reasoning(r, NULL) != NULL);
    if (s) {
        if (s->deltas.len) { /* callbacks saw the text exactly (when they ran at all) */
            t = llm_request_text(r, &n);
            if (s->deltas.len != n || memcmp(s->deltas.p, t, n)) fz_fail("on_delta saw other text than llm_request_text");
        }
        if (s->events.len) {
            t = llm_request_text(r, &n);
            if (s->events.len != n || memcmp(s->events.p, t, n)) fz_fail("on_event saw other data than the raw text");
        }
        FZ_CHECK(s->done_calls <= 1);
    }

    nt = llm_request_tool_call_count(r);
    FZ_CHECK(nt == (st == LLM_DONE ? r->a.n_tools : 0));
    FZ_CHECK(nt <= c->max_tools);
    FZ_CHECK(llm_request_tool_call(r, -1) == NULL && llm_request_tool_call(r, nt) == NULL);
    for (i = 0; i < nt; i++) {
        const llm_tool_call *tc = llm_request_tool_call(r, i);
        int k;
        FZ_CHECK(tc != NULL && tc->id && tc->type && tc->name && tc->arguments);
        FZ_CHECK(tc->arguments[tc->arguments_len] == '\0');
        FZ_CHECK(tc->index >= 0 && tc->index < 1000000);
        for (k = 0; k < i; k++) FZ_CHECK(llm_request_tool_call(r, k)->index != tc->index);
        if (tc->arguments_len) {
            llm_json_options o;
            llm_json_value *v;
            memset(&o, 0, sizeof o);
            o.max_depth = c->max_depth;
            v = llm_json_parse(tc->arguments, tc->arguments_len, &o, NULL);
            if ((v != NULL) != (tc->arguments_json != NULL)) fz_fail("arguments_json disagrees with a parse of the arguments");
            if (v) check_json_tree(tc->arguments_json);
            llm_json_free(v);
        } else {
            FZ_CHECK(tc->arguments_json == NULL);
        }
    }

    ne = llm_request_embedding_count(r);
    FZ_CHECK(ne == (st == LLM_DONE ? r->a.n_vec : 0));
    if (r->kind == LLM__K_EMBED && st == LLM_DONE) FZ_CHECK(ne == r->n_inputs);
    FZ_CHECK(llm_request_embedding(r, -1, NULL) == NULL && llm_request_embedding(r, ne, NULL) == NULL);
    for (i = 0; i < ne; i++) {
        int dim = -1, k;
        const float *v = llm_request_embedding(r, i, &dim);
        FZ_CHECK(v != NULL && dim > 0 && dim == r->a.dim);
        for (k = 0; k < dim; k++) total += v[k] != v[k]; /* reads every float: ASan checks the bounds */
    }
    (void)total;
    FZ_CHECK(u->prompt_tokens == r->a.usage.prompt_tokens);
    FZ_CHECK(tm->attempts >= 0);
}

/* Ends a direct decode as the state machine would: DONE, or FAILED with the
   decoder's reason. */
static void settle(llm_request *r, long status) {
    if (!r->a.abort_kind && llm__finalize(r)) {
        llm__transition(r, LLM_DONE);
        return;
    }
    if (!r->a.abort_kind) fz_fail("llm__finalize failed without running out of memory");
    llm__fail_or_retry(r, (llm_error_kind)r->a.abort_kind, status, r->a.abort_retryable, LLM_TIMEOUT_NONE, r->a.abort_msg);
}

static void check_client_empty(llm_client *c) {
    int l;
    for (l = 0; l < LLM__L_COUNT; l++)
        if (c->lists[l].head || c->lists[l].count) fz_fail("list %d still holds a request after llm__destroy", l);
    FZ_CHECK(c->notify_head == NULL && c->notify_tail == NULL);
    FZ_CHECK(c->n_inflight == 0);
}

/* Feeds a stream in reads cut by the PRNG; 0 once the decoder stops. */
static int feed_stream(llm_request *r, const char *p, size_t n, int style, uint32_t seed) {
    llm_client *c = r->c;
    fz_rng rng;
    size_t pos = 0;
    int ok = 1;
    fz_rng_seed(&rng, seed);
    c->cb_now = llm__now_us();
    while (ok && pos < n) {
        size_t k = fz_chunk(&rng, style, n - pos);
        if (r->prov->api == LLM_API_OLLAMA) ok = llm__nd_feed(&r->ra, &r->a.nd, p + pos, k, llm__stream_event, r);
        else ok = llm__sse_feed(&r->ra, &r->a.sse, p + pos, k, llm__stream_event, r);
        pos += k;
    }
    if (ok && r->prov->api == LLM_API_OLLAMA) ok = llm__nd_finish(&r->a.nd, llm__stream_event, r);
    if (!ok && !r->a.abort_kind) { /* the decoder itself stopped: too large */
        int err = r->prov->api == LLM_API_OLLAMA ? r->a.nd.err : r->a.sse.err;
        FZ_CHECK(err == LLM_ERR_TOO_LARGE);
        llm__abort(r, LLM_ERR_TOO_LARGE, 0, "stream event larger than max_event_bytes");
    }
    if (ok) FZ_CHECK(!r->a.abort_kind);
    return ok;
}

/* op 4: a whole HTTP exchange, with retries, as the state machine runs it. */
static void exchange(llm_request *r, const char *p, size_t n, unsigned b1, seen *s) {
    llm_client *c = r->c;
    const char *body = p, *hdr = NULL;
    size_t body_len = n, hdr_len = 0;
    int attempt;
    fz_rng rng;
    if (n >= 5 && !memcmp(p, "HTTP/", 5)) { /* headers up to the first blank line */
        size_t i;
        hdr = p;
        hdr_len = n;
        body = p + n;
        body_len = 0;
        for (i = 0; i < n; i++) {
            if (p[i] == '\n' && ((i + 1 < n && p[i + 1] == '\n') || (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n'))) {
                size_t end = i + 1 + (p[i + 1] == '\r' ? 2 : 1);
                hdr_len = end;
                body = p + end;
                body_len = n - end;
                break;
            }
        }
    }
    fz_rng_seed(&rng, b1);
    llm__transition(r, LLM_QUEUED);
    for (attempt = 0; attempt < 8 && !r->terminal; attempt++) {
        size_t pos = 0;
        int stopped = 0;
        FZ_CHECK(r->status == LLM_QUEUED);
        llm__attempt_reset(r);
        r->t_attempt = r->t_last_event = llm__now_us();
        llm__transition(r, LLM_ACTIVE);
        r->tm.attempts++;
        if (hdr) { /* one call per header line, as curl makes them */
            size_t i = 0;
            while (i < hdr_len) {
                const char *nl = (const char *)memchr(hdr + i, '\n', hdr_len - i);
                size_t k = nl ? (size_t)(nl - (hdr + i)) + 1 : hdr_len - i;
                char line[1024];
                size_t kk = k < sizeof line ? k : sizeof line;
                memcpy(line, hdr + i, kk); /* curl's buffer is writable; ours is not */
                FZ_CHECK(llm__on_header(line, 1, kk, r) == kk);
                i += k;
            }
        } else {
            r->a.http_status = statuses[(b1 >> 3) & 31];
        }
        while (pos < body_len) {
            size_t k = fz_chunk(&rng, (int)(b1 >> 3), body_len - pos);
            size_t got = llm__on_write((char *)(uintptr_t)(body + pos), 1, k, r);
            if (got != k) { FZ_CHECK(got == 0 && r->a.abort_kind); stopped = 1; break; }
            pos += k;
            if (fz_rng_next(&rng) & 1) llm__deliver(c); /* a pump between reads */
        }
        llm__attempt_done(r, stopped ? CURLE_WRITE_ERROR : CURLE_OK);
        llm__deliver(c);
        if (r->status == LLM_RETRY_WAIT) {
            FZ_CHECK(!r->terminal && r->retries <= r->max_retries);
            llm__transition(r, LLM_QUEUED); /* the timer fired */
        }
    }
    FZ_CHECK(r->terminal);
    FZ_CHECK(s->done_calls == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    unsigned b0, b1;
    llm_api api;
    int op, tight, kind, ep, rk;
    llm_client *c;
    llm_request *r;
    const char *p;
    size_t n;
    seen s;
    if (size < 2) return 0;
    b0 = data[0];
    b1 = data[1];
    api = (llm_api)(b0 % 3);
    op = (int)((b0 / 3) % 5);
    tight = (int)((b0 / 15) & 1);
    kind = (int)((b0 / 30) % 3);
    ep = (int)(b0 / 90);
    p = (const char *)data + 2;
    n = size - 2;
    c = client(tight);
    memset(&s, 0, sizeof s);

    rk = op == 1 || (op == 4 && kind == 1) ? LLM__K_EMBED : op == 4 && kind == 2 ? LLM__K_RAW : LLM__K_CHAT;
    if (ep == 1 && op != 1 && op != 2) rk = LLM__K_RESPONSES;
    if (ep == 2 && (op == 0 || op == 3 || op == 4)) rk = op == 0 ? LLM__K_RERANK : op == 3 ? LLM__K_AUDIO : LLM__K_SPEECH;
    r = llm__new_request(c, rk);
    if (!r) fz_fail("llm__new_request failed");
    r->prov = &c->prov[api];
    r->n_inputs = 1 + (int)(b1 & 3);
    llm__settings(r, 0, 0, 0);

    switch (op) {
    case 0:
    case 1: {
        llm_json_options o;
        llm_json_result jr;
        memset(&o, 0, sizeof o);
        o.allocator = &c->alloc;
        o.max_depth = c->max_depth;
        r->a.doc = llm_json_parse(p, n, &o, &jr);
        if (!r->a.doc) llm__abort(r, LLM_ERR_PROTOCOL, 0, "response body is not valid JSON (%s)", llm_json_error_string(jr.error));
        else if (op == 0 && llm__endpoints[r->kind].decode) llm__endpoints[r->kind].decode(r, r->a.doc);
        else {
            llm__decode_embed(r, r->a.doc);
            if (!r->a.abort_kind) check_embed_slots(r, r->a.doc);
        }
        settle(r, 200);
        break;
    }
    case 2: {
        long status = statuses[4 + ((b1 >> 3) % 28)];
        llm__buf_add(&r->ra, &r->a.raw, p, n);
        r->a.http_status = status;
        llm__decode_error_body(r);
        check_cstr(llm__pmsg(r), strlen(llm__pmsg(r)) + 1, "provider message of the error body");
        FZ_CHECK(strlen(llm__pmsg(r)) <= LLM_PROVIDER_MESSAGE_MAX);
        check_cstr(r->a.type, sizeof r->a.type, "error type of the error body");
        check_cstr(r->a.code, sizeof r->a.code, "error code of the error body");
        check_cstr(r->a.param, sizeof r->a.param, "error param of the error body");
        llm__fail_or_retry(r, llm__kind_of_status(status), status, 0, LLM_TIMEOUT_NONE,
                           llm__pmsg(r)[0] ? llm__pmsg(r) : "(no message in the body)");
        break;
    }
    case 3:
        r->stream = 1;
        r->a.mode = LLM__M_STREAM;
        if (feed_stream(r, p, n, (int)(b1 >> 3), b1) && !r->a.stream_done && !r->a.finish_reason[0])
            llm__abort(r, LLM_ERR_PROTOCOL, 1, "stream ended before its end marker");
        settle(r, 200);
        break;
    default:
        r->stream = r->kind == LLM__K_EMBED ? 0 : r->kind == LLM__K_SPEECH ? 1 : (int)((b1 >> 2) & 1); /* llm_embed never streams */
        r->user_data = &s;
        r->on_done = on_done;
        if (r->kind == LLM__K_RAW) r->on_event = r->stream ? on_event : NULL;
        else if (r->kind == LLM__K_CHAT && (b1 & 1)) r->on_delta = on_delta;
        exchange(r, p, n, b1, &s);
        break;
    }
    check_request(r, op == 4 ? &s : NULL);
    llm__destroy(r);
    check_client_empty(c);
    fz_log_free(&s.deltas);
    fz_log_free(&s.events);
    return 0;
}
