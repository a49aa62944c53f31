/* transcribe: voice input. A short clip (a WAV file: yours, or a tone made
   here) transcribed three ways at once: from the file's path, from memory
   with word and segment timestamps (verbose_json), and streamed as the
   text is recognised. Talks to OPENAI_BASE_URL with OPENAI_API_KEY (the
   mock under make test, which describes the bytes it got).
   Usage: transcribe [CLIP.wav]  Model: $LLM_STT_MODEL, default whisper-1
   (gpt-4o-mini-transcribe streams). */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put32(unsigned char *p, unsigned long v) {
    p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}

/* One second of a 440 Hz tone: a 16 kHz 16-bit mono WAV, written to path. */
static int make_clip(const char *path) {
    enum { RATE = 16000, N = RATE };
    unsigned char h[44];
    FILE *f = fopen(path, "wb");
    int i;
    if (!f) return 0;
    memcpy(h, "RIFF", 4); put32(h + 4, 36 + 2 * N); memcpy(h + 8, "WAVEfmt ", 8);
    put32(h + 16, 16); h[20] = 1; h[21] = 0; h[22] = 1; h[23] = 0;
    put32(h + 24, RATE); put32(h + 28, 2 * RATE); h[32] = 2; h[33] = 0; h[34] = 16; h[35] = 0;
    memcpy(h + 36, "data", 4); put32(h + 40, 2 * N);
    fwrite(h, 1, sizeof h, f);
    for (i = 0; i < N; i++) {
        int v = (int)(8000.0 * sin(2.0 * 3.14159265358979 * 440.0 * i / RATE));
        unsigned char s[2];
        s[0] = (unsigned char)(v & 0xff);
        s[1] = (unsigned char)((v >> 8) & 0xff);
        fwrite(s, 1, 2, f);
    }
    return fclose(f) == 0;
}

static void on_text(llm_request *r, const char *d, size_t n, void *ud) {
    (void)r;
    (void)ud;
    printf("  streamed: +\"%.*s\"\n", (int)n, d);
}

int main(int argc, char **argv) {
    const char *model = getenv("LLM_STT_MODEL") ? getenv("LLM_STT_MODEL") : "whisper-1";
    llm_client *c = llm_client_new(NULL);
    llm_audio_desc d;
    llm_request *byfile, *timed, *streamed, *r;
    char path[256];
    char *clip = NULL;
    long len = 0;
    int failed = 0, made = argc < 2;
    FILE *f;
    if (!c) { fprintf(stderr, "transcribe: could not create a client\n"); return 1; }
    if (made) snprintf(path, sizeof path, "%s/llmasync-clip.wav", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    else snprintf(path, sizeof path, "%s", argv[1]);
    if (made && !make_clip(path)) { fprintf(stderr, "transcribe: cannot write %s\n", path); return 1; }

    memset(&d, 0, sizeof d); /* 1. straight from the file */
    d.model = model;
    d.path = path;
    byfile = llm_transcribe(c, &d);

    f = fopen(path, "rb"); /* 2. from memory, with timestamps */
    if (f && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (clip = (char *)malloc((size_t)len)) != NULL && fread(clip, 1, (size_t)len, f) != (size_t)len)
        len = 0;
    if (f) fclose(f);
    memset(&d, 0, sizeof d);
    d.model = model;
    d.audio = clip;
    d.audio_len = clip ? (size_t)len : 0;
    d.filename = "clip.wav";
    d.language = "en";
    d.response_format = "verbose_json";
    d.timestamp_granularities = "word,segment";
    timed = llm_transcribe(c, &d); /* the bytes are copied: clip can go */
    free(clip);

    memset(&d, 0, sizeof d); /* 3. streamed */
    d.model = getenv("LLMASYNC_MOCK") ? model : "gpt-4o-mini-transcribe";
    d.path = path;
    d.stream = 1;
    d.on_delta = on_text;
    streamed = llm_transcribe(c, &d);

    while ((r = llm_wait_any(c, -1)) != NULL) {
        const char *what = r == byfile ? "from the file" : r == timed ? "with timestamps" : r == streamed ? "streamed" : "?";
        if (llm_request_status(r) != LLM_DONE) {
            printf("%s: failed: %s\n", what, llm_request_error(r)->message);
            failed++;
        } else {
            const llm_json_value *segs = llm_json_get(llm_request_json(r), "segments");
            printf("%s: \"%s\"\n", what, llm_request_text(r, NULL));
            if (r == timed)
                printf("  %lu segments, %lu words, %.2f s of audio\n", (unsigned long)(segs ? segs->len : 0),
                       (unsigned long)(llm_json_get(llm_request_json(r), "words") ? llm_json_get(llm_request_json(r), "words")->len : 0),
                       llm_json_double(llm_json_get(llm_request_json(r), "duration"), 0));
        }
        llm_request_free(r);
    }
    if (made) remove(path);
    llm_client_free(c);
    return failed ? 1 : 0;
}
