/* libFuzzer harness: replay files (>>record), loaded and then replayed
   through the whole response path, without a network.

   Input: one selector byte, then the replay text (JSON Lines).
     byte 0  bit 0     the request streams
             bits 1-2  0 chat, 1 embeddings (2 inputs), 2 Anthropic chat,
                       3 raw call
             bit 3     a tight client (response 2 KiB, event 256 B)
             bit 4     an on_delta callback (chat)
   The text is loaded with llm__rec_load. A text it refuses must say why:
   a message naming the file and line, valid UTF-8. A text it accepts is
   replayed: every exchange is given the identity of the one request made
   (so the events of any exchange reach the decoders), the request is
   driven with llm_poll until it is terminal (it must be, within a bound of
   polls: instant replay never waits), and then:
     - a terminal state with a consistent error (message never NULL, kind
       NONE exactly when DONE);
     - the request's strings and every log line hold no 8 characters of
       the client's key (the events may carry it: a 401 echoing it);
     - text lengths agree with their NUL, on_delta saw exactly the text;
     - at most max_retries + 1 exchanges were used, each once. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "fuzz_util.h"

#define KEY "sk-replay-fuzz-0123456789"

static void log_fn(llm_log_level lv, const char *msg, void *ud) {
    static const char *const keys[] = { KEY };
    (void)lv;
    (void)ud;
    FZ_CHECK(msg != NULL);
    if (fz_key_fragment(msg, keys, 1)) fz_fail("a log line holds 8+ characters of the key: %s", msg);
}

static void no_key(const char *what, const char *s) {
    static const char *const keys[] = { KEY };
    if (s && fz_key_fragment(s, keys, 1)) fz_fail("%s holds 8+ characters of the key: %s", what, s);
}

typedef struct seen { char *p; size_t len; } seen;
static void on_delta(llm_request *r, const char *d, size_t n, void *ud) {
    seen *s = (seen *)ud;
    char *q = (char *)realloc(s->p, s->len + n + 1);
    (void)r;
    if (!q) abort();
    memcpy(q + s->len, d, n);
    s->len += n;
    q[s->len] = '\0';
    s->p = q;
}

static llm_request *submit(llm_client *c, int what, int stream, int delta, seen *sn) {
    static const char *inputs[2] = { "a", "b" };
    llm_message m;
    memset(&m, 0, sizeof m);
    m.role = "user";
    m.content = "replayed";
    if (what == 1) {
        llm_embed_desc e;
        memset(&e, 0, sizeof e);
        e.model = "emb";
        e.inputs = inputs;
        e.n_inputs = 2;
        return llm_embed(c, &e);
    }
    if (what == 3) {
        llm_raw_desc d;
        memset(&d, 0, sizeof d);
        d.path = "/anything";
        d.body_json = stream ? "{\"stream\":true}" : "{}";
        d.stream = stream;
        return llm_raw(c, &d);
    }
    {
        llm_chat_desc d;
        memset(&d, 0, sizeof d);
        d.model = what == 2 ? "anthropic/claude" : "gpt";
        d.messages = &m;
        d.n_messages = 1;
        d.stream = stream;
        if (delta) {
            d.on_delta = on_delta;
            d.user_data = sn;
        }
        return llm_chat(c, &d);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    llm_client_desc d;
    llm_client *c;
    llm_request *r;
    seen sn = { NULL, 0 };
    char why[512];
    int sel, i, polls = 0, used = 0;
    if (size < 1) return 0;
    sel = data[0];
    memset(&d, 0, sizeof d);
    d.base_url = "http://127.0.0.1:9/v1";
    d.anthropic_base_url = "http://127.0.0.1:9";
    d.api_key = KEY;
    d.anthropic_api_key = KEY;
    d.record_path = "";
    d.replay_path = "";
    d.retry_seed = 7;
    d.log_fn = log_fn;
    if (sel & 8) {
        d.max_response_bytes = 2048;
        d.max_event_bytes = 256;
    }
    c = llm_client_new(&d);
    if (!c) fz_fail("llm_client_new failed");
    c->rec = (llm__rec *)llm__calloc(&c->alloc, sizeof *c->rec);
    if (!c->rec) fz_fail("no memory");
    why[0] = '\0';
    if (!llm__rec_load(c, (const char *)data + 1, size - 1, "fuzz.jsonl", why, sizeof why)) {
        FZ_CHECK(!strncmp(why, "replay file fuzz.jsonl: ", 24));
        FZ_CHECK(fz_utf8_ok(why, strlen(why)));
        llm_client_free(c);
        return 0;
    }
    r = submit(c, (sel >> 1) & 3, sel & 1, (sel >> 4) & 1, &sn);
    FZ_CHECK(r != NULL);
    if (r->url) { /* every exchange answers this request (a refused desc has no URL) */
        static char hash[17], path[256];
        llm__rec_hash(r, hash);
        snprintf(path, sizeof path, "%s", llm__url_path(r->url));
        for (i = 0; i < c->rec->n_xs; i++) {
            llm__rx *x = &c->rec->xs[i];
            x->method = r->body ? "POST" : "GET";
            x->path = path;
            x->hash = hash;
            x->body_len = r->body ? r->body_len : 0;
        }
    }
    while ((!r->terminal || r->notify) && polls < 10000) { /* to its on_done */
        llm_poll(c);
        polls++;
    }
    if (!r->terminal || r->notify) fz_fail("not terminal and delivered after %d polls of an instant replay", polls);
    {
        const llm_error *e = llm_request_error(r);
        size_t n;
        const char *t = llm_request_text(r, &n);
        FZ_CHECK(e->message != NULL);
        FZ_CHECK((e->kind == LLM_ERR_NONE) == (llm_request_status(r) == LLM_DONE));
        no_key("error.message", e->message);
        no_key("error.provider_message", e->provider_message);
        no_key("error.type", e->type);
        no_key("error.code", e->code);
        no_key("error.request_id", e->request_id);
        no_key("response id", llm_request_id(r));
        no_key("model", llm_request_model(r));
        FZ_CHECK(t && strlen(t) <= n);
        if (sn.p || sn.len) FZ_CHECK(sn.len == n && memcmp(sn.p, t, n) == 0);
        for (i = 0; i < c->rec->n_xs; i++) used += c->rec->xs[i].used;
        FZ_CHECK(used <= e->retries + 1);
    }
    llm_request_free(r);
    llm_client_free(c);
    free(sn.p);
    return 0;
}
