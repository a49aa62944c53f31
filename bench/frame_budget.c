/* frame_budget.c -- how long one call of a host's frame can take while S
   streams burst at once: llm_poll_budget(c, B, &deferred) against plain
   llm_poll, in the same run.

   The mock answers S streaming chats at once ("X-Mock: tokens=N pace=0":
   N+4 OpenAI SSE chunks each, as fast as the sockets drain). One client
   (max_concurrent = S) submits all S, then a loop calls, until nothing is in
   flight and nothing deferred:
     budget    llm_poll_budget(c, B, &deferred)          (default B = 2000 us)
     unit      llm_poll_budget(c, 0, &deferred): each call does one unit of
               work (one write callback's decoding, one request's callbacks,
               one finished transfer, one admission, one socket handed to
               curl), so its slowest call is the per-event work bound
     baseline  llm_poll(c)
   Every call is timed on its own: wall clock (CLOCK_MONOTONIC) and this
   thread's CPU time (CLOCK_THREAD_CPUTIME_ID: what the call itself did,
   whatever other jobs on the machine do). Per repetition: the slowest call,
   the p99 and the median call, the number of calls, the burst's wall time.
   Repetitions rotate the order of the three sides; medians are reported.

   Self-check (exit 1 when it fails): every stream LLM_DONE, its text
   (through on_delta and llm_request_text) exactly "tok0 tok1 ... tok{N-1}",
   on_done once, each request reported once by llm_wait_any, and the budget
   loop reporting deferred work at least once (else the burst was too small
   to measure anything).

   Usage (environment of tools/with_mock.sh: OPENAI_BASE_URL, OPENAI_API_KEY):
     frame_budget [--streams 200] [--tokens 500] [--budget-us 2000] [--reps 5]
   The last line is "RESULT frame_budget key=value ...". */
#define _POSIX_C_SOURCE 200809L
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "bench_common.h"

#define BENCH_UA "llmasync-bench/1"
#define MAX_REPS 50
enum { S_BUDGET, S_UNIT, S_BASE, S_COUNT };
static const char *const side_name[S_COUNT] = { "llm_poll_budget(B)", "llm_poll_budget(0)", "llm_poll" };

typedef struct stream_acc { char *text; size_t len, cap; int done; } stream_acc;

static void on_delta(llm_request *r, const char *d, size_t n, void *ud) {
    stream_acc *a = (stream_acc *)ud;
    (void)r;
    if (a->len + n + 1 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 4096;
        char *q;
        while (cap < a->len + n + 1) cap *= 2;
        q = (char *)realloc(a->text, cap);
        if (!q) return; /* the check below finds the text short */
        a->text = q;
        a->cap = cap;
    }
    memcpy(a->text + a->len, d, n);
    a->len += n;
    a->text[a->len] = '\0';
}
static void on_done(llm_request *r, void *ud) { (void)r; ((stream_acc *)ud)->done++; }

static double thread_cpu_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

typedef struct run_res {
    double wall_max, wall_p99, wall_med, cpu_max, cpu_p99, burst_ms;
    long calls, deferred_calls;
    int ok;
} run_res;

static char *expected_text(int n) {
    size_t cap = (size_t)n * 12 + 16, len = 0;
    char *s = (char *)malloc(cap);
    int i;
    if (!s) return NULL;
    s[0] = '\0';
    for (i = 0; i < n; i++) len += (size_t)snprintf(s + len, cap - len, i ? " tok%d" : "tok%d", i);
    return s;
}

