/* When a socket cannot be watched (epoll_ctl fails, as when
   fs.epoll.max_user_watches is reached), only that transfer fails, with a
   clear error; the client goes on. When libcurl cannot make a transfer
   (curl_easy_init fails), the request fails as out of memory, not retried.
   A client made with standard input closed leaves no descriptor behind.
   Each way a transfer can end in libcurl maps to its error kind, retried
   or not as the kind says.
   Linked with -Wl,--wrap=epoll_ctl -Wl,--wrap=curl_easy_init
   -Wl,--wrap=curl_multi_info_read -Wl,--wrap=curl_easy_setopt. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "harness.h"
#include "mockctl.h"
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <unistd.h>

static mock M;
static int adds, fail_at, fail_errno;
int __real_epoll_ctl(int ep, int op, int fd, struct epoll_event *ev);
int __wrap_epoll_ctl(int ep, int op, int fd, struct epoll_event *ev);
int __wrap_epoll_ctl(int ep, int op, int fd, struct epoll_event *ev) {
    if (op == EPOLL_CTL_ADD && ++adds == fail_at) { errno = fail_errno; return -1; }
    return __real_epoll_ctl(ep, op, fd, ev);
}

static int easy_fail;
CURL *__real_curl_easy_init(void);
CURL *__wrap_curl_easy_init(void);
CURL *__wrap_curl_easy_init(void) { return easy_fail ? NULL : __real_curl_easy_init(); }

/* While rewrite >= 0, every finished transfer reports that CURLcode
   instead of its own (the mock answered 200 in full meanwhile). */
static int rewrite = -1;
CURLMsg *__real_curl_multi_info_read(CURLM *m, int *left);
CURLMsg *__wrap_curl_multi_info_read(CURLM *m, int *left);
CURLMsg *__wrap_curl_multi_info_read(CURLM *m, int *left) {
    CURLMsg *msg = __real_curl_multi_info_read(m, left);
    if (msg && msg->msg == CURLMSG_DONE && rewrite >= 0) msg->data.result = (CURLcode)rewrite;
    return msg;
}

/* The options each transfer gets, as passed (SSL_OPTIONS only). */
static long ssl_options_set = -1;
CURLcode __real_curl_easy_setopt(CURL *e, CURLoption o, ...);
CURLcode __wrap_curl_easy_setopt(CURL *e, CURLoption o, ...);
CURLcode __wrap_curl_easy_setopt(CURL *e, CURLoption o, ...) {
    va_list ap;
    CURLcode rc;
    va_start(ap, o);
    if (o < CURLOPTTYPE_OBJECTPOINT) {
        long v = va_arg(ap, long);
        if (o == CURLOPT_SSL_OPTIONS) ssl_options_set = v;
        rc = __real_curl_easy_setopt(e, o, v);
    } else if (o < CURLOPTTYPE_FUNCTIONPOINT || o >= CURLOPTTYPE_BLOB) {
        rc = __real_curl_easy_setopt(e, o, va_arg(ap, void *));
    } else if (o < CURLOPTTYPE_OFF_T) {
        rc = __real_curl_easy_setopt(e, o, va_arg(ap, void (*)(void)));
    } else {
        rc = __real_curl_easy_setopt(e, o, va_arg(ap, curl_off_t));
    }
    va_end(ap);
    return rc;
}

/* native_ca asks libcurl for the system's store (a no-op in a Linux
   OpenSSL libcurl, so checked as the option passed); without it the TLS
   options stay libcurl's defaults. */
static void test_native_ca_passed(void) {
    int k;
    for (k = 0; k < 2; k++) {
        llm_client_desc cd;
        llm_chat_desc d;
        llm_message m = { "user", "x", NULL, NULL, NULL, NULL, 0 };
        llm_client *c;
        llm_request *r;
        memset(&cd, 0, sizeof cd);
        cd.base_url = M.openai;
        cd.api_key = "k";
        cd.native_ca = k;
        c = llm_client_new(&cd);
        memset(&d, 0, sizeof d);
        d.model = "m";
        d.messages = &m;
        d.n_messages = 1;
        ssl_options_set = -1;
        r = llm_chat(c, &d);
        CHECK(th_next(c, 5000) == r && llm_request_status(r) == LLM_DONE);
#if LIBCURL_VERSION_NUM >= 0x074700
        if (k) CHECK_MSG(ssl_options_set >= 0 && (ssl_options_set & CURLSSLOPT_NATIVE_CA), "SSL_OPTIONS %ld", ssl_options_set);
        else CHECK_MSG(ssl_options_set == -1, "SSL_OPTIONS %ld set without native_ca", ssl_options_set);
#endif
        llm_request_free(r);
        llm_client_free(c);
    }
}

