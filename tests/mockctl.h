/* Start and stop the mock LLM server from a test: it listens on an
   ephemeral loopback port and dies with its parent (stdin EOF).
   On Windows (the suites run under Wine, tools/windows.sh) the mocks run
   natively beside Wine and the runner names their ports in MOCK_PORTS
   ("plain:P,plain:P,tls:P,tls-other:P"): mock_start takes the next plain
   one, mock_start_args(.., "--tls", cert, ..) the HTTPS one for that
   certificate. */
#ifndef LLM_TEST_MOCKCTL_H
#define LLM_TEST_MOCKCTL_H
#ifdef _WIN32
#include <windows.h>
#else
#include <signal.h>
#include <unistd.h>
#include <poll.h>
#include <sys/types.h>
#include <sys/wait.h>
#endif
#include <curl/curl.h>

typedef struct mock {
    long pid;           /* the child (POSIX), or the MOCK_PORTS slot + 1 (Windows) */
    int port;
    int in_fd, out_fd;
    char base[64];      /* http://127.0.0.1:PORT */
    char openai[80];    /* http://127.0.0.1:PORT/v1 */
    const char *tls_ca; /* a --tls mock: its certificate (control requests use https) */
} mock;

static const char *mock__path = NULL; /* set to use another build */
static TH_UNUSED const char *mock_path(void) {
    const char *p = getenv("MOCK_SERVER");
    if (mock__path) return mock__path;
    return p ? p : "build/mock_server";
}

