/* stream_chat: prints an answer token by token as it arrives.
   usage: stream_chat ["your question"]
   Uses OPENAI_BASE_URL / OPENAI_API_KEY; model $LLM_DEMO_MODEL (gpt-4o-mini). */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include <stdio.h>
#include <stdlib.h>

/* Called only from inside llm_wait_any / llm_poll, on this thread. */
static void on_delta(llm_request *r, const char *text, size_t len, void *user_data) {
    (void)r;
    (void)user_data;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
}

int main(int argc, char **argv) {
    const char *question = argc > 1 ? argv[1] : "Write a haiku about a frame budget.";
    const char *mock_pace = "X-Mock: pace=80"; /* the mock echoes the question, a word every 80 ms */
    llm_client *c = llm_client_new(NULL);
    llm_message m = { 0 };
    llm_chat_desc d = { 0 };
    llm_request *r;
    const llm_timings *t;
    int ok;
    if (!c) return 1;
    m.role = "user";
    m.content = question;
    d.model = getenv("LLM_DEMO_MODEL") ? getenv("LLM_DEMO_MODEL") : "gpt-4o-mini";
    d.messages = &m;
    d.n_messages = 1;
    d.stream = 1;
    d.on_delta = on_delta;
    if (getenv("LLMASYNC_MOCK")) { d.headers = &mock_pace; d.n_headers = 1; }
    printf("> %s\n", question);
    llm_chat(c, &d);
    r = llm_wait_any(c, -1); /* deltas are printed by on_delta meanwhile */
    t = llm_request_timings(r);
    ok = llm_request_status(r) == LLM_DONE;
    if (ok)
        printf("\n[first token after %.0f ms, done after %.0f ms, %lld tokens, finish: %s]\n", t->first_token_ms,
               t->total_ms, (long long)llm_request_usage(r)->completion_tokens, llm_request_finish_reason(r));
    else
        printf("\nerror: %s\n", llm_request_error(r)->message);
    llm_request_free(r);
    llm_client_free(c);
    return ok ? 0 : 1;
}
