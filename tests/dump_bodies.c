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
    if (r->ctype) { /* multipart: the boundary and the body in base64 (it may hold any byte) */
        static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const unsigned char *d = (const unsigned char *)r->body;
        size_t i, n = r->body_len;
        printf("multipart:%s\t%s\t", schema, strstr(r->ctype, "boundary=") + 9);
        for (i = 0; i < n; i += 3) {
            unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
            putchar(b64[v >> 18 & 63]);
            putchar(b64[v >> 12 & 63]);
            putchar(i + 1 < n ? b64[v >> 6 & 63] : '=');
            putchar(i + 2 < n ? b64[v & 63] : '=');
        }
        putchar('\n');
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
    llm_message one = { "user", "Hello \xC3\xA9 \"quoted\" \\ \n\t\x01", NULL, NULL, NULL, NULL, 0 };
    llm_message conv[5] = {
        { "developer", "Answer tersely.", NULL, NULL, NULL, NULL, 0 },
        { "user", "Weather in Paris?", "alice", NULL, NULL, NULL, 0 },
        { NULL, NULL, NULL, NULL,
          "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
          "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]}", NULL, 0 },
        { "tool", "{\"temp_c\":21}", NULL, "call_1", NULL, NULL, 0 },
        { "assistant", "21 degrees.", NULL, NULL, NULL, NULL, 0 },
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
            { "system", "Extra rule.", NULL, NULL, NULL, NULL, 0 },
            { "user", "Weather in Paris?", NULL, NULL, NULL, NULL, 0 },
            { NULL, NULL, NULL, NULL,
              "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{\"city\":\"Paris\"}}]}", NULL, 0 },
            { "tool", "21 C", NULL, "toolu_1", NULL, NULL, 0 },
        };
        MODEL = "anthropic/claude-sonnet-4-5";
        SCHEMA = "anthropic.Messages";
        chat(&one, 1, NULL, 0, 0, 0, 0, NULL);
        chat(&one, 1, "Be brief.", 100, 0, 1, 1, NULL);
        chat(an, 4, "Be brief.", 0, 0.5, 0, 1, "{\"tools\":[{\"name\":\"get_weather\",\"input_schema\":{\"type\":\"object\"}}]}");
    }
    { /* images and n > 1 (OpenAI), images (Anthropic) */
        static const unsigned char png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R' };
        llm_image im[2];
        llm_message vm = { "user", "What is in these images?", NULL, NULL, NULL, NULL, 2 };
        memset(im, 0, sizeof im);
        im[0].url = "https://example.com/cat.png";
        im[0].detail = "low";
        im[1].data = png;
        im[1].len = sizeof png;
        vm.images = im;
        MODEL = "gpt-4o-mini";
        SCHEMA = "CreateChatCompletionRequest";
        chat(&vm, 1, NULL, 0, 0, 0, 0, NULL);
        {
            llm_chat_desc d;
            memset(&d, 0, sizeof d);
            d.model = MODEL;
            d.messages = &one;
            d.n_messages = 1;
            d.n = 3;
            out(SCHEMA, llm_chat(C, &d));
        }
        MODEL = "anthropic/claude-sonnet-4-5";
        SCHEMA = "anthropic.Messages";
        chat(&vm, 1, NULL, 0, 0, 0, 0, NULL);
        MODEL = "gpt-4o-mini";
    }
    { /* the Responses API */
        llm_responses_desc rd;
        llm_message items[3] = {
            { "user", "Weather in Paris?", NULL, NULL, NULL, NULL, 0 },
            { NULL, NULL, NULL, NULL, "{\"type\":\"function_call\",\"call_id\":\"call_1\",\"name\":\"get_weather\",\"arguments\":\"{}\"}", NULL, 0 },
            { "tool", "{\"temp_c\":21}", NULL, "call_1", NULL, NULL, 0 },
        };
        memset(&rd, 0, sizeof rd);
        rd.model = "gpt-4o-mini";
        rd.input = "Say hi.";
        out("CreateResponse", llm_responses(C, &rd));
        rd.instructions = "Be brief.";
        rd.max_output_tokens = 100;
        rd.temperature = 0.5;
        rd.store = -1;
        rd.stream = 1;
        rd.reasoning_effort = "low";
        rd.previous_response_id = "resp_123";
        out("CreateResponse", llm_responses(C, &rd));
        memset(&rd, 0, sizeof rd);
        rd.model = "gpt-4o-mini";
        rd.messages = items;
        rd.n_messages = 3;
        rd.tools_json = "[{\"type\":\"function\",\"name\":\"get_weather\",\"strict\":false,\"parameters\":{\"type\":\"object\",\"properties\":{}}}]";
        out("CreateResponse", llm_responses(C, &rd));
    }
    { /* audio */
        llm_speech_desc sd;
        llm_audio_desc ad;
        static const unsigned char wav[] = { 'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'A', 'V', 'E', '-', '-', 0, 1, 2 };
        memset(&sd, 0, sizeof sd);
        sd.model = "gpt-4o-mini-tts";
        sd.input = "Hello there.";
        sd.voice = "alloy";
        out("CreateSpeechRequest", llm_speech(C, &sd));
        sd.format = "pcm";
        sd.speed = 1.25;
        sd.instructions = "Cheerful.";
        out("CreateSpeechRequest", llm_speech(C, &sd));
        memset(&ad, 0, sizeof ad);
        ad.model = "whisper-1";
        ad.audio = wav;
        ad.audio_len = sizeof wav;
        out("CreateTranscriptionRequest", llm_transcribe(C, &ad));
        ad.model = "gpt-4o-transcribe";
        ad.language = "fr";
        ad.prompt = "A talk about cats.";
        ad.response_format = "json";
        ad.temperature = 0.2;
        ad.stream = 1;
        ad.filename = "talk.mp3";
        out("CreateTranscriptionRequest", llm_transcribe(C, &ad));
        ad.stream = 0;
        ad.response_format = "verbose_json";
        ad.timestamp_granularities = "word,segment";
        out("CreateTranscriptionRequest", llm_transcribe(C, &ad));
        memset(&ad, 0, sizeof ad);
        ad.model = "whisper-1";
        ad.audio = wav;
        ad.audio_len = sizeof wav;
        ad.response_format = "text";
        out("CreateTranslationRequest", llm_translate(C, &ad));
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
