/* game_loop: a 60 fps loop in which several NPCs stream their lines at once.
   Each frame calls llm_poll() (never blocks) and takes each NPC's new text
   with llm_request_take(); the frame budget is never lost waiting for the
   network. At the end it reports the worst and median time spent in
   llm_poll per frame. Uses OPENAI_BASE_URL / OPENAI_API_KEY. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NPCS 6
#define MAX_FRAMES (60 * 30)

#ifdef _WIN32 /* windows.h came with llmasync.h's implementation */
static double now_ms(void) {
    LARGE_INTEGER f, t;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart * 1e3 / (double)f.QuadPart;
}
static void sleep_ms(double ms) {
    if (ms > 0) Sleep((DWORD)(ms + 0.5));
}
#else
static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
static void sleep_ms(double ms) {
    struct timespec ts;
    if (ms <= 0) return;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
    nanosleep(&ts, NULL);
}
#endif
static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const char *npc_name[NPCS] = { "Blacksmith", "Innkeeper", "Guard", "Bard", "Witch", "Merchant" };
static const char *npc_prompt[NPCS] = {
    "You are a gruff blacksmith. Greet the player in one sentence.",
    "You are a cheerful innkeeper. Offer the player a room in one sentence.",
    "You are a tired city guard. Warn the player about the night in one sentence.",
    "You are a bard. Sing one line about the player's arrival.",
    "You are a witch. Make a cryptic prophecy in one sentence.",
    "You are a merchant. Advertise one strange item in one sentence.",
};
/* Against the mock: every NPC talks at its own pace. */
static const char *mock_pace[NPCS] = {
    "X-Mock: pace=90", "X-Mock: pace=50", "X-Mock: pace=120", "X-Mock: pace=40 split=7", "X-Mock: pace=140", "X-Mock: pace=70",
};

int main(void) {
    static double poll_ms[MAX_FRAMES];
    llm_client *c = llm_client_new(NULL);
    llm_request *npc[NPCS];
    llm_message msg[NPCS];
    size_t shown[NPCS];
    int i, frame = 0, finished = 0, failed = 0, late_frames = 0;
    double start = now_ms(), worst = 0;
    if (!c) return 1;
    memset(msg, 0, sizeof msg);
    memset(shown, 0, sizeof shown);
    for (i = 0; i < NPCS; i++) {
        llm_chat_desc d = { 0 };
        msg[i].role = "user";
        msg[i].content = npc_prompt[i];
        d.model = getenv("LLM_DEMO_MODEL") ? getenv("LLM_DEMO_MODEL") : "gpt-4o-mini";
        d.messages = &msg[i];
        d.n_messages = 1;
        d.max_tokens = 60;
        d.stream = 1;
        if (getenv("LLMASYNC_MOCK")) { d.headers = &mock_pace[i]; d.n_headers = 1; }
        npc[i] = llm_chat(c, &d);
    }
    printf("game_loop: %d NPCs streaming at once inside a 60 fps loop\n", NPCS);
    while (finished < NPCS && frame < MAX_FRAMES) {
        double frame_start = now_ms(), t0, dt;
        llm_request *r;
        t0 = now_ms();
        llm_poll(c); /* the only library call on the frame's critical path */
        dt = now_ms() - t0;
        poll_ms[frame] = dt;
        if (dt > worst) worst = dt;
        for (i = 0; i < NPCS; i++) { /* "render": what each NPC has said so far */
            const char *delta;
            size_t n = llm_request_take(npc[i], &delta);
            shown[i] += n;
        }
        while ((r = llm_wait_any(c, 0)) != NULL) { /* never blocks */
            for (i = 0; i < NPCS && npc[i] != r; i++) {}
            finished++;
            if (llm_request_status(r) == LLM_DONE) {
                printf("  [%5.0f ms] %-10s %s\n", now_ms() - start, npc_name[i], llm_request_text(r, NULL));
            } else {
                printf("  [%5.0f ms] %-10s (error: %s)\n", now_ms() - start, npc_name[i], llm_request_error(r)->message);
                failed++;
            }
        }
        frame++;
        if (now_ms() - frame_start > 1000.0 / 60) late_frames++;
        sleep_ms(1000.0 / 60 - (now_ms() - frame_start)); /* the rest of the frame: the game's own work */
    }
    qsort(poll_ms, (size_t)frame, sizeof poll_ms[0], cmp);
    printf("frames: %d in %.1f s; llm_poll per frame: median %.3f ms, p99 %.3f ms, worst %.3f ms; frames over budget: %d\n",
           frame, (now_ms() - start) / 1000, poll_ms[frame / 2], poll_ms[frame * 99 / 100], worst, late_frames);
    for (i = 0; i < NPCS; i++) llm_request_free(npc[i]);
    llm_client_free(c);
    return failed || finished < NPCS ? 1 : 0;
}
