/* record_replay: a session recorded once, then replayed offline, the way a
   QA run or a CI job uses it. Run with no argument, it records three
   streamed questions (to OPENAI_BASE_URL, the real API or the mock) into a
   file, then replays them from the file with the network pointed nowhere,
   at the recorded pace, and checks every answer came back the same.

     record_replay                 record, then replay, then compare
     record_replay record FILE     record only (the API is asked)
     record_replay replay FILE     replay only (no network at all)

   Any program can do the same without a line of code:
     LLMASYNC_RECORD=session.jsonl ./game      # play once, online
     LLMASYNC_REPLAY=session.jsonl ./game      # the same answers, offline
   Model: $LLM_DEMO_MODEL, default gpt-4o-mini. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

enum { N = 3 };
static const char *questions[N] = {
    "The innkeeper greets the player. One sentence.",
    "The guard warns about the northern road. One sentence.",
    "The merchant names today's best bargain. One sentence.",
};

/* Asks the questions (streamed) and keeps each answer in out[i]. */
static int session(llm_client *c, char *out[N]) {
    const char *model = getenv("LLM_DEMO_MODEL") ? getenv("LLM_DEMO_MODEL") : "gpt-4o-mini";
    llm_message m[N];
    llm_request *r;
    int i, failed = 0;
    memset(m, 0, sizeof m);
    for (i = 0; i < N; i++) {
        llm_chat_desc d = {0};
        m[i].role = "user";
        m[i].content = questions[i];
        d.model = model;
        d.messages = &m[i];
        d.n_messages = 1;
        d.stream = 1;
        d.user_data = &out[i];
        llm_chat(c, &d);
    }
    while ((r = llm_wait_any(c, -1)) != NULL) {
        char **slot = (char **)llm_request_user_data(r);
        if (llm_request_status(r) == LLM_DONE) {
            const char *t = llm_request_text(r, NULL);
            const llm_timings *tm = llm_request_timings(r);
            *slot = (char *)malloc(strlen(t) + 1);
            if (*slot) strcpy(*slot, t);
            printf("  [%6.0f ms] %s\n", tm->total_ms, t);
        } else {
            printf("  failed: %s\n", llm_request_error(r)->message);
            failed++;
        }
        llm_request_free(r);
    }
    return failed;
}

static int run(const char *record, const char *replay, char *out[N]) {
    llm_client_desc cd = {0};
    llm_client *c;
    int failed;
    cd.record_path = record ? record : "";
    cd.replay_path = replay ? replay : "";
    cd.replay_paced = 1; /* the answers stream in as they did */
    if (replay) { /* prove it: nothing is reachable */
        cd.base_url = "http://127.0.0.1:9/v1";
        cd.api_key = "";
    }
    c = llm_client_new(&cd);
    if (!c) {
        fprintf(stderr, "record_replay: could not create a client (is the file there?)\n");
        return 1;
    }
    failed = session(c, out);
    llm_client_free(c);
    return failed;
}

int main(int argc, char **argv) {
    char *a[N] = { NULL }, *b[N] = { NULL };
    char path[256];
    int i, bad = 0;
    if (argc == 3 && !strcmp(argv[1], "record")) return run(argv[2], NULL, a) ? 1 : 0;
    if (argc == 3 && !strcmp(argv[1], "replay")) return run(NULL, argv[2], a) ? 1 : 0;
    if (argc != 1) {
        fprintf(stderr, "usage: record_replay [record FILE | replay FILE]\n");
        return 2;
    }
    snprintf(path, sizeof path, "%s/llmasync-session-%ld.jsonl", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)time(NULL));
    remove(path);
    printf("recording to %s:\n", path);
    bad = run(path, NULL, a);
    printf("replaying from it, offline:\n");
    bad += run(NULL, path, b);
    for (i = 0; i < N; i++)
        if (!a[i] || !b[i] || strcmp(a[i], b[i])) {
            printf("answer %d differs\n", i);
            bad++;
        }
    printf(bad ? "replay differs\n" : "replay identical: %d answers\n", N);
    for (i = 0; i < N; i++) { free(a[i]); free(b[i]); }
    remove(path);
    return bad ? 1 : 0;
}
