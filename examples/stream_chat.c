/* stream_chat: prints answers token by token as they arrive, two ways.
   usage: stream_chat ["your question"]
   Uses OPENAI_BASE_URL / OPENAI_API_KEY; model $LLM_DEMO_MODEL (gpt-4o-mini).

   1. A host that waits and shows tokens: llm_wait() returns LLM_WAIT_TEXT
      as soon as the stream got text (take it with llm_request_take) and
      LLM_WAIT_DONE when a request can be collected with llm_wait_any(c, 0).
   2. Callbacks: on_delta gets each piece, on_done the end; the plain
      while ((r = llm_wait_any(c, -1))) loop drives them (NULL only when
      nothing is left). */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include <stdio.h>
#include <stdlib.h>

static const char *mock_pace = "X-Mock: pace=80"; /* the mock echoes the question, a word every 80 ms */

static llm_request *ask(llm_client *c, const char *question, llm_delta_fn on_delta) {
    llm_message m = { 0 };
    llm_chat_desc d = { 0 };
    m.role = "user";
    m.content = question;
    d.model = getenv("LLM_DEMO_MODEL") ? getenv("LLM_DEMO_MODEL") : "gpt-4o-mini";
    d.messages = &m;
    d.n_messages = 1;
    d.stream = 1;
    d.on_delta = on_delta;
    if (getenv("LLMASYNC_MOCK")) { d.headers = &mock_pace; d.n_headers = 1; }
    return llm_chat(c, &d); /* returns at once */
}

static int report(llm_request *r) {
    const llm_timings *t = llm_request_timings(r);
    int ok = llm_request_status(r) == LLM_DONE;
    if (ok)
        printf("\n[first token after %.0f ms, done after %.0f ms, %lld tokens, finish: %s]\n", t->first_token_ms,
               t->total_ms, (long long)llm_request_usage(r)->completion_tokens, llm_request_finish_reason(r));
    else
        printf("\nerror: %s\n", llm_request_error(r)->message);
    return ok;
}

/* Called only from inside llm_wait_any / llm_wait / llm_poll, on this thread. */
static void on_delta(llm_request *r, const char *text, size_t len, void *user_data) {
    (void)r;
    (void)user_data;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
}

int main(int argc, char **argv) {
    const char *question = argc > 1 ? argv[1] : "Write a haiku about a frame budget.";
    llm_client *c = llm_client_new(NULL);
    llm_request *r, *done;
    int ok = 1;
    if (!c) return 1;

    /* 1. waiting, tokens taken as they come */
    printf("> %s\n", question);
    r = ask(c, question, NULL);
    for (;;) {
        int what = llm_wait(c, -1);
        const char *text;
        size_t n;
        if (what & LLM_WAIT_TEXT) {
            n = llm_request_take(r, &text);
            fwrite(text, 1, n, stdout);
            fflush(stdout);
        }
        if (what & LLM_WAIT_DONE)
            while ((done = llm_wait_any(c, 0)) != NULL) {
                ok &= report(done);
                llm_request_free(done);
            }
        if (what & LLM_WAIT_IDLE) break; /* nothing left in flight */
    }

    /* 2. callbacks */
    printf("\n> %s (again, through on_delta)\n", question);
    ask(c, question, on_delta);
    while ((r = llm_wait_any(c, -1)) != NULL) { /* deltas are printed by on_delta meanwhile */
        ok &= report(r);
        llm_request_free(r);
    }
    llm_client_free(c);
    return ok ? 0 : 1;
}
