/* poll_idle.c -- the cost of one llm_poll call while L streams are open but
   quiet, against the cost of one bare curl_multi_perform on a raw multi
   handle holding L equally quiet transfers.

   For each level L (default 0, 10, 100, 1000):
     llmasync  one client (max_concurrent = L, no idle or total timeout),
               L llm_chat with stream = 1 and "X-Mock: tokens=2 stall_after=1":
               the mock sends the role chunk and "tok0", then holds the
               connection without sending anything more.
     baseline  one curl multi handle with L easy handles sending the same
               request (same body, headers, user agent); the write callback
               only counts SSE events.
     epoll     (Linux, for reference) the same L transfers on a third multi
               handle driven through curl_multi_socket_action and an epoll
               set: one non-blocking step is epoll_wait(0) plus the actions
               for ready sockets and due timers. This is the cost a
               non-blocking poll could have with the event API; it is not
               what llmasync does today.
   The program waits until every llmasync request is ACTIVE with the text
   "tok0", every raw transfer got its two events, and GET /mock/stats says
   the server holds all of them in flight; then it lets the sockets settle and
   times ROUNDS x N calls of each kind (rounds alternate the order), every
   call timed on its own with CLOCK_MONOTONIC. It reports the median, p99
   and max in microseconds over all calls, the spread of the per-round
   medians, the ratio llm_poll / curl_multi_perform round by round (its
   median), and the clock's own overhead. After timing it checks that
   nothing moved: llm_poll still answers L, the texts are still "tok0", the
   raw transfers are still running.

   Usage (environment of tools/with_mock.sh: OPENAI_BASE_URL, OPENAI_API_KEY):
     poll_idle [--levels 0,10,100,1000] [--calls N] [--rounds R]
   Exit status: 0 ok, 1 a self-check failed, 2 bad usage or set-up. The last
   line is "RESULT poll_idle key=value ...". */
#define _POSIX_C_SOURCE 200809L
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "bench_common.h"
#ifdef __linux__
#include <sys/epoll.h>
#include <unistd.h>
#define BENCH_EPOLL 1
#endif

#define BENCH_UA "llmasync-bench/1"
#define XMOCK "X-Mock: tokens=2 stall_after=1"
#define MAX_LEVELS 16

static char g_base[512], g_root[512], g_url[600], g_auth[512];
static const char *g_key;
static const char g_body[] = "{\"model\":\"mock-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Wait for me.\"}],"
                             "\"stream\":true,\"stream_options\":{\"include_usage\":true}}";

/* ------------------------------------------------------------ raw transfers */

typedef struct raw_xfer {
    CURL *easy;
    int events;   /* SSE events seen (blank lines) */
    char last;    /* last byte seen, to find "\n\n" across reads */
    int finished;
} raw_xfer;

static size_t raw_write(char *p, size_t size, size_t nmemb, void *ud) {
    raw_xfer *x = (raw_xfer *)ud;
    size_t k = size * nmemb, i;
    for (i = 0; i < k; i++) {
        if (p[i] == '\n' && x->last == '\n') x->events++;
        x->last = p[i];
    }
    return k;
}

typedef struct raw_set {
    CURLM *multi;
    raw_xfer *x;
    int n;
    struct curl_slist *hdrs;
#ifdef BENCH_EPOLL
    int epfd;
    double timer_at; /* seconds (monotonic), < 0: none */
    int running;
#endif
} raw_set;

