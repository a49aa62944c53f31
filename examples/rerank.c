/* rerank: a quest journal searched by meaning. The documents are ordered
   by relevance to the player's question through a registered provider
   (any server with POST /rerank: vLLM, Jina, Cohere v2, TEI). Against the
   mock (make test) the provider is the mock itself.
   Environment: LLM_RERANK_BASE_URL (default: OPENAI_BASE_URL),
   LLM_RERANK_API_KEY, LLM_RERANK_MODEL (default BAAI/bge-reranker-v2-m3). */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *journal[] = {
    "The blacksmith in Eastwatch needs iron ore from the northern mine.",
    "A merchant lost his cart near the river crossing.",
    "The northern mine is said to be haunted since the collapse.",
    "The innkeeper pays well for wolf pelts.",
    "Iron ore can also be bought from the dwarves of the eastern hills.",
};

int main(void) {
    enum { N = sizeof journal / sizeof journal[0] };
    const char *base = getenv("LLM_RERANK_BASE_URL") ? getenv("LLM_RERANK_BASE_URL") : getenv("OPENAI_BASE_URL");
    llm_provider_desc p;
    llm_client_desc cd;
    llm_rerank_desc d;
    llm_client *c;
    llm_request *r;
    char model[256];
    int i, ok;
    if (!base) { fprintf(stderr, "rerank: set LLM_RERANK_BASE_URL to a server with POST /rerank\n"); return 1; }
    memset(&p, 0, sizeof p);
    p.name = "ranker";
    p.api = LLM_API_OPENAI; /* rerank's wire shape rides on the OpenAI-compatible row */
    p.base_url = base;
    p.api_key = getenv("LLM_RERANK_API_KEY");
    memset(&cd, 0, sizeof cd);
    cd.providers = &p;
    cd.n_providers = 1;
    c = llm_client_new(&cd);
    if (!c) { fprintf(stderr, "rerank: could not create a client\n"); return 1; }
    memset(&d, 0, sizeof d);
    snprintf(model, sizeof model, "ranker/%s", getenv("LLM_RERANK_MODEL") ? getenv("LLM_RERANK_MODEL") : "BAAI/bge-reranker-v2-m3");
    d.model = model; /* "ranker/": the registered provider */
    d.query = "where do I get iron ore";
    d.documents = journal;
    d.n_documents = N;
    d.top_n = 3;
    r = llm_rerank(c, &d);
    while (llm_wait_any(c, -1) != NULL) {}
    ok = llm_request_status(r) == LLM_DONE;
    if (ok) {
        printf("\"%s\": the %d best of %d entries\n", d.query, llm_request_rank_count(r), N);
        for (i = 0; i < llm_request_rank_count(r); i++) {
            double score = 0;
            int k = llm_request_rank(r, i, &score);
            printf("  %.3f  %s\n", score, journal[k]);
        }
    } else {
        printf("rerank failed: %s\n", llm_request_error(r)->message);
    }
    llm_request_free(r);
    llm_client_free(c);
    return ok ? 0 : 1;
}
