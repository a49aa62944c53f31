/* evaluator: scores one text on several criteria at once. Each criterion is
   a request asking for JSON {"score": 1-10, "justification": "..."} through
   response_format (passed in extra_json); llm_request_content_json() gives
   the parsed answer, read in two calls. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

static const char *text = "llmasync lets a game talk to language models without ever dropping a frame: "
                          "requests run on curl's multi interface and the game polls once per frame.";
static const char *criteria[] = { "clarity", "accuracy", "concision", "tone", "persuasiveness" };
enum { N = sizeof criteria / sizeof criteria[0] };

static const char *schema =
    "{\"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"name\": \"score\", \"strict\": true,"
    " \"schema\": {\"type\": \"object\", \"additionalProperties\": false, \"required\": [\"score\", \"justification\"],"
    " \"properties\": {\"score\": {\"type\": \"integer\"}, \"justification\": {\"type\": \"string\"}}}}}}";

int main(void) {
    llm_client *c = llm_client_new(NULL);
    char prompts[N][512];
    llm_message msgs[N];
    llm_request *r;
    int i, scored = 0;
    double total = 0;
    if (!c) return 1;
    memset(msgs, 0, sizeof msgs); /* every field, those added later too */
    for (i = 0; i < N; i++) {
        llm_chat_desc d = { 0 };
        snprintf(prompts[i], sizeof prompts[i], "Score this text for %s from 1 to 10, with a one-sentence justification.\n\n%s",
                 criteria[i], text);
        msgs[i].role = "user";
        msgs[i].content = prompts[i];
        d.model = getenv("LLM_DEMO_MODEL") ? getenv("LLM_DEMO_MODEL") : "gpt-4o-mini";
        d.system = "You are a strict editor. Answer only with the JSON object asked for.";
        d.messages = &msgs[i];
        d.n_messages = 1;
        d.has_temperature = 1; /* temperature exactly 0 */
        d.extra_json = schema;
        d.user_data = (void *)criteria[i];
        llm_chat(c, &d);
    }
    while ((r = llm_wait_any(c, -1)) != NULL) {
        const llm_json_value *j = llm_request_content_json(r);
        int64_t score;
        const char *why = llm_json_string(llm_json_get(j, "justification"), NULL);
        if (llm_request_status(r) == LLM_DONE && llm_json_int64(llm_json_get(j, "score"), &score) && why) {
            printf("%-15s %2lld/10  %s\n", (const char *)llm_request_user_data(r), (long long)score, why);
            total += (double)score;
            scored++;
        } else {
            printf("%-15s  --    %s\n", (const char *)llm_request_user_data(r),
                   llm_request_status(r) == LLM_DONE ? "answer was not the JSON asked for" : llm_request_error(r)->message);
        }
        llm_request_free(r);
    }
    if (scored) printf("average over %d criteria: %.1f\n", scored, total / scored);
    llm_client_free(c);
    return scored == N ? 0 : 1;
}
