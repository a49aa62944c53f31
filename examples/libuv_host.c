/* libuv_host: llmasync inside a program whose loop is libuv's. The client
   does not watch its sockets itself: it names them (watch_socket) and the
   time it needs to be called back (set_timer); libuv watches them
   (uv_poll_t per socket, one uv_timer_t) and reports with
   llm_socket_ready / llm_timer_fired. A 60 Hz "frame" timer keeps ticking
   beside the requests to show that nothing blocks the loop.
   usage: libuv_host ["your question"]   (build: cc ... -luv -lcurl)
   Uses OPENAI_BASE_URL / OPENAI_API_KEY; model $LLM_DEMO_MODEL (gpt-4o-mini). */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define N 3

typedef struct app {
    uv_loop_t *loop;
    uv_timer_t llm_timer;   /* the one timer the client asks for */
    uv_timer_t frame;       /* the host's own work: 60 Hz */
    llm_client *c;
    int left, ok, frames, sockets_open;
} app;

typedef struct sock_ctx { /* one per socket the client watches */
    uv_poll_t poll;
    llm_socket s;
    app *a;
} sock_ctx;

static void collect(app *a);

static void on_sock_closed(uv_handle_t *h) {
    sock_ctx *sc = (sock_ctx *)h->data;
    sc->a->sockets_open--;
    free(sc);
}

static void on_poll(uv_poll_t *h, int status, int events) {
    sock_ctx *sc = (sock_ctx *)h->data;
    int what = ((events & UV_READABLE) ? LLM_IO_IN : 0) | ((events & UV_WRITABLE) ? LLM_IO_OUT : 0);
    if (status < 0) what |= LLM_IO_ERR; /* let curl find out what went wrong */
    llm_socket_ready(sc->a->c, sc->s, what);
    collect(sc->a);
}

/* Called by the client (from inside llmasync calls): start, change or stop
   watching s. Never call back into the client from here, except
   llm_socket_assign. */
static void watch_socket(llm_client *c, llm_socket s, int what, void *socket_data, void *user_data) {
    app *a = (app *)user_data;
    sock_ctx *sc = (sock_ctx *)socket_data;
    if (what == 0) { /* curl is done with s */
        if (sc) {
            uv_poll_stop(&sc->poll);
            uv_close((uv_handle_t *)&sc->poll, on_sock_closed);
        }
        return;
    }
    if (!sc) {
        sc = (sock_ctx *)calloc(1, sizeof *sc);
        if (!sc) return;
        sc->s = s;
        sc->a = a;
        uv_poll_init_socket(a->loop, &sc->poll, s);
        sc->poll.data = sc;
        a->sockets_open++;
        llm_socket_assign(c, s, sc); /* handed back with every later call for s */
    }
    uv_poll_start(&sc->poll, ((what & LLM_IO_IN) ? UV_READABLE : 0) | ((what & LLM_IO_OUT) ? UV_WRITABLE : 0), on_poll);
}

static void on_llm_timer(uv_timer_t *t) {
    app *a = (app *)t->data;
    llm_timer_fired(a->c);
    collect(a);
}

/* Called by the client: call llm_timer_fired in ms (0: at once; < 0: never). */
static void set_timer(llm_client *c, int ms, void *user_data) {
    app *a = (app *)user_data;
    (void)c;
    if (ms < 0) uv_timer_stop(&a->llm_timer);
    else uv_timer_start(&a->llm_timer, on_llm_timer, (uint64_t)ms, 0);
}

static void on_frame(uv_timer_t *t) {
    ((app *)t->data)->frames++; /* a game would simulate and draw here */
}

static void on_delta(llm_request *r, const char *text, size_t len, void *ud) {
    (void)r;
    (void)ud;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
}

/* Whoever finished: print it; when all did, let the loop run dry. */
static void collect(app *a) {
    llm_request *r;
    while ((r = llm_wait_any(a->c, 0)) != NULL) { /* 0: never blocks */
        const char *q = (const char *)llm_request_user_data(r);
        if (llm_request_status(r) == LLM_DONE)
            printf("\n[%s] %s\n", q, llm_request_text(r, NULL));
        else {
            printf("\n[%s] error: %s\n", q, llm_request_error(r)->message);
            a->ok = 0;
        }
        llm_request_free(r);
        if (--a->left == 0) {
            uv_timer_stop(&a->frame);
            uv_close((uv_handle_t *)&a->frame, NULL);
        }
    }
}

int main(int argc, char **argv) {
    static const char *questions[N] = { "Name three rivers.", "Why is the sky blue?", "Say hello in French." };
    static const char *mock[N] = { "X-Mock: pace=40", "X-Mock: delay=300", "X-Mock: delay=150" };
    app a;
    llm_client_desc cd;
    int i;
    memset(&a, 0, sizeof a);
    a.loop = uv_default_loop();
    a.ok = 1;
    a.left = N;
    uv_timer_init(a.loop, &a.llm_timer);
    uv_timer_init(a.loop, &a.frame);
    a.llm_timer.data = a.frame.data = &a;
    memset(&cd, 0, sizeof cd);
    cd.watch_socket = watch_socket;
    cd.set_timer = set_timer;
    cd.io_user_data = &a;
    a.c = llm_client_new(&cd);
    if (!a.c) return 1;
    if (argc > 1) questions[0] = argv[1];
    for (i = 0; i < N; i++) {
        llm_message m;
        llm_chat_desc d;
        memset(&m, 0, sizeof m);
        memset(&d, 0, sizeof d);
        m.role = "user";
        m.content = questions[i];
        d.model = getenv("LLM_DEMO_MODEL") ? getenv("LLM_DEMO_MODEL") : "gpt-4o-mini";
        d.messages = &m;
        d.n_messages = 1;
        d.stream = i == 0;           /* the first one streams, printed as it comes */
        d.on_delta = i == 0 ? on_delta : NULL;
        d.user_data = (void *)questions[i];
        if (getenv("LLMASYNC_MOCK")) { d.headers = &mock[i]; d.n_headers = 1; }
        llm_chat(a.c, &d); /* returns at once; the client asks for a timer */
    }
    uv_timer_start(&a.frame, on_frame, 16, 16);
    uv_run(a.loop, UV_RUN_DEFAULT); /* until the frame timer is closed and the client idle */
    llm_client_free(a.c);            /* may stop watching the last sockets */
    uv_close((uv_handle_t *)&a.llm_timer, NULL);
    uv_run(a.loop, UV_RUN_DEFAULT);  /* let libuv close them */
    printf("%d frames ticked while the answers came; %d sockets left open\n", a.frames, a.sockets_open);
    uv_loop_close(a.loop);
    return a.ok && a.left == 0 && a.frames > 0 && a.sockets_open == 0 ? 0 : 1;
}
