/*
 * mock_server.c -- a local mock LLM HTTP server for llmasync's unit tests,
 * end-to-end tests, soak tests, benchmarks and the demo.
 *
 * This file is the reference for test writers: everything the mock does is
 * described in this comment.
 *
 * BUILD
 *   cc -std=c99 -O2 -o mock_server tests/mock_server.c
 *   cc -std=c99 -O2 -DMOCK_TLS -o mock_server tests/mock_server.c -lssl -lcrypto
 *
 * RUN
 *   mock_server [--port N] [--port-file PATH] [--exit-on-stdin-eof]
 *               [--verbose] [--tls CERT KEY] [--directives "k=v ..."]
 *
 *   Listens on 127.0.0.1:N (default 0 = an ephemeral port). Once listening it
 *   prints "PORT <n>\n" on stdout (flushed) and, with --port-file, writes
 *   "<n>\n" to PATH (atomically, via a rename). It exits 0 after freeing
 *   everything on SIGTERM or SIGINT and, with --exit-on-stdin-eof, when stdin
 *   reaches EOF (spawn it with a pipe on stdin and it dies with the test).
 *   --verbose logs one line per request on stderr. --directives gives
 *   DIRECTIVES that apply to every request (chat and embeddings alike) under
 *   its own: the body's [[...]] and the X-Mock header override them. --tls serves HTTPS and
 *   needs a build with -DMOCK_TLS; otherwise it prints an error and exits 2.
 *
 *   One process, one thread, poll(), non-blocking sockets, 1200+ concurrent
 *   connections (RLIMIT_NOFILE is raised to the hard limit). Answers are
 *   deterministic. A client that closes its end (EOF) has its connection
 *   closed at once, whatever the server was doing for it.
 *
 * HTTP
 *   HTTP/1.1, keep-alive by default ("Connection: close" from the client is
 *   honoured; HTTP/1.0 closes unless it asks for keep-alive). Request bodies
 *   by Content-Length or "Transfer-Encoding: chunked", at most 64 MiB (more
 *   -> 413 with the endpoint's error body). "Expect: 100-continue" gets
 *   "HTTP/1.1 100 Continue". Plain responses carry Content-Length, streams
 *   use chunked encoding with every event (or split piece) in its own chunk.
 *   Every response carries "x-request-id: req_mock_<n>" (n counts every
 *   request since start-up and is never reset); /v1/messages responses also
 *   carry "request-id: req_mock_<n>". The same n is used in chatcmpl-mock-<n>
 *   and msg_mock_<n>.
 *
 * ENDPOINTS
 *   POST /v1/chat/completions  OpenAI chat. 401 only for exactly
 *                              "Authorization: Bearer bad-key". 400 (message
 *                              "mock: invalid request: ...") unless model is a
 *                              non-empty string and messages a non-empty array
 *                              of objects with role system/developer/user/
 *                              assistant/tool, or when max_tokens /
 *                              max_completion_tokens is not an integer >= 1,
 *                              or tools is present and not an array.
 *                              "stream":true -> SSE chunks, [DONE] at the end,
 *                              usage chunk with stream_options.include_usage.
 *   GET  /v1/models            list with "mock-model".
 *   POST /v1/embeddings        OpenAI embeddings (see EMBEDDINGS).
 *   POST /v1/messages          Anthropic messages. 401 when x-api-key is
 *                              missing, empty or "bad-key"; 400 when the
 *                              anthropic-version header is missing, max_tokens
 *                              is missing, a role is not user/assistant, tools
 *                              is present and not an array.
 *   POST /api/chat             Ollama chat; streams NDJSON unless
 *                              "stream":false. options.num_predict > 0 caps
 *                              the tokens.
 *   POST /api/embed            Ollama embeddings (see EMBEDDINGS).
 *   GET  /mock/stats           {"requests","connections","open_connections",
 *                              "inflight","max_inflight","last_method",
 *                              "last_path" (target with query string),
 *                              "last_authorization","last_x_api_key",
 *                              "last_anthropic_version","last_user_agent",
 *                              "last_content_type","last_x_mock" (strings or
 *                              null),"last_body" (JSON string, null before the
 *                              first request)}. /mock/... requests are not
 *                              counted, not in flight, and not "last".
 *                              "connections" = TCP connections accepted. A
 *                              request is in flight from when it is fully
 *                              received until its response is completely
 *                              written or its connection closes.
 *   POST /mock/reset           zero requests, connections, max_inflight (set
 *                              to the current inflight) and the fail_first
 *                              counters; answers {"ok":true}.
 *   POST <other path>          {"object":"echo","method":"POST","path":P,
 *                              "query":Q|null,"body":B}, B being the body
 *                              verbatim when it is JSON, else a JSON string.
 *                              With "stream":true in the body: SSE
 *                              "event: echo" / data {"i":k} for k < tokens
 *                              (default 3), then "event: done" / data {}.
 *   GET  <other path>          404 with an OpenAI-style error. (HEAD is
 *                              answered like GET without the body.)
 *
 * EMBEDDINGS
 *   input: a string or an array of strings (an empty array -> 400); model must
 *   be a non-empty string; dim = "dimensions" (1..65536) or 8. Vector of
 *   input s: e[0] = byte length of s, e[j>=1] = ((fnv1a32(s) >> (j % 24)) %
 *   1000) / 1000.0 printed with %.6g. The raw input string is hashed,
 *   directive included. OpenAI: encoding_format "base64" returns the vector
 *   as base64 of little-endian float32. prompt_tokens = words in all inputs.
 *
 * REPLIES (chat endpoints)
 *   Default content: "Echo: <text>" where <text> is the last user message
 *   (string content, or the "text" of every part joined with one space) with
 *   its first [[...]] directive removed and whitespace trimmed ("Echo:" when
 *   that leaves nothing). Tokens: the reply is cut before each space
 *   ("Echo:", " hello", " world"). prompt_tokens = whitespace-separated words
 *   in every message content as sent (directives included) plus Anthropic's
 *   "system". completion_tokens = tokens actually sent. A max_tokens /
 *   max_completion_tokens (OpenAI), max_tokens (Anthropic) or num_predict
 *   (Ollama) smaller than the token count cuts the reply and reports
 *   finish_reason "length" / stop_reason "max_tokens" / done_reason "length".
 *   With json=1 or a response_format in the body the content is
 *     {"score": S, "justification": "mock justification for <T>"}
 *   with S = 1 + fnv1a32(text) % 10 and T = the first 20 bytes of <text>
 *   (shortened to a UTF-8 character boundary), JSON-escaped.
 *
 * DIRECTIVES
 *   Written as key=value pairs separated by whitespace or commas, in
 *   (a) the request header  X-Mock: key=value key=value ...
 *   (b) the first [[ ... ]] in the last user message's content (after JSON
 *       unescaping); for embeddings in the first input string; for every
 *       other endpoint anywhere in the raw body.
 *   Header values override body values. Unknown keys and malformed values are
 *   ignored. Numbers are non-negative integers (capped at 1e9). Flags accept 1/0/true/false/yes/no. /mock/... ignores directives.
 *
 *   Reply content
 *     tokens=N         reply "tok0 tok1 ... tok{N-1}" (N tokens). For the
 *                      echo endpoint's stream: the number of echo events.
 *     unicode=1        reply "h\u00e9llo w\u00f6rld \u4f60\u597d \U0001F600 done"
 *                      (2-, 3- and 4-byte UTF-8; 5 tokens).
 *     json=1           the JSON reply described above.
 *     tools=N          N tool calls instead of text (max 1000): name
 *                      get_weather, arguments {"city":"Paris","i":<i>}, ids
 *                      call_<i> (OpenAI) / toolu_<i> (Anthropic); streamed
 *                      in ~5-byte argument fragments; each fragment counts
 *                      as one token; finish_reason "tool_calls" / stop_reason
 *                      "tool_use". Ollama gets one tool_calls message.
 *     thinking=1       Anthropic: a thinking block (two thinking_delta and a
 *                      signature_delta when streamed) before the text.
 *     usage=0          never send OpenAI's streamed usage chunk (nor the
 *                      "usage":null fields), even when requested.
 *   Timing and stream shape
 *     delay=MS         wait MS after the request is fully received before
 *                      sending anything. Exception: a stream with keepalive=
 *                      sends its headers at once and spends the delay sending
 *                      keep-alive comments (the "before the first event" case).
 *     pace=MS          gap between streamed events, every event (prelude and
 *                      final events included). Default 0: as fast as the
 *                      socket drains, many events per write().
 *     split=K          write the streamed body (SSE/NDJSON bytes) in pieces
 *                      of exactly K bytes (the last may be shorter), each its
 *                      own HTTP chunk, cutting through lines, CRLF pairs and
 *                      UTF-8 characters; split_gap=MS (default 1) after each
 *                      piece. Bytes wait until K are there, except at the end,
 *                      a stall or a reset where the remainder is flushed.
 *     eol=lf|crlf|cr   line endings inside the SSE stream (default lf).
 *     bom=1            start the SSE body with a UTF-8 BOM.
 *     keepalive=MS     SSE only: ": keep-alive" + blank line whenever MS
 *                      passed without anything sent (during a delay, between
 *                      paced events, during a stall).
 *   Stream faults (K counts content tokens / tool fragments already sent; if
 *   the reply has K or fewer tokens the fault happens after the last one)
 *     stall_after=K    then send nothing more (keep-alives aside) and hold the
 *                      connection until the client closes it.
 *     error_after=K    then the provider's mid-stream error and a clean end
 *                      of the chunked body. OpenAI: data: {"error":{"message":
 *                      "mock stream error","type":"server_error","code":
 *                      "mock_error"}}; Anthropic: event: error + data:
 *                      {"type":"error","error":{"type":"<error_type or
 *                      overloaded_error>","message":"Overloaded"}}; Ollama:
 *                      {"error":"mock ollama error"}; echo: like OpenAI.
 *     error_event_after=K  OpenAI: event: error + data: {"error":{"message":
 *                      "mock error event","type":"server_error"}}, then end.
 *                      Elsewhere the same as error_after.
 *     reset_after=K    then flush, wait 20 ms (so the client has read the K
 *                      tokens) and reset the connection (SO_LINGER 0).
 *     error_type=T     overrides the error "type" in status= bodies (OpenAI,
 *                      Anthropic) and in mid-stream errors.
 *   Statuses and faults (any endpoint)
 *     status=N         (200..999) respond N with the provider's error body: OpenAI
 *                      {"error":{"message":"mock error N","type":T,
 *                      "param":null,"code":C}} (T: invalid_request_error for
 *                      400/404/409/413/422 and other 4xx,
 *                      authentication_error 401, permission_error 403,
 *                      rate_limit_error 429, server_error >= 500; C:
 *                      invalid_request 400, invalid_api_key 401,
 *                      permission_denied 403, not_found 404, conflict 409,
 *                      request_too_large 413, unprocessable_entity 422,
 *                      rate_limit_exceeded 429, server_error >= 500, else
 *                      mock_error); Anthropic (/v1/messages) {"type":"error",
 *                      "error":{"type":T,"message":"mock error N"}} (T:
 *                      invalid_request_error, authentication_error 401,
 *                      permission_error 403, not_found_error 404,
 *                      request_too_large 413, rate_limit_error 429,
 *                      overloaded_error 529, api_error other 5xx); Ollama
 *                      (/api/...) {"error":"mock error N"}. status=200 is a
 *                      normal answer; 204 and 304 have an empty body.
 *     redirect=URL     307 with "Location: URL" and an empty body.
 *     fault=reset_headers  read the request, then reset without a byte.
 *     fault=reset_body     status line + headers with the full
 *                      Content-Length, half the body, then reset.
 *     fault=truncated  a complete 200 whose JSON body is cut in half
 *                      (Content-Length = what is sent).
 *     fault=garbage    non-HTTP bytes, then close.
 *     fault=drip       the whole normal response, headers included, one byte
 *                      every pace ms (default 50).
 *     fault=never      read the request and never answer; keep the
 *                      connection open.
 *     fault=huge       200 application/json of huge_bytes bytes (default
 *                      104857600) generated lazily, Content-Length set; it is
 *                      valid JSON {"pad":"xxx..."} when huge_bytes >= 10.
 *     fault=wrong_ctype  200 with Content-Type text/html and an HTML body.
 *     fault=html       status (status=, default 502) with an HTML page.
 *     fault=empty      status (status=, default 500), empty body.
 *     fault=not_json   200 application/json, body "this is not json".
 *     (truncated/reset_body apply to the non-streamed JSON answer even when
 *     the request asked for a stream; drip, truncated and reset_body also
 *     apply to a status= error response.)
 *     retry_after=S    header "Retry-After: S" (verbatim).
 *     retry_after_ms=MS  header "retry-after-ms: MS" (verbatim).
 *     retry_after_date=S  "Retry-After" as an IMF-fixdate S seconds from now.
 *     should_retry=V   header "x-should-retry: V" (true/false, verbatim).
 *     id=STR fail_first=K  a counter per id: the first K requests carrying
 *                      that id get the status/fault group (status, fault,
 *                      redirect, retry_after*, should_retry, stall_after,
 *                      error_after, error_event_after, reset_after); later
 *                      ones are answered normally. Without fail_first the
 *                      group applies to every request. delay, pace, split,
 *                      close etc. always apply.
 *     close=1          "Connection: close" and close after the response.
 *     shuffle=1        OpenAI embeddings: data items in reverse order.
 *   Order of checks: directives' status/fault group first, then the
 *   endpoint's auth and validation, then the normal answer.
 */

#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef MOCK_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* platforms without it use SO_NOSIGPIPE below */
#endif

#if defined(__GNUC__)
#define PRINTF_LIKE(a, b) __attribute__((format(printf, a, b)))
#define NORETURN __attribute__((noreturn))
#else
#define PRINTF_LIKE(a, b)
#define NORETURN
#endif

#define MAX_BODY ((size_t)64 * 1024 * 1024)
#define MAX_HEAD (64 * 1024)
#define MAX_HEADERS 128
#define READ_CHUNK (64 * 1024)
/* While a response is in progress, pipelined input beyond this stays in the
 * kernel (back-pressure instead of unbounded buffering). */
#define IN_LIMIT (1024 * 1024)
/* How much a stream generates ahead before handing it to the socket: big
 * enough to batch many events per write(), small enough to stay lazy. */
#define OUT_BATCH (256 * 1024)
/* reset_after / reset_body: time for the client to read what was sent
 * before the RST, which may make the kernel drop unread data. */
#define RESET_GRACE_MS 20
/* Bytes one connection may write per wake-up before the others get a turn
 * (a fast reader of an unpaced stream would otherwise hog the loop). */
#define PUMP_BUDGET (4 * 1024 * 1024)
/* Cap for millisecond directives so now + ms cannot overflow. */
#define MAX_MS 1000000000L
#define JSON_MAX_DEPTH 128
#define NEVER INT64_MAX
#define CREATED 1700000000
#define OLLAMA_TS "2024-01-01T00:00:00Z"
#define UNICODE_REPLY                                                          \
    "h\xc3\xa9llo w\xc3\xb6rld \xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x98\x80 done"

/* ------------------------------------------------------------------------ */
/* Small utilities                                                          */
/* ------------------------------------------------------------------------ */

