/* When a socket cannot be watched (epoll_ctl fails, as when
   fs.epoll.max_user_watches is reached), only that transfer fails, with a
   clear error; the client goes on. When libcurl cannot make a transfer
   (curl_easy_init fails), the request fails as out of memory, not retried.
   A client made with standard input closed leaves no descriptor behind.
   Linked with -Wl,--wrap=epoll_ctl -Wl,--wrap=curl_easy_init. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "harness.h"
#include "mockctl.h"
#include <errno.h>
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
    mock_stop(&M);
    curl_global_cleanup();
    return th_finish("iofail");
}