#ifdef _WIN32
static int mock__used[8];
static TH_UNUSED int mock_start_args(mock *m, const char *a1, const char *a2, const char *a3) {
    const char *ports = getenv("MOCK_PORTS"), *want = "plain:", *p;
    int k = 0;
    (void)a3;
    memset(m, 0, sizeof *m);
    if (a1 && !strcmp(a1, "--tls")) want = a2 && strstr(a2, "other") ? "tls-other:" : "tls:";
    for (p = ports; p && *p; k++) {
        const char *comma = strchr(p, ',');
        if (!strncmp(p, want, strlen(want)) && k < 8 && !mock__used[k]) {
            mock__used[k] = 1;
            m->port = atoi(p + strlen(want));
            m->pid = k + 1;
            break;
        }
        p = comma ? comma + 1 : NULL;
    }
    if (!m->port) {
        fprintf(stderr, "no mock for %s in MOCK_PORTS (%s)\n", want, ports ? ports : "unset");
        return 0;
    }
    snprintf(m->base, sizeof m->base, "http://127.0.0.1:%d", m->port);
    snprintf(m->openai, sizeof m->openai, "http://127.0.0.1:%d/v1", m->port);
    return 1;
}
static TH_UNUSED int mock_start(mock *m) { return mock_start_args(m, NULL, NULL, NULL); }
static TH_UNUSED void mock_stop(mock *m) { m->pid = 0; } /* the runner stops it */
#else
static TH_UNUSED int mock_start_args(mock *m, const char *a1, const char *a2, const char *a3) {
    int in[2], out[2];
    char line[64];
    size_t got = 0;
    memset(m, 0, sizeof *m);
    if (pipe(in) || pipe(out)) return 0;
    m->pid = fork();
    if (m->pid < 0) return 0;
    if (m->pid == 0) {
        const char *path = mock_path();
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execl(path, path, "--exit-on-stdin-eof", a1, a2, a3, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    m->in_fd = in[1];
    m->out_fd = out[0];
    while (got < sizeof line - 1) {
        struct pollfd pf;
        ssize_t k;
        pf.fd = m->out_fd;
        pf.events = POLLIN;
        if (poll(&pf, 1, 10000) <= 0) break;
        k = read(m->out_fd, line + got, 1);
        if (k <= 0) break;
        got += (size_t)k;
        if (line[got - 1] == '\n') break;
    }
    line[got] = '\0';
    if (sscanf(line, "PORT %d", &m->port) != 1) {
        fprintf(stderr, "mock server did not start (%s): got \"%s\"\n", mock_path(), line);
        return 0;
    }
    snprintf(m->base, sizeof m->base, "http://127.0.0.1:%d", m->port);
    snprintf(m->openai, sizeof m->openai, "http://127.0.0.1:%d/v1", m->port);
    return 1;
}
static TH_UNUSED int mock_start(mock *m) { return mock_start_args(m, NULL, NULL, NULL); }

static TH_UNUSED void mock_stop(mock *m) {
    int st;
    if (m->pid <= 0) return;
    kill(m->pid, SIGTERM);
    waitpid(m->pid, &st, 0);
    close(m->in_fd);
    close(m->out_fd);
    m->pid = 0;
}

#endif

static size_t mock__collect(char *p, size_t s, size_t n, void *ud) {
    llm__buf *b = (llm__buf *)ud;
    llm_allocator a = llm__allocator(NULL);
    llm__buf_add(&a, b, p, s * n);
    return s * n;
}
/* A blocking request to the mock's control endpoints; caller frees. */
static TH_UNUSED char *mock_http(mock *m, const char *method, const char *path) {
    CURL *e = curl_easy_init();
    char url[256];
    llm__buf b = { NULL, 0, 0 };
    if (m->tls_ca) snprintf(url, sizeof url, "https://127.0.0.1:%d%s", m->port, path);
    else snprintf(url, sizeof url, "%s%s", m->base, path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    if (m->tls_ca) curl_easy_setopt(e, CURLOPT_CAINFO, m->tls_ca);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, mock__collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)&b);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
    if (!strcmp(method, "POST")) curl_easy_setopt(e, CURLOPT_POSTFIELDS, "{}");
    curl_easy_perform(e);
    curl_easy_cleanup(e);
    return b.p;
}
/* One number from /mock/stats, -1 if missing. */
static TH_UNUSED long mock_stat(mock *m, const char *key) {
    char *s = mock_http(m, "GET", "/mock/stats");
    llm_json_value *v = s ? llm_json_parse(s, strlen(s), NULL, NULL) : NULL;
    int64_t x = -1;
    llm_json_int64(llm_json_get(v, key), &x);
    llm_json_free(v);
    free(s);
    return (long)x;
}
/* One string from /mock/stats (copied), NULL if missing or null. */
static TH_UNUSED char *mock_stat_str(mock *m, const char *key) {
    char *s = mock_http(m, "GET", "/mock/stats");
    llm_json_value *v = s ? llm_json_parse(s, strlen(s), NULL, NULL) : NULL;
    const char *x = llm_json_string(llm_json_get(v, key), NULL);
    char *r = x ? strdup(x) : NULL;
    llm_json_free(v);
    free(s);
    return r;
}
static TH_UNUSED void mock_reset(mock *m) { free(mock_http(m, "POST", "/mock/reset")); }

/* Time budgets of the tests are multiplied by this (TEST_SLOW=8 under valgrind). */
static double th_slow = 1.0;
static TH_UNUSED void th_slow_from_env(void) {
    if (getenv("TEST_SLOW")) th_slow = strtod(getenv("TEST_SLOW"), NULL);
}

static TH_UNUSED double th_now_ms(void);
/* The next reported request, within ms (times th_slow). llm_wait_any
   returns NULL early after an llm_wakeup: wait again until the time is up
   or nothing is left. */
static TH_UNUSED llm_request *th_next(llm_client *c, double ms) {
    double end = th_now_ms() + ms * th_slow;
    for (;;) { /* always asks at least once, also with ms = 0 */
        double left = end - th_now_ms();
        llm_request *r = llm_wait_any(c, left > 0 ? (int)left : 0);
        if (r) return r;
        if (left <= 0 || (llm_poll(c) == 0 && !c->lists[LLM__L_DONE].head)) return NULL;
    }
}

#ifdef _WIN32
static TH_UNUSED void th_sleep_ms(double ms) { Sleep((DWORD)(ms + 0.5)); }
static TH_UNUSED double th_now_ms(void) {
    LARGE_INTEGER f, t;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart * 1000.0 / (double)f.QuadPart;
}
#else
static TH_UNUSED void th_sleep_ms(double ms) {
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
    nanosleep(&ts, NULL);
}
static TH_UNUSED double th_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}
#endif
#endif
