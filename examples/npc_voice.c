/* npc_voice: an NPC's line spoken by text-to-speech, the audio written to
   a file while it is still arriving (a game would hand each piece to its
   mixer), with the time to the first audio byte. Format pcm (24 kHz,
   16-bit mono, little-endian: OpenAI's raw PCM) wrapped in a WAV header
   once the length is known. Talks to OPENAI_BASE_URL with OPENAI_API_KEY
   (the mock under make test, which sends made-up bytes).
   Usage: npc_voice [OUT.wav] (default: a file in the temporary directory,
   removed at the end). */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sink {
    FILE *f;
    size_t bytes;
    int pieces;
} sink;

static void on_audio(llm_request *r, const void *data, size_t len, void *ud) {
    sink *s = (sink *)ud;
    if (s->pieces++ == 0)
        printf("first audio after %.1f ms\n", llm_request_timings(r)->first_byte_ms);
    fwrite(data, 1, len, s->f); /* a game: queue to the audio device */
    s->bytes += len;
}

static void put32(unsigned char *p, unsigned long v) {
    p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}

/* The 44-byte WAV header for len bytes of 24 kHz 16-bit mono PCM. */
static void wav_header(unsigned char h[44], unsigned long len) {
    memcpy(h, "RIFF", 4); put32(h + 4, 36 + len); memcpy(h + 8, "WAVEfmt ", 8);
    put32(h + 16, 16); h[20] = 1; h[21] = 0; h[22] = 1; h[23] = 0; /* PCM, mono */
    put32(h + 24, 24000); put32(h + 28, 48000); h[32] = 2; h[33] = 0; h[34] = 16; h[35] = 0;
    memcpy(h + 36, "data", 4); put32(h + 40, len);
}

int main(int argc, char **argv) {
    const char *mock_pace[1] = { "X-Mock: audio_bytes=96000 chunk_bytes=4800 pace=20" };
    llm_client *c = llm_client_new(NULL);
    llm_speech_desc d;
    llm_request *r;
    sink s;
    unsigned char h[44];
    char path[256];
    int ok;
    if (!c) { fprintf(stderr, "npc_voice: could not create a client\n"); return 1; }
    if (argc > 1) snprintf(path, sizeof path, "%s", argv[1]);
    else snprintf(path, sizeof path, "%s/llmasync-npc-voice.wav", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    memset(&s, 0, sizeof s);
    s.f = fopen(path, "wb");
    if (!s.f) { fprintf(stderr, "npc_voice: cannot write %s\n", path); llm_client_free(c); return 1; }
    wav_header(h, 0);
    fwrite(h, 1, sizeof h, s.f); /* the length is patched at the end */

    memset(&d, 0, sizeof d);
    d.model = "gpt-4o-mini-tts";
    d.voice = "onyx";
    d.format = "pcm";
    d.input = "Halt, traveller. The northern road is closed until the snow melts.";
    d.instructions = "A gruff, tired city guard.";
    d.on_audio = on_audio;
    d.user_data = &s;
    if (getenv("LLMASYNC_MOCK")) { d.headers = mock_pace; d.n_headers = 1; }
    r = llm_speech(c, &d);
    while (llm_wait_any(c, -1) != NULL) {}
    ok = llm_request_status(r) == LLM_DONE;
    if (ok) {
        printf("%lu bytes of audio in %d pieces, %.0f ms in all (%.1f s of speech)\n", (unsigned long)s.bytes, s.pieces,
               llm_request_timings(r)->total_ms, (double)s.bytes / 48000.0);
        wav_header(h, (unsigned long)s.bytes);
        fseek(s.f, 0, SEEK_SET);
        fwrite(h, 1, sizeof h, s.f);
    } else {
        printf("speech failed: %s\n", llm_request_error(r)->message);
    }
    fclose(s.f);
    printf("%s %s\n", argc > 1 ? "written to" : "written to (and removed)", path);
    if (argc <= 1) remove(path);
    llm_request_free(r);
    llm_client_free(c);
    return ok && s.pieces > 0 ? 0 : 1;
}