/* A test tool has no sensible way to continue without memory. */
static NORETURN void oom(void);
static void oom(void)
{
    fputs("mock_server: out of memory\n", stderr);
    abort();
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom();
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        oom();
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    char *d = xmalloc(n + 1);
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

/* Copies with truncation; always NUL-terminates. */
static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int is_ws(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static uint32_t fnv1a(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static long count_words(const char *s, size_t n)
{
    long words = 0;
    size_t i;
    int in_word = 0;
    for (i = 0; i < n; i++) {
        if (is_ws((unsigned char)s[i]))
            in_word = 0;
        else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    return words;
}

/* Growable byte buffer; always NUL-terminated once allocated. */
typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static void buf_reserve(buf_t *b, size_t extra)
{
    size_t need, cap;
    if (b->p && b->cap - b->len > extra)
        return;
    need = b->len + extra + 1;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

static void buf_add(buf_t *b, const void *d, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_adds(buf_t *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void buf_addc(buf_t *b, char c)
{
    buf_add(b, &c, 1);
}

static void buf_addb(buf_t *b, const buf_t *src)
{
    buf_add(b, src->p, src->len);
}

static void buf_clear(buf_t *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

static void buf_free(buf_t *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static void buf_printf(buf_t *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void buf_printf(buf_t *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        buf_add(b, tmp, (size_t)n);
        return;
    }
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Appends s as the inside of a JSON string. Bytes >= 0x80 pass through, so
 * UTF-8 stays UTF-8. */
static void buf_json_esc(buf_t *b, const char *s, size_t n)
{
    size_t i, start = 0;
    char u[8];
    if (n == 0)
        return; /* s may be NULL */
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        const char *rep = NULL;
        switch (ch) {
        case '"': rep = "\\\""; break;
        case '\\': rep = "\\\\"; break;
        case '\n': rep = "\\n"; break;
        case '\r': rep = "\\r"; break;
        case '\t': rep = "\\t"; break;
        case '\b': rep = "\\b"; break;
        case '\f': rep = "\\f"; break;
        default:
            if (ch < 0x20 || ch == 0x7f) {
                snprintf(u, sizeof u, "\\u%04x", (unsigned)ch);
                rep = u;
            }
        }
        if (!rep)
            continue;
        buf_add(b, s + start, i - start);
        buf_adds(b, rep);
        start = i + 1;
    }
    buf_add(b, s + start, n - start);
}

static void buf_json_str(buf_t *b, const char *s, size_t n)
{
    buf_addc(b, '"');
    buf_json_esc(b, s, n);
    buf_addc(b, '"');
}

static void buf_json_str_or_null(buf_t *b, const char *s)
{
    if (s)
        buf_json_str(b, s, strlen(s));
    else
        buf_adds(b, "null");
}

/* ------------------------------------------------------------------------ */
/* JSON reader: a small tree parser, enough for request bodies              */
/* ------------------------------------------------------------------------ */

typedef enum { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ } jtype_t;

typedef struct jnode {
    jtype_t type;
    char *key; /* member name when inside an object (unescaped) */
    char *str; /* J_STR: unescaped UTF-8, NUL-terminated */
    size_t len;
    double num;
    struct jnode *child, *next;
} jnode_t;

typedef struct {
    const char *p, *end;
    int depth;
} jparse_t;

static void json_free(jnode_t *n)
{
    while (n) {
        jnode_t *next = n->next;
        json_free(n->child);
        free(n->key);
        free(n->str);
        free(n);
        n = next;
    }
}

static void jp_ws(jparse_t *jp)
{
    while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' ||
                               *jp->p == '\n' || *jp->p == '\r'))
        jp->p++;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static long jp_hex4(const char *p, const char *end)
{
    long v = 0;
    int i;
    if (end - p < 4)
        return -1;
    for (i = 0; i < 4; i++) {
        int h = hexval((unsigned char)p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static void utf8_put(buf_t *b, unsigned long cp)
{
    char o[4];
    size_t n;
    if (cp < 0x80) {
        o[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        o[0] = (char)(0xF0 | (cp >> 18));
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    buf_add(b, o, n);
}

/* Parses a JSON string at jp->p (on the opening quote) into malloc'd UTF-8.
 * Every escape is decoded, \uXXXX surrogate pairs included; a lone
 * surrogate becomes U+FFFD so the echo stays valid UTF-8. */
static int jp_string(jparse_t *jp, char **out, size_t *outlen)
{
    buf_t b = {0};
    buf_reserve(&b, 0);
    jp->p++;
    for (;;) {
        const char *run = jp->p;
        while (jp->p < jp->end && *jp->p != '"' && *jp->p != '\\' &&
               (unsigned char)*jp->p >= 0x20)
            jp->p++;
        buf_add(&b, run, (size_t)(jp->p - run));
        if (jp->p >= jp->end || (unsigned char)*jp->p < 0x20)
            goto fail; /* unterminated, or a raw control character */
        if (*jp->p == '"') {
            jp->p++;
            break;
        }
        jp->p++; /* backslash */
        if (jp->p >= jp->end)
            goto fail;
        switch (*jp->p++) {
        case '"': buf_addc(&b, '"'); break;
        case '\\': buf_addc(&b, '\\'); break;
        case '/': buf_addc(&b, '/'); break;
        case 'b': buf_addc(&b, '\b'); break;
        case 'f': buf_addc(&b, '\f'); break;
        case 'n': buf_addc(&b, '\n'); break;
        case 'r': buf_addc(&b, '\r'); break;
        case 't': buf_addc(&b, '\t'); break;
        case 'u': {
            long cp = jp_hex4(jp->p, jp->end);
            if (cp < 0)
                goto fail;
            jp->p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                long lo = -1;
                if (jp->end - jp->p >= 6 && jp->p[0] == '\\' && jp->p[1] == 'u')
                    lo = jp_hex4(jp->p + 2, jp->end);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    jp->p += 6;
                } else {
                    cp = 0xFFFD;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                cp = 0xFFFD;
            }
            utf8_put(&b, (unsigned long)cp);
            break;
        }
        default:
            goto fail;
        }
    }
    *out = b.p;
    *outlen = b.len;
    return 0;
fail:
    buf_free(&b);
    return -1;
}

/* Validates the JSON number grammar, then converts with strtod. */
static int jp_number(jparse_t *jp, double *out)
{
    const char *s = jp->p, *p = jp->p, *e = jp->end;
    char tmp[64], *t;
    size_t n;
    if (p < e && *p == '-')
        p++;
    if (p >= e)
        return -1;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (p < e && is_digit((unsigned char)*p))
            p++;
    else
        return -1;
    if (p < e && *p == '.') {
        p++;
        if (p >= e || !is_digit((unsigned char)*p))
            return -1;
        while (p < e && is_digit((unsigned char)*p))
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || !is_digit((unsigned char)*p))
            return -1;
        while (p < e && is_digit((unsigned char)*p))
            p++;
    }
    n = (size_t)(p - s);
    t = n < sizeof tmp ? tmp : xmalloc(n + 1);
    memcpy(t, s, n);
    t[n] = '\0';
    *out = strtod(t, NULL);
    if (t != tmp)
        free(t);
    jp->p = p;
    return 0;
}

static int jp_literal(jparse_t *jp, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, lit, n) != 0)
        return -1;
    jp->p += n;
    return 0;
}

static jnode_t *jp_value(jparse_t *jp)
{
    jnode_t *n;
    jp_ws(jp);
    if (jp->p >= jp->end)
        return NULL;
    n = xcalloc(1, sizeof *n);
    switch (*jp->p) {
    case '{':
    case '[': {
        int is_obj = *jp->p == '{';
        char close = is_obj ? '}' : ']';
        jnode_t **tail = &n->child;
        n->type = is_obj ? J_OBJ : J_ARR;
        if (++jp->depth > JSON_MAX_DEPTH)
            goto fail;
        jp->p++;
        jp_ws(jp);
        if (jp->p < jp->end && *jp->p == close) {
            jp->p++;
            jp->depth--;
            return n;
        }
        for (;;) {
            char *key = NULL;
            size_t keylen = 0;
            jnode_t *v;
            if (is_obj) {
                jp_ws(jp);
                if (jp->p >= jp->end || *jp->p != '"' ||
                    jp_string(jp, &key, &keylen) != 0)
                    goto fail;
                jp_ws(jp);
                if (jp->p >= jp->end || *jp->p != ':') {
                    free(key);
                    goto fail;
                }
                jp->p++;
            }
            v = jp_value(jp);
            if (!v) {
                free(key);
                goto fail;
            }
            v->key = key;
            *tail = v;
            tail = &v->next;
            jp_ws(jp);
            if (jp->p >= jp->end)
                goto fail;
            if (*jp->p == ',') {
                jp->p++;
                continue;
            }
            if (*jp->p == close) {
                jp->p++;
                break;
            }
            goto fail;
        }
        jp->depth--;
        return n;
    }
    case '"':
        n->type = J_STR;
        if (jp_string(jp, &n->str, &n->len) != 0)
            goto fail;
        return n;
    case 't':
        n->type = J_TRUE;
        if (jp_literal(jp, "true") != 0)
            goto fail;
        return n;
    case 'f':
        n->type = J_FALSE;
        if (jp_literal(jp, "false") != 0)
            goto fail;
        return n;
    case 'n':
        n->type = J_NULL;
        if (jp_literal(jp, "null") != 0)
            goto fail;
        return n;
    default:
        n->type = J_NUM;
        if (jp_number(jp, &n->num) != 0)
            goto fail;
        return n;
    }
fail:
    json_free(n);
    return NULL;
}

/* Returns the tree, or NULL when s is not exactly one JSON value. */
static jnode_t *json_parse(const char *s, size_t n)
{
    jparse_t jp;
    jnode_t *v;
    if (!s)
        return NULL;
    jp.p = s;
    jp.end = s + n;
    jp.depth = 0;
    v = jp_value(&jp);
    if (!v)
        return NULL;
    jp_ws(&jp);
    if (jp.p != jp.end) {
        json_free(v);
        return NULL;
    }
    return v;
}

static const jnode_t *jget(const jnode_t *obj, const char *key)
{
    const jnode_t *c;
    if (!obj || obj->type != J_OBJ)
        return NULL;
    for (c = obj->child; c; c = c->next)
        if (c->key && strcmp(c->key, key) == 0)
            return c;
    return NULL;
}

static const char *jstr(const jnode_t *n)
{
    return n && n->type == J_STR ? n->str : NULL;
}

static int jtrue(const jnode_t *n)
{
    return n && n->type == J_TRUE;
}

/* Optional positive integer field: 0 absent (or null), 1 ok, -1 invalid. */
static int jget_posint(const jnode_t *obj, const char *key, long *out)
{
    const jnode_t *n = jget(obj, key);
    if (!n || n->type == J_NULL)
        return 0;
    if (n->type != J_NUM || n->num < 1 || n->num > 1e15 ||
        n->num != (double)(long long)n->num)
        return -1;
    *out = n->num > (double)LONG_MAX ? LONG_MAX : (long)n->num;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Directives                                                               */
/* ------------------------------------------------------------------------ */

enum { EOL_LF, EOL_CRLF, EOL_CR };

enum {
    F_NONE,
    F_RESET_HEADERS,
    F_RESET_BODY,
    F_TRUNCATED,
    F_GARBAGE,
    F_DRIP,
    F_NEVER,
    F_HUGE,
    F_WRONG_CTYPE,
    F_HTML,
    F_EMPTY,
    F_NOT_JSON
};

static const char *const fault_names[] = {
    "none",   "reset_headers", "reset_body", "truncated",
    "garbage", "drip",         "never",      "huge",
    "wrong_ctype", "html",     "empty",      "not_json"};

typedef struct {
    long tokens, delay, pace, split, split_gap, keepalive;
    long stall_after, error_after, error_event_after, reset_after;
    long tools, fail_first, status;
    long long huge_bytes;
    int unicode, json, eol, bom, usage, thinking, fault, close, shuffle;
    int has_retry_after_date;
    double retry_after_date;
    char error_type[64], id[128], retry_after[64], retry_after_ms[64];
    char should_retry[16];
    char redirect[2048];
} directives_t;

static void dir_init(directives_t *d)
{
    memset(d, 0, sizeof *d);
    d->tokens = -1;
    d->pace = -1;
    d->split_gap = -1;
    d->stall_after = d->error_after = d->error_event_after = -1;
    d->reset_after = -1;
    d->fail_first = -1;
    d->huge_bytes = 104857600LL;
    d->usage = 1;
}

/* Whole-string non-negative integer; 0 on success. */
static int parse_ll(const char *s, long long *out)
{
    char *end;
    long long v;
    if (!is_digit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_flag(const char *v)
{
    if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes"))
        return 1;
    if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no"))
        return 0;
    return -1;
}

static void dir_set(directives_t *d, const char *k, const char *v)
{
    static const struct {
        const char *name;
        size_t off;
    } nums[] = {
        {"tokens", offsetof(directives_t, tokens)},
        {"delay", offsetof(directives_t, delay)},
        {"pace", offsetof(directives_t, pace)},
        {"split", offsetof(directives_t, split)},
        {"split_gap", offsetof(directives_t, split_gap)},
        {"keepalive", offsetof(directives_t, keepalive)},
        {"stall_after", offsetof(directives_t, stall_after)},
        {"error_after", offsetof(directives_t, error_after)},
        {"error_event_after", offsetof(directives_t, error_event_after)},
        {"reset_after", offsetof(directives_t, reset_after)},
        {"tools", offsetof(directives_t, tools)},
        {"fail_first", offsetof(directives_t, fail_first)},
    };
    static const struct {
        const char *name;
        size_t off;
    } flags[] = {
        {"unicode", offsetof(directives_t, unicode)},
        {"json", offsetof(directives_t, json)},
        {"bom", offsetof(directives_t, bom)},
        {"usage", offsetof(directives_t, usage)},
        {"thinking", offsetof(directives_t, thinking)},
        {"close", offsetof(directives_t, close)},
        {"shuffle", offsetof(directives_t, shuffle)},
    };
    long long n = 0;
    int isnum = parse_ll(v, &n) == 0 && n <= LONG_MAX;
    size_t i;

    for (i = 0; i < sizeof nums / sizeof nums[0]; i++)
        if (!strcmp(k, nums[i].name)) {
            if (isnum)
                *(long *)(void *)((char *)d + nums[i].off) =
                    n > MAX_MS ? MAX_MS : (long)n;
            return;
        }
    for (i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (!strcmp(k, flags[i].name)) {
            int f = parse_flag(v);
            if (f >= 0)
                *(int *)(void *)((char *)d + flags[i].off) = f;
            return;
        }
    if (!strcmp(k, "status")) {
        if (isnum && n >= 200 && n <= 999) /* 1xx is not a final answer */
            d->status = (long)n;
    } else if (!strcmp(k, "huge_bytes")) {
        if (isnum)
            d->huge_bytes = n;
    } else if (!strcmp(k, "eol")) {
        if (!strcasecmp(v, "lf"))
            d->eol = EOL_LF;
        else if (!strcasecmp(v, "crlf"))
            d->eol = EOL_CRLF;
        else if (!strcasecmp(v, "cr"))
            d->eol = EOL_CR;
    } else if (!strcmp(k, "fault")) {
        for (i = 1; i < sizeof fault_names / sizeof fault_names[0]; i++)
            if (!strcmp(v, fault_names[i]))
                d->fault = (int)i;
    } else if (!strcmp(k, "error_type")) {
        copy_str(d->error_type, sizeof d->error_type, v);
    } else if (!strcmp(k, "id")) {
        copy_str(d->id, sizeof d->id, v);
    } else if (!strcmp(k, "retry_after")) {
        copy_str(d->retry_after, sizeof d->retry_after, v);
    } else if (!strcmp(k, "retry_after_ms")) {
        copy_str(d->retry_after_ms, sizeof d->retry_after_ms, v);
    } else if (!strcmp(k, "retry_after_date")) {
        char *end;
        double s = strtod(v, &end);
        if (end != v && !*end && s >= 0 && s < 1e9) {
            d->has_retry_after_date = 1;
            d->retry_after_date = s;
        }
    } else if (!strcmp(k, "should_retry")) {
        copy_str(d->should_retry, sizeof d->should_retry, v);
    } else if (!strcmp(k, "redirect")) {
        copy_str(d->redirect, sizeof d->redirect, v);
    }
}

/* Parses "key=value key=value, key=value" (whitespace or commas). */
static void dir_parse(directives_t *d, const char *s, size_t n)
{
    size_t i = 0;
    char tok[2200];
    while (i < n) {
        size_t start, len;
        char *eq;
        while (i < n && (is_ws((unsigned char)s[i]) || s[i] == ','))
            i++;
        start = i;
        while (i < n && !is_ws((unsigned char)s[i]) && s[i] != ',')
            i++;
        len = i - start;
        if (len == 0 || len >= sizeof tok)
            continue;
        memcpy(tok, s + start, len);
        tok[len] = '\0';
        eq = strchr(tok, '=');
        if (!eq || eq == tok)
            continue;
        *eq = '\0';
        dir_set(d, tok, eq + 1);
    }
}

/* Finds the first "[[" and the "]]" after it: [*a, *b) is the whole
 * directive including the brackets. */
static int find_directive(const char *s, size_t n, size_t *a, size_t *b)
{
    size_t i, j;
    if (!s || n < 4)
        return 0;
    for (i = 0; i + 1 < n; i++) {
        if (s[i] != '[' || s[i + 1] != '[')
            continue;
        for (j = i + 2; j + 1 < n; j++)
            if (s[j] == ']' && s[j + 1] == ']') {
                *a = i;
                *b = j + 2;
                return 1;
            }
        return 0;
    }
    return 0;
}

/* The user text without its directive, whitespace-trimmed (malloc'd). */
static char *strip_directive(const char *s, size_t n, size_t *outlen)
{
    buf_t o = {0};
    size_t a, b, start = 0, end;
    buf_reserve(&o, 0);
    if (s && find_directive(s, n, &a, &b)) {
        buf_add(&o, s, a);
        buf_add(&o, s + b, n - b);
    } else if (s) {
        buf_add(&o, s, n);
    }
    end = o.len;
    while (start < end && is_ws((unsigned char)o.p[start]))
        start++;
    while (end > start && is_ws((unsigned char)o.p[end - 1]))
        end--;
    memmove(o.p, o.p + start, end - start);
    o.len = end - start;
    o.p[o.len] = '\0';
    *outlen = o.len;
    return o.p;
}

/* ------------------------------------------------------------------------ */
/* Server state                                                             */
/* ------------------------------------------------------------------------ */

typedef struct idcount {
    char *id;
    long count;
    struct idcount *next;
} idcount_t;

struct conn;

static struct {
    int listen_fd;
    int sig_r, sig_w;
    int verbose;
    int exit_on_stdin_eof;
    const char *default_directives; /* --directives: under every request's own */
    struct conn **conns;
    size_t nconns, capconns;
    unsigned long long request_seq; /* never reset: unique request ids */
    long requests, connections, open_conns, inflight, max_inflight;
    char *last_method, *last_path, *last_auth, *last_xapikey, *last_version;
    char *last_ua, *last_ctype, *last_xmock;
    buf_t last_body;
    int have_last;
    idcount_t *ids;
    int64_t accept_pause_until;
#ifdef MOCK_TLS
    SSL_CTX *tls;
#endif
} S;

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    int saved = errno;
    ssize_t r;
    (void)sig;
    g_stop = 1;
    /* Wake poll() even if the signal arrived just before it was entered. */
    r = write(S.sig_w, "x", 1);
    (void)r;
    errno = saved;
}

static long id_bump(const char *id)
{
    idcount_t *e;
    for (e = S.ids; e; e = e->next)
        if (!strcmp(e->id, id))
            return ++e->count;
    e = xcalloc(1, sizeof *e);
    e->id = xstrdup(id);
    e->count = 1;
    e->next = S.ids;
    S.ids = e;
    return 1;
}

static void id_reset(void)
{
    while (S.ids) {
        idcount_t *next = S.ids->next;
        free(S.ids->id);
        free(S.ids);
        S.ids = next;
    }
}

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = v ? xstrdup(v) : NULL;
}

/* ------------------------------------------------------------------------ */
/* Connections, requests and streams                                        */
/* ------------------------------------------------------------------------ */

typedef struct {
    char *name, *value;
} header_t;

typedef struct {
    char method[16];
    char *head;   /* private copy of the header block, split in place */
    char *target; /* into head */
    char *path;   /* malloc'd target up to '?' */
    char *query;  /* into path's allocation, or NULL */
    header_t h[MAX_HEADERS];
    int nh;
    int http10, keep_alive, conn_close, chunked, expect100, too_large;
    long long content_length;
    buf_t body;
} request_t;

/* The reply text of a chat endpoint. */
typedef struct {
    int gen;    /* 1: "tok0 tok1 ..." generated on the fly (tokens=N) */
    char *text; /* otherwise the text, already cut to ntok tokens */
    size_t len;
    long ntok;
    int cut; /* cut by a max-tokens limit */
} reply_t;

typedef struct {
    char *p;
    size_t len;
    int is_token; /* counts for stall_after/error_after/reset_after */
} sev_t;

typedef struct {
    sev_t *v;
    size_t n, cap;
} evlist_t;

/* Stream phases, in order. */
enum { PH_PRE, PH_TOK, PH_POST, PH_STALL, PH_END, PH_RESET, PH_DONE };
enum { FK_NONE, FK_STALL, FK_ERROR, FK_ERROR_EVENT, FK_RESET };

/* A streamed body: a few pre-built events, then the reply tokens generated
 * lazily one event at a time (so tokens=200000 never sits in memory), then
 * a few pre-built final events. */
typedef struct {
    int sse;
    const char *eol;
    evlist_t pre, post;
    reply_t reply;
    int echo_numbers; /* lazy token k is the number k (echo endpoint) */
    long lazy_n, lazy_k;
    size_t text_pos;
    buf_t tok_prefix, tok_suffix, scratch;
    int phase;
    size_t idx;
    long tokens_sent;
    int fault_kind, fault_fired;
    long fault_at;
    buf_t err, errev;
    long pace, keepalive, split, split_gap;
    int64_t next_event_at, last_send_at;
    buf_t pending; /* split mode: body bytes not yet framed */
    size_t pending_off;
} stream_t;

enum { RS_HEAD, RS_BODY_CL, RS_CHUNK_SIZE, RS_CHUNK_DATA, RS_CHUNK_CRLF,
       RS_TRAILER };
enum { K_STATIC, K_HUGE, K_STREAM };
enum { END_DONE, END_CLOSE, END_RESET, END_HOLD };
enum { P_MORE, P_WAIT, P_FINISHED };
enum { STYLE_OPENAI, STYLE_ANTHROPIC, STYLE_OLLAMA };

typedef struct conn {
    int fd;
    int dead;
    int blocked; /* last write hit EAGAIN: wait for POLLOUT */
    int tls_write_wants_read, tls_read_wants_write;
#ifdef MOCK_TLS
    SSL *ssl;
#endif
    /* input */
    buf_t in;
    size_t in_off; /* start of unconsumed input */
    size_t scan;   /* header-end search position, relative to in_off */
    int rstate;
    unsigned long long body_left;
    request_t req;
    /* response */
    int busy;    /* a request was received and its response is not done */
    int counted; /* counted in S.inflight */
    unsigned long long n;
    int close_after;
    buf_t out;
    size_t out_off;
    int64_t wake_at; /* nothing is written or produced before this time */
    long gap_after_flush;
    long drip_ms;
    int kind, end_action, reset_waited;
    unsigned long long huge_total, huge_pos;
    stream_t *st;
} conn_t;

/* Everything a handler needs while building one response. */
typedef struct {
    conn_t *c;
    request_t *r;
    int64_t now;
    int style;
    int head_only;
    directives_t d;
    int faulty; /* the status/fault group applies to this request */
    int force_nonstream;
    buf_t extra; /* extra response header lines */
} ctx_t;

static void evl_add(evlist_t *l, buf_t *ev, int is_token)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n].p = ev->p; /* takes ownership */
    l->v[l->n].len = ev->len;
    l->v[l->n].is_token = is_token;
    l->n++;
    ev->p = NULL;
    ev->len = ev->cap = 0;
}

static void evl_free(evlist_t *l)
{
    size_t i;
    for (i = 0; i < l->n; i++)
        free(l->v[i].p);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static void stream_free(stream_t *st)
{
    if (!st)
        return;
    evl_free(&st->pre);
    evl_free(&st->post);
    free(st->reply.text);
    buf_free(&st->tok_prefix);
    buf_free(&st->tok_suffix);
    buf_free(&st->scratch);
    buf_free(&st->err);
    buf_free(&st->errev);
    buf_free(&st->pending);
    free(st);
}

static void req_free(request_t *r)
{
    free(r->head);
    free(r->path);
    buf_free(&r->body);
    memset(r, 0, sizeof *r);
}

static const char *hdr(const request_t *r, const char *name)
{
    int i;
    for (i = 0; i < r->nh; i++)
        if (!strcasecmp(r->h[i].name, name))
            return r->h[i].value;
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Socket I/O layer: plain or TLS behind the same three calls               */
/* ------------------------------------------------------------------------ */

/* >0 bytes, 0 EOF, -1 with errno (EAGAIN: try again after poll). */
static ssize_t io_read(conn_t *c, void *b, size_t n)
{
    ssize_t r;
#ifdef MOCK_TLS
    if (c->ssl) {
        int k, e;
        c->tls_read_wants_write = 0;
        ERR_clear_error();
        k = SSL_read(c->ssl, b, n > INT_MAX ? INT_MAX : (int)n);
        if (k > 0)
            return k;
        e = SSL_get_error(c->ssl, k);
        if (e == SSL_ERROR_WANT_READ) {
            errno = EAGAIN;
            return -1;
        }
        if (e == SSL_ERROR_WANT_WRITE) {
            c->tls_read_wants_write = 1;
            errno = EAGAIN;
            return -1;
        }
        if (e == SSL_ERROR_ZERO_RETURN)
            return 0;
        ERR_clear_error();
        errno = ECONNRESET;
        return -1;
    }
#endif
    do
        r = recv(c->fd, b, n, 0);
    while (r < 0 && errno == EINTR);
    return r;
}

static ssize_t io_write(conn_t *c, const void *b, size_t n)
{
    ssize_t r;
#ifdef MOCK_TLS
    if (c->ssl) {
        int k, e;
        c->tls_write_wants_read = 0;
        ERR_clear_error();
        k = SSL_write(c->ssl, b, n > INT_MAX ? INT_MAX : (int)n);
        if (k > 0)
            return k;
        e = SSL_get_error(c->ssl, k);
        if (e == SSL_ERROR_WANT_WRITE) {
            errno = EAGAIN;
            return -1;
        }
        if (e == SSL_ERROR_WANT_READ) {
            c->tls_write_wants_read = 1;
            errno = EAGAIN;
            return -1;
        }
        ERR_clear_error();
        errno = EPIPE;
        return -1;
    }
#endif
    do
        r = send(c->fd, b, n, MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    return r;
}

/* reset: abortive close (RST) so the client sees a broken transfer. */
static void io_close(conn_t *c, int reset)
{
#ifdef MOCK_TLS
    if (c->ssl) {
        if (!reset) {
            ERR_clear_error();
            (void)SSL_shutdown(c->ssl); /* best effort close_notify */
        }
        SSL_free(c->ssl);
        c->ssl = NULL;
        ERR_clear_error();
    }
#endif
    if (reset) {
        struct linger l;
        l.l_onoff = 1;
        l.l_linger = 0;
        (void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    close(c->fd);
    c->fd = -1;
}

static void conn_close(conn_t *c, int reset)
{
    if (c->dead)
        return;
    if (c->counted) {
        S.inflight--;
        c->counted = 0;
    }
    io_close(c, reset);
    c->dead = 1;
    S.open_conns--;
}

static void conn_free(conn_t *c)
{
    if (!c->dead)
        conn_close(c, 0);
    buf_free(&c->in);
    buf_free(&c->out);
    req_free(&c->req);
    stream_free(c->st);
    free(c);
}

/* ------------------------------------------------------------------------ */
/* Response building blocks                                                 */
/* ------------------------------------------------------------------------ */

static const char *reason(long s)
{
    switch (s) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 529: return "Overloaded";
    default: return "Mock Status";
    }
}

static void write_head(ctx_t *x, long status, const char *ctype,
                       long long clen /* -1: chunked */)
{
    buf_t *o = &x->c->out;
    buf_printf(o, "HTTP/1.1 %ld %s\r\n", status, reason(status));
    if (ctype)
        buf_printf(o, "Content-Type: %s\r\n", ctype);
    if (clen >= 0)
        buf_printf(o, "Content-Length: %lld\r\n", clen);
    else
        buf_adds(o, "Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n");
    buf_printf(o, "x-request-id: req_mock_%llu\r\n", x->c->n);
    if (x->r->path && !strcmp(x->r->path, "/v1/messages"))
        buf_printf(o, "request-id: req_mock_%llu\r\n", x->c->n);
    buf_addb(o, &x->extra);
    if (x->c->close_after)
        buf_adds(o, "Connection: close\r\n");
    buf_adds(o, "Server: llmasync-mock\r\n\r\n");
}

/* Common tail of every response set-up: timing, drip, log line. */
static void finish_setup(ctx_t *x, long status, int delay_done)
{
    conn_t *c = x->c;
    c->busy = 1;
    if (!delay_done && x->d.delay > 0)
        c->wake_at = x->now + x->d.delay;
    if (x->faulty && x->d.fault == F_DRIP)
        c->drip_ms = x->d.pace > 0 ? x->d.pace : 50;
    if (S.verbose)
        fprintf(stderr, "mock: #%llu %s %s -> %ld%s%s%s\n", c->n,
                x->r->method[0] ? x->r->method : "-",
                x->r->target ? x->r->target : "-", status,
                c->kind == K_STREAM ? " stream" : "",
                x->faulty && x->d.fault ? " fault=" : "",
                x->faulty && x->d.fault ? fault_names[x->d.fault] : "");
}

/* A complete in-memory response. Applies truncated/reset_body. */
static void send_static(ctx_t *x, long status, const char *ctype,
                        const char *body, size_t len)
{
    conn_t *c = x->c;
    size_t send_len = len;
    long long clen = (long long)len;
    c->kind = K_STATIC;
    c->end_action = END_DONE;
    if (x->faulty && x->d.fault == F_TRUNCATED) {
        send_len = len / 2;
        clen = (long long)send_len;
    } else if (x->faulty && x->d.fault == F_RESET_BODY) {
        send_len = len / 2;
        c->end_action = END_RESET;
    }
    write_head(x, status, ctype, clen);
    if (!x->head_only)
        buf_add(&c->out, body, send_len);
    finish_setup(x, status, 0);
}

static void send_json(ctx_t *x, long status, const buf_t *b)
{
    send_static(x, status, "application/json", b->p, b->len);
}

static const char *oa_err_type(long s)
{
    if (s == 401) return "authentication_error";
    if (s == 403) return "permission_error";
    if (s == 429) return "rate_limit_error";
    if (s >= 500) return "server_error";
    return "invalid_request_error";
}

static const char *oa_err_code(long s)
{
    switch (s) {
    case 400: return "invalid_request";
    case 401: return "invalid_api_key";
    case 403: return "permission_denied";
    case 404: return "not_found";
    case 409: return "conflict";
    case 413: return "request_too_large";
    case 422: return "unprocessable_entity";
    case 429: return "rate_limit_exceeded";
    default: return s >= 500 ? "server_error" : "mock_error";
    }
}

static const char *an_err_type(long s)
{
    switch (s) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 529: return "overloaded_error";
    default: return s >= 500 ? "api_error" : "invalid_request_error";
    }
}

/* An error in the endpoint's own style. type NULL: derived from status. */
static void send_error(ctx_t *x, long status, const char *msg,
                       const char *type)
{
    buf_t b = {0};
    if (x->style == STYLE_OLLAMA) {
        buf_adds(&b, "{\"error\":");
        buf_json_str(&b, msg, strlen(msg));
        buf_adds(&b, "}");
    } else if (x->style == STYLE_ANTHROPIC) {
        buf_adds(&b, "{\"type\":\"error\",\"error\":{\"type\":");
        buf_json_str_or_null(&b, type ? type : an_err_type(status));
        buf_adds(&b, ",\"message\":");
        buf_json_str(&b, msg, strlen(msg));
        buf_adds(&b, "}}");
    } else {
        buf_adds(&b, "{\"error\":{\"message\":");
        buf_json_str(&b, msg, strlen(msg));
        buf_adds(&b, ",\"type\":");
        buf_json_str_or_null(&b, type ? type : oa_err_type(status));
        buf_printf(&b, ",\"param\":null,\"code\":\"%s\"}}", oa_err_code(status));
    }
    send_json(x, status, &b);
    buf_free(&b);
}

static void send_status_error(ctx_t *x, long status)
{
    char msg[64];
    if (status == 204 || status == 304) {
        send_static(x, status, NULL, "", 0);
        return;
    }
    snprintf(msg, sizeof msg, "mock error %ld", status);
    send_error(x, status, msg, x->d.error_type[0] ? x->d.error_type : NULL);
}

static void http_date(char *out, size_t cap, time_t t)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                       "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT",
             days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Reads the directives of this request (body source first, then every
 * X-Mock header, so the header wins) and decides whether the status/fault
 * group applies (id + fail_first). */
static void ctx_directives(ctx_t *x, const char *src, size_t n)
{
    directives_t *d = &x->d;
    size_t a, b;
    int i;
    dir_init(d);
    if (S.default_directives)
        dir_parse(d, S.default_directives, strlen(S.default_directives));
    if (src && find_directive(src, n, &a, &b))
        dir_parse(d, src + a + 2, b - a - 4);
    for (i = 0; i < x->r->nh; i++)
        if (!strcasecmp(x->r->h[i].name, "x-mock"))
            dir_parse(d, x->r->h[i].value, strlen(x->r->h[i].value));
    x->faulty = 1;
    if (d->id[0] && d->fail_first >= 0 && id_bump(d->id) > d->fail_first)
        x->faulty = 0;
    if (!x->faulty) {
        d->status = 0;
        d->fault = F_NONE;
        d->redirect[0] = d->retry_after[0] = d->retry_after_ms[0] = '\0';
        d->should_retry[0] = '\0';
        d->has_retry_after_date = 0;
        d->stall_after = d->error_after = d->error_event_after = -1;
        d->reset_after = -1;
    }
    if (d->close == 1)
        x->c->close_after = 1;
    x->force_nonstream = d->fault == F_TRUNCATED || d->fault == F_RESET_BODY;
    if (d->retry_after[0])
        buf_printf(&x->extra, "Retry-After: %s\r\n", d->retry_after);
    if (d->retry_after_ms[0])
        buf_printf(&x->extra, "retry-after-ms: %s\r\n", d->retry_after_ms);
    if (d->has_retry_after_date) {
        char date[64];
        http_date(date, sizeof date,
                  time(NULL) + (time_t)(d->retry_after_date + 0.5));
        buf_printf(&x->extra, "Retry-After: %s\r\n", date);
    }
    if (d->should_retry[0])
        buf_printf(&x->extra, "x-should-retry: %s\r\n", d->should_retry);
}

/* Applies redirect / fault / status. Returns 1 when the response is set up
 * (the handler stops), 0 when the normal answer follows (drip, truncated,
 * reset_body and stream faults act on the normal answer). */
static int apply_failure(ctx_t *x)
{
    static const char garbage[] = "\x01\x02\x03GARBAGE-NOT-HTTP\xff\xfe\r\n\r\n";
    static const char wrong_html[] =
        "<html><body><h1>mock: this is HTML, not JSON</h1></body></html>\n";
    directives_t *d = &x->d;
    conn_t *c = x->c;
    if (!x->faulty)
        return 0;
    if (d->redirect[0]) {
        buf_printf(&x->extra, "Location: %s\r\n", d->redirect);
        send_static(x, 307, NULL, "", 0);
        return 1;
    }
    switch (d->fault) {
    case F_RESET_HEADERS:
    case F_NEVER:
        c->kind = K_STATIC;
        c->end_action = d->fault == F_NEVER ? END_HOLD : END_RESET;
        finish_setup(x, 0, 0);
        return 1;
    case F_GARBAGE:
        c->kind = K_STATIC;
        c->end_action = END_CLOSE;
        buf_add(&c->out, garbage, sizeof garbage - 1);
        finish_setup(x, 0, 0);
        return 1;
    case F_HUGE:
        c->kind = K_HUGE;
        c->end_action = END_DONE;
        c->huge_total = d->huge_bytes > 0 ? (unsigned long long)d->huge_bytes : 0;
        c->huge_pos = 0;
        write_head(x, 200, "application/json", (long long)c->huge_total);
        if (x->head_only)
            c->huge_pos = c->huge_total;
        finish_setup(x, 200, 0);
        return 1;
    case F_WRONG_CTYPE:
        send_static(x, 200, "text/html", wrong_html, sizeof wrong_html - 1);
        return 1;
    case F_HTML: {
        long st = d->status ? d->status : 502;
        buf_t b = {0};
        buf_printf(&b, "<!DOCTYPE html>\n<html><head><title>%ld %s</title>"
                       "</head><body><h1>%ld %s</h1><p>mock html error page"
                       "</p></body></html>\n",
                   st, reason(st), st, reason(st));
        send_static(x, st, "text/html; charset=utf-8", b.p, b.len);
        buf_free(&b);
        return 1;
    }
    case F_EMPTY:
        send_static(x, d->status ? d->status : 500, "application/json", "", 0);
        return 1;
    case F_NOT_JSON:
        send_static(x, 200, "application/json", "this is not json", 16);
        return 1;
    default:
        break;
    }
    if (d->status && d->status != 200) {
        send_status_error(x, d->status);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Streams                                                                  */
/* ------------------------------------------------------------------------ */

static stream_t *stream_new(ctx_t *x, int sse)
{
    stream_t *st = xcalloc(1, sizeof *st);
    st->sse = sse;
    if (!sse)
        st->eol = "\n";
    else if (x->d.eol == EOL_CRLF)
        st->eol = "\r\n";
    else if (x->d.eol == EOL_CR)
        st->eol = "\r";
    else
        st->eol = "\n";
    st->phase = PH_PRE;
    return st;
}

/* Formats one event: SSE "event: name" + "data: json" + blank line, or an
 * NDJSON line. */
static void st_format(const stream_t *st, buf_t *out, const char *name,
                      const char *data, size_t len)
{
    if (st->sse) {
        if (name) {
            buf_adds(out, "event: ");
            buf_adds(out, name);
            buf_adds(out, st->eol);
        }
        buf_adds(out, "data: ");
        buf_add(out, data, len);
        buf_adds(out, st->eol);
        buf_adds(out, st->eol);
    } else {
        buf_add(out, data, len);
        buf_addc(out, '\n');
    }
}

static void st_add(stream_t *st, evlist_t *l, int is_token, const char *name,
                   const buf_t *data)
{
    buf_t ev = {0};
    st_format(st, &ev, name, data->p, data->len);
    evl_add(l, &ev, is_token);
}

static void st_add_s(stream_t *st, evlist_t *l, const char *name,
                     const char *data)
{
    buf_t ev = {0};
    st_format(st, &ev, name, data, strlen(data));
    evl_add(l, &ev, 0);
}

/* The lazy token event is tok_prefix + token + tok_suffix. */
static void st_tok_prefix(stream_t *st, const char *name)
{
    if (!st->sse)
        return;
    if (name) {
        buf_adds(&st->tok_prefix, "event: ");
        buf_adds(&st->tok_prefix, name);
        buf_adds(&st->tok_prefix, st->eol);
    }
    buf_adds(&st->tok_prefix, "data: ");
}

static void st_tok_suffix_end(stream_t *st)
{
    if (st->sse) {
        buf_adds(&st->tok_suffix, st->eol);
        buf_adds(&st->tok_suffix, st->eol);
    } else {
        buf_addc(&st->tok_suffix, '\n');
    }
}

static void frame_chunk(buf_t *out, const char *p, size_t n)
{
    buf_printf(out, "%zx\r\n", n);
    buf_add(out, p, n);
    buf_adds(out, "\r\n");
}

/* Body bytes go out as their own HTTP chunk, or into the split buffer. */
static void emit(conn_t *c, stream_t *st, const char *p, size_t n, int64_t now)
{
    if (n == 0)
        return;
    if (st->split > 0)
        buf_add(&st->pending, p, n);
    else
        frame_chunk(&c->out, p, n);
    st->last_send_at = now;
}

static void emit_keepalive(conn_t *c, stream_t *st, int64_t now)
{
    buf_t k = {0};
    buf_adds(&k, ": keep-alive");
    buf_adds(&k, st->eol);
    buf_adds(&k, st->eol);
    emit(c, st, k.p, k.len, now);
    buf_free(&k);
}

/* Token k of a text reply starts at pos and runs to the next space after
 * it: the reply is cut before each space. */
static size_t token_end(const char *s, size_t len, size_t pos)
{
    size_t e = pos + 1;
    while (e < len && s[e] != ' ')
        e++;
    return e < len ? e : len;
}

static long count_tokens(const char *s, size_t len)
{
    long n;
    size_t i;
    if (len == 0)
        return 0;
    for (n = 1, i = 1; i < len; i++)
        if (s[i] == ' ')
            n++;
    return n;
}

static void st_token_event(stream_t *st, buf_t *ev)
{
    buf_clear(ev);
    buf_addb(ev, &st->tok_prefix);
    if (st->echo_numbers) {
        buf_printf(ev, "%ld", st->lazy_k);
    } else if (st->reply.gen) {
        buf_printf(ev, "%stok%ld", st->lazy_k ? " " : "", st->lazy_k);
    } else {
        size_t e = token_end(st->reply.text, st->reply.len, st->text_pos);
        buf_json_esc(ev, st->reply.text + st->text_pos, e - st->text_pos);
        st->text_pos = e;
    }
    buf_addb(ev, &st->tok_suffix);
}

/* Fires the configured stream fault when its token count is reached (or
 * at the end of the tokens). Returns 1 when it fired. */
static int stream_fault(conn_t *c, stream_t *st, int at_end, int64_t now)
{
    if (st->fault_kind == FK_NONE || st->fault_fired)
        return 0;
    if (!at_end && st->tokens_sent < st->fault_at)
        return 0;
    st->fault_fired = 1;
    switch (st->fault_kind) {
    case FK_STALL:
        st->phase = PH_STALL;
        break;
    case FK_ERROR:
        emit(c, st, st->err.p, st->err.len, now);
        st->phase = PH_END;
        break;
    case FK_ERROR_EVENT:
        emit(c, st, st->errev.p, st->errev.len, now);
        st->phase = PH_END;
        break;
    default:
        st->phase = PH_RESET;
        break;
    }
    return 1;
}

/* Emits the next event (or fires a fault, or moves to PH_END). */
static void stream_step(conn_t *c, stream_t *st, int64_t now)
{
    for (;;) {
        if (st->phase == PH_PRE) {
            if (st->idx < st->pre.n) {
                sev_t *e = &st->pre.v[st->idx];
                if (e->is_token && stream_fault(c, st, 0, now))
                    return;
                emit(c, st, e->p, e->len, now);
                st->idx++;
                if (e->is_token)
                    st->tokens_sent++;
                return;
            }
            st->phase = PH_TOK;
            continue;
        }
        if (st->phase == PH_TOK) {
            if (st->lazy_k < st->lazy_n) {
                if (stream_fault(c, st, 0, now))
                    return;
                st_token_event(st, &st->scratch);
                emit(c, st, st->scratch.p, st->scratch.len, now);
                st->lazy_k++;
                st->tokens_sent++;
                return;
            }
            st->phase = PH_POST;
            st->idx = 0;
            if (stream_fault(c, st, 1, now))
                return;
            continue;
        }
        if (st->phase == PH_POST) {
            if (st->idx < st->post.n) {
                sev_t *e = &st->post.v[st->idx++];
                emit(c, st, e->p, e->len, now);
                return;
            }
            st->phase = PH_END;
        }
        return;
    }
}

static int produce_stream(conn_t *c, int64_t now)
{
    stream_t *st = c->st;
    int64_t ka_due;
    if (st->split > 0) {
        size_t avail = st->pending.len - st->pending_off;
        int draining = st->phase >= PH_STALL;
        if (avail >= (size_t)st->split || (avail > 0 && draining)) {
            size_t n = avail < (size_t)st->split ? avail : (size_t)st->split;
            frame_chunk(&c->out, st->pending.p + st->pending_off, n);
            st->pending_off += n;
            if (st->pending_off >= 4096 || st->pending_off == st->pending.len) {
                size_t rest = st->pending.len - st->pending_off;
                memmove(st->pending.p, st->pending.p + st->pending_off, rest);
                st->pending.len = rest;
                st->pending_off = 0;
            }
            /* The gap makes the client read each piece separately. */
            c->gap_after_flush = st->split_gap;
            return P_MORE;
        }
    }
    switch (st->phase) {
    case PH_END:
        buf_adds(&c->out, "0\r\n\r\n");
        st->phase = PH_DONE;
        return P_MORE;
    case PH_DONE:
        c->end_action = END_DONE;
        return P_FINISHED;
    case PH_RESET:
        c->end_action = END_RESET;
        return P_FINISHED;
    default:
        break;
    }
    ka_due = (st->sse && st->keepalive > 0) ? st->last_send_at + st->keepalive
                                            : NEVER;
    if (st->phase == PH_STALL || now < st->next_event_at) {
        int64_t next = st->phase == PH_STALL ? NEVER : st->next_event_at;
        if (now >= ka_due) {
            emit_keepalive(c, st, now);
            return P_MORE;
        }
        c->wake_at = next < ka_due ? next : ka_due;
        return P_WAIT;
    }
    /* Generate a batch: many events per write() when unpaced. */
    do {
        stream_step(c, st, now);
        if (st->pace > 0) {
            st->next_event_at = now + st->pace;
            break;
        }
    } while (st->phase <= PH_POST && c->out.len < OUT_BATCH &&
             (st->split == 0 ||
              st->pending.len - st->pending_off < (size_t)st->split));
    return P_MORE;
}

/* Sends the stream headers and arms timing and faults. */
static void stream_begin(ctx_t *x, stream_t *st, const char *ctype)
{
    conn_t *c = x->c;
    directives_t *d = &x->d;
    int drip = x->faulty && d->fault == F_DRIP;
    struct {
        int kind;
        long at;
    } f[4];
    int i;

    c->st = st;
    c->kind = K_STREAM;
    c->end_action = END_DONE;
    write_head(x, 200, ctype, -1);
    /* With drip the output layer does the pacing, one byte at a time. */
    st->pace = (!drip && d->pace > 0) ? d->pace : 0;
    st->keepalive = d->keepalive > 0 ? d->keepalive : 0;
    st->split = d->split > 0 ? d->split : 0;
    st->split_gap = d->split_gap >= 0 ? d->split_gap : 1;
    st->last_send_at = x->now;
    st->next_event_at = 0;

    f[0].kind = FK_RESET;
    f[0].at = d->reset_after;
    f[1].kind = FK_ERROR;
    f[1].at = d->error_after;
    f[2].kind = FK_ERROR_EVENT;
    f[2].at = d->error_event_after;
    f[3].kind = FK_STALL;
    f[3].at = d->stall_after;
    st->fault_kind = FK_NONE;
    for (i = 0; i < 4; i++)
        if (x->faulty && f[i].at >= 0 &&
            (st->fault_kind == FK_NONE || f[i].at < st->fault_at)) {
            st->fault_kind = f[i].kind;
            st->fault_at = f[i].at;
        }

    if (d->bom == 1 && st->sse)
        emit(c, st, "\xEF\xBB\xBF", 3, x->now);
    if (d->delay > 0 && st->keepalive > 0 && st->sse) {
        st->next_event_at = x->now + d->delay;
        finish_setup(x, 200, 1);
    } else {
        finish_setup(x, 200, 0);
    }
}

/* ------------------------------------------------------------------------ */
/* Chat helpers                                                             */
/* ------------------------------------------------------------------------ */

typedef struct {
    char *user; /* last user message text (directive included), or NULL */
    size_t user_len;
    long prompt_words;
} chatinfo_t;

/* Text of a content value: a string, or the "text" of every part (joined
 * with one space). */
static void content_text(const jnode_t *content, buf_t *out)
{
    const jnode_t *part;
    int first = 1;
    if (!content)
        return;
    if (content->type == J_STR) {
        buf_add(out, content->str, content->len);
        return;
    }
    if (content->type != J_ARR)
        return;
    for (part = content->child; part; part = part->next) {
        const jnode_t *t = part->type == J_STR ? part : jget(part, "text");
        if (!t || t->type != J_STR)
            continue;
        if (!first)
            buf_addc(out, ' ');
        buf_add(out, t->str, t->len);
        first = 0;
    }
}

static void chat_extract(const jnode_t *root, chatinfo_t *ci)
{
    const jnode_t *msgs = jget(root, "messages"), *m;
    buf_t t = {0};
    memset(ci, 0, sizeof *ci);
    if (msgs && msgs->type == J_ARR)
        for (m = msgs->child; m; m = m->next) {
            const char *role = jstr(jget(m, "role"));
            buf_clear(&t);
            buf_reserve(&t, 0);
            content_text(jget(m, "content"), &t);
            ci->prompt_words += count_words(t.p, t.len);
            if (role && !strcmp(role, "user")) {
                free(ci->user);
                ci->user = xstrndup(t.p, t.len);
                ci->user_len = t.len;
            }
        }
    buf_clear(&t);
    content_text(jget(root, "system"), &t);
    if (t.p)
        ci->prompt_words += count_words(t.p, t.len);
    buf_free(&t);
}

static void make_reply(reply_t *rp, const directives_t *d, const char *user,
                       size_t ulen, int json_mode, long max_tok)
{
    memset(rp, 0, sizeof *rp);
    if (d->tokens >= 0) {
        rp->gen = 1;
        rp->ntok = d->tokens;
    } else {
        buf_t b = {0};
        buf_reserve(&b, 0);
        if (d->unicode == 1) {
            buf_adds(&b, UNICODE_REPLY);
        } else if (json_mode) {
            size_t k = ulen < 20 ? ulen : 20;
            /* do not cut a UTF-8 character in half */
            while (k > 0 && k < ulen && ((unsigned char)user[k] & 0xC0) == 0x80)
                k--;
            buf_printf(&b, "{\"score\": %u, \"justification\": \"mock "
                           "justification for ",
                       1u + (unsigned)(fnv1a(user, ulen) % 10u));
            buf_json_esc(&b, user, k);
            buf_adds(&b, "\"}");
        } else {
            buf_adds(&b, "Echo:");
            if (ulen) {
                buf_addc(&b, ' ');
                buf_add(&b, user, ulen);
            }
        }
        rp->text = b.p;
        rp->len = b.len;
        rp->ntok = count_tokens(b.p, b.len);
    }
    if (max_tok >= 0 && max_tok < rp->ntok) {
        rp->cut = 1;
        rp->ntok = max_tok;
        if (!rp->gen) {
            size_t pos = 0;
            long k;
            for (k = 0; k < max_tok; k++)
                pos = token_end(rp->text, rp->len, pos);
            rp->len = pos;
            rp->text[pos] = '\0';
        }
    }
}

/* Appends the whole reply as the inside of a JSON string. */
static void reply_json_esc(buf_t *b, const reply_t *rp)
{
    long k;
    if (!rp->gen) {
        if (rp->text)
            buf_json_esc(b, rp->text, rp->len);
        return;
    }
    for (k = 0; k < rp->ntok; k++)
        buf_printf(b, "%stok%ld", k ? " " : "", k);
}

static void tool_args(buf_t *b, long i)
{
    buf_printf(b, "{\"city\":\"Paris\",\"i\":%ld}", i);
}

#define TOOL_FRAG 5 /* argument bytes per streamed fragment */

static long tool_frag_total(long ntools)
{
    long i, n = 0;
    buf_t a = {0};
    for (i = 0; i < ntools; i++) {
        buf_clear(&a);
        tool_args(&a, i);
        n += (long)((a.len + TOOL_FRAG - 1) / TOOL_FRAG);
    }
    buf_free(&a);
    return n;
}

static long clamp_tools(long n)
{
    return n < 0 ? 0 : (n > 1000 ? 1000 : n);
}

/* ------------------------------------------------------------------------ */
/* OpenAI chat                                                              */
/* ------------------------------------------------------------------------ */

static void oa_stream(ctx_t *x, const jnode_t *model, const chatinfo_t *ci,
                      reply_t *rp, int inc_usage)
{
    stream_t *st = stream_new(x, 1);
    buf_t head = {0}, j = {0}, a = {0};
    const char *unull = inc_usage ? ",\"usage\":null" : "";
    long ntools = clamp_tools(x->d.tools), i, C = 0;
    const char *finish;
    const char *etype = x->d.error_type[0] ? x->d.error_type : "server_error";

    /* Every chunk starts with the same id/object/created/model. */
    buf_printf(&head, "{\"id\":\"chatcmpl-mock-%llu\",\"object\":\"chat."
                      "completion.chunk\",\"created\":%d,\"model\":",
               x->c->n, CREATED);
    buf_json_str(&head, model->str, model->len);
    buf_adds(&head, ",\"system_fingerprint\":\"fp_mock\",\"choices\":");

    buf_addb(&j, &head);
    buf_printf(&j, "[{\"index\":0,\"delta\":{\"role\":\"assistant\","
                   "\"content\":%s},\"logprobs\":null,\"finish_reason\":null}]"
                   "%s}",
               ntools > 0 ? "null" : "\"\"", unull);
    st_add(st, &st->pre, 0, NULL, &j);

    if (ntools > 0) {
        for (i = 0; i < ntools; i++) {
            size_t off;
            buf_clear(&j);
            buf_addb(&j, &head);
            buf_printf(&j, "[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":"
                           "%ld,\"id\":\"call_%ld\",\"type\":\"function\","
                           "\"function\":{\"name\":\"get_weather\","
                           "\"arguments\":\"\"}}]},\"logprobs\":null,"
                           "\"finish_reason\":null}]%s}",
                       i, i, unull);
            st_add(st, &st->pre, 0, NULL, &j);
            buf_clear(&a);
            tool_args(&a, i);
            for (off = 0; off < a.len; off += TOOL_FRAG) {
                size_t n = a.len - off < TOOL_FRAG ? a.len - off : TOOL_FRAG;
                buf_clear(&j);
                buf_addb(&j, &head);
                buf_printf(&j, "[{\"index\":0,\"delta\":{\"tool_calls\":[{"
                               "\"index\":%ld,\"function\":{\"arguments\":",
                           i);
                buf_json_str(&j, a.p + off, n);
                buf_printf(&j, "}}]},\"logprobs\":null,\"finish_reason\":null}]"
                               "%s}",
                           unull);
                st_add(st, &st->pre, 1, NULL, &j);
                C++;
            }
        }
        finish = "tool_calls";
    } else {
        st_tok_prefix(st, NULL);
        buf_addb(&st->tok_prefix, &head);
        buf_adds(&st->tok_prefix, "[{\"index\":0,\"delta\":{\"content\":\"");
        buf_printf(&st->tok_suffix, "\"},\"logprobs\":null,\"finish_reason\":"
                                    "null}]%s}",
                   unull);
        st_tok_suffix_end(st);
        st->reply = *rp;
        rp->text = NULL; /* the stream owns it now */
        st->lazy_n = st->reply.ntok;
        C = st->reply.ntok;
        finish = st->reply.cut ? "length" : "stop";
    }

    buf_clear(&j);
    buf_addb(&j, &head);
    buf_printf(&j, "[{\"index\":0,\"delta\":{},\"logprobs\":null,"
                   "\"finish_reason\":\"%s\"}]%s}",
               finish, unull);
    st_add(st, &st->post, 0, NULL, &j);
    if (inc_usage) {
        buf_clear(&j);
        buf_addb(&j, &head);
        buf_printf(&j, "[],\"usage\":{\"prompt_tokens\":%ld,\"completion_tokens"
                       "\":%ld,\"total_tokens\":%ld}}",
                   ci->prompt_words, C, ci->prompt_words + C);
        st_add(st, &st->post, 0, NULL, &j);
    }
    st_add_s(st, &st->post, NULL, "[DONE]");

    buf_clear(&j);
    buf_adds(&j, "{\"error\":{\"message\":\"mock stream error\",\"type\":");
    buf_json_str(&j, etype, strlen(etype));
    buf_adds(&j, ",\"code\":\"mock_error\"}}");
    st_format(st, &st->err, NULL, j.p, j.len);
    buf_clear(&j);
    buf_adds(&j, "{\"error\":{\"message\":\"mock error event\",\"type\":");
    buf_json_str(&j, etype, strlen(etype));
    buf_adds(&j, "}}");
    st_format(st, &st->errev, "error", j.p, j.len);

    buf_free(&head);
    buf_free(&j);
    buf_free(&a);
    stream_begin(x, st, "text/event-stream");
}

static void oa_full(ctx_t *x, const jnode_t *model, const chatinfo_t *ci,
                    const reply_t *rp)
{
    buf_t b = {0}, a = {0};
    long ntools = clamp_tools(x->d.tools), i, C;
    const char *finish;
    buf_printf(&b, "{\"id\":\"chatcmpl-mock-%llu\",\"object\":\"chat.completion"
                   "\",\"created\":%d,\"model\":",
               x->c->n, CREATED);
    buf_json_str(&b, model->str, model->len);
    buf_adds(&b, ",\"choices\":[{\"index\":0,\"message\":{\"role\":"
                 "\"assistant\",\"content\":");
    if (ntools > 0) {
        buf_adds(&b, "null,\"tool_calls\":[");
        for (i = 0; i < ntools; i++) {
            buf_clear(&a);
            tool_args(&a, i);
            buf_printf(&b, "%s{\"id\":\"call_%ld\",\"type\":\"function\","
                           "\"function\":{\"name\":\"get_weather\","
                           "\"arguments\":",
                       i ? "," : "", i);
            buf_json_str(&b, a.p, a.len);
            buf_adds(&b, "}}");
        }
        buf_adds(&b, "]");
        C = tool_frag_total(ntools);
        finish = "tool_calls";
    } else {
        buf_addc(&b, '"');
        reply_json_esc(&b, rp);
        buf_addc(&b, '"');
        C = rp->ntok;
        finish = rp->cut ? "length" : "stop";
    }
    buf_printf(&b, ",\"refusal\":null},\"logprobs\":null,\"finish_reason\":"
                   "\"%s\"}],\"usage\":{\"prompt_tokens\":%ld,"
                   "\"completion_tokens\":%ld,\"total_tokens\":%ld},"
                   "\"system_fingerprint\":\"fp_mock\"}",
               finish, ci->prompt_words, C, ci->prompt_words + C);
    send_json(x, 200, &b);
    buf_free(&b);
    buf_free(&a);
}

static void h_openai_chat(ctx_t *x)
{
    static const char *const roles[] = {"system", "developer", "user",
                                        "assistant", "tool"};
    request_t *r = x->r;
    jnode_t *root = json_parse(r->body.p, r->body.len);
    const char *auth = hdr(r, "authorization");
    const jnode_t *model, *msgs, *m;
    chatinfo_t ci;
    reply_t rp;
    char *clean = NULL;
    size_t clean_len = 0;
    long max_tok = -1;
    int idx, stream, inc_usage, json_mode;

    memset(&rp, 0, sizeof rp);
    chat_extract(root, &ci);
    ctx_directives(x, ci.user, ci.user_len);
    if (apply_failure(x))
        goto out;
    if (auth && !strcmp(auth, "Bearer bad-key")) {
        send_error(x, 401, "mock: incorrect API key provided", NULL);
        goto out;
    }
    if (!root || root->type != J_OBJ) {
        send_error(x, 400, "mock: invalid request: body is not a JSON object",
                   NULL);
        goto out;
    }
    model = jget(root, "model");
    if (!model || model->type != J_STR || model->len == 0) {
        send_error(x, 400, "mock: invalid request: model must be a non-empty "
                           "string", NULL);
        goto out;
    }
    msgs = jget(root, "messages");
    if (!msgs || msgs->type != J_ARR || !msgs->child) {
        send_error(x, 400, "mock: invalid request: messages must be a "
                           "non-empty array", NULL);
        goto out;
    }
    for (m = msgs->child, idx = 0; m; m = m->next, idx++) {
        const char *role = jstr(jget(m, "role"));
        size_t k;
        int ok = 0;
        for (k = 0; role && k < sizeof roles / sizeof roles[0]; k++)
            ok |= !strcmp(role, roles[k]);
        if (!ok) {
            char msg[200];
            snprintf(msg, sizeof msg, "mock: invalid request: messages[%d]."
                                      "role must be one of system, developer, "
                                      "user, assistant, tool", idx);
            send_error(x, 400, msg, NULL);
            goto out;
        }
    }
    if (jget(root, "tools") && jget(root, "tools")->type != J_ARR &&
        jget(root, "tools")->type != J_NULL) {
        send_error(x, 400, "mock: invalid request: tools must be an array",
                   NULL);
        goto out;
    }
    if (jget_posint(root, "max_completion_tokens", &max_tok) < 0 ||
        (max_tok < 0 && jget_posint(root, "max_tokens", &max_tok) < 0)) {
        send_error(x, 400, "mock: invalid request: max_tokens must be an "
                           "integer >= 1", NULL);
        goto out;
    }
    stream = jtrue(jget(root, "stream")) && !x->force_nonstream;
    inc_usage = stream && x->d.usage != 0 &&
                jtrue(jget(jget(root, "stream_options"), "include_usage"));
    {
        const jnode_t *rf = jget(root, "response_format");
        json_mode = x->d.json == 1 || (rf && rf->type != J_NULL);
    }
    clean = strip_directive(ci.user, ci.user_len, &clean_len);
    make_reply(&rp, &x->d, clean, clean_len, json_mode, max_tok);
    if (stream)
        oa_stream(x, model, &ci, &rp, inc_usage);
    else
        oa_full(x, model, &ci, &rp);
out:
    free(rp.text);
    free(clean);
    free(ci.user);
    json_free(root);
}

/* ------------------------------------------------------------------------ */
/* Anthropic messages                                                       */
/* ------------------------------------------------------------------------ */

#define THINK_1 "Let me think"
#define THINK_2 " about this."
#define THINK_SIG "mock-signature"

static void an_stream(ctx_t *x, const jnode_t *model, const chatinfo_t *ci,
                      reply_t *rp)
{
    stream_t *st = stream_new(x, 1);
    buf_t j = {0}, a = {0};
    long ntools = clamp_tools(x->d.tools), i, C = 0;
    int ti = x->d.thinking == 1 ? 1 : 0; /* index of the first text/tool block */
    const char *stop;
    const char *etype = x->d.error_type[0] ? x->d.error_type : "overloaded_error";

    buf_printf(&j, "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_mock_"
                   "%llu\",\"type\":\"message\",\"role\":\"assistant\","
                   "\"model\":",
               x->c->n);
    buf_json_str(&j, model->str, model->len);
    buf_printf(&j, ",\"content\":[],\"stop_reason\":null,\"stop_sequence\":"
                   "null,\"usage\":{\"input_tokens\":%ld,\"output_tokens\":1}}}",
               ci->prompt_words);
    st_add(st, &st->pre, 0, "message_start", &j);

    if (ti) {
        st_add_s(st, &st->pre, "content_block_start",
                 "{\"type\":\"content_block_start\",\"index\":0,"
                 "\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\","
                 "\"signature\":\"\"}}");
        st_add_s(st, &st->pre, "ping", "{\"type\":\"ping\"}");
        st_add_s(st, &st->pre, "content_block_delta",
                 "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{"
                 "\"type\":\"thinking_delta\",\"thinking\":\"" THINK_1 "\"}}");
        st_add_s(st, &st->pre, "content_block_delta",
                 "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{"
                 "\"type\":\"thinking_delta\",\"thinking\":\"" THINK_2 "\"}}");
        st_add_s(st, &st->pre, "content_block_delta",
                 "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{"
                 "\"type\":\"signature_delta\",\"signature\":\"" THINK_SIG
                 "\"}}");
        st_add_s(st, &st->pre, "content_block_stop",
                 "{\"type\":\"content_block_stop\",\"index\":0}");
    }

    if (ntools > 0) {
        for (i = 0; i < ntools; i++) {
            size_t off;
            long bi = ti + i;
            buf_clear(&j);
            buf_printf(&j, "{\"type\":\"content_block_start\",\"index\":%ld,"
                           "\"content_block\":{\"type\":\"tool_use\",\"id\":"
                           "\"toolu_%ld\",\"name\":\"get_weather\",\"input\":"
                           "{}}}",
                       bi, i);
            st_add(st, &st->pre, 0, "content_block_start", &j);
            if (i == 0 && !ti)
                st_add_s(st, &st->pre, "ping", "{\"type\":\"ping\"}");
            buf_clear(&a);
            tool_args(&a, i);
            for (off = 0; off < a.len; off += TOOL_FRAG) {
                size_t n = a.len - off < TOOL_FRAG ? a.len - off : TOOL_FRAG;
                buf_clear(&j);
                buf_printf(&j, "{\"type\":\"content_block_delta\",\"index\":"
                               "%ld,\"delta\":{\"type\":\"input_json_delta\","
                               "\"partial_json\":",
                           bi);
                buf_json_str(&j, a.p + off, n);
                buf_adds(&j, "}}");
                st_add(st, &st->pre, 1, "content_block_delta", &j);
                C++;
            }
            buf_clear(&j);
            buf_printf(&j, "{\"type\":\"content_block_stop\",\"index\":%ld}", bi);
            st_add(st, &st->pre, 0, "content_block_stop", &j);
        }
        stop = "tool_use";
    } else {
        buf_clear(&j);
        buf_printf(&j, "{\"type\":\"content_block_start\",\"index\":%d,"
                       "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
                   ti);
        st_add(st, &st->pre, 0, "content_block_start", &j);
        if (!ti)
            st_add_s(st, &st->pre, "ping", "{\"type\":\"ping\"}");
        st_tok_prefix(st, "content_block_delta");
        buf_printf(&st->tok_prefix, "{\"type\":\"content_block_delta\","
                                    "\"index\":%d,\"delta\":{\"type\":"
                                    "\"text_delta\",\"text\":\"",
                   ti);
        buf_adds(&st->tok_suffix, "\"}}");
        st_tok_suffix_end(st);
        st->reply = *rp;
        rp->text = NULL;
        st->lazy_n = st->reply.ntok;
        C = st->reply.ntok;
        stop = st->reply.cut ? "max_tokens" : "end_turn";
        buf_clear(&j);
        buf_printf(&j, "{\"type\":\"content_block_stop\",\"index\":%d}", ti);
        st_add(st, &st->post, 0, "content_block_stop", &j);
    }
    buf_clear(&j);
    buf_printf(&j, "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
                   "\"%s\",\"stop_sequence\":null},\"usage\":{"
                   "\"output_tokens\":%ld}}",
               stop, C);
    st_add(st, &st->post, 0, "message_delta", &j);
    st_add_s(st, &st->post, "message_stop", "{\"type\":\"message_stop\"}");

    buf_clear(&j);
    buf_adds(&j, "{\"type\":\"error\",\"error\":{\"type\":");
    buf_json_str(&j, etype, strlen(etype));
    buf_adds(&j, ",\"message\":\"Overloaded\"}}");
    st_format(st, &st->err, "error", j.p, j.len);
    st_format(st, &st->errev, "error", j.p, j.len);

    buf_free(&j);
    buf_free(&a);
    stream_begin(x, st, "text/event-stream");
}

static void an_full(ctx_t *x, const jnode_t *model, const chatinfo_t *ci,
                    const reply_t *rp)
{
    buf_t b = {0}, a = {0};
    long ntools = clamp_tools(x->d.tools), i, C;
    const char *stop;
    buf_printf(&b, "{\"id\":\"msg_mock_%llu\",\"type\":\"message\",\"role\":"
                   "\"assistant\",\"model\":",
               x->c->n);
    buf_json_str(&b, model->str, model->len);
    buf_adds(&b, ",\"content\":[");
    if (x->d.thinking == 1)
        buf_adds(&b, "{\"type\":\"thinking\",\"thinking\":\"" THINK_1 THINK_2
                     "\",\"signature\":\"" THINK_SIG "\"},");
    if (ntools > 0) {
        for (i = 0; i < ntools; i++) {
            buf_printf(&b, "%s{\"type\":\"tool_use\",\"id\":\"toolu_%ld\","
                           "\"name\":\"get_weather\",\"input\":",
                       i ? "," : "", i);
            buf_clear(&a);
            tool_args(&a, i);
            buf_addb(&b, &a);
            buf_adds(&b, "}");
        }
        C = tool_frag_total(ntools);
        stop = "tool_use";
    } else {
        buf_adds(&b, "{\"type\":\"text\",\"text\":\"");
        reply_json_esc(&b, rp);
        buf_adds(&b, "\"}");
        C = rp->ntok;
        stop = rp->cut ? "max_tokens" : "end_turn";
    }
    buf_printf(&b, "],\"stop_reason\":\"%s\",\"stop_sequence\":null,\"usage\":"
                   "{\"input_tokens\":%ld,\"output_tokens\":%ld}}",
               stop, ci->prompt_words, C);
    send_json(x, 200, &b);
    buf_free(&b);
    buf_free(&a);
}

static void h_anthropic(ctx_t *x)
{
    request_t *r = x->r;
    jnode_t *root = json_parse(r->body.p, r->body.len);
    const char *key = hdr(r, "x-api-key");
    const jnode_t *model, *msgs, *m;
    chatinfo_t ci;
    reply_t rp;
    char *clean = NULL;
    size_t clean_len = 0;
    long max_tok = -1;
    int idx, json_mode;

    memset(&rp, 0, sizeof rp);
    chat_extract(root, &ci);
    ctx_directives(x, ci.user, ci.user_len);
    if (apply_failure(x))
        goto out;
    if (!key || !*key || !strcmp(key, "bad-key")) {
        send_error(x, 401, "mock: invalid x-api-key", NULL);
        goto out;
    }
    if (!hdr(r, "anthropic-version")) {
        send_error(x, 400, "mock: invalid request: anthropic-version header "
                           "is required", NULL);
        goto out;
    }
    if (!root || root->type != J_OBJ) {
        send_error(x, 400, "mock: invalid request: body is not a JSON object",
                   NULL);
        goto out;
    }
    model = jget(root, "model");
    if (!model || model->type != J_STR || model->len == 0) {
        send_error(x, 400, "mock: invalid request: model must be a non-empty "
                           "string", NULL);
        goto out;
    }
    if (jget_posint(root, "max_tokens", &max_tok) <= 0) {
        send_error(x, 400, "mock: invalid request: max_tokens: field required "
                           "(integer >= 1)", NULL);
        goto out;
    }
    msgs = jget(root, "messages");
    if (!msgs || msgs->type != J_ARR || !msgs->child) {
        send_error(x, 400, "mock: invalid request: messages must be a "
                           "non-empty array", NULL);
        goto out;
    }
    for (m = msgs->child, idx = 0; m; m = m->next, idx++) {
        const char *role = jstr(jget(m, "role"));
        if (!role || (strcmp(role, "user") && strcmp(role, "assistant"))) {
            char msg[160];
            snprintf(msg, sizeof msg, "mock: invalid request: messages.%d.role:"
                                      " must be user or assistant", idx);
            send_error(x, 400, msg, NULL);
            goto out;
        }
    }
    if (jget(root, "tools") && jget(root, "tools")->type != J_ARR) {
        send_error(x, 400, "mock: invalid request: tools must be an array",
                   NULL);
        goto out;
    }
    json_mode = x->d.json == 1;
    clean = strip_directive(ci.user, ci.user_len, &clean_len);
    make_reply(&rp, &x->d, clean, clean_len, json_mode, max_tok);
    if (jtrue(jget(root, "stream")) && !x->force_nonstream)
        an_stream(x, model, &ci, &rp);
    else
        an_full(x, model, &ci, &rp);
out:
    free(rp.text);
    free(clean);
    free(ci.user);
    json_free(root);
}

/* ------------------------------------------------------------------------ */
/* Ollama chat                                                              */
/* ------------------------------------------------------------------------ */

static void ol_tool_calls(buf_t *b, long ntools)
{
    long i;
    buf_adds(b, ",\"tool_calls\":[");
    for (i = 0; i < ntools; i++) {
        buf_adds(b, i ? ",{" : "{");
        buf_adds(b, "\"function\":{\"name\":\"get_weather\",\"arguments\":");
        tool_args(b, i);
        buf_adds(b, "}}");
    }
    buf_adds(b, "]");
}

static void ol_final(buf_t *b, const char *model, size_t mlen,
                     const char *content_json, long ntools, const char *reason_s,
                     long P, long C)
{
    buf_adds(b, "{\"model\":");
    buf_json_str(b, model, mlen);
    buf_adds(b, ",\"created_at\":\"" OLLAMA_TS "\",\"message\":{\"role\":"
                "\"assistant\",\"content\":");
    buf_adds(b, content_json);
    if (ntools > 0)
        ol_tool_calls(b, ntools);
    buf_printf(b, "},\"done\":true,\"done_reason\":\"%s\",\"total_duration\":"
                  "1000,\"load_duration\":0,\"prompt_eval_count\":%ld,"
                  "\"eval_count\":%ld}",
               reason_s, P, C);
}

static void h_ollama_chat(ctx_t *x)
{
    request_t *r = x->r;
    jnode_t *root = json_parse(r->body.p, r->body.len);
    const jnode_t *model, *msgs, *sn;
    chatinfo_t ci;
    reply_t rp;
    char *clean = NULL;
    size_t clean_len = 0;
    long max_tok = -1, ntools;
    int stream;
    buf_t b = {0}, j = {0};

    memset(&rp, 0, sizeof rp);
    chat_extract(root, &ci);
    ctx_directives(x, ci.user, ci.user_len);
    if (apply_failure(x))
        goto out;
    if (!root || root->type != J_OBJ) {
        send_error(x, 400, "mock: invalid request: body is not a JSON object",
                   NULL);
        goto out;
    }
    model = jget(root, "model");
    if (!model || model->type != J_STR || model->len == 0) {
        send_error(x, 400, "mock: invalid request: model is required", NULL);
        goto out;
    }
    msgs = jget(root, "messages");
    if (msgs && msgs->type != J_ARR) {
        send_error(x, 400, "mock: invalid request: messages must be an array",
                   NULL);
        goto out;
    }
    {
        const jnode_t *np = jget(jget(root, "options"), "num_predict");
        if (np && np->type == J_NUM && np->num >= 1 && np->num < 1e15)
            max_tok = (long)np->num;
    }
    ntools = clamp_tools(x->d.tools);
    sn = jget(root, "stream");
    stream = !(sn && sn->type == J_FALSE) && !x->force_nonstream;
    clean = strip_directive(ci.user, ci.user_len, &clean_len);
    make_reply(&rp, &x->d, clean, clean_len, x->d.json == 1, max_tok);
    if (ntools > 0) {
        rp.ntok = 0; /* the answer is the tool calls */
        rp.len = 0;
        rp.cut = 0;
        rp.gen = 0;
    }
    if (stream) {
        stream_t *st = stream_new(x, 0);
        long C = ntools > 0 ? 1 : rp.ntok;
        if (ntools > 0) {
            buf_adds(&j, "{\"model\":");
            buf_json_str(&j, model->str, model->len);
            buf_adds(&j, ",\"created_at\":\"" OLLAMA_TS "\",\"message\":{"
                         "\"role\":\"assistant\",\"content\":\"\"");
            ol_tool_calls(&j, ntools);
            buf_adds(&j, "},\"done\":false}");
            st_add(st, &st->pre, 1, NULL, &j);
        }
        buf_adds(&st->tok_prefix, "{\"model\":");
        buf_json_str(&st->tok_prefix, model->str, model->len);
        buf_adds(&st->tok_prefix, ",\"created_at\":\"" OLLAMA_TS "\","
                                  "\"message\":{\"role\":\"assistant\","
                                  "\"content\":\"");
        buf_adds(&st->tok_suffix, "\"},\"done\":false}");
        st_tok_suffix_end(st);
        st->reply = rp;
        rp.text = NULL;
        st->lazy_n = st->reply.ntok;
        buf_clear(&j);
        ol_final(&j, model->str, model->len, "\"\"", 0,
                 st->reply.cut ? "length" : "stop", ci.prompt_words, C);
        st_add(st, &st->post, 0, NULL, &j);
        st_format(st, &st->err, NULL, "{\"error\":\"mock ollama error\"}", 29);
        st_format(st, &st->errev, NULL, "{\"error\":\"mock ollama error\"}", 29);
        stream_begin(x, st, "application/x-ndjson");
    } else {
        buf_addc(&j, '"');
        reply_json_esc(&j, &rp);
        buf_addc(&j, '"');
        ol_final(&b, model->str, model->len, j.p, ntools,
                 rp.cut ? "length" : "stop", ci.prompt_words,
                 ntools > 0 ? 1 : rp.ntok);
        send_json(x, 200, &b);
    }
out:
    buf_free(&b);
    buf_free(&j);
    free(rp.text);
    free(clean);
    free(ci.user);
    json_free(root);
}

/* ------------------------------------------------------------------------ */
/* Embeddings (OpenAI and Ollama)                                           */
/* ------------------------------------------------------------------------ */

static double emb_value(uint32_t h, long j)
{
    return (double)((h >> (j % 24)) % 1000u) / 1000.0;
}

static void emb_vector(buf_t *b, const char *s, size_t n, long dim)
{
    uint32_t h = fnv1a(s, n);
    long j;
    buf_printf(b, "[%zu", n);
    for (j = 1; j < dim; j++)
        buf_printf(b, ",%.6g", emb_value(h, j));
    buf_addc(b, ']');
}

/* encoding_format=base64: little-endian float32 values, base64-encoded. */
static void emb_base64(buf_t *b, const char *s, size_t n, long dim)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t h = fnv1a(s, n);
    unsigned char *raw = xmalloc((size_t)dim * 4);
    size_t i, len = (size_t)dim * 4;
    long j;
    for (j = 0; j < dim; j++) {
        float f = j == 0 ? (float)n : (float)emb_value(h, j);
        uint32_t u;
        memcpy(&u, &f, 4);
        raw[j * 4 + 0] = (unsigned char)(u & 0xFF);
        raw[j * 4 + 1] = (unsigned char)((u >> 8) & 0xFF);
        raw[j * 4 + 2] = (unsigned char)((u >> 16) & 0xFF);
        raw[j * 4 + 3] = (unsigned char)((u >> 24) & 0xFF);
    }
    buf_addc(b, '"');
    for (i = 0; i < len; i += 3) {
        unsigned v = (unsigned)raw[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)raw[i + 1] << 8;
        if (i + 2 < len)
            v |= raw[i + 2];
        buf_addc(b, tab[(v >> 18) & 63]);
        buf_addc(b, tab[(v >> 12) & 63]);
        buf_addc(b, i + 1 < len ? tab[(v >> 6) & 63] : '=');
        buf_addc(b, i + 2 < len ? tab[v & 63] : '=');
    }
    buf_addc(b, '"');
    free(raw);
}

static void h_embeddings(ctx_t *x, int ollama)
{
    request_t *r = x->r;
    jnode_t *root = json_parse(r->body.p, r->body.len);
    const jnode_t *input = jget(root, "input"), *model, *it;
    const jnode_t **items = NULL;
    const char *first = NULL, *enc;
    size_t first_len = 0, nitems = 0, k;
    long dim = 8, P = 0;
    int bad_input = 0;
    buf_t b = {0};

    if (input && input->type == J_STR) {
        nitems = 1;
    } else if (input && input->type == J_ARR) {
        for (it = input->child; it; it = it->next) {
            if (it->type != J_STR)
                bad_input = 1;
            nitems++;
        }
    } else {
        bad_input = 1;
    }
    if (!bad_input && nitems > 0) {
        items = xcalloc(nitems, sizeof *items);
        if (input->type == J_STR)
            items[0] = input;
        else
            for (it = input->child, k = 0; it; it = it->next)
                items[k++] = it;
        first = items[0]->str;
        first_len = items[0]->len;
    }
    ctx_directives(x, first, first_len);
    if (apply_failure(x))
        goto out;
    if (!ollama && hdr(r, "authorization") &&
        !strcmp(hdr(r, "authorization"), "Bearer bad-key")) {
        send_error(x, 401, "mock: incorrect API key provided", NULL);
        goto out;
    }
    if (!root || root->type != J_OBJ) {
        send_error(x, 400, "mock: invalid request: body is not a JSON object",
                   NULL);
        goto out;
    }
    model = jget(root, "model");
    if (!model || model->type != J_STR || model->len == 0) {
        send_error(x, 400, "mock: invalid request: model must be a non-empty "
                           "string", NULL);
        goto out;
    }
    if (bad_input || nitems == 0) {
        send_error(x, 400, nitems == 0 && !bad_input
                               ? "mock: invalid request: input must not be "
                                 "empty"
                               : "mock: invalid request: input must be a "
                                 "string or an array of strings",
                   NULL);
        goto out;
    }
    {
        int rc = jget_posint(root, "dimensions", &dim);
        if (rc < 0 || dim > 65536) {
            send_error(x, 400, "mock: invalid request: dimensions must be an "
                               "integer in 1..65536", NULL);
            goto out;
        }
    }
    for (k = 0; k < nitems; k++)
        P += count_words(items[k]->str, items[k]->len);
    enc = jstr(jget(root, "encoding_format"));
    if (ollama) {
        buf_adds(&b, "{\"model\":");
        buf_json_str(&b, model->str, model->len);
        buf_adds(&b, ",\"embeddings\":[");
        for (k = 0; k < nitems; k++) {
            if (k)
                buf_addc(&b, ',');
            emb_vector(&b, items[k]->str, items[k]->len, dim);
        }
        buf_printf(&b, "],\"total_duration\":1000,\"load_duration\":0,"
                       "\"prompt_eval_count\":%ld}",
                   P);
    } else {
        buf_adds(&b, "{\"object\":\"list\",\"data\":[");
        for (k = 0; k < nitems; k++) {
            /* shuffle=1: reverse order, clients must sort by index */
            size_t i = x->d.shuffle == 1 ? nitems - 1 - k : k;
            buf_printf(&b, "%s{\"object\":\"embedding\",\"index\":%zu,"
                           "\"embedding\":",
                       k ? "," : "", i);
            if (enc && !strcmp(enc, "base64"))
                emb_base64(&b, items[i]->str, items[i]->len, dim);
            else
                emb_vector(&b, items[i]->str, items[i]->len, dim);
            buf_addc(&b, '}');
        }
        buf_adds(&b, "],\"model\":");
        buf_json_str(&b, model->str, model->len);
        buf_printf(&b, ",\"usage\":{\"prompt_tokens\":%ld,\"total_tokens\":%ld}}",
                   P, P);
    }
    send_json(x, 200, &b);
out:
    buf_free(&b);
    free(items);
    json_free(root);
}

/* ------------------------------------------------------------------------ */
/* Other endpoints                                                          */
/* ------------------------------------------------------------------------ */

static void h_models(ctx_t *x)
{
    static const char body[] =
        "{\"object\":\"list\",\"data\":[{\"id\":\"mock-model\",\"object\":"
        "\"model\",\"created\":1700000000,\"owned_by\":\"llmasync-mock\"}]}";
    ctx_directives(x, x->r->body.p, x->r->body.len);
    if (apply_failure(x))
        return;
    send_static(x, 200, "application/json", body, sizeof body - 1);
}

static void h_not_found(ctx_t *x)
{
    char msg[300];
    ctx_directives(x, x->r->body.p, x->r->body.len);
    if (apply_failure(x))
        return;
    snprintf(msg, sizeof msg, "mock: no route for %s %.200s", x->r->method,
             x->r->path);
    send_error(x, 404, msg, NULL);
}

static void h_echo(ctx_t *x)
{
    request_t *r = x->r;
    jnode_t *root = json_parse(r->body.p, r->body.len);
    buf_t b = {0};
    ctx_directives(x, r->body.p, r->body.len);
    if (apply_failure(x))
        goto out;
    if (jtrue(jget(root, "stream")) && !x->force_nonstream) {
        stream_t *st = stream_new(x, 1);
        buf_t j = {0};
        st->echo_numbers = 1;
        st->lazy_n = x->d.tokens >= 0 ? x->d.tokens : 3;
        st_tok_prefix(st, "echo");
        buf_adds(&st->tok_prefix, "{\"i\":");
        buf_adds(&st->tok_suffix, "}");
        st_tok_suffix_end(st);
        st_add_s(st, &st->post, "done", "{}");
        buf_adds(&j, "{\"error\":{\"message\":\"mock stream error\",\"type\":"
                     "\"server_error\",\"code\":\"mock_error\"}}");
        st_format(st, &st->err, NULL, j.p, j.len);
        st_format(st, &st->errev, "error", j.p, j.len);
        buf_free(&j);
        stream_begin(x, st, "text/event-stream");
        goto out;
    }
    buf_adds(&b, "{\"object\":\"echo\",\"method\":");
    buf_json_str(&b, r->method, strlen(r->method));
    buf_adds(&b, ",\"path\":");
    buf_json_str_or_null(&b, r->path);
    buf_adds(&b, ",\"query\":");
    buf_json_str_or_null(&b, r->query);
    buf_adds(&b, ",\"body\":");
    if (root)
        buf_add(&b, r->body.p, r->body.len);
    else
        buf_json_str(&b, r->body.p ? r->body.p : "", r->body.len);
    buf_adds(&b, "}");
    send_json(x, 200, &b);
out:
    buf_free(&b);
    json_free(root);
}

static void h_stats(ctx_t *x)
{
    buf_t b = {0};
    buf_printf(&b, "{\"requests\":%ld,\"connections\":%ld,\"open_connections\":"
                   "%ld,\"inflight\":%ld,\"max_inflight\":%ld",
               S.requests, S.connections, S.open_conns, S.inflight,
               S.max_inflight);
    buf_adds(&b, ",\"last_method\":");
    buf_json_str_or_null(&b, S.last_method);
    buf_adds(&b, ",\"last_path\":");
    buf_json_str_or_null(&b, S.last_path);
    buf_adds(&b, ",\"last_authorization\":");
    buf_json_str_or_null(&b, S.last_auth);
    buf_adds(&b, ",\"last_x_api_key\":");
    buf_json_str_or_null(&b, S.last_xapikey);
    buf_adds(&b, ",\"last_anthropic_version\":");
    buf_json_str_or_null(&b, S.last_version);
    buf_adds(&b, ",\"last_user_agent\":");
    buf_json_str_or_null(&b, S.last_ua);
    buf_adds(&b, ",\"last_content_type\":");
    buf_json_str_or_null(&b, S.last_ctype);
    buf_adds(&b, ",\"last_x_mock\":");
    buf_json_str_or_null(&b, S.last_xmock);
    buf_adds(&b, ",\"last_body\":");
    if (S.have_last)
        buf_json_str(&b, S.last_body.p ? S.last_body.p : "", S.last_body.len);
    else
        buf_adds(&b, "null");
    buf_adds(&b, "}");
    send_json(x, 200, &b);
    buf_free(&b);
}

static void h_reset(ctx_t *x)
{
    static const char ok[] = "{\"ok\":true}";
    S.requests = 0;
    S.connections = 0;
    S.max_inflight = S.inflight; /* in-flight requests are still real */
    id_reset();
    send_static(x, 200, "application/json", ok, sizeof ok - 1);
}

static void dispatch(ctx_t *x)
{
    const char *m = x->r->method, *p = x->r->path;
    int post = !strcmp(m, "POST");
    int get = !strcmp(m, "GET") || !strcmp(m, "HEAD");
    if (post && !strcmp(p, "/v1/chat/completions"))
        h_openai_chat(x);
    else if (post && !strcmp(p, "/v1/embeddings"))
        h_embeddings(x, 0);
    else if (post && !strcmp(p, "/v1/messages"))
        h_anthropic(x);
    else if (post && !strcmp(p, "/api/chat"))
        h_ollama_chat(x);
    else if (post && !strcmp(p, "/api/embed"))
        h_embeddings(x, 1);
    else if (get && !strcmp(p, "/mock/stats"))
        h_stats(x);
    else if (post && !strcmp(p, "/mock/reset"))
        h_reset(x);
    else if (get && !strcmp(p, "/v1/models"))
        h_models(x);
    else if (post)
        h_echo(x);
    else
        h_not_found(x);
}

static int style_for(const char *path)
{
    if (path && !strcmp(path, "/v1/messages"))
        return STYLE_ANTHROPIC;
    if (path && !strncmp(path, "/api/", 5))
        return STYLE_OLLAMA;
    return STYLE_OPENAI;
}

/* ------------------------------------------------------------------------ */
/* Request parsing                                                          */
/* ------------------------------------------------------------------------ */

static void ctx_init(ctx_t *x, conn_t *c, int64_t now)
{
    memset(x, 0, sizeof *x);
    x->c = c;
    x->r = &c->req;
    x->now = now;
    x->style = style_for(c->req.path);
    dir_init(&x->d);
}

/* A request we cannot parse: answer and close (the stream is out of sync). */
static void respond_malformed(conn_t *c, int64_t now, long status,
                              const char *msg)
{
    ctx_t x;
    ctx_init(&x, c, now);
    x.style = STYLE_OPENAI;
    c->n = ++S.request_seq;
    c->close_after = 1;
    send_error(&x, status, msg, NULL);
    buf_free(&x.extra);
}

static void request_complete(conn_t *c, int64_t now)
{
    request_t *r = &c->req;
    ctx_t x;
    ctx_init(&x, c, now);
    c->n = ++S.request_seq;
    x.head_only = !strcmp(r->method, "HEAD");
    c->close_after = r->conn_close || (r->http10 && !r->keep_alive);
    if (strncmp(r->path, "/mock/", 6) != 0) {
        S.requests++;
        S.inflight++;
        c->counted = 1;
        if (S.inflight > S.max_inflight)
            S.max_inflight = S.inflight;
        set_str(&S.last_method, r->method);
        set_str(&S.last_path, r->target);
        set_str(&S.last_auth, hdr(r, "authorization"));
        set_str(&S.last_xapikey, hdr(r, "x-api-key"));
        set_str(&S.last_version, hdr(r, "anthropic-version"));
        set_str(&S.last_ua, hdr(r, "user-agent"));
        set_str(&S.last_ctype, hdr(r, "content-type"));
        set_str(&S.last_xmock, hdr(r, "x-mock"));
        buf_clear(&S.last_body);
        buf_add(&S.last_body, r->body.p, r->body.len);
        S.have_last = 1;
    }
    if (r->too_large) {
        /* An unread body (Expect: 100-continue refused) leaves the
         * connection out of sync: close it after the answer. */
        if (c->body_left > 0)
            c->close_after = 1;
        send_error(&x, 413, "mock: request body too large (max 64 MiB)", NULL);
    } else {
        dispatch(&x);
    }
    buf_free(&x.extra);
}

/* Splits off one line (LF or CRLF) of the NUL-terminated head block. */
static char *take_line(char **pp, char *end)
{
    char *s = *pp, *nl;
    if (s >= end)
        return NULL;
    nl = memchr(s, '\n', (size_t)(end - s));
    if (!nl)
        nl = end;
    *pp = nl < end ? nl + 1 : end;
    *nl = '\0';
    if (nl > s && nl[-1] == '\r')
        nl[-1] = '\0';
    return s;
}

static int has_token(const char *v, const char *tok)
{
    size_t n = strlen(tok);
    while (*v) {
        const char *e;
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        e = v;
        while (*e && *e != ',')
            e++;
        {
            const char *t = e;
            while (t > v && (t[-1] == ' ' || t[-1] == '\t'))
                t--;
            if ((size_t)(t - v) == n && !strncasecmp(v, tok, n))
                return 1;
        }
        v = e;
    }
    return 0;
}

/* Parses the request line and headers. 0 ok; -1 answered with an error. */
static int parse_head(conn_t *c, const char *b, size_t len, int64_t now)
{
    request_t *r = &c->req;
    char *p, *end, *line, *sp, *version, *q;
    int cl_seen = 0;
    int i;

    req_free(r);
    r->head = xstrndup(b, len);
    p = r->head;
    end = r->head + len;
    line = take_line(&p, end);
    sp = line ? strchr(line, ' ') : NULL;
    if (!sp || sp == line || (size_t)(sp - line) >= sizeof r->method)
        goto bad;
    memcpy(r->method, line, (size_t)(sp - line));
    r->method[sp - line] = '\0';
    r->target = sp + 1;
    sp = strchr(r->target, ' ');
    if (!sp || sp == r->target)
        goto bad;
    *sp = '\0';
    version = sp + 1;
    if (!strcmp(version, "HTTP/1.1"))
        r->http10 = 0;
    else if (!strcmp(version, "HTTP/1.0"))
        r->http10 = 1;
    else
        goto bad;
    r->path = xstrdup(r->target);
    q = strchr(r->path, '?');
    if (q) {
        *q = '\0';
        r->query = q + 1;
    }

    while ((line = take_line(&p, end)) != NULL) {
        char *colon, *v, *ve;
        if (!*line)
            break;
        if (*line == ' ' || *line == '\t')
            goto bad; /* obsolete line folding */
        colon = strchr(line, ':');
        if (!colon || colon == line)
            goto bad;
        *colon = '\0';
        if (strpbrk(line, " \t"))
            goto bad;
        v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        ve = v + strlen(v);
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            *--ve = '\0';
        if (r->nh >= MAX_HEADERS) {
            respond_malformed(c, now, 431, "mock: too many request headers");
            return -1;
        }
        r->h[r->nh].name = line;
        r->h[r->nh].value = v;
        r->nh++;
    }

    for (i = 0; i < r->nh; i++) {
        const char *n = r->h[i].name, *v = r->h[i].value;
        if (!strcasecmp(n, "content-length")) {
            long long cl;
            if (parse_ll(v, &cl) != 0 || (cl_seen && cl != r->content_length))
                goto bad;
            r->content_length = cl;
            cl_seen = 1;
        } else if (!strcasecmp(n, "transfer-encoding")) {
            if (!has_token(v, "chunked")) {
                respond_malformed(c, now, 501,
                                  "mock: unsupported transfer-encoding");
                return -1;
            }
            r->chunked = 1;
        } else if (!strcasecmp(n, "expect")) {
            if (!strcasecmp(v, "100-continue"))
                r->expect100 = 1;
        } else if (!strcasecmp(n, "connection")) {
            if (has_token(v, "close"))
                r->conn_close = 1;
            if (has_token(v, "keep-alive"))
                r->keep_alive = 1;
        }
    }
    return 0;
bad:
    respond_malformed(c, now, 400, "mock: malformed HTTP request");
    return -1;
}

/* Looks for the blank line ending the head. scan remembers how far we
 * looked, so slow clients do not make this quadratic. */
static int find_head_end(const char *b, size_t avail, size_t *scan,
                         size_t *end)
{
    size_t i = *scan;
    while (i < avail) {
        const char *nl = memchr(b + i, '\n', avail - i);
        if (!nl)
            break;
        i = (size_t)(nl - b);
        if (i + 1 < avail && b[i + 1] == '\n') {
            *end = i + 2;
            return 1;
        }
        if (i + 2 < avail && b[i + 1] == '\r' && b[i + 2] == '\n') {
            *end = i + 3;
            return 1;
        }
        if (i + 2 >= avail)
            break; /* the terminator may still be arriving */
        i++;
    }
    *scan = i;
    return 0;
}

/* After the head: decide how the body arrives. */
static void begin_body(conn_t *c, int64_t now)
{
    request_t *r = &c->req;
    if (r->chunked) {
        c->rstate = RS_CHUNK_SIZE;
    } else if (r->content_length > 0) {
        c->body_left = (unsigned long long)r->content_length;
        c->rstate = RS_BODY_CL;
        if ((unsigned long long)r->content_length > MAX_BODY) {
            r->too_large = 1;
            if (r->expect100) {
                /* Refuse before the client sends it. */
                request_complete(c, now);
                return;
            }
        } else {
            buf_reserve(&r->body, (size_t)r->content_length);
        }
    } else {
        request_complete(c, now);
        return;
    }
    if (r->expect100 && !r->too_large)
        buf_adds(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
}

/* Consumes buffered input: head, body, and at most one complete request
 * (the next one waits until this response is done). */
static void process_input(conn_t *c, int64_t now)
{
    while (!c->busy && !c->dead) {
        char *b = c->in.p + c->in_off;
        size_t avail = c->in.len - c->in_off;
        if (c->rstate == RS_HEAD) {
            size_t end;
            /* tolerate stray CRLFs between requests */
            while (c->scan == 0 && avail > 0 && (*b == '\r' || *b == '\n')) {
                b++;
                avail--;
                c->in_off++;
            }
            if (avail == 0)
                break;
            if (!find_head_end(b, avail, &c->scan, &end)) {
                if (avail > MAX_HEAD)
                    respond_malformed(c, now, 431,
                                      "mock: request headers too large");
                break;
            }
            if (end > MAX_HEAD) {
                respond_malformed(c, now, 431, "mock: request headers too large");
                break;
            }
            c->scan = 0;
            c->in_off += end;
            if (parse_head(c, b, end, now) != 0)
                break;
            begin_body(c, now);
        } else if (c->rstate == RS_BODY_CL || c->rstate == RS_CHUNK_DATA) {
            size_t take = avail < c->body_left ? avail : (size_t)c->body_left;
            if (take == 0)
                break;
            if (!c->req.too_large)
                buf_add(&c->req.body, b, take);
            c->in_off += take;
            c->body_left -= take;
            if (c->body_left == 0) {
                if (c->rstate == RS_CHUNK_DATA)
                    c->rstate = RS_CHUNK_CRLF;
                else
                    request_complete(c, now);
            }
        } else if (c->rstate == RS_CHUNK_SIZE) {
            char *nl = memchr(b, '\n', avail), *p = b;
            unsigned long long sz = 0;
            int digits = 0;
            if (!nl) {
                if (avail > 4096)
                    respond_malformed(c, now, 400, "mock: bad chunk size line");
                break;
            }
            while (p < nl && hexval((unsigned char)*p) >= 0) {
                sz = sz * 16 + (unsigned)hexval((unsigned char)*p);
                if (sz > (1ULL << 40)) {
                    digits = 0;
                    break;
                }
                digits++;
                p++;
            }
            if (!digits) {
                respond_malformed(c, now, 400, "mock: bad chunk size");
                break;
            }
            c->in_off += (size_t)(nl - b) + 1;
            if (sz == 0) {
                c->rstate = RS_TRAILER;
            } else {
                c->body_left = sz;
                c->rstate = RS_CHUNK_DATA;
                if (c->req.body.len + sz > MAX_BODY)
                    c->req.too_large = 1;
            }
        } else if (c->rstate == RS_CHUNK_CRLF) {
            if (avail == 0)
                break;
            if (b[0] == '\n') {
                c->in_off += 1;
            } else if (b[0] == '\r') {
                if (avail < 2)
                    break;
                if (b[1] != '\n') {
                    respond_malformed(c, now, 400, "mock: bad chunk framing");
                    break;
                }
                c->in_off += 2;
            } else {
                respond_malformed(c, now, 400, "mock: bad chunk framing");
                break;
            }
            c->rstate = RS_CHUNK_SIZE;
        } else { /* RS_TRAILER */
            char *nl = memchr(b, '\n', avail);
            size_t ll;
            if (!nl) {
                if (avail > MAX_HEAD)
                    respond_malformed(c, now, 431, "mock: trailer too large");
                break;
            }
            ll = (size_t)(nl - b);
            c->in_off += ll + 1;
            if (ll == 0 || (ll == 1 && b[0] == '\r')) {
                c->rstate = RS_HEAD;
                request_complete(c, now);
            }
        }
    }
    if (!c->dead && c->in_off > 0) {
        size_t rest = c->in.len - c->in_off;
        if (rest)
            memmove(c->in.p, c->in.p + c->in_off, rest);
        c->in.len = rest;
        c->in_off = 0;
        c->in.p[rest] = '\0';
    }
}

/* ------------------------------------------------------------------------ */
/* Output pump                                                              */
/* ------------------------------------------------------------------------ */

static void huge_fill(char *dst, unsigned long long pos, size_t n,
                      unsigned long long total)
{
    static const char pre[] = "{\"pad\":\"";
    unsigned long long k;
    memset(dst, 'x', n);
    if (total < 10)
        return;
    for (k = pos; k < 8 && k < pos + n; k++)
        dst[k - pos] = pre[k];
    for (k = total - 2; k < total; k++)
        if (k >= pos && k < pos + n)
            dst[k - pos] = k == total - 2 ? '"' : '}';
}

static int produce(conn_t *c, int64_t now)
{
    if (c->kind == K_STREAM)
        return produce_stream(c, now);
    if (c->kind == K_HUGE && c->huge_pos < c->huge_total) {
        unsigned long long left = c->huge_total - c->huge_pos;
        size_t n = left < OUT_BATCH ? (size_t)left : OUT_BATCH;
        buf_reserve(&c->out, n);
        huge_fill(c->out.p + c->out.len, c->huge_pos, n, c->huge_total);
        c->out.len += n;
        c->out.p[c->out.len] = '\0';
        c->huge_pos += n;
        return P_MORE;
    }
    return P_FINISHED;
}

static void response_done(conn_t *c, int64_t now)
{
    if (c->counted) {
        S.inflight--;
        c->counted = 0;
    }
    stream_free(c->st);
    c->st = NULL;
    req_free(&c->req);
    c->busy = 0;
    c->kind = K_STATIC;
    c->end_action = END_DONE;
    c->wake_at = 0;
    c->drip_ms = 0;
    c->gap_after_flush = 0;
    c->reset_waited = 0;
    c->huge_pos = c->huge_total = 0;
    c->rstate = RS_HEAD;
    c->scan = 0;
    c->body_left = 0;
    /* do not keep a huge response's buffer around on an idle connection */
    if (c->out.cap > 1024 * 1024)
        buf_free(&c->out);
    if (c->close_after) {
        conn_close(c, 0);
        return;
    }
    process_input(c, now);
}

/* Writes what is ready and produces more, until the socket is full, a timer
 * must pass, or there is nothing to do. */
static void conn_pump(conn_t *c, int64_t now)
{
    size_t written = 0;
    while (!c->dead) {
        int r;
        if (c->out_off < c->out.len) {
            size_t n = c->out.len - c->out_off;
            ssize_t w;
            if (c->wake_at > now)
                return;
            if (written >= PUMP_BUDGET)
                return; /* still ready: the main loop polls with timeout 0 */
            if (c->drip_ms > 0)
                n = 1;
            w = io_write(c, c->out.p + c->out_off, n);
            if (w < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    c->blocked = 1;
                    return;
                }
                conn_close(c, 0);
                return;
            }
            c->out_off += (size_t)w;
            written += (size_t)w;
            if (c->out_off == c->out.len) {
                c->out_off = 0;
                c->out.len = 0;
                if (c->gap_after_flush > 0) {
                    c->wake_at = now + c->gap_after_flush;
                    c->gap_after_flush = 0;
                }
            }
            if (c->drip_ms > 0)
                c->wake_at = now + c->drip_ms;
            continue;
        }
        if (!c->busy || c->wake_at > now)
            return;
        r = produce(c, now);
        if (r == P_MORE)
            continue;
        if (r == P_WAIT)
            return;
        switch (c->end_action) {
        case END_HOLD:
            c->wake_at = NEVER;
            return;
        case END_CLOSE:
            conn_close(c, 0);
            return;
        case END_RESET:
            if (!c->reset_waited) {
                c->reset_waited = 1;
                c->wake_at = now + RESET_GRACE_MS;
                continue;
            }
            conn_close(c, 1);
            return;
        default:
            response_done(c, now);
        }
    }
}

static void conn_read(conn_t *c, int64_t now, int hup)
{
    int rounds;
    /* Bounded so one busy client cannot starve the others. */
    for (rounds = 0; rounds < 64 && !c->dead; rounds++) {
        ssize_t r;
        if (c->busy && c->in.len - c->in_off >= IN_LIMIT) {
            if (hup)
                conn_close(c, 0); /* cannot read the EOF; give up */
            return;
        }
        buf_reserve(&c->in, READ_CHUNK);
        r = io_read(c, c->in.p + c->in.len, c->in.cap - c->in.len - 1);
        if (r > 0) {
            c->in.len += (size_t)r;
            c->in.p[c->in.len] = '\0';
            process_input(c, now);
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        /* EOF or error: the client is gone, whatever we were doing. */
        conn_close(c, 0);
        return;
    }
}

/* ------------------------------------------------------------------------ */
/* Event loop                                                               */
/* ------------------------------------------------------------------------ */

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL, 0);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void accept_all(int64_t now)
{
    int k;
    for (k = 0; k < 512; k++) {
        conn_t *c;
        int one = 1;
        int fd = accept(S.listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM) {
                /* Out of descriptors: stop polling the listener for a while
                 * instead of spinning on it. */
                fprintf(stderr, "mock_server: accept: %s\n", strerror(errno));
                S.accept_pause_until = now + 100;
            }
            return;
        }
        if (set_nonblock(fd) != 0) {
            close(fd);
            continue;
        }
        /* Small writes (drip, paced events, split pieces) must leave at
         * once, not wait for Nagle. */
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#ifdef SO_NOSIGPIPE
        (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
        c = xcalloc(1, sizeof *c);
        c->fd = fd;
#ifdef MOCK_TLS
        if (S.tls) {
            c->ssl = SSL_new(S.tls);
            if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
                if (c->ssl)
                    SSL_free(c->ssl);
                ERR_clear_error();
                close(fd);
                free(c);
                continue;
            }
            SSL_set_accept_state(c->ssl);
        }
#endif
        if (S.nconns == S.capconns) {
            S.capconns = S.capconns ? S.capconns * 2 : 64;
            S.conns = xrealloc(S.conns, S.capconns * sizeof *S.conns);
        }
        S.conns[S.nconns++] = c;
        S.connections++;
        S.open_conns++;
    }
}

static short conn_events(const conn_t *c)
{
    short ev = 0;
    if (!(c->busy && c->in.len - c->in_off >= IN_LIMIT))
        ev |= POLLIN;
    if (c->blocked)
        ev |= c->tls_write_wants_read ? POLLIN : POLLOUT;
    if (c->tls_read_wants_write)
        ev |= POLLOUT;
    return ev;
}

static void sweep(void)
{
    size_t i, j = 0;
    for (i = 0; i < S.nconns; i++) {
        if (S.conns[i]->dead)
            conn_free(S.conns[i]);
        else
            S.conns[j++] = S.conns[i];
    }
    S.nconns = j;
}

static void run(void)
{
    size_t pcap = 64;
    struct pollfd *pfd = xmalloc(pcap * sizeof *pfd);
    while (!g_stop) {
        int64_t now = now_ms(), next = NEVER;
        size_t nc = S.nconns, np = 3 + nc, i;
        int timeout = -1, n;
        if (np > pcap) {
            pcap = np * 2;
            pfd = xrealloc(pfd, pcap * sizeof *pfd);
        }
        pfd[0].fd = S.sig_r;
        pfd[0].events = POLLIN;
        pfd[1].fd = now >= S.accept_pause_until ? S.listen_fd : -1;
        pfd[1].events = POLLIN;
        if (now < S.accept_pause_until)
            next = S.accept_pause_until;
        pfd[2].fd = S.exit_on_stdin_eof ? 0 : -1;
        pfd[2].events = POLLIN;
        for (i = 0; i < nc; i++) {
            conn_t *c = S.conns[i];
            pfd[3 + i].fd = c->fd;
            pfd[3 + i].events = conn_events(c);
            /* Timers: the earliest scheduled output decides the timeout. */
            if (!c->blocked && (c->busy || c->out_off < c->out.len) &&
                c->wake_at < next)
                next = c->wake_at;
        }
        for (i = 0; i < np; i++)
            pfd[i].revents = 0;
        if (next != NEVER) {
            int64_t d = next - now;
            timeout = d <= 0 ? 0 : (d > 60000 ? 60000 : (int)d);
        }
        n = poll(pfd, (nfds_t)np, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("mock_server: poll");
            break;
        }
        now = now_ms();
        if (pfd[0].revents) {
            char tmp[64];
            while (read(S.sig_r, tmp, sizeof tmp) > 0)
                ;
        }
        if (g_stop)
            break;
        if (pfd[2].revents) {
            char tmp[4096];
            ssize_t r = read(0, tmp, sizeof tmp);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
                break; /* the test that spawned us is gone */
        }
        if (pfd[1].revents & POLLIN)
            accept_all(now);
        for (i = 0; i < nc; i++) {
            conn_t *c = S.conns[i];
            short re = pfd[3 + i].revents;
            if (c->dead)
                continue;
            if (re) {
                c->blocked = 0;
                if (re & POLLNVAL) {
                    conn_close(c, 0);
                    continue;
                }
                /* A TLS read that wanted to write resumes on POLLOUT. */
                if ((re & (POLLIN | POLLHUP | POLLERR)) ||
                    (c->tls_read_wants_write && (re & POLLOUT)))
                    conn_read(c, now, (re & (POLLHUP | POLLERR)) != 0);
                if (!c->dead)
                    conn_pump(c, now);
            } else if (!c->blocked && c->wake_at <= now &&
                       (c->busy || c->out_off < c->out.len)) {
                conn_pump(c, now);
            }
        }
        sweep();
    }
    free(pfd);
}

/* ------------------------------------------------------------------------ */
/* Start-up and shutdown                                                    */
/* ------------------------------------------------------------------------ */

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        /* e.g. an unlimited hard limit some systems refuse as a soft one */
        rl.rlim_cur = 65536;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int write_port_file(const char *path, int port)
{
    size_t n = strlen(path) + 8;
    char *tmp = xmalloc(n);
    FILE *f;
    int ok;
    snprintf(tmp, n, "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f) {
        free(tmp);
        return -1;
    }
    ok = fprintf(f, "%d\n", port) > 0;
    ok = (fclose(f) == 0) && ok;
    /* rename: a test polling the file never sees it half-written */
    ok = ok && rename(tmp, path) == 0;
    free(tmp);
    return ok ? 0 : -1;
}

static void usage(FILE *f)
{
    fputs("usage: mock_server [--port N] [--port-file PATH] "
          "[--exit-on-stdin-eof] [--verbose] [--tls CERT KEY]\n"
          "                   [--directives \"key=value ...\"]\n",
          f);
}

#ifdef MOCK_TLS
static int tls_init(const char *cert, const char *key)
{
    S.tls = SSL_CTX_new(TLS_server_method());
    if (!S.tls ||
        SSL_CTX_use_certificate_chain_file(S.tls, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(S.tls, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(S.tls) != 1) {
        fprintf(stderr, "mock_server: cannot load TLS certificate/key\n");
        ERR_print_errors_fp(stderr);
        return -1;
    }
    /* Our output buffer may grow (move) between retries of a write. */
    SSL_CTX_set_mode(S.tls, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return 0;
}
#endif

static void cleanup(void)
{
    size_t i;
    for (i = 0; i < S.nconns; i++)
        conn_free(S.conns[i]);
    free(S.conns);
    S.conns = NULL;
    S.nconns = 0;
    if (S.listen_fd >= 0)
        close(S.listen_fd);
    close(S.sig_r);
    close(S.sig_w);
    id_reset();
    free(S.last_method);
    free(S.last_path);
    free(S.last_auth);
    free(S.last_xapikey);
    free(S.last_version);
    free(S.last_ua);
    free(S.last_ctype);
    free(S.last_xmock);
    buf_free(&S.last_body);
#ifdef MOCK_TLS
    if (S.tls)
        SSL_CTX_free(S.tls);
#endif
}

int main(int argc, char **argv)
{
    const char *port_file = NULL, *cert = NULL, *key = NULL;
    long port = 0;
    int i, fds[2], one = 1;
    struct sockaddr_in sa;
    socklen_t salen = sizeof sa;
    struct sigaction act;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) {
            char *end;
            port = strtol(argv[++i], &end, 10);
            if (*end || port < 0 || port > 65535) {
                fprintf(stderr, "mock_server: bad port '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--port-file") && i + 1 < argc) {
            port_file = argv[++i];
        } else if (!strcmp(argv[i], "--exit-on-stdin-eof")) {
            S.exit_on_stdin_eof = 1;
        } else if (!strcmp(argv[i], "--verbose")) {
            S.verbose = 1;
        } else if (!strcmp(argv[i], "--directives") && i + 1 < argc) {
            S.default_directives = argv[++i];
        } else if (!strcmp(argv[i], "--tls") && i + 2 < argc) {
            cert = argv[++i];
            key = argv[++i];
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    S.listen_fd = -1;
    if (cert) {
#ifdef MOCK_TLS
        if (tls_init(cert, key) != 0) {
            cleanup();
            return 2;
        }
#else
        (void)key;
        fprintf(stderr, "mock_server: --tls needs a build with -DMOCK_TLS "
                        "(and -lssl -lcrypto)\n");
        return 2;
#endif
    }

    raise_nofile();

    /* Self-pipe: the signal handler only writes a byte; poll wakes up. */
    if (pipe(fds) != 0) {
        perror("mock_server: pipe");
        return 1;
    }
    S.sig_r = fds[0];
    S.sig_w = fds[1];
    set_nonblock(S.sig_r);
    set_nonblock(S.sig_w);
    memset(&act, 0, sizeof act);
    act.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &act, NULL);
    act.sa_handler = on_signal;
    sigemptyset(&act.sa_mask);
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);

    S.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (S.listen_fd < 0) {
        perror("mock_server: socket");
        cleanup();
        return 1;
    }
    (void)setsockopt(S.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(S.listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(S.listen_fd, 4096) != 0 || set_nonblock(S.listen_fd) != 0 ||
        getsockname(S.listen_fd, (struct sockaddr *)&sa, &salen) != 0) {
        perror("mock_server: listen");
        cleanup();
        return 1;
    }
    port = ntohs(sa.sin_port);
    printf("PORT %ld\n", port);
    fflush(stdout);
    if (port_file && write_port_file(port_file, (int)port) != 0) {
        fprintf(stderr, "mock_server: cannot write %s: %s\n", port_file,
                strerror(errno));
        cleanup();
        return 1;
    }

    run();
    cleanup();
    return 0;
}
