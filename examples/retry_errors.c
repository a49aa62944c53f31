/* retry_errors: what each error kind looks like and how a host handles it.
   Retries happen inside the library, on timers that never block the loop;
   the host only decides what to do with a request that finally failed.
   Against the mock server (make examples && tools/with_mock.sh
   build/examples/retry_errors) every case is provoked on purpose; against a
   real API only the first request runs. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cse { const char *what, *mock; int stream; } cse;
static const cse cases[] = {
    { "a normal answer", "", 0 },
    { "429 twice, then ok: retried after Retry-After", "status=429 retry_after=0.2 id=ex1 fail_first=2", 0 },
    { "503 that never recovers: 2 retries, then FAILED", "status=503 retry_after_ms=100", 0 },
    { "401 bad key: never retried", "status=401", 0 },
    { "400 bad request: never retried", "status=400", 0 },
    { "404 unknown model", "status=404", 0 },
    { "529 overloaded", "status=529 retry_after_ms=50", 0 },
    { "connection reset before any byte: retried", "fault=reset_headers id=ex2 fail_first=1", 0 },
    { "an HTML error page from a proxy", "fault=html status=502 retry_after_ms=50", 0 },
    { "a 200 whose body is not JSON", "fault=not_json", 0 },
    { "a stream that stalls: the idle timeout fires", "tokens=10 stall_after=3", 1 },
    { "a stream broken after some text: not retried", "tokens=10 error_after=4", 1 },
    { "a request we cancel ourselves", "delay=5000", 0 },
};
enum { N = sizeof cases / sizeof cases[0] };

static void handle(llm_request *r) {
    const cse *k = (const cse *)llm_request_user_data(r);
    const llm_error *e = llm_request_error(r);
    printf("- %s\n  -> %s", k->what, llm_status_string(llm_request_status(r)));
    if (e->retries) printf(" after %d retr%s", e->retries, e->retries == 1 ? "y" : "ies");
    printf("\n");
    switch (e->kind) {
    case LLM_ERR_NONE:
        printf("     answer: %.60s\n", llm_request_text(r, NULL));
        return;
    case LLM_ERR_AUTH:
    case LLM_ERR_PERMISSION:
        printf("     fix the key or its rights; retrying cannot help\n");
        break;
    case LLM_ERR_BAD_REQUEST:
    case LLM_ERR_NOT_FOUND:
    case LLM_ERR_UNPROCESSABLE:
    case LLM_ERR_INVALID:
        printf("     a bug in what we sent: log it with the provider's message\n");
        break;
    case LLM_ERR_RATE_LIMIT:
    case LLM_ERR_OVERLOADED:
    case LLM_ERR_SERVER:
    case LLM_ERR_CONNECTION:
    case LLM_ERR_TIMEOUT:
        printf("     transient%s: the library already retried %d time(s); try later or degrade\n",
               e->kind == LLM_ERR_TIMEOUT ? " (which timeout: see error.timeout)" : "", e->retries);
        break;
    case LLM_ERR_CANCELLED:
        printf("     we asked for it\n");
        break;
    default:
        printf("     protocol / size / memory trouble\n");
        break;
    }
    printf("     kind=%s http=%d type=%s request_id=%s\n     message: %s\n", llm_error_string(e->kind), e->http_status,
           e->type ? e->type : "-", e->request_id ? e->request_id : "-", e->message);
}

int main(void) {
    int mock = getenv("LLMASYNC_MOCK") != NULL, i, n = mock ? N : 1;
    llm_client_desc cd = { 0 };
    llm_client *c;
    llm_request *r, *to_cancel = NULL;
    cd.max_retries = 2;
    cd.idle_timeout_ms = 500; /* a stream silent this long has stalled */
    c = llm_client_new(&cd);
    if (!c) return 1;
    for (i = 0; i < n; i++) {
        llm_message m = { 0 };
        llm_chat_desc d = { 0 };
        char hdr[160];
        const char *h = hdr;
        snprintf(hdr, sizeof hdr, "X-Mock: %s", cases[i].mock);
        m.role = "user";
        m.content = "Say hi.";
        d.model = getenv("LLM_DEMO_MODEL") ? getenv("LLM_DEMO_MODEL") : "gpt-4o-mini";
        d.messages = &m;
        d.n_messages = 1;
        d.stream = cases[i].stream;
        d.user_data = (void *)&cases[i];
        if (mock) { d.headers = &h; d.n_headers = 1; }
        r = llm_chat(c, &d);
        if (mock && !strcmp(cases[i].mock, "delay=5000")) to_cancel = r;
    }
    printf("%d requests in flight; reported as they end:\n\n", n);
    for (i = 0;; i++) {
        r = llm_wait_any(c, 100);
        /* a few rounds of at most 100 ms later, give up on the slow one */
        if (to_cancel && i == 3) { llm_cancel(to_cancel); to_cancel = NULL; }
        if (r) { handle(r); llm_request_free(r); continue; }
        if (llm_poll(c) == 0 && !to_cancel) { /* NULL and nothing in flight: collect the last ones */
            while ((r = llm_wait_any(c, 0)) != NULL) { handle(r); llm_request_free(r); }
            break;
        }
    }
    llm_client_free(c);
    return 0;
}