/* One burst of S streams driven by one side; fills *out. */
static int run_side(int side, int S, int tokens, int budget_us, const char *want, size_t *cap_calls, double **wall,
                    double **cpu, run_res *out) {
    llm_client_desc cd;
    llm_client *c;
    llm_request **rq = (llm_request **)calloc((size_t)S, sizeof *rq);
    stream_acc *acc = (stream_acc *)calloc((size_t)S, sizeof *acc);
    int *seen = (int *)calloc((size_t)S, sizeof *seen);
    char hdr[96];
    const char *hdrs[1];
    long n = 0;
    int i, left = 1, deferred = 1, ok = 1, reported = 0;
    double t_start, end;
    memset(out, 0, sizeof *out);
    if (!rq || !acc || !seen) { free(rq); free(acc); free(seen); return 0; }
    memset(&cd, 0, sizeof cd);
    cd.base_url = getenv("OPENAI_BASE_URL");
    cd.api_key = getenv("OPENAI_API_KEY");
    cd.max_concurrent = S;
    cd.user_agent = BENCH_UA;
    c = llm_client_new(&cd);
    if (!c) { free(rq); free(acc); free(seen); return 0; }
    snprintf(hdr, sizeof hdr, "X-Mock: tokens=%d pace=0", tokens);
    hdrs[0] = hdr;
    t_start = bench_now_s();
    for (i = 0; i < S; i++) {
        llm_message m;
        llm_chat_desc d;
        memset(&m, 0, sizeof m);
        m.role = "user";
        m.content = "burst";
        memset(&d, 0, sizeof d);
        d.model = "mock-model";
        d.messages = &m;
        d.n_messages = 1;
        d.stream = 1;
        d.headers = hdrs;
        d.n_headers = 1;
        d.on_delta = on_delta;
        d.on_done = on_done;
        d.user_data = &acc[i];
        rq[i] = llm_chat(c, &d);
    }
    end = bench_now_s() + 120;
    while ((left > 0 || deferred) && bench_now_s() < end) {
        double w0, c0, w1, c1;
        if ((size_t)n == *cap_calls) { /* grow both series */
            size_t nc = *cap_calls * 2;
            double *nw = (double *)realloc(*wall, nc * sizeof **wall), *nu;
            if (!nw) break;
            *wall = nw;
            nu = (double *)realloc(*cpu, nc * sizeof **cpu);
            if (!nu) break;
            *cpu = nu;
            *cap_calls = nc;
        }
        w0 = bench_now_s();
        c0 = thread_cpu_us();
        if (side == S_BASE) { left = llm_poll(c); deferred = 0; }
        else left = llm_poll_budget(c, side == S_UNIT ? 0 : budget_us, &deferred);
        c1 = thread_cpu_us();
        w1 = bench_now_s();
        (*wall)[n] = (w1 - w0) * 1e6;
        (*cpu)[n] = c1 - c0;
        n++;
        out->deferred_calls += deferred;
    }
    out->burst_ms = (bench_now_s() - t_start) * 1e3;
    out->calls = n;
    for (i = 0; i < S; i++) {
        if (llm_request_status(rq[i]) != LLM_DONE || acc[i].done != 1 || !acc[i].text || strcmp(acc[i].text, want) != 0 ||
            strcmp(llm_request_text(rq[i], NULL), want) != 0) {
            if (ok) fprintf(stderr, "frame_budget: %s: stream %d incomplete (status %d, on_done %d, %lu bytes; %s)\n",
                            side_name[side], i, (int)llm_request_status(rq[i]), acc[i].done, (unsigned long)acc[i].len,
                            llm_request_error(rq[i])->message);
            ok = 0;
        }
    }
    for (;;) {
        llm_request *r = llm_wait_any(c, 0);
        if (!r) break;
        for (i = 0; i < S && rq[i] != r; i++) {}
        if (i < S) seen[i]++;
        reported++;
    }
    for (i = 0; i < S; i++)
        if (seen[i] != 1) ok = 0;
    if (reported != S) { fprintf(stderr, "frame_budget: %s: %d reported, %d submitted\n", side_name[side], reported, S); ok = 0; }
    if (side != S_BASE && out->deferred_calls == 0) {
        fprintf(stderr, "frame_budget: %s never deferred work: the burst is too small\n", side_name[side]);
        ok = 0;
    }
    bench_sort(*wall, (size_t)n);
    bench_sort(*cpu, (size_t)n);
    out->wall_max = n ? (*wall)[n - 1] : 0;
    out->wall_p99 = bench_pct_sorted(*wall, (size_t)n, 99);
    out->wall_med = bench_pct_sorted(*wall, (size_t)n, 50);
    out->cpu_max = n ? (*cpu)[n - 1] : 0;
    out->cpu_p99 = bench_pct_sorted(*cpu, (size_t)n, 99);
    out->ok = ok;
    llm_client_free(c);
    for (i = 0; i < S; i++) free(acc[i].text);
    free(rq);
    free(acc);
    free(seen);
    return ok;
}

static void usage(void) {
    fprintf(stderr, "usage: frame_budget [--streams 200] [--tokens 500] [--budget-us 2000] [--reps 5]\n"
                    "needs OPENAI_BASE_URL (the mock's .../v1) in the environment\n");
    exit(2);
}