static void test_curl_codes(void) {
    static const struct {
        CURLcode code;
        llm_error_kind kind;
        int retryable;
        llm_timeout_kind timeout;
        const char *says;
    } T[] = {
        { CURLE_OPERATION_TIMEDOUT, LLM_ERR_TIMEOUT, 1, LLM_TIMEOUT_CONNECT, "timeout (connect)" },
        { CURLE_OUT_OF_MEMORY, LLM_ERR_NO_MEMORY, 0, LLM_TIMEOUT_NONE, "no_memory: Out of memory" },
        { CURLE_URL_MALFORMAT, LLM_ERR_INVALID, 0, LLM_TIMEOUT_NONE, "URL" },
        { CURLE_WEIRD_SERVER_REPLY, LLM_ERR_PROTOCOL, 1, LLM_TIMEOUT_NONE, "answer is not HTTP" },
        { CURLE_UNSUPPORTED_PROTOCOL, LLM_ERR_PROTOCOL, 1, LLM_TIMEOUT_NONE, "answer is not HTTP" },
        { CURLE_PEER_FAILED_VERIFICATION, LLM_ERR_CONNECTION, 0, LLM_TIMEOUT_NONE, "set ca_file" },
        { CURLE_SSL_CACERT_BADFILE, LLM_ERR_CONNECTION, 0, LLM_TIMEOUT_NONE, "not trusted" },
        { CURLE_SSL_CERTPROBLEM, LLM_ERR_CONNECTION, 0, LLM_TIMEOUT_NONE, "not trusted" },
        { CURLE_SSL_ISSUER_ERROR, LLM_ERR_CONNECTION, 0, LLM_TIMEOUT_NONE, "not trusted" },
        { CURLE_SSL_PINNEDPUBKEYNOTMATCH, LLM_ERR_CONNECTION, 0, LLM_TIMEOUT_NONE, "not trusted" },
        { CURLE_SSL_CRL_BADFILE, LLM_ERR_CONNECTION, 0, LLM_TIMEOUT_NONE, "not trusted" },
        { CURLE_RECV_ERROR, LLM_ERR_CONNECTION, 1, LLM_TIMEOUT_NONE, "transfer broken after HTTP 200" },
    };
    llm_client_desc cd;
    llm_chat_desc d;
    llm_message m = { "user", "x", NULL, NULL, NULL, NULL, 0 };
    llm_client *c;
    size_t i;
    memset(&cd, 0, sizeof cd);
    cd.base_url = M.openai;
    cd.api_key = "k";
    cd.max_retries = 1;
    c = llm_client_new(&cd);
    memset(&d, 0, sizeof d);
    d.model = "m";
    d.messages = &m;
    d.n_messages = 1;
    for (i = 0; i < sizeof T / sizeof T[0]; i++) {
        llm_request *r;
        const llm_error *e;
        rewrite = (int)T[i].code;
        r = llm_chat(c, &d);
        CHECK(th_next(c, 10000) == r);
        rewrite = -1;
        e = llm_request_error(r);
        CHECK_MSG(llm_request_status(r) == LLM_FAILED && e->kind == T[i].kind, "curl code %d: %s, %s (%s)", (int)T[i].code,
                  llm_status_string(llm_request_status(r)), llm_error_string(e->kind), e->message);
        CHECK_MSG(e->retryable == T[i].retryable && e->retries == T[i].retryable, "curl code %d: retryable %d, retries %d",
                  (int)T[i].code, e->retryable, e->retries);
        CHECK_MSG(e->timeout == T[i].timeout, "curl code %d: timeout kind %d", (int)T[i].code, (int)e->timeout);
        CHECK_MSG(e->curl_code == (int)T[i].code, "curl code %d: reported %d", (int)T[i].code, e->curl_code);
        CHECK_MSG(e->http_status == 0, "curl code %d: HTTP status %ld reported", (int)T[i].code, (long)e->http_status);
        CHECK_MSG(strstr(e->message, T[i].says) != NULL, "curl code %d: %s", (int)T[i].code, e->message);
        llm_request_free(r);
    }
    llm_client_free(c);
}

