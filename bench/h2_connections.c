/* h2_connections.c -- N requests at once to one HTTPS + HTTP/2 host: how
   many connections (so TLS handshakes) the client opens for them.

   Run by bench/h2_connections.sh, which starts nginx (Debian's nginx-light)
   on loopback with TLS and HTTP/2, answering every POST with one canned
   chat completion and logging each request's connection number. This
   program submits N chats at once (max_concurrent = N), waits for all, and
   checks each is DONE with the canned text; the script then counts the
   distinct connections in nginx's log. Built twice: as is (CURLOPT_PIPEWAIT,
   the default) and with -DLLMASYNC_PIPEWAIT=0 (the baseline).

   Usage: h2_connections --base https://127.0.0.1:PORT/v1 --ca CERT.pem
                         [--requests 100]
   The last line is "RESULT h2_connections status=ok|fail done=N ms=T". */
#define _POSIX_C_SOURCE 200809L
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "bench_common.h"

int main(int argc, char **argv) {
    const char *base = NULL, *ca = NULL;
    int n = 100, i, done = 0, ok = 1;
    llm_client_desc cd;
    llm_client *c;
    llm_request *r;
    llm_message m;
    double t0;
    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--base")) base = argv[i + 1];
        else if (!strcmp(argv[i], "--ca")) ca = argv[i + 1];
        else if (!strcmp(argv[i], "--requests")) n = atoi(argv[i + 1]);
    }
    if (!base || !ca || n < 1) {
        fprintf(stderr, "usage: h2_connections --base URL --ca CERT [--requests N]\n");
        return 2;
    }
    memset(&cd, 0, sizeof cd);
    cd.base_url = base;
    cd.api_key = "bench-key";
    cd.ca_file = ca;
    cd.max_concurrent = n;
    cd.max_retries = -1;
    c = llm_client_new(&cd);
    if (!c) return 2;
    memset(&m, 0, sizeof m);
    m.role = "user";
    m.content = "Say hi.";
    t0 = bench_now_s();
    for (i = 0; i < n; i++) {
        llm_chat_desc d;
        memset(&d, 0, sizeof d);
        d.model = "bench-model";
        d.messages = &m;
        d.n_messages = 1;
        llm_chat(c, &d);
    }
    while ((r = llm_wait_any(c, 30000)) != NULL) {
        if (llm_request_status(r) != LLM_DONE || strcmp(llm_request_text(r, NULL), "Hi from nginx.")) {
            if (ok) fprintf(stderr, "h2_connections: %s\n", llm_request_error(r)->message);
            ok = 0;
        }
        done++;
        llm_request_free(r);
    }
    if (done != n) ok = 0;
    printf("RESULT h2_connections status=%s done=%d ms=%.1f\n", ok ? "ok" : "fail", done, (bench_now_s() - t0) * 1000.0);
    llm_client_free(c);
    return ok ? 0 : 1;
}
