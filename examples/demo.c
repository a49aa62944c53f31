/* demo: several questions at once, answers printed in completion order with
   their timings. Talks to OPENAI_BASE_URL with OPENAI_API_KEY (the real API
   when you set a key; `make demo` starts the local mock server otherwise).
   Model: $LLM_DEMO_MODEL, default gpt-4o-mini. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

static const char *questions[] = {
    "In one sentence: why is the sky blue?",
    "Name three prime numbers bigger than 100.",
    "Translate 'good morning' into French, Spanish and German.",
    "What is 17 * 23? Answer with the number only.",
    "Give a four-word motto for a small C library.",
};
/* Against the mock: a different simulated latency per question, so the
   answers come back in another order than they were asked. */
static const char *mock_latency[] = {
    "X-Mock: delay=900", "X-Mock: delay=300", "X-Mock: delay=1200", "X-Mock: delay=100", "X-Mock: delay=600",
};

int main(void) {
    enum { N = sizeof questions / sizeof questions[0] };
    const char *model = getenv("LLM_DEMO_MODEL") ? getenv("LLM_DEMO_MODEL") : "gpt-4o-mini";
    int mock = getenv("LLMASYNC_MOCK") != NULL, i, failed = 0;
    llm_message msgs[N];
    llm_client *c = llm_client_new(NULL);
    llm_request *r;
    if (!c) { fprintf(stderr, "demo: could not create a client\n"); return 1; }
    printf("llmasync %s demo: %d questions at once to %s%s\n\n", LLMASYNC_VERSION, N, model,
           mock ? " (the local mock server: no OPENAI_API_KEY set)" : "");
    memset(msgs, 0, sizeof msgs); /* every field, those added later too */
    for (i = 0; i < N; i++) {
        llm_chat_desc d = {0};
        msgs[i].role = "user";
        msgs[i].content = questions[i];
        d.model = model;
        d.messages = &msgs[i];
        d.n_messages = 1;
        d.max_tokens = 120;
        d.user_data = (void *)(intptr_t)(i + 1);
        if (mock) { d.headers = &mock_latency[i]; d.n_headers = 1; }
        llm_chat(c, &d); /* returns at once */
    }
    /* Answers arrive in completion order, not in the order asked. */
    while ((r = llm_wait_any(c, -1)) != NULL) {
        const llm_timings *t = llm_request_timings(r);
        int q = (int)(intptr_t)llm_request_user_data(r);
        printf("[%6.0f ms] Q%d: %s\n", t->total_ms, q, questions[q - 1]);
        if (llm_request_status(r) == LLM_DONE) {
            printf("            %s\n", llm_request_text(r, NULL));
            printf("            (%lld tokens in, %lld out, first byte after %.0f ms)\n\n",
                   (long long)llm_request_usage(r)->prompt_tokens, (long long)llm_request_usage(r)->completion_tokens,
                   t->first_byte_ms);
        } else {
            printf("            error: %s\n\n", llm_request_error(r)->message);
            failed++;
        }
        llm_request_free(r);
    }
    llm_client_free(c);
    return failed ? 1 : 0;
}
