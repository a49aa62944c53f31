/* batch_embeddings: embeds thousands of texts with one call. llmasync splits
   them into requests of batch_size inputs that run concurrently under the
   client's max_concurrent, retries each batch on its own, and hands back one
   request whose vectors are in input order. Then finds each text's nearest
   neighbour by cosine similarity. Model: $EMBED_MODEL (text-embedding-3-small). */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define N 2000

static double cosine(const float *a, const float *b, int d) {
    double ab = 0, aa = 0, bb = 0;
    int i;
    for (i = 0; i < d; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0;
}

int main(void) {
    static char text[N][64];
    static const char *inputs[N];
    static const char *topics[] = { "weather", "football", "compilers", "cooking", "gardening" };
    llm_client_desc cd = { 0 };
    llm_embed_desc d = { 0 };
    llm_client *c;
    llm_request *r;
    int i, dim = 0, ok;
    cd.max_concurrent = 8;
    c = llm_client_new(&cd);
    if (!c) return 1;
    for (i = 0; i < N; i++) {
        snprintf(text[i], sizeof text[i], "note %d about %s", i, topics[i % 5]);
        inputs[i] = text[i];
    }
    d.model = getenv("EMBED_MODEL") ? getenv("EMBED_MODEL") : "text-embedding-3-small";
    d.inputs = inputs;
    d.n_inputs = N;
    d.batch_size = 250; /* 8 requests, all at once under max_concurrent = 8 */
    r = llm_embed(c, &d);
    while (llm_request_status(r) < LLM_DONE) llm_wait_any(c, 100); /* a loop would do its own work here */
    ok = llm_request_status(r) == LLM_DONE;
    if (ok) {
        const float *v0 = llm_request_embedding(r, 0, &dim);
        int best = -1;
        double best_sim = -2;
        for (i = 1; i < llm_request_embedding_count(r); i++) {
            double s = cosine(v0, llm_request_embedding(r, i, NULL), dim);
            if (s > best_sim) { best_sim = s; best = i; }
        }
        printf("%d vectors of %d dimensions in %.0f ms over %d HTTP requests; %lld tokens\n",
               llm_request_embedding_count(r), dim, llm_request_timings(r)->total_ms, llm_request_timings(r)->attempts,
               (long long)llm_request_usage(r)->prompt_tokens);
        printf("nearest to \"%s\": \"%s\" (cosine %.3f)\n", inputs[0], inputs[best], best_sim);
    } else {
        printf("error: %s\n", llm_request_error(r)->message);
    }
    llm_request_free(r);
    llm_client_free(c);
    return ok ? 0 : 1;
}
