/* vision: the game shows the model what the player sees. One screenshot
   (here a tiny 4x4 PNG made for this example; in a game, the frame you
   captured and encoded) sent as bytes to three providers at once, plus an
   image by URL: OpenAI-compatible image_url parts, Anthropic image blocks,
   Ollama images, each in its own wire shape. Against the mock (make test)
   the mock checks every image and answers; with keys, the real APIs.
   Models: $LLM_VISION_MODEL (gpt-4o-mini), $LLM_VISION_ANTHROPIC
   (claude-sonnet-4-5), $LLM_VISION_OLLAMA (llava). */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A 4x4 RGB PNG (a colour gradient), written by this project. */
static const unsigned char screenshot[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d,
    0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04,
    0x08, 0x02, 0x00, 0x00, 0x00, 0x26, 0x93, 0x09, 0x29, 0x00, 0x00, 0x00,
    0x29, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x0d, 0xc7, 0x31, 0x01, 0x00,
    0x00, 0x0c, 0xc2, 0x30, 0x84, 0x55, 0x18, 0x72, 0x2a, 0x02, 0x81, 0x5b,
    0xbe, 0x24, 0x91, 0xd8, 0xb8, 0x98, 0x20, 0x58, 0x1c, 0x9f, 0x4a, 0x6d,
    0x5d, 0x3f, 0x93, 0xd9, 0xb9, 0x79, 0xd9, 0x63, 0x15, 0x41, 0xda, 0x1c,
    0xf7, 0xc3, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42,
    0x60, 0x82,};

static const char *env_or(const char *name, const char *def) { return getenv(name) ? getenv(name) : def; }

int main(void) {
    enum { N = 4 };
    char models[N][128];
    const char *who[N] = { "openai", "anthropic", "ollama", "openai, by URL" };
    llm_client *c = llm_client_new(NULL);
    llm_request *r;
    int i, failed = 0, mock = getenv("LLMASYNC_MOCK") != NULL;
    if (!c) { fprintf(stderr, "vision: could not create a client\n"); return 1; }
    snprintf(models[0], sizeof models[0], "%s", env_or("LLM_VISION_MODEL", "gpt-4o-mini"));
    snprintf(models[1], sizeof models[1], "anthropic/%s", env_or("LLM_VISION_ANTHROPIC", "claude-sonnet-4-5"));
    snprintf(models[2], sizeof models[2], "ollama/%s", env_or("LLM_VISION_OLLAMA", "llava"));
    snprintf(models[3], sizeof models[3], "%s", env_or("LLM_VISION_MODEL", "gpt-4o-mini"));
    for (i = 0; i < N; i++) {
        static llm_message m[N];
        static llm_image im[N];
        llm_chat_desc d;
        if (!mock && i > 0 && i < 3) continue; /* other providers: only when the mock stands in */
        memset(&im[i], 0, sizeof im[i]);
        if (i < 3) {
            im[i].data = screenshot; /* copied and base64-encoded by the library */
            im[i].len = sizeof screenshot; /* the type is read from the bytes: image/png */
        } else {
            im[i].url = "https://upload.wikimedia.org/wikipedia/commons/4/47/PNG_transparency_demonstration_1.png";
            im[i].detail = "low";
        }
        memset(&m[i], 0, sizeof m[i]);
        m[i].role = "user";
        m[i].content = "What colours dominate this picture? One short sentence.";
        m[i].images = &im[i];
        m[i].n_images = 1;
        memset(&d, 0, sizeof d);
        d.model = models[i];
        d.messages = &m[i];
        d.n_messages = 1;
        d.user_data = (void *)who[i];
        llm_chat(c, &d);
    }
    while ((r = llm_wait_any(c, -1)) != NULL) {
        const char *name = (const char *)llm_request_user_data(r);
        if (llm_request_status(r) == LLM_DONE) {
            printf("%-16s %s\n", name, llm_request_text(r, NULL));
        } else {
            printf("%-16s failed: %s\n", name, llm_request_error(r)->message);
            failed++;
        }
        llm_request_free(r);
    }
    llm_client_free(c);
    return failed ? 1 : 0;
}