int main(int argc, char **argv) {
    int S = 200, tokens = 500, budget = 2000, reps = 5, i, rep, side, failed = 0;
    run_res res[S_COUNT][MAX_REPS];
    double v[MAX_REPS], med[S_COUNT][7];
    size_t cap = 1 << 16;
    double *wall = (double *)malloc(cap * sizeof *wall), *cpu = (double *)malloc(cap * sizeof *cpu);
    char *want;
    long nofile;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--streams") && i + 1 < argc) S = (int)bench_arg_long("--streams", argv[++i], 1, 5000);
        else if (!strcmp(argv[i], "--tokens") && i + 1 < argc) tokens = (int)bench_arg_long("--tokens", argv[++i], 1, 1000000);
        else if (!strcmp(argv[i], "--budget-us") && i + 1 < argc) budget = (int)bench_arg_long("--budget-us", argv[++i], 1, 1000000);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = (int)bench_arg_long("--reps", argv[++i], 1, MAX_REPS);
        else usage();
    }
    if (!getenv("OPENAI_BASE_URL") || !wall || !cpu) usage();
    nofile = bench_raise_nofile();
    if (S + 64 > nofile) {
        fprintf(stderr, "frame_budget: %d streams need %d descriptors, RLIMIT_NOFILE is %ld\n", S, S + 64, nofile);
        return 2;
    }
    want = expected_text(tokens);
    if (!want) return 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    printf("frame_budget: %d streams x %d tokens bursting at once, budget B = %d us, %d repetitions\n", S, tokens, budget, reps);
    printf("%-20s %4s %7s %10s %10s %10s %10s %10s %9s\n", "side", "rep", "calls", "wall_max", "wall_p99", "wall_med",
           "cpu_max", "cpu_p99", "burst_ms");
    fflush(stdout);
    for (rep = 0; rep < reps && !failed; rep++) {
        int k;
        for (k = 0; k < S_COUNT; k++) {
            run_res *r;
            side = (rep + k) % S_COUNT; /* rotate the order */
            r = &res[side][rep];
            if (!run_side(side, S, tokens, budget, want, &cap, &wall, &cpu, r)) failed = 1;
            printf("%-20s %4d %7ld %10.1f %10.1f %10.1f %10.1f %10.1f %9.1f\n", side_name[side], rep + 1, r->calls,
                   r->wall_max, r->wall_p99, r->wall_med, r->cpu_max, r->cpu_p99, r->burst_ms);
            fflush(stdout);
        }
    }
    if (failed) {
        printf("RESULT frame_budget status=FAILED\n");
        return 1;
    }
    for (side = 0; side < S_COUNT; side++) {
        int f;
        for (f = 0; f < 7; f++) {
            for (rep = 0; rep < reps; rep++) {
                const run_res *r = &res[side][rep];
                v[rep] = f == 0 ? r->wall_max : f == 1 ? r->wall_p99 : f == 2 ? r->wall_med : f == 3 ? r->cpu_max
                       : f == 4 ? r->cpu_p99 : f == 5 ? r->burst_ms : (double)r->calls;
            }
            med[side][f] = bench_median(v, (size_t)reps);
        }
    }
    printf("medians over %d repetitions (microseconds; burst in ms):\n", reps);
    for (side = 0; side < S_COUNT; side++)
        printf("  %-20s calls %7.0f  wall max %9.1f p99 %9.1f median %8.1f  cpu max %9.1f p99 %9.1f  burst %7.1f ms\n",
               side_name[side], med[side][6], med[side][0], med[side][1], med[side][2], med[side][3], med[side][4],
               med[side][5]);
    printf("bound: B + one unit = %d + %.1f = %.1f us (CPU); budgeted calls' CPU max %.1f us: %s\n", budget,
           med[S_UNIT][3], budget + med[S_UNIT][3], med[S_BUDGET][3],
           med[S_BUDGET][3] <= budget + med[S_UNIT][3] ? "within" : "OVER");
    printf("RESULT frame_budget status=ok streams=%d tokens=%d budget_us=%d b_wall_max=%.1f b_wall_p99=%.1f "
           "b_cpu_max=%.1f b_cpu_p99=%.1f b_calls=%.0f b_burst_ms=%.1f unit_wall_max=%.1f unit_cpu_max=%.1f "
           "unit_calls=%.0f base_wall_max=%.1f base_wall_p99=%.1f base_cpu_max=%.1f base_calls=%.0f base_burst_ms=%.1f\n",
           S, tokens, budget, med[S_BUDGET][0], med[S_BUDGET][1], med[S_BUDGET][3], med[S_BUDGET][4], med[S_BUDGET][6],
           med[S_BUDGET][5], med[S_UNIT][0], med[S_UNIT][3], med[S_UNIT][6], med[S_BASE][0], med[S_BASE][1],
           med[S_BASE][3], med[S_BASE][6], med[S_BASE][5]);
    free(want);
    free(wall);
    free(cpu);
    curl_global_cleanup();
    return 0;
}
