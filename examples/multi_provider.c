/* multi_provider: the same question to several providers at once from one
   client and one loop; answers in completion order. The provider comes from
   the model string: "openai/...", "anthropic/...", "ollama/...", or a name
   the host registers (here "local", an OpenAI-compatible server such as
   vLLM or llama.cpp's, at $LOCAL_BASE_URL). A bare name uses OPENAI_BASE_URL.
   Keys: OPENAI_API_KEY, ANTHROPIC_API_KEY; OLLAMA_HOST for Ollama. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    const char *models[] = { "openai/gpt-4o-mini", "anthropic/claude-haiku-4-5", "ollama/llama3.2", "local/qwen2.5-7b-instruct" };
    enum { N = sizeof models / sizeof models[0] };
    const char *mock_latency[N] = { "X-Mock: delay=400", "X-Mock: delay=150", "X-Mock: delay=600", "X-Mock: delay=250" };
    llm_provider_desc local = { 0 };
    llm_client_desc cd = { 0 };
    llm_message q = { 0 };
    llm_client *c;
    llm_request *r;
    int i, failed = 0, mock = getenv("LLMASYNC_MOCK") != NULL;
    local.name = "local";
    local.base_url = getenv("LOCAL_BASE_URL") ? getenv("LOCAL_BASE_URL")
                   : getenv("OPENAI_BASE_URL") ? getenv("OPENAI_BASE_URL") : "http://127.0.0.1:8000/v1";
    cd.providers = &local;
    cd.n_providers = 1;
    c = llm_client_new(&cd);
    if (!c) return 1;
    q.role = "user";
    q.content = "In one sentence: what is a hash table?";
    for (i = 0; i < N; i++) {
        llm_chat_desc d = { 0 };
        d.model = models[i];
        d.messages = &q;
        d.n_messages = 1;
        d.max_tokens = 100; /* Anthropic requires it; it is sent to everyone */
        d.user_data = (void *)models[i];
        if (mock) { d.headers = &mock_latency[i]; d.n_headers = 1; }
        llm_chat(c, &d);
    }
    while ((r = llm_wait_any(c, -1)) != NULL) {
        const llm_usage *u = llm_request_usage(r);
        printf("[%5.0f ms] %-28s ", llm_request_timings(r)->total_ms, (const char *)llm_request_user_data(r));
        if (llm_request_status(r) == LLM_DONE)
            printf("%s  (%lld+%lld tokens)\n", llm_request_text(r, NULL), (long long)u->prompt_tokens, (long long)u->completion_tokens);
        else { printf("error: %s\n", llm_request_error(r)->message); failed++; }
        llm_request_free(r);
    }
    llm_client_free(c);
    return mock && failed ? 1 : 0;
}
