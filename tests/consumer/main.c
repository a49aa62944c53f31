/* A user's program: takes llmasync in through its build system (CMake
   add_subdirectory / FetchContent / find_package, or pkg-config), asks the
   server at OPENAI_BASE_URL one question and checks the answer. Run by
   tests/consumers.sh against the mock server. */
#define LLMASYNC_IMPLEMENTATION
#include <llmasync.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    int num = -1, ok;
    const char *v = llm_version(&num);
    llm_message m;
    llm_chat_desc d;
    llm_client *c;
    llm_request *r;
    if (strcmp(v, LLMASYNC_VERSION) != 0 || num != LLMASYNC_VERSION_NUM) {
        fprintf(stderr, "consumer: header %s (%d), implementation %s (%d)\n", LLMASYNC_VERSION,
                LLMASYNC_VERSION_NUM, v, num);
        return 1;
    }
    c = llm_client_new(NULL);
    if (!c) return 1;
    memset(&m, 0, sizeof m);
    memset(&d, 0, sizeof d);
    m.role = "user";
    m.content = "ping from a consumer";
    d.model = "gpt-4o-mini";
    d.messages = &m;
    d.n_messages = 1;
    r = llm_chat_blocking(c, &d);
    ok = llm_request_status(r) == LLM_DONE && strcmp(llm_request_text(r, NULL), "Echo: ping from a consumer") == 0;
    printf("consumer: llmasync %s: %s\n", v, ok ? llm_request_text(r, NULL) : llm_request_error(r)->message);
    llm_client_free(c);
    return ok ? 0 : 1;
}
