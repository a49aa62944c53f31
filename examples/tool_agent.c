/* tool_agent: several agents hold tool-calling conversations at once, all
   driven from one loop. Each turn is a request; when the model asks for
   tools the host runs them and sends the answers back as the next turn, and
   the other agents keep moving meanwhile. Against the real API
   (OPENAI_API_KEY) the model picks the tools; against the mock server
   (LLMASYNC_MOCK) the first turn asks for a tool call through a directive.
   Model: $LLM_DEMO_MODEL, default gpt-4o-mini. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *tools_json =
    "{\"tools\": ["
    "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\","
    " \"description\": \"Current weather of a city\","
    " \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}},"
    " \"required\": [\"city\"]}}},"
    "{\"type\": \"function\", \"function\": {\"name\": \"local_time\","
    " \"description\": \"Local time of a city\","
    " \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}},"
    " \"required\": [\"city\"]}}}]}";

static const char *questions[] = {
    "What is the weather in Paris right now?",
    "Is it warmer in Lisbon or in Oslo at the moment?",
    "What time is it in Tokyo, and is it raining there?",
};
enum { AGENTS = sizeof questions / sizeof questions[0], MAX_MSGS = 24, MAX_TURNS = 4 };

/* One conversation: the messages so far and the strings they point to. */
typedef struct agent {
    const char *question;
    llm_message msgs[MAX_MSGS];
    char *owned[2 * MAX_MSGS]; /* strings this agent allocated (raw_json, tool results, call ids) */
    int n_msgs, n_owned, turns, tool_calls;
} agent;

static char *dup_n(const char *s, size_t n) {
    char *p = (char *)malloc(n + 1);
    if (p) { memcpy(p, s, n); p[n] = 0; }
    return p;
}

/* The tools: a real agent would call a service; these answer from a table. */
static char *run_tool(const char *name, const llm_json_value *args) {
    static const struct { const char *city; int celsius; const char *sky; int utc_offset; } t[] = {
        { "Paris", 14, "light rain", 1 }, { "Lisbon", 19, "sunny", 0 },
        { "Oslo", 3, "snow", 1 },         { "Tokyo", 11, "clear", 9 },
    };
    const char *city = llm_json_string(llm_json_get(args, "city"), NULL);
    char out[160];
    size_t i;
    for (i = 0; city && i < sizeof t / sizeof t[0]; i++) {
        if (strcmp(t[i].city, city) != 0) continue;
        if (!strcmp(name, "get_weather"))
            snprintf(out, sizeof out, "{\"city\": \"%s\", \"celsius\": %d, \"sky\": \"%s\"}", t[i].city, t[i].celsius, t[i].sky);
        else
            snprintf(out, sizeof out, "{\"city\": \"%s\", \"utc_offset_hours\": %d}", t[i].city, t[i].utc_offset);
        return dup_n(out, strlen(out));
    }
    snprintf(out, sizeof out, "{\"error\": \"unknown tool or city\"}");
    return dup_n(out, strlen(out));
}

static int add_msg(agent *a, const char *role, const char *content, const char *tool_call_id, char *raw_json) {
    llm_message *m;
    if (a->n_msgs == MAX_MSGS) return 0;
    m = &a->msgs[a->n_msgs++];
    memset(m, 0, sizeof *m);
    m->role = role;
    m->content = content;
    m->tool_call_id = tool_call_id;
    m->raw_json = raw_json;
    return 1;
}

static llm_request *next_turn(llm_client *c, agent *a) {
    static const char *mock_tools[] = { "X-Mock: tools=1", "X-Mock: tools=2" };
    llm_chat_desc d;
    memset(&d, 0, sizeof d);
    d.model = getenv("LLM_DEMO_MODEL") ? getenv("LLM_DEMO_MODEL") : "gpt-4o-mini";
    d.system = "Answer in one sentence. Use the tools for weather and time.";
    d.messages = a->msgs;
    d.n_messages = a->n_msgs;
    d.extra_json = tools_json;
    d.user_data = a;
    if (getenv("LLMASYNC_MOCK") && a->turns == 0) { /* the mock: one or two calls on the first turn */
        d.headers = &mock_tools[strlen(a->question) % 2];
        d.n_headers = 1;
    }
    a->turns++;
    return llm_chat(c, &d); /* the desc and the messages are copied */
}

/* The model asked for tools: its message goes into the conversation as it
   came (raw_json), then one "tool" message per call with the result. */