#ifdef BENCH_EPOLL
static int ep_socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp) {
    raw_set *rs = (raw_set *)userp;
    struct epoll_event ev;
    (void)e;
    (void)socketp;
    memset(&ev, 0, sizeof ev);
    ev.data.fd = s;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(rs->epfd, EPOLL_CTL_DEL, s, &ev);
        return 0;
    }
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
    if (epoll_ctl(rs->epfd, EPOLL_CTL_MOD, s, &ev) != 0) epoll_ctl(rs->epfd, EPOLL_CTL_ADD, s, &ev);
    return 0;
}
static int ep_timer_cb(CURLM *m, long timeout_ms, void *userp) {
    raw_set *rs = (raw_set *)userp;
    (void)m;
    rs->timer_at = timeout_ms < 0 ? -1.0 : bench_now_s() + (double)timeout_ms / 1000.0;
    return 0;
}
/* One non-blocking step of the event-driven loop. */
static void ep_step(raw_set *rs) {
    struct epoll_event evs[64];
    int n = epoll_wait(rs->epfd, evs, 64, 0), i;
    for (i = 0; i < n; i++) {
        int f = ((evs[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0) | ((evs[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                ((evs[i].events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action(rs->multi, evs[i].data.fd, f, &rs->running);
    }
    if (rs->timer_at >= 0 && bench_now_s() >= rs->timer_at) {
        rs->timer_at = -1;
        curl_multi_socket_action(rs->multi, CURL_SOCKET_TIMEOUT, 0, &rs->running);
    }
}
#endif

static void raw_drain(raw_set *rs) {
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(rs->multi, &left)) != NULL) {
        char *priv = NULL;
        if (m->msg != CURLMSG_DONE) continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        ((raw_xfer *)(void *)priv)->finished = 1;
    }
}

static int raw_open(raw_set *rs, int n, int use_epoll) {
    const char *h[5];
    int nh = 0, i;
    memset(rs, 0, sizeof *rs);
    rs->multi = curl_multi_init();
    rs->x = (raw_xfer *)calloc((size_t)(n ? n : 1), sizeof *rs->x);
    if (!rs->multi || !rs->x) return 0;
    rs->n = n;
    h[nh++] = "Content-Type: application/json";
    h[nh++] = "Accept: text/event-stream";
    h[nh++] = "Expect:";
    if (*g_key) h[nh++] = g_auth;
    h[nh++] = XMOCK;
    for (i = 0; i < nh; i++) {
        struct curl_slist *t = curl_slist_append(rs->hdrs, h[i]);
        if (!t) return 0;
        rs->hdrs = t;
    }
#ifdef BENCH_EPOLL
    rs->epfd = -1;
    rs->timer_at = -1;
    if (use_epoll) {
        rs->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (rs->epfd < 0) return 0;
        curl_multi_setopt(rs->multi, CURLMOPT_SOCKETFUNCTION, ep_socket_cb);
        curl_multi_setopt(rs->multi, CURLMOPT_SOCKETDATA, (void *)rs);
        curl_multi_setopt(rs->multi, CURLMOPT_TIMERFUNCTION, ep_timer_cb);
        curl_multi_setopt(rs->multi, CURLMOPT_TIMERDATA, (void *)rs);
    }
#else
    (void)use_epoll;
#endif
    for (i = 0; i < n; i++) {
        CURL *e = curl_easy_init();
        if (!e) return 0;
        rs->x[i].easy = e;
        curl_easy_setopt(e, CURLOPT_URL, g_url);
        curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)&rs->x[i]);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, g_body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(sizeof g_body - 1));
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, rs->hdrs);
        curl_easy_setopt(e, CURLOPT_USERAGENT, BENCH_UA);
        curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, raw_write);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)&rs->x[i]);
        if (curl_multi_add_handle(rs->multi, e) != CURLM_OK) return 0;
    }
    return 1;
}

static void raw_close(raw_set *rs) {
    int i;
    for (i = 0; i < rs->n; i++) {
        if (!rs->x[i].easy) continue;
        curl_multi_remove_handle(rs->multi, rs->x[i].easy);
        curl_easy_cleanup(rs->x[i].easy);
    }
    if (rs->multi) curl_multi_cleanup(rs->multi);
#ifdef BENCH_EPOLL
    if (rs->epfd >= 0) close(rs->epfd);
#endif
    curl_slist_free_all(rs->hdrs);
    free(rs->x);
    memset(rs, 0, sizeof *rs);
}

/* Every transfer got its two events and none finished. */
static int raw_ready(const raw_set *rs) {
    int i;
    for (i = 0; i < rs->n; i++)
        if (rs->x[i].events < 2 || rs->x[i].finished) return 0;
    return 1;
}
static int raw_any_finished(const raw_set *rs) {
    int i;
    for (i = 0; i < rs->n; i++)
        if (rs->x[i].finished) return 1;
    return 0;
}

/* Drives a raw set (perform or epoll) for a while. */
static void raw_drive(raw_set *rs, int use_epoll) {
    int running = 0;
#ifdef BENCH_EPOLL
    if (use_epoll) {
        ep_step(rs);
        raw_drain(rs);
        return;
    }
#else
    (void)use_epoll;
#endif
    curl_multi_perform(rs->multi, &running);
    raw_drain(rs);
}

/* ----------------------------------------------------------------- llmasync */

typedef struct llm_set { llm_client *c; llm_request **r; int n; } llm_set;

