/* responses_chat: the Responses API. A streamed answer printed as it
   arrives, then a follow-up that continues the stored conversation with
   previous_response_id, then a function call assembled from its events.
   Talks to OPENAI_BASE_URL with OPENAI_API_KEY (the mock under make test).
   Model: $LLM_DEMO_MODEL, default gpt-4.1-mini. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_delta(llm_request *r, const char *d, size_t n, void *ud) {
    (void)r;
    (void)ud;
    fwrite(d, 1, n, stdout);
    fflush(stdout);
}

/* Waits for r (others keep moving) and says how it ended; 1 when done. */
static int finish(llm_client *c, llm_request *r, const char *what) {
    llm_request *got;
    while ((got = llm_wait_any(c, -1)) != NULL && got != r) {}
    if (llm_request_status(r) != LLM_DONE) {
        printf("\n%s failed: %s\n", what, llm_request_error(r)->message);
        return 0;
    }
    printf("\n  [%s: status %s, %lld output tokens, id %s]\n", what, llm_request_finish_reason(r),
           (long long)llm_request_usage(r)->completion_tokens, llm_request_id(r));
    return 1;
}

int main(void) {
    const char *model = getenv("LLM_DEMO_MODEL") ? getenv("LLM_DEMO_MODEL") : "gpt-4.1-mini";
    llm_client *c = llm_client_new(NULL);
    llm_responses_desc d;
    llm_request *first, *second, *third;
    char id[128];
    int ok, i;
    if (!c) { fprintf(stderr, "responses_chat: could not create a client\n"); return 1; }

    memset(&d, 0, sizeof d);
    d.model = model;
    d.instructions = "You are the narrator of a text adventure. Two sentences at most.";
    d.input = "Describe the tavern the player just entered.";
    d.stream = 1;
    d.store = 1;
    d.on_delta = print_delta;
    printf("narrator: ");
    first = llm_responses(c, &d);
    ok = finish(c, first, "first turn");
    snprintf(id, sizeof id, "%s", llm_request_id(first));
    llm_request_free(first);
    if (!ok) { llm_client_free(c); return 1; }

    /* the server keeps the conversation: only the new input goes out */
    memset(&d, 0, sizeof d);
    d.model = model;
    d.input = "The player orders a drink. What happens?";
    d.previous_response_id = id;
    d.stream = 1;
    d.on_delta = print_delta;
    printf("narrator: ");
    second = llm_responses(c, &d);
    ok = finish(c, second, "follow-up");
    llm_request_free(second);

    /* a tool the model may call: its arguments arrive assembled */
    memset(&d, 0, sizeof d);
    d.model = model;
    d.input = getenv("LLMASYNC_MOCK") ? "roll the dice [[tools=1]]" : "Roll a 20-sided die for the player's perception check.";
    d.tools_json = "[{\"type\":\"function\",\"name\":\"roll_dice\",\"description\":\"Roll dice\","
                   "\"parameters\":{\"type\":\"object\",\"properties\":{\"sides\":{\"type\":\"integer\"}},"
                   "\"required\":[\"sides\"]}}]";
    third = llm_responses(c, &d);
    if (ok && finish(c, third, "tool turn"))
        for (i = 0; i < llm_request_tool_call_count(third); i++) {
            const llm_tool_call *tc = llm_request_tool_call(third, i);
            printf("  the model calls %s(%s) [call id %s]\n", tc->name, tc->arguments, tc->id);
        }
    else
        ok = 0;
    llm_request_free(third);
    llm_client_free(c);
    return ok ? 0 : 1;
}