static int answer_tools(agent *a, int id, llm_request *r) {
    const llm_tool_call *tc;
    llm_json_writer w;
    const char *text;
    size_t len;
    int i, ok = 1;
    llm_jw_init(&w, NULL);
    llm_jw_object_begin(&w);
    llm_jw_key(&w, "role");
    llm_jw_string(&w, "assistant");
    llm_jw_key(&w, "content");
    llm_jw_null(&w);
    llm_jw_key(&w, "tool_calls");
    llm_jw_array_begin(&w);
    for (i = 0; (tc = llm_request_tool_call(r, i)) != NULL; i++) {
        llm_jw_object_begin(&w);
        llm_jw_key(&w, "id");
        llm_jw_string(&w, tc->id);
        llm_jw_key(&w, "type");
        llm_jw_string(&w, "function");
        llm_jw_key(&w, "function");
        llm_jw_object_begin(&w);
        llm_jw_key(&w, "name");
        llm_jw_string(&w, tc->name);
        llm_jw_key(&w, "arguments");
        llm_jw_string_n(&w, tc->arguments, tc->arguments_len);
        llm_jw_object_end(&w);
        llm_jw_object_end(&w);
    }
    llm_jw_array_end(&w);
    llm_jw_object_end(&w);
    text = llm_jw_text(&w, &len);
    if (!text || a->n_owned == 2 * MAX_MSGS) ok = 0;
    else {
        a->owned[a->n_owned] = dup_n(text, len);
        ok = a->owned[a->n_owned] && add_msg(a, "assistant", NULL, NULL, a->owned[a->n_owned]);
        a->n_owned++;
    }
    llm_jw_free(&w);
    for (i = 0; ok && (tc = llm_request_tool_call(r, i)) != NULL; i++) {
        /* the conversation outlives r: keep copies of the result and the id */
        char *result = run_tool(tc->name, tc->arguments_json), *call_id = dup_n(tc->id, strlen(tc->id));
        a->tool_calls++;
        printf("  agent %d: %s(%.*s) -> %s\n", id, tc->name, (int)tc->arguments_len, tc->arguments,
               result ? result : "(no memory)");
        if (!result || !call_id || a->n_owned + 2 > 2 * MAX_MSGS) { free(result); free(call_id); ok = 0; break; }
        a->owned[a->n_owned++] = result;
        a->owned[a->n_owned++] = call_id;
        ok = add_msg(a, "tool", result, call_id, NULL);
    }
    return ok;
}

int main(void) {
    agent agents[AGENTS];
    llm_client *c = llm_client_new(NULL);
    llm_request *r;
    int i, failed = 0, answered = 0;
    if (!c) { fprintf(stderr, "tool_agent: could not create a client\n"); return 1; }
    memset(agents, 0, sizeof agents);
    for (i = 0; i < AGENTS; i++) {
        agents[i].question = questions[i];
        add_msg(&agents[i], "user", questions[i], NULL, NULL);
        next_turn(c, &agents[i]);
    }
    while ((r = llm_wait_any(c, -1)) != NULL) {
        agent *a = (agent *)llm_request_user_data(r);
        int id = (int)(a - agents);
        if (llm_request_status(r) != LLM_DONE) {
            printf("agent %d: failed: %s\n", id, llm_request_error(r)->message);
            failed++;
        } else if (llm_request_tool_call(r, 0)) {
            printf("agent %d, turn %d: the model asks for %d tool call(s)\n", id, a->turns, llm_request_tool_call_count(r));
            if (a->turns >= MAX_TURNS) { printf("agent %d: gave up after %d turns\n", id, a->turns); failed++; }
            else if (!answer_tools(a, id, r)) { printf("agent %d: no room for the conversation\n", id); failed++; }
            else next_turn(c, a); /* the other agents keep moving meanwhile */
        } else {
            printf("agent %d (%d turns, %d tool calls): %s\n    -> %s\n", id, a->turns, a->tool_calls, a->question,
                   llm_request_text(r, NULL));
            answered++;
        }
        llm_request_free(r);
    }
    for (i = 0; i < AGENTS; i++) {
        int k;
        for (k = 0; k < agents[i].n_owned; k++) free(agents[i].owned[k]);
    }
    llm_client_free(c);
    printf("%d of %d agents answered\n", answered, AGENTS);
    return failed || answered != AGENTS;
}