static int llm_open(llm_set *ls, int n) {
    llm_client_desc cd;
    llm_message m;
    llm_chat_desc d;
    const char *hdrs[1];
    int i;
    memset(ls, 0, sizeof *ls);
    memset(&cd, 0, sizeof cd);
    cd.base_url = g_base;
    cd.api_key = g_key;
    cd.max_concurrent = n > 0 ? n : 1;
    cd.max_retries = -1;
    cd.idle_timeout_ms = -1;
    cd.timeout_ms = -1;
    cd.user_agent = BENCH_UA;
    ls->c = llm_client_new(&cd);
    ls->r = (llm_request **)calloc((size_t)(n ? n : 1), sizeof *ls->r);
    if (!ls->c || !ls->r) return 0;
    ls->n = n;
    hdrs[0] = XMOCK;
    memset(&m, 0, sizeof m);
    m.role = "user";
    m.content = "Wait for me.";
    memset(&d, 0, sizeof d);
    d.model = "mock-model";
    d.messages = &m;
    d.n_messages = 1;
    d.stream = 1;
    d.headers = hdrs;
    d.n_headers = 1;
    for (i = 0; i < n; i++)
        if (!(ls->r[i] = llm_chat(ls->c, &d))) return 0;
    return 1;
}
static void llm_close(llm_set *ls) {
    if (ls->c) llm_client_free(ls->c); /* frees the requests, closes the connections */
    free(ls->r);
    memset(ls, 0, sizeof *ls);
}
/* Every request ACTIVE with exactly the text "tok0". */
static int llm_ready(const llm_set *ls) {
    int i;
    for (i = 0; i < ls->n; i++) {
        size_t len = 0;
        const char *t = llm_request_text(ls->r[i], &len);
        if (llm_request_status(ls->r[i]) != LLM_ACTIVE || len != 4 || memcmp(t, "tok0", 4) != 0) return 0;
    }
    return 1;
}
static const char *llm_problem(const llm_set *ls) {
    int i;
    for (i = 0; i < ls->n; i++)
        if (llm_request_status(ls->r[i]) != LLM_ACTIVE) return llm_request_error(ls->r[i])->message;
    return "";
}

/* ------------------------------------------------------------------ timing */

typedef struct stats { double med, p99, max, round_lo, round_hi, paired; } stats;

static void summarize(double *all, size_t n, const double *round_med, int rounds, stats *s) {
    int i;
    bench_sort(all, n);
    s->med = bench_pct_sorted(all, n, 50);
    s->p99 = bench_pct_sorted(all, n, 99);
    s->max = n ? all[n - 1] : 0;
    s->round_lo = s->round_hi = rounds ? round_med[0] : 0;
    for (i = 1; i < rounds; i++) {
        if (round_med[i] < s->round_lo) s->round_lo = round_med[i];
        if (round_med[i] > s->round_hi) s->round_hi = round_med[i];
    }
}

enum { K_LLM, K_PERFORM, K_EPOLL, K_COUNT };
static const char *const kind_name[K_COUNT] = { "llm_poll", "curl_multi_perform", "socket_action+epoll" };

/* Times `calls` calls of one kind into out[] (microseconds). */
static void time_calls(int kind, llm_set *ls, raw_set *perf, raw_set *ep, int calls, double *out, int *bad_return) {
    int i, running = 0;
    for (i = 0; i < calls; i++) {
        double t0 = 0, t1 = 0;
        int n = 0;
        switch (kind) {
        case K_LLM:
            t0 = bench_now_s();
            n = llm_poll(ls->c);
            t1 = bench_now_s();
            if (n != ls->n) *bad_return = 1;
            break;
        case K_PERFORM:
            t0 = bench_now_s();
            curl_multi_perform(perf->multi, &running);
            t1 = bench_now_s();
            if (running != perf->n) *bad_return = 1;
            break;
        default:
#ifdef BENCH_EPOLL
            t0 = bench_now_s();
            ep_step(ep);
            t1 = bench_now_s();
#else
            (void)ep;
#endif
            break;
        }
        out[i] = (t1 - t0) * 1e6;
    }
}

static double clock_overhead_us(int calls) {
    double *v = (double *)malloc((size_t)calls * sizeof *v), m;
    int i;
    if (!v) return 0;
    for (i = 0; i < calls; i++) {
        double t0 = bench_now_s(), t1 = bench_now_s();
        v[i] = (t1 - t0) * 1e6;
    }
    m = bench_median(v, (size_t)calls);
    free(v);
    return m;
}

