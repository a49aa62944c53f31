/* npc_dialogue: three characters answer the player at once, each as JSON
   {"say": ..., "emotion": ..., "action": ...}. The game speaks each line
   while it arrives and sets a face or a gesture the moment that field is
   whole: structured output read as it streams, from the game's own loop.
   usage: npc_dialogue ["the player's question"]
   Uses OPENAI_BASE_URL / OPENAI_API_KEY; model $LLM_DEMO_MODEL (gpt-4o-mini).

   Each frame: llm_request_partial_json(r) gives the answer so far as a JSON
   document. "say" is there as soon as it starts, holding its text so far
   (it only grows); llm_json_complete(doc, v) says when a field is final.
   The frame's spare time is spent in llm_wait(c, ms), which returns early
   when text arrives. The spoken text is checked against the final answer:
   the program exits non-zero if a single byte differs. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPCS 3

typedef struct npc {
    const char *name;
    llm_request *r;
    size_t spoken;          /* bytes of "say" already voiced */
    char voiced[2048];      /* what was voiced, to check against the answer */
    char face[32], gesture[32];
    int over;               /* collected */
} npc;

/* The schema the model must follow (OpenAI structured outputs). */
static const char *npc_format =
    "{\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"npc_line\",\"strict\":true,"
    "\"schema\":{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"say\",\"emotion\",\"action\"],"
    "\"properties\":{\"say\":{\"type\":\"string\"},"
    "\"emotion\":{\"type\":\"string\",\"enum\":[\"curious\",\"wary\",\"cheerful\"]},"
    "\"action\":{\"type\":\"string\"}}}}}}";

static llm_request *ask(llm_client *c, const char *who, const char *question, int pace_ms) {
    char system[200], mock[64];
    const char *hdr = mock;
    llm_message m[2];
    llm_chat_desc d;
    memset(m, 0, sizeof m);
    memset(&d, 0, sizeof d);
    snprintf(system, sizeof system,
             "You are %s, a character in a fantasy village. Answer in one or two sentences, as JSON.", who);
    m[0].role = "system";
    m[0].content = system;
    m[1].role = "user";
    m[1].content = question;
    d.model = getenv("LLM_DEMO_MODEL") ? getenv("LLM_DEMO_MODEL") : "gpt-4o-mini";
    d.messages = m;
    d.n_messages = 2;
    d.stream = 1;
    d.extra_json = npc_format;
    snprintf(mock, sizeof mock, "X-Mock: npc=1 pace=%d", pace_ms); /* the mock's NPC line, paced */
    if (getenv("LLMASYNC_MOCK")) { d.headers = &hdr; d.n_headers = 1; }
    return llm_chat(c, &d);
}

/* A whole string field, once: copy it and say so. */
static int field_once(const llm_json_value *doc, const char *key, char *dst, size_t cap) {
    const llm_json_value *v = llm_json_get(doc, key);
    size_t n;
    const char *s;
    if (dst[0] || !v || !llm_json_complete(doc, v) || !(s = llm_json_string(v, &n))) return 0;
    snprintf(dst, cap, "%.*s", (int)n, s);
    return 1;
}

/* One frame's worth of an NPC: voice the new words, show what became whole. */
static void animate(npc *p) {
    const llm_json_value *doc = llm_request_partial_json(p->r);
    const llm_json_value *say = llm_json_get(doc, "say");
    if (say && say->type == LLM_JSON_STRING && say->len > p->spoken) {
        size_t add = say->len - p->spoken;
        printf("  %-6s voices \"%.*s\"\n", p->name, (int)add, say->str + p->spoken);
        if (p->spoken + add < sizeof p->voiced) memcpy(p->voiced + p->spoken, say->str + p->spoken, add);
        p->spoken = say->len;
    }
    if (field_once(doc, "emotion", p->face, sizeof p->face)) printf("  %-6s looks %s\n", p->name, p->face);
    if (field_once(doc, "action", p->gesture, sizeof p->gesture)) printf("  %-6s %s\n", p->name, p->gesture);
}

int main(int argc, char **argv) {
    const char *question = argc > 1 ? argv[1] : "Where can I sleep tonight?";
    static const char *const names[NPCS] = { "Bram", "Ilse", "Osric" };
    static npc npcs[NPCS];
    llm_client *c = llm_client_new(NULL);
    int i, left = NPCS, ok = 1, frames = 0;
    if (!c) return 1;
    for (i = 0; i < NPCS; i++) npcs[i].name = names[i];
    printf("player: %s\n", question);
    for (i = 0; i < NPCS; i++) npcs[i].r = ask(c, npcs[i].name, question, 30 + 25 * i);
    while (left > 0 && frames < 60 * 120) {
        llm_request *r;
        llm_wait(c, 16); /* the rest of this frame: returns early when text came */
        frames++;
        for (i = 0; i < NPCS; i++)
            if (!npcs[i].over) animate(&npcs[i]);
        while ((r = llm_wait_any(c, 0)) != NULL) { /* whoever finished this frame */
            for (i = 0; i < NPCS && npcs[i].r != r; i++) {}
            if (i == NPCS) continue;
            npcs[i].over = 1;
            left--;
            if (llm_request_status(r) == LLM_DONE) {
                const llm_json_value *doc = llm_request_partial_json(r); /* now the whole answer */
                size_t n = 0;
                const char *say = llm_json_string(llm_json_get(doc, "say"), &n);
                animate(&npcs[i]); /* the last words and fields */
                if (!say || n != npcs[i].spoken || n >= sizeof npcs[i].voiced || memcmp(say, npcs[i].voiced, n)) {
                    printf("  %-6s: the voiced line (%lu bytes) is not the answer's (%lu bytes)\n", npcs[i].name,
                           (unsigned long)npcs[i].spoken, (unsigned long)n);
                    ok = 0;
                }
                printf("%s (%s, %s): %.*s\n", npcs[i].name, npcs[i].face[0] ? npcs[i].face : "?",
                       npcs[i].gesture[0] ? npcs[i].gesture : "?", (int)n, say ? say : "");
            } else {
                printf("%s is silent: %s\n", npcs[i].name, llm_request_error(r)->message);
                ok = 0;
            }
        }
    }
    printf("%d frames\n", frames);
    llm_client_free(c);
    return ok && left == 0 ? 0 : 1;
}
