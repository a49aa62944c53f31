/* When a socket cannot be watched (epoll_ctl fails, as when
   fs.epoll.max_user_watches is reached), only that transfer fails, with a
   clear error; the client goes on. Linked with -Wl,--wrap=epoll_ctl. */
#define LLMASYNC_IMPLEMENTATION
#include "../llmasync.h"
#include "harness.h"
#include "mockctl.h"
#include <errno.h>

static mock M;
static int adds, fail_at, fail_errno;
int __real_epoll_ctl(int ep, int op, int fd, struct epoll_event *ev);
int __wrap_epoll_ctl(int ep, int op, int fd, struct epoll_event *ev);
int __wrap_epoll_ctl(int ep, int op, int fd, struct epoll_event *ev) {
    if (op == EPOLL_CTL_ADD && ++adds == fail_at) { errno = fail_errno; return -1; }
    return __real_epoll_ctl(ep, op, fd, ev);
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
    mock_stop(&M);
    curl_global_cleanup();
    return th_finish("iofail");
}
