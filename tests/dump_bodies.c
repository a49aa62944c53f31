/* Prints the request bodies llmasync builds for a range of descs, one per
   line as "<schema>\t<json>", for validate_openapi.py to check against the
   official OpenAI OpenAPI description. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include <stdio.h>
#include <string.h>

static llm_client *C;
static void out(const char *schema, llm_request *r) {
    if (!r || !r->body || r->status == LLM_FAILED) {
        fprintf(stderr, "dump_bodies: a request failed: %s\n", r ? r->o.err.message : "NULL");
        printf("ERROR\t{}\n");
        return;
    }
    printf("%s\t%s\n", schema, r->body);
}
static const char *MODEL = "gpt-4o-mini", *SCHEMA = "CreateChatCompletionRequest";
static void chat(const llm_message *m, int n, const char *system, int max_tokens, double temp, int has_temp,
                 int stream, const char *extra) {
    llm_chat_desc d;
    memset(&d, 0, sizeof d);
    d.model = MODEL;
    d.messages = m;
    d.n_messages = n;
    d.system = system;
    d.max_tokens = max_tokens;
    d.temperature = temp;
    d.has_temperature = has_temp;
    d.stream = stream;
    d.extra_json = extra;
    out(SCHEMA, llm_chat(C, &d));
}

int main(void) {
    llm_client_desc cd;
    llm_message one = { "user", "Hello \xC3\xA9 \"quoted\" \\ \n\t\x01", NULL, NULL, NULL };
    llm_message conv[5] = {
        { "developer", "Answer tersely.", NULL, NULL, NULL },
        { "user", "Weather in Paris?", "alice", NULL, NULL },
        { NULL, NULL, NULL, NULL,
          "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
          "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]}" },
        { "tool", "{\"temp_c\":21}", NULL, "call_1", NULL },
        { "assistant", "21 degrees.", NULL, NULL, NULL },
    };
    const char *inputs[3] = { "first", "second \xE4\xBD\xA0", "third" };
    llm_embed_desc e;
    memset(&cd, 0, sizeof cd);
    cd.base_url = "http://127.0.0.1:9/v1";
    cd.api_key = "k";
    C = llm_client_new(&cd);
    chat(&one, 1, NULL, 0, 0, 0, 0, NULL);
    chat(&one, 1, "Be brief.", 100, 0, 1, 0, NULL);
    chat(&one, 1, "Be brief.", 100, 0.7, 0, 1, NULL);
    chat(conv, 5, NULL, 64, 1.5, 0, 1, NULL);
    chat(&one, 1, NULL, 0, 0, 0, 0,
         "{\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather\","
         "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}}],"
         "\"tool_choice\":\"auto\",\"seed\":7,\"top_p\":0.9}");
    chat(&one, 1, NULL, 200, 0, 1, 0,
         "{\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"score\",\"strict\":true,"
         "\"schema\":{\"type\":\"object\",\"properties\":{\"score\":{\"type\":\"integer\"},\"justification\":{\"type\":\"string\"}},"
         "\"required\":[\"score\",\"justification\"],\"additionalProperties\":false}}}}");
    chat(&one, 1, NULL, 0, 0, 0, 1, "{\"response_format\":{\"type\":\"json_object\"},\"stream_options\":{\"include_usage\":false}}");
    { /* Anthropic: the documented Messages shape */
        llm_message an[4] = {
            { "system", "Extra rule.", NULL, NULL, NULL },
            { "user", "Weather in Paris?", NULL, NULL, NULL },
            { NULL, NULL, NULL, NULL,
              "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{\"city\":\"Paris\"}}]}" },
            { "tool", "21 C", NULL, "toolu_1", NULL },
        };
        MODEL = "anthropic/claude-sonnet-4-5";
        SCHEMA = "anthropic.Messages";
        chat(&one, 1, NULL, 0, 0, 0, 0, NULL);
        chat(&one, 1, "Be brief.", 100, 0, 1, 1, NULL);
        chat(an, 4, "Be brief.", 0, 0.5, 0, 1, "{\"tools\":[{\"name\":\"get_weather\",\"input_schema\":{\"type\":\"object\"}}]}");
    }
    memset(&e, 0, sizeof e);
    e.model = "text-embedding-3-small";
    e.inputs = inputs;
    e.n_inputs = 3;
    out("CreateEmbeddingRequest", llm_embed(C, &e));
    e.dimensions = 256;
    e.n_inputs = 1;
    out("CreateEmbeddingRequest", llm_embed(C, &e));
    llm_client_free(C);
    return 0;
}