static int wait_inflight(long want, double secs) {
    double end = bench_now_s() + secs;
    long got = -1;
    while (bench_now_s() < end) {
        got = bench_mock_stat(g_root, "inflight");
        if (got == want) return 1;
        bench_sleep_ms(20);
    }
    fprintf(stderr, "mock inflight is %ld, expected %ld\n", got, want);
    return 0;
}

/* ------------------------------------------------------------------- main */

static void usage(void) {
    fprintf(stderr, "usage: poll_idle [--levels 0,10,100,1000] [--calls N] [--rounds R]\n"
                    "needs OPENAI_BASE_URL (the mock's .../v1) in the environment\n");
    exit(2);
}

int main(int argc, char **argv) {
    long levels[MAX_LEVELS];
    int n_levels = 0, calls = 2000, rounds = 5, i, li, failed = 0, n_kinds;
    const char *env_base = getenv("OPENAI_BASE_URL");
    const char *lv = "0,10,100,1000";
    long nofile;
    size_t pos;
    double overhead;
    stats res[MAX_LEVELS][K_COUNT];

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--levels") && i + 1 < argc) lv = argv[++i];
        else if (!strcmp(argv[i], "--calls") && i + 1 < argc) calls = (int)bench_arg_long("--calls", argv[++i], 1, 1000000);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = (int)bench_arg_long("--rounds", argv[++i], 1, 100);
        else usage();
    }
    { /* "0,10,100,1000" */
        const char *p = lv;
        while (*p) {
            char *end = NULL;
            long v;
            errno = 0;
            v = strtol(p, &end, 10);
            if (errno || end == p || v < 0 || v > 5000 || n_levels >= MAX_LEVELS || (*end && *end != ',')) usage();
            levels[n_levels++] = v;
            p = *end ? end + 1 : end;
        }
        if (!n_levels) usage();
    }
    if (!env_base || !*env_base || strlen(env_base) >= sizeof g_base || !bench_mock_root(g_root, sizeof g_root)) usage();
    memcpy(g_base, env_base, strlen(env_base) + 1);
    pos = strlen(g_base);
    while (pos && g_base[pos - 1] == '/') g_base[--pos] = '\0';
    snprintf(g_url, sizeof g_url, "%s/chat/completions", g_base);
    g_key = getenv("OPENAI_API_KEY");
    if (!g_key) g_key = "";
    snprintf(g_auth, sizeof g_auth, "Authorization: Bearer %s", g_key);
    nofile = bench_raise_nofile();
    curl_global_init(CURL_GLOBAL_DEFAULT);
#ifdef BENCH_EPOLL
    n_kinds = K_COUNT;
#else
    n_kinds = K_EPOLL;