static void test_no_transfer(void) {
    llm_client_desc cd;
    llm_chat_desc d;
    llm_message m = { "user", "x", NULL, NULL, NULL, NULL, 0 };
    llm_client *c;
    llm_request *r;
    memset(&cd, 0, sizeof cd);
    cd.base_url = M.openai;
    cd.api_key = "k";
    cd.max_retries = 3;
    c = llm_client_new(&cd);
    memset(&d, 0, sizeof d);
    d.model = "m";
    d.messages = &m;
    d.n_messages = 1;
    easy_fail = 1;
    r = llm_chat(c, &d);
    CHECK(th_next(c, 5000) == r);
    easy_fail = 0;
    CHECK_INT(llm_request_status(r), LLM_FAILED);
    CHECK_INT(llm_request_error(r)->kind, LLM_ERR_NO_MEMORY);
    CHECK_INT(llm_request_error(r)->retryable, 0);
    CHECK_INT(llm_request_error(r)->retries, 0);
    CHECK(strstr(llm_request_error(r)->message, "could not create a transfer") != NULL);
    llm_request_free(r);
    r = llm_chat(c, &d); /* the client goes on */
    CHECK(th_next(c, 5000) == r && llm_request_status(r) == LLM_DONE);
    llm_request_free(r);
    llm_client_free(c);
}

static int open_fds(void) {
    int fd, n = 0;
    for (fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) != -1) n++;
    return n;
}
static void test_stdin_closed(void) {
    int saved = dup(0), before, k;
    close(0);
    before = open_fds();
    for (k = 0; k < 3; k++) { /* the wake pipe may get descriptor 0 */
        llm_client *c = llm_client_new(NULL);
        CHECK(c != NULL);
        llm_client_free(c);
        CHECK_INT(open_fds(), before);
        CHECK(fcntl(0, F_GETFD) == -1);
    }
    dup2(saved, 0);
    close(saved);
}

static void test_unwatchable_socket(void) {
    llm_client_desc cd;
    llm_chat_desc d;
    llm_message m = { "user", "x [[delay=100]]", NULL, NULL, NULL, NULL, 0 };
    llm_client *c;
    llm_request *r;
    int i, round;
    memset(&cd, 0, sizeof cd);
    cd.base_url = M.openai;
    cd.api_key = "k";
    cd.max_concurrent = 40;
    cd.max_retries = -1;
    c = llm_client_new(&cd); /* the wake pipe is the first ADD */
    memset(&d, 0, sizeof d);
    d.model = "m";
    d.messages = &m;
    d.n_messages = 1;
    for (round = 0; round < 3; round++) {
        int done = 0, failed = 0;
        adds = 0;
        fail_at = round < 2 ? 4 : 0; /* the 4th socket of the first rounds cannot be watched */
        fail_errno = round == 0 ? ENOSPC : ENOMEM; /* a watch limit; no memory */
        for (i = 0; i < 10; i++) llm_chat(c, &d);
        while ((r = th_next(c, 5000)) != NULL) {
            if (llm_request_status(r) == LLM_DONE) done++;
            else {
                failed++;
                CHECK_INT(llm_request_error(r)->kind, round == 0 ? LLM_ERR_CONNECTION : LLM_ERR_NO_MEMORY);
                CHECK(strstr(llm_request_error(r)->message, "cannot watch") != NULL);
                CHECK_INT(llm_request_error(r)->retryable, 0); /* the host must free watches first */
                CHECK(strstr(llm_request_error(r)->message, round == 0 ? "(errno 28)" : "(errno 12)") != NULL);
            }
            llm_request_free(r);
        }
        CHECK_INT(done + failed, 10);
        CHECK_INT(failed, round < 2 ? 1 : 0);
        CHECK_INT(llm_poll(c), 0);
    }
    llm_client_free(c);
}

int main(int argc, char **argv) {
    th_slow_from_env();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!mock_start(&M)) { printf("iofail: 0 passed, 1 failed\n"); return 1; }
    RUN(test_unwatchable_socket);
    RUN(test_no_transfer);
    RUN(test_stdin_closed);
    RUN(test_curl_codes);
    RUN(test_native_ca_passed);
    mock_stop(&M);
    curl_global_cleanup();
    return th_finish("iofail");
}