#endif
    for (li = 0; li < n_levels; li++)
        if (levels[li] * n_kinds + 64 > nofile) {
            fprintf(stderr, "poll_idle: %ld streams need %ld descriptors, RLIMIT_NOFILE is %ld\n", levels[li],
                    levels[li] * n_kinds + 64, nofile);
            return 2;
        }
    overhead = clock_overhead_us(calls);
    printf("poll_idle: %d calls x %d rounds per kind and level; clock overhead %.3f us per timed call (included)\n",
           calls, rounds, overhead);
    printf("%7s  %-20s %9s %9s %9s   %s\n", "streams", "call", "median_us", "p99_us", "max_us", "round medians (min..max)");
    fflush(stdout);

    for (li = 0; li < n_levels && !failed; li++) {
        int L = (int)levels[li], r, k, bad = 0;
        llm_set ls;
        raw_set perf, ep;
        double *all[K_COUNT], *buf, round_med[K_COUNT][100], end;
        size_t nall[K_COUNT];
        memset(&ep, 0, sizeof ep);
        if (!wait_inflight(0, 30)) { failed = 2; break; }
        if (!llm_open(&ls, L) || !raw_open(&perf, L, 0) || (n_kinds == K_COUNT && !raw_open(&ep, L, 1))) {
            fprintf(stderr, "set-up failed at %d streams\n", L);
            failed = 2;
            break;
        }
        /* bring every stream to its quiet point */
        end = bench_now_s() + 120;
        while (bench_now_s() < end) {
            int ready;
            llm_poll(ls.c);
            raw_drive(&perf, 0);
            if (n_kinds == K_COUNT) raw_drive(&ep, 1);
            ready = llm_ready(&ls) && raw_ready(&perf) && (n_kinds < K_COUNT || raw_ready(&ep));
            if (ready) break;
            if (raw_any_finished(&perf) || (n_kinds == K_COUNT && raw_any_finished(&ep))) break;
            bench_sleep_ms(1);
        }
        if (!llm_ready(&ls) || !raw_ready(&perf) || (n_kinds == K_COUNT && !raw_ready(&ep))) {
            fprintf(stderr, "%d streams did not all reach their quiet point (llmasync %s%s; raw %s; epoll %s)\n", L,
                    llm_ready(&ls) ? "ready" : "not ready: ", llm_problem(&ls), raw_ready(&perf) ? "ready" : "not ready",
                    n_kinds < K_COUNT || raw_ready(&ep) ? "ready" : "not ready");
            failed = 1;
        } else if (!wait_inflight((long)L * n_kinds, 30)) {
            failed = 1;
        }
        if (failed) { llm_close(&ls); raw_close(&perf); if (n_kinds == K_COUNT) raw_close(&ep); break; }
        /* settle: late ACKs, curl's own housekeeping */
        bench_sleep_ms(50);
        for (i = 0; i < 20; i++) {
            llm_poll(ls.c);
            raw_drive(&perf, 0);
            if (n_kinds == K_COUNT) raw_drive(&ep, 1);
        }

        buf = (double *)malloc((size_t)calls * (size_t)rounds * K_COUNT * sizeof *buf);
        if (!buf) return 2;
        for (k = 0; k < K_COUNT; k++) { all[k] = buf + (size_t)k * (size_t)calls * (size_t)rounds; nall[k] = 0; }
        for (r = 0; r < rounds; r++) {
            int j;
            for (j = 0; j < n_kinds; j++) {
                k = (r % 2 == 0) ? j : n_kinds - 1 - j; /* alternate the order */
                time_calls(k, &ls, &perf, &ep, calls, all[k] + nall[k], &bad);
                round_med[k][r] = bench_median(all[k] + nall[k], (size_t)calls);
                nall[k] += (size_t)calls;
            }
        }
        for (k = 0; k < n_kinds; k++) summarize(all[k], nall[k], round_med[k], rounds, &res[li][k]);
        { /* llm_poll / curl_multi_perform, round by round (same conditions) */
            double pr[100];
            for (r = 0; r < rounds; r++) pr[r] = round_med[K_PERFORM][r] > 0 ? round_med[K_LLM][r] / round_med[K_PERFORM][r] : 0;
            res[li][K_LLM].paired = bench_median(pr, (size_t)rounds);
        }
        free(buf);

        /* nothing moved while we timed */
        if (bad || !llm_ready(&ls) || !raw_ready(&perf) || (n_kinds == K_COUNT && !raw_ready(&ep)) ||
            bench_mock_stat(g_root, "inflight") != (long)L * n_kinds) {
            fprintf(stderr, "%d streams: the idle set changed while timing (bad return %d)\n", L, bad);
            failed = 1;
        }
        for (k = 0; k < n_kinds; k++)
            printf("%7d  %-20s %9.2f %9.2f %9.1f   %.2f..%.2f\n", L, kind_name[k], res[li][k].med, res[li][k].p99,
                   res[li][k].max, res[li][k].round_lo, res[li][k].round_hi);
        printf("%7s  llm_poll / curl_multi_perform: %.2fx (median of the per-round ratios; pooled medians %.2fx)\n", "",
               res[li][K_LLM].paired, res[li][K_PERFORM].med > 0 ? res[li][K_LLM].med / res[li][K_PERFORM].med : 0);
        fflush(stdout);
        llm_close(&ls);
        raw_close(&perf);
        if (n_kinds == K_COUNT) raw_close(&ep);
    }
    if (failed) {
        printf("RESULT poll_idle status=FAIL\n");
        return failed;
    }
    printf("RESULT poll_idle status=ok calls=%d rounds=%d", calls, rounds);
    for (li = 0; li < n_levels; li++) {
        printf(" L%ld_llm_med=%.2f L%ld_llm_p99=%.2f L%ld_llm_max=%.1f L%ld_perform_med=%.2f L%ld_perform_p99=%.2f"
               " L%ld_perform_max=%.1f L%ld_ratio=%.2f",
               levels[li], res[li][K_LLM].med, levels[li], res[li][K_LLM].p99, levels[li], res[li][K_LLM].max,
               levels[li], res[li][K_PERFORM].med, levels[li], res[li][K_PERFORM].p99, levels[li], res[li][K_PERFORM].max,
               levels[li], res[li][K_LLM].paired);
        if (n_kinds == K_COUNT) printf(" L%ld_epoll_med=%.2f", levels[li], res[li][K_EPOLL].med);
    }
    printf("\n");
    curl_global_cleanup();
    return 0;
}
