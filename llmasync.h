/* llmasync.h -- talk to LLM HTTP APIs from your own loop, never blocking it.
   Single-file C library (C99 / C++11), needs libcurl. Licence at the end.
   SPDX-License-Identifier: MIT

   ==========================================================================
   HOW TO INCLUDE
   ==========================================================================

   In exactly ONE .c or .cpp file:

       #define LLMASYNC_IMPLEMENTATION
       #include "llmasync.h"

   Everywhere else just #include "llmasync.h". Link with -lcurl.

   Overridable macros (define before the implementation include):

       LLMASYNC_STATIC        all functions get static linkage (private copy)
       LLMASYNC_API           decoration of every public function
       LLMASYNC_MALLOC(sz) / LLMASYNC_REALLOC(p,sz) / LLMASYNC_FREE(p)
                              the default allocator; override all three or none
       LLM_ASSERT(c)          checks on API misuse only (default: assert)
       LLMASYNC_IO_POLL / LLMASYNC_IO_PERFORM
                              force the poll() or curl_multi_perform back
                              end (default: epoll on Linux, see THREADS)
       LLMASYNC_PIPEWAIT      1 (default): a new transfer to an HTTPS host
                              waits to share an HTTP/2 connection being made
                              (CURLOPT_PIPEWAIT); 0: each opens its own
       LLMASYNC_NO_CURL_GLOBAL_INIT
                              the host calls curl_global_init/cleanup itself;
                              by default llm_client_new/llm_client_free call
                              them (libcurl reference-counts them and, since
                              7.84, makes them thread-safe)

   A strict C99 file whose FIRST include is llmasync.h compiles as is: the
   implementation defines _POSIX_C_SOURCE itself when nothing else did, for
   clock_gettime (the monotonic clock) and pipe (llm_wakeup). If another
   system header comes first under -std=c99, define _POSIX_C_SOURCE=200809L
   yourself; otherwise compilation stops with a message saying so (define
   LLMASYNC_ALLOW_COARSE_CLOCK to accept a one-second wall clock instead).

   ==========================================================================
   FEATURE OVERVIEW
   ==========================================================================

   - One client object owns one curl multi handle. You submit requests
     (llm_chat, llm_embed, llm_raw) and drive all of them from your loop:
         llm_poll()      never blocks, never sleeps: makes progress, delivers
                         callbacks, returns how many requests are in flight
         llm_poll_budget()  the same within a time budget, the rest left
                         to the next call (a frame loop's fixed slice)
         llm_wait_any()  blocks up to a timeout and returns the next finished
                         request (each exactly once, in completion order)
         llm_wait()      blocks until anything happens (stream text, a
                         finished request, a wake-up) and says what
         llm_chat_blocking()  for scripts: waits for one request while every
                         other request of the client keeps moving
   - Providers: OpenAI-compatible chat completions (OpenAI, vLLM, llama.cpp,
     OpenRouter, Groq, ...), Anthropic Messages, Ollama native, embeddings,
     the Responses API, speech, transcription and translation, rerank,
     images in messages, n > 1 choices, refusals, and a raw call for any
     other JSON endpoint. A model string such as
     "anthropic/claude-sonnet-4-5" picks the provider.
   - Streaming over SSE / NDJSON: tokens as they arrive, through polling
     (llm_request_take) or callbacks (on_delta), tool calls assembled.
   - Retries with backoff that never block (RETRY_WAIT is a timer), separate
     connect / first byte / stream idle / total timeouts, cancellation that
     closes the transfer at once.
   - A JSON parser (one allocation per document, strict RFC 8259, error with
     offset/line/column, depth limit) and writer, public so hosts can read
     structured outputs.
   - Errors are values: llm_request_error() says what kind, the HTTP status,
     the provider's message/type/code, the request id, retries spent.

   ==========================================================================
   TL;DR
   ==========================================================================

       llm_client *c = llm_client_new(NULL);      // OPENAI_API_KEY etc. from env
       llm_message msg = { "user", "Say hi in five words." }; // the rest: zero
       llm_chat_desc d = {0};
       d.model = "gpt-4o-mini";
       d.messages = &msg; d.n_messages = 1;
       llm_chat(c, &d);                           // never blocks
       llm_request *r;
       while ((r = llm_wait_any(c, -1)) != NULL) { // or llm_poll(c) once a frame
           if (llm_request_status(r) == LLM_DONE)
               printf("%s\n", llm_request_text(r, NULL));
           else
               printf("error: %s\n", llm_request_error(r)->message);
           llm_request_free(r);
       }
       llm_client_free(c);

   ==========================================================================
   FUNCTIONS
   ==========================================================================

   llm_client_new(desc)     New client; NULL desc or zero fields mean defaults.
                            Returns NULL only when memory or libcurl fail.
   llm_client_free(c)       Cancels and frees every request of the client
                            (handles you hold become invalid), then the client.
   llm_chat(c, desc)        Submits a chat request; never blocks. Returns a
                            request handle owned by the client. A bad desc
                            gives a request that is already FAILED with
                            LLM_ERR_INVALID and a message naming the field.
                            NULL only when c is NULL or out of memory.
   llm_embed(c, desc)       Submits an embeddings request (one or many inputs,
                            split into batches that run concurrently).
   llm_raw(c, desc)         POSTs any JSON body to any path of a provider.
   llm_responses(c, desc)   The Responses API: input as a string or messages,
                            instructions, tools, reasoning, previous response,
                            store; read like chat (text, reasoning summary,
                            tool calls, refusal, usage).
   llm_speech(c, desc)      Text to speech: binary audio, read as it comes
                            (llm_request_take_bytes, on_audio) or whole.
   llm_transcribe / llm_translate(c, desc)
                            Speech to text: the audio file as multipart,
                            the text as json/text/verbose_json/srt/vtt or a
                            stream.
   llm_rerank(c, desc)      Documents ordered by relevance to a query.
   llm_poll(c)              Never blocks. Progress on every request, delivers
                            callbacks. Returns the number of requests not yet
                            terminal (0: idle).
   llm_socket_ready(c, s, what), llm_timer_fired(c)
                            With the host's own event loop (watch_socket,
                            set_timer): what its loop saw; see EXTERNAL EVENT
                            LOOPS under THREADS.
   llm_poll_budget(c, us, &deferred)
                            llm_poll within a time budget: work is cut into
                            units (one write callback's bytes, at most
                            16 KiB, decoded; one request's callbacks; one
                            finished transfer; one admission; one socket
                            handed to curl) and none starts once budget_us
                            is spent, so the call returns within the budget
                            plus one unit (the first unit always runs, so
                            0 means one unit). The rest waits, in order:
                            transfers are paused (CURL_WRITEFUNC_PAUSE; curl
                            keeps their bytes) and resumed by the next call
                            of any kind. *deferred (may be NULL) is 1 when
                            work is left: call again before sleeping.
                            llm_wait_any / llm_wait / llm_chat_blocking take
                            no budget: they do all that is left at once.
                            A paused transfer's time is not idle time
                            (idle_timeout_ms); timeout_ms still runs. With
                            the perform back end (Windows) one unit is a
                            curl_multi_perform, which visits every transfer.
                            Returns what llm_poll returns.
   llm_take_done(c)         The next terminal request, as llm_wait_any(c, 0)
                            would report it (same order, exactly once), but
                            without driving anything: what a host on a
                            frame budget collects with. A request whose
                            callbacks a budget deferred comes after them.
   llm_wait_any(c, ms)      Returns the next terminal request (DONE, FAILED or
                            CANCELLED), each exactly once, in completion order.
                            ms < 0 waits without limit, 0 never blocks.
                            Returns NULL only when waiting is over: the time
                            is up, nothing is in flight or left to report, or
                            llm_wakeup() was called. So
                                while ((r = llm_wait_any(c, -1)) != NULL) ...
                            drains every request, streaming or not.
   llm_wait(c, ms)          Returns as soon as anything happened, as LLM_WAIT_*
                            bits: TEXT (a stream without on_delta / on_event
                            got new text since the last llm_wait), DONE (a
                            terminal request waits to be collected with
                            llm_wait_any(c, 0)), WOKEN (llm_wakeup), IDLE
                            (nothing in flight or to report); 0 when the time
                            is up. For a host that shows tokens while it
                            waits. Like llm_wait_any it never spins and never
                            sleeps past a deadline or retry timer.
   llm_chat_blocking(c, d)  Submits and waits for that one request; every
                            other request keeps moving and their callbacks
                            run. The returned request is not reported again
                            by llm_wait_any. NULL when out of memory, or when
                            the request's own callback freed it.
   llm_cancel(r)            Cancels now (the transfer is removed and its
                            connection closed so the server stops generating).
                            The request becomes CANCELLED and is reported once.
                            No-op on a terminal request. Safe in callbacks.
   llm_request_free(r)      Frees a request at any point (cancels it first if
                            it is in flight; it is then never reported).
                            Safe in callbacks, also on the request itself.
   llm_wakeup(c)            Makes a llm_wait_any() in progress return NULL
                            (a llm_wait() return LLM_WAIT_WOKEN).
                            The ONE function safe to call from another thread.
   llm_request_*(r)         Read a request: status, text so far, new text
                            since the last take, error, usage, finish reason,
                            tool calls, the parsed response, timings; a JSON
                            answer as it streams (llm_request_partial_json).
   llm_error_string(kind)   Name of an error kind ("rate_limit", ...).
   llm_json_*, llm_jw_*     The JSON parser and writer (see >>json types).

   ==========================================================================
   STREAMING
   ==========================================================================

   With llm_chat_desc.stream = 1 text arrives as the provider sends it:
       polling   llm_request_take(r, &p) returns only the bytes new since the
                 last take (llm_request_text: all so far); call it after
                 llm_poll, e.g. once a frame
       waiting   llm_wait(c, ms) returns LLM_WAIT_TEXT as soon as a stream
                 without on_delta got new text: take it, then collect
                 finished requests with llm_wait_any(c, 0)
       callbacks on_delta(r, text, len, user_data) with each new piece
   Tool calls are assembled (llm_request_tool_call), usage comes from the
   final chunk, and a stream that breaks, stalls (idle_timeout_ms) or carries
   an error event fails with the provider's message. One that fails before
   any text reached the host is retried; once text was shown, never.

   ==========================================================================
   STRUCTURED OUTPUT AS IT STREAMS
   ==========================================================================

   A JSON answer (content with response_format, or tool-call arguments) can
   be read while it arrives, e.g. an NPC's {"say": ..., "emotion": ...}
   whose "say" is spoken before "emotion" has come:
       llm_request_partial_json(r)    the content so far as a document
       llm_request_partial_tool_count(r), llm_request_partial_tool_args(r,
       i, &name)                      each tool call's arguments so far
       llm_json_complete(doc, v)      1 when v has arrived whole
   The document holds every value complete so far; the string being written
   is there with its text so far (cut after its last whole character:
   escapes, surrogate pairs and UTF-8 split across deltas never show half);
   a key without its value, a number (it may still grow) and a half-spelt
   literal are left out until whole. What a document shows is never taken
   back: a complete value is final, an open string only grows. The open
   values are the root, its last child, its last child's last child...: a
   value not on that path is complete. Content is read when it starts with
   { or [ (after white space and an opening ``` fence line); a closing
   fence is ignored. Once the request is DONE these return
   llm_request_content_json and the tool calls' arguments_json. Each call
   re-parses only when the text grew (about 2 us per KB at -O2 here, under
   twice a whole parse); the result belongs to the request and stays valid
   until the next such call, the next llm_poll / llm_wait*, or
   llm_request_free.
   llm_wait reports LLM_WAIT_TEXT when tool-call arguments grow too.
   llm_json_parse_partial(text, len, opt, res) does the same for any text:
   NULL with LLM_JSON_ERR_EOF while nothing is whole yet; any other error
   means the text can never become JSON (the strict parser's error and
   offset). The fuzz harness fuzz_json_partial checks, on every prefix of
   any input, that the partial document agrees with the whole parse.

   ==========================================================================
   TIMEOUTS AND RETRIES
   ==========================================================================

   connect_timeout_ms (5 s), first_byte_timeout_ms (off), idle_timeout_ms
   (streams, 120 s; keep-alive comments do not reset it; the time
   llm_poll_budget holds a transfer paused does not count) and timeout_ms (the
   whole request, 10 min) each fail with LLM_ERR_TIMEOUT and say which fired
   (llm_error.timeout). Retries (2 by default) follow x-should-retry, then
   408/409/429/5xx, connection failures and timeouts, waiting Retry-After(-ms)
   or min(0.5 * 2^n, 8) s with jitter in RETRY_WAIT, a timer: nothing blocks.
   llm_wait_any never sleeps past the earliest deadline.

   RATE LIMITS. Admission is paced per provider (a routing prefix: its base
   URL and key). The servers' own headers are read from every answer
   (x-ratelimit-remaining-requests / -tokens and -reset-* durations;
   anthropic-ratelimit-*-remaining / -reset times) and a 429's Retry-After
   holds that provider's other queued requests too. When the remaining
   requests, less those still in flight, are spent, or no tokens remain,
   queued requests of that provider wait on a timer until the reset
   instead of collecting 429s; other providers' requests go on, by
   priority. llm_client_desc.rate_rpm / rate_tpm add the client's own
   budgets per provider: buckets of one second's worth that refill at that
   many per minute (tokens are estimated as body bytes / 4). Resets are
   clamped to retry_max_delay_ms; a header that does not parse is ignored.
   The wait shows in llm_timings.queued_ms; cancel works while held.

   RECORD AND REPLAY. llm_client_desc.record_path (or $LLMASYNC_RECORD)
   appends every exchange, one per attempt, to a JSON Lines file: the
   response's status and header lines and its body in the pieces they
   came in, each with its offset from the attempt's start, and how the
   attempt ended. Request headers are never written (the keys are there),
   nor Set-Cookie lines, and every key of the client is masked in what is
   written. replay_path (or $LLMASYNC_REPLAY) answers from such a file
   without any network: each attempt takes the first unused exchange with
   the same method, path (the host does not count) and body, in file
   order, so a session replays deterministically, retries included;
   replay_paced (or $LLMASYNC_REPLAY_PACED=1) keeps the recorded timing,
   else it is instant (retry delays and rate-limit waits skipped too). An
   attempt with no exchange fails (LLM_ERR_CONNECTION, not retried) naming
   method, path and body. A file that cannot be opened, or a line that is
   not an exchange, makes llm_client_new return NULL, said through log_fn
   (or, when only the environment asked, one line on stderr). Recording
   writes one line when an attempt ends (stdio, flushed): meant for QA and
   development, not for a frame-critical build. record_path / replay_path
   "" turn both off whatever the environment.

   ==========================================================================
   REQUEST STATES
   ==========================================================================

       QUEUED --admit (FIFO, < max_concurrent)--> ACTIVE --ok--> DONE
         ^                                          |  \--error--> FAILED
         |                                          |
         +--timer-- RETRY_WAIT <--retryable error---+
       any non-terminal state --llm_cancel--> CANCELLED

   DONE, FAILED and CANCELLED are terminal; every request reaches exactly one
   of them and is reported exactly once (by llm_wait_any or llm_take_done,
   unless it was the request returned by llm_chat_blocking or you freed it
   first). Callbacks (on_delta, on_done) run only inside llm_poll(_budget) /
   llm_wait_any / llm_wait / llm_chat_blocking, on the caller's thread;
   they may cancel or free any request, including their own, and submit
   new ones.

   ==========================================================================
   MEMORY AND OWNERSHIP
   ==========================================================================

   - Strings in a desc are copied before the call returns; free them at once.
   - A request belongs to its client; free it with llm_request_free once you
     are done with it, or let llm_client_free free it.
   - A pointer returned by llm_request_* stays valid until the next
     llm_poll / llm_wait_any / llm_chat_blocking on its client while the
     request is in flight, and until llm_request_free once it is terminal.
   - Every allocation of the library goes through the client's allocator
     (llm_client_desc.allocator); libcurl allocates through its own. A parsed
     JSON document is one allocation; stream events are parsed into a buffer
     reused for the whole stream.
   - Memory is bounded by the response: while the library handles one
     response its heap is at most 2 x max_response_bytes + 1 MiB, whatever
     the body's shape; an allocation beyond that is refused before it is
     made and the request fails with LLM_ERR_TOO_LARGE. Response headers are
     bounded by LLM_MAX_HEADER_BYTES (64 KiB).
   - The JSON values returned by llm_json_parse and llm_json_parse_partial
     belong to the caller (free with llm_json_free); those returned by
     llm_request_json, llm_request_content_json, llm_request_partial_json,
     llm_request_partial_tool_args and llm_tool_call.arguments_json belong
     to the request. A partial document counts against the response's
     memory bound; when it would not fit it is not there (NULL), and the
     request goes on.

   llm_version(&num)        The implementation's version string and number:
                            compare with LLMASYNC_VERSION(_NUM) to catch a
                            header and an implementation of two versions.

   ==========================================================================
   VERSIONS AND COMPATIBILITY
   ==========================================================================

   Versions are MAJOR.MINOR.PATCH (CHANGELOG.md). Before 1.0 a MINOR step
   may change the API (each change is named in REVISION HISTORY and the
   changelog); a PATCH step never does. From 1.0 on only a MAJOR step may.
   How descs grow without breaking callers: every desc is read as
   "zero means default", so a caller that zero-initialises it (= {0},
   memset, designated initializers) keeps compiling and keeps the old
   behaviour when a field is added. New fields are only ever appended at
   the end of a struct, never inserted or reordered, and a new field's zero
   is the old behaviour. Positional initializers keep compiling too, but
   gcc/clang's -Wextra (-Wmissing-field-initializers) warns about a
   partial one once a field is added (0.2.0 added images and n_images to
   llm_message), so prefer designated initializers. The structs the
   library fills (llm_usage, llm_timings, ...) grow the same way: read
   them by field name.

   ==========================================================================
   ERRORS AND LOGGING
   ==========================================================================

   llm_request_error(r) never returns NULL for a live request; kind is
   LLM_ERR_NONE on success (then only retries and request_id are set).
   message is always a readable string that names the HTTP status and the
   provider's message (kept whole up to LLM_PROVIDER_MESSAGE_MAX bytes, then
   cut at a character and marked " [...]"). No string the library hands out
   or logs holds 8 or more consecutive characters of a configured key, plain,
   JSON-escaped or URL-encoded: they become "***".
   The log callback (llm_client_desc.log_fn) receives one line per notable
   event (retries, timeouts, failures); without it the library is silent.
   The library never calls exit, abort or printf, but for LLM_ASSERT on API
   misuse in debug builds: a request freed twice or read after
   llm_request_free, llm_client_free inside a callback of its own requests.

   ==========================================================================
   THREADS
   ==========================================================================

   A client and its requests belong to one thread. The library starts no
   threads, installs no signal handlers (CURLOPT_NOSIGNAL) and keeps no
   mutable global state of its own. Several clients on several threads are
   fine. llm_wakeup() is the one call allowed from another thread; a wake-up
   made while nobody waits is kept for the next llm_wait_any or llm_wait.

   EXTERNAL EVENT LOOPS. A host with its own reactor (libuv, an engine's
   epoll/kqueue/IOCP loop, Qt) sets llm_client_desc.watch_socket and
   set_timer (both or neither). The client then watches nothing itself:
       watch_socket(c, s, what, socket_data, ud)  watch s for LLM_IO_IN /
           LLM_IO_OUT; what == 0: stop (s may be closed already).
           socket_data is what llm_socket_assign(c, s, p) attached to s.
       set_timer(c, ms, ud)  call llm_timer_fired(c) once, ms from now (0:
           at once); ms < 0: no timer. Each call replaces the last one.
   and the host reports: llm_socket_ready(c, s, LLM_IO_IN/OUT/ERR) when a
   watched socket is ready, llm_timer_fired(c) when the timer is due. Each
   does what one llm_poll does (callbacks run inside it) and returns the
   number of requests not yet terminal; collect finished ones with
   llm_wait_any(c, 0) or on_done. The one timer covers curl's timer and
   every deadline, retry wait and admission of the client, so a host that
   only waits on its sockets and that timer misses nothing; when no request
   is left the timer is cancelled and the host's loop can run dry. The two
   callbacks are called from inside llmasync calls (llm_chat, the reports,
   llm_request_free, llm_client_free): they must not call the client back,
   except llm_socket_assign. llm_chat_blocking cannot be used (it returns
   NULL: our waits see no sockets); llm_wait_any / llm_wait with ms > 0
   wait only for timers. examples/libuv_host.c is a complete libuv host.

   I/O: on Linux the client watches curl's sockets with epoll and drives
   curl with curl_multi_socket_action, so llm_poll costs the same with 1 or
   1,000 quiet streams; other POSIX systems use poll(); Windows (or
   LLMASYNC_IO_PERFORM) uses curl_multi_perform. LLMASYNC_IO_POLL forces the
   poll() back end.

   ==========================================================================
   REVISION HISTORY
   ==========================================================================

   0.2.0  (unreleased; CHANGELOG.md has the same list)
          - Response memory bound (2 x max_response_bytes + 1 MiB), header
            block limit, provider messages whole up to 4 KiB, keys masked in
            every encoding and every string handed out, empty streams
            retried, token sums saturated, 3xx named, a DONE request's error
            empty, proxy / no_proxy settings, numbers without the locale,
            LLM_ASSERT on misuse. llm_timings.total_ms is 0 until the request
            is terminal (reading timings no longer writes to the request).
          - New endpoints: llm_responses, llm_speech (binary answers:
            llm_request_bytes / _take_bytes / on_audio), llm_transcribe,
            llm_translate, llm_rerank; llm_message.images (vision) and
            llm_chat_desc.n (choices: llm_request_choice_*); refusals
            (llm_request_refusal). Provider code is one section and one
            table row per wire API. llm_message gained two fields at its
            end (images, n_images): partial positional initializers now
            warn under -Wextra; designated initializers / memset do not.
          - llm_wait_any no longer returns NULL when a polled stream got
            text: NULL now always means waiting is over, so the canonical
            while ((r = llm_wait_any(c, -1))) loop drains streams too.
            Hosts that relied on the early return call the new llm_wait()
            (LLM_WAIT_TEXT) instead.
          - llm_poll_budget (a poll bounded by a time budget, the rest
            deferred to the next call) and llm_take_done (collect finished
            requests without a pump).
          - Record and replay: llm_client_desc.record_path / replay_path /
            replay_paced, $LLMASYNC_RECORD / $LLMASYNC_REPLAY.
          - n > 1: every choice's tool calls (llm_request_choice_tool_call*);
            llm_audio_desc.path and timestamp_granularities; CURLOPT_PIPEWAIT
            (LLMASYNC_PIPEWAIT) so a burst shares one HTTP/2 connection.
          - Windows proven under Wine in make test; the I/O back ends
            (epoll, poll, curl_multi_poll) behind one interface;
            llm_client_desc.native_ca; a priority in every desc
            (admission by priority, then submit order); CMake (llmasync::llmasync) and
            pkg-config (llmasync.pc), make install; LLMASYNC_VERSION_NUM,
            llm_version().
          - Rate-limit pacing per provider from the servers' headers and
            429s, and llm_client_desc.rate_rpm / rate_tpm.
          - External event loops: llm_client_desc.watch_socket /
            set_timer / io_user_data, llm_socket_ready, llm_timer_fired,
            llm_socket_assign (examples/libuv_host.c).
          - Structured output as it streams: llm_request_partial_json,
            llm_request_partial_tool_count / _tool_args,
            llm_json_parse_partial, llm_json_complete; LLM_WAIT_TEXT also
            when tool-call arguments grow.
   0.1.0  first release: chat (OpenAI-compatible, Anthropic, Ollama),
          streaming, embeddings, raw calls, retries, timeouts, JSON.
*/
#ifndef LLMASYNC_H
#define LLMASYNC_H

#define LLMASYNC_VERSION_MAJOR 0
#define LLMASYNC_VERSION_MINOR 2
#define LLMASYNC_VERSION_PATCH 0
#define LLMASYNC_VERSION "0.2.0"
/* one number for #if: MAJOR * 10000 + MINOR * 100 + PATCH (0.2.0 -> 200) */
#define LLMASYNC_VERSION_NUM \
    (LLMASYNC_VERSION_MAJOR * 10000 + LLMASYNC_VERSION_MINOR * 100 + LLMASYNC_VERSION_PATCH)

/* The implementation needs POSIX declarations (clock_gettime, pipe); they
   must be requested before the first system header, which is here. */
#if defined(LLMASYNC_IMPLEMENTATION) && !defined(_WIN32) && \
    !defined(_POSIX_C_SOURCE) && !defined(_XOPEN_SOURCE) && \
    !defined(_GNU_SOURCE) && !defined(_DEFAULT_SOURCE) && !defined(_BSD_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <stddef.h>
#include <stdint.h>

#ifndef LLMASYNC_API
#if defined(LLMASYNC_STATIC) && (defined(__GNUC__) || defined(__clang__))
#define LLMASYNC_API static __attribute__((unused))
#elif defined(LLMASYNC_STATIC)
#define LLMASYNC_API static
#else
#define LLMASYNC_API extern
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* >>types ================================================================ */

typedef struct llm_client llm_client;   /* opaque; one per thread */
typedef struct llm_request llm_request; /* opaque; owned by its client */

typedef enum llm_status {
    LLM_QUEUED,     /* waiting for a slot under max_concurrent */
    LLM_ACTIVE,     /* transfer in progress */
    LLM_RETRY_WAIT, /* failed attempt, waiting on a timer to try again */
    LLM_DONE,       /* terminal: success */
    LLM_FAILED,     /* terminal: see llm_request_error */
    LLM_CANCELLED   /* terminal: llm_cancel */
} llm_status;

typedef enum llm_error_kind {
    LLM_ERR_NONE = 0,
    LLM_ERR_CONNECTION,    /* no usable response: refused, reset, DNS, TLS */
    LLM_ERR_TIMEOUT,       /* see llm_error.timeout for which one; also 408 */
    LLM_ERR_RATE_LIMIT,    /* 429 */
    LLM_ERR_AUTH,          /* 401 */
    LLM_ERR_PERMISSION,    /* 403 */
    LLM_ERR_BAD_REQUEST,   /* 400 and any other 4xx not listed here */
    LLM_ERR_NOT_FOUND,     /* 404 */
    LLM_ERR_CONFLICT,      /* 409 */
    LLM_ERR_TOO_LARGE,     /* 413, or a response/event above our limits */
    LLM_ERR_UNPROCESSABLE, /* 422 */
    LLM_ERR_SERVER,        /* >= 500 (but 529), or a mid-stream server error */
    LLM_ERR_OVERLOADED,    /* 529, or a provider's overloaded_error */
    LLM_ERR_PROTOCOL,      /* unparseable body, broken stream, 3xx */
    LLM_ERR_CANCELLED,     /* llm_cancel */
    LLM_ERR_INVALID,       /* bad argument; the message names the field */
    LLM_ERR_NO_MEMORY,     /* an allocation failed */
    LLM_ERR_COUNT_
} llm_error_kind;

typedef enum llm_timeout_kind {
    LLM_TIMEOUT_NONE = 0,
    LLM_TIMEOUT_CONNECT,    /* connect_timeout_ms: DNS + TCP + TLS */
    LLM_TIMEOUT_FIRST_BYTE, /* first_byte_timeout_ms: no response byte yet */
    LLM_TIMEOUT_IDLE,       /* idle_timeout_ms: stream without a data event */
    LLM_TIMEOUT_TOTAL,      /* timeout_ms: the whole request, retries included */
    LLM_TIMEOUT_SERVER      /* the server answered 408 */
} llm_timeout_kind;

typedef struct llm_error {
    llm_error_kind kind;
    int http_status;              /* 0 when no response arrived */
    const char *message;          /* never NULL; "" on success; a provider's
                                     text quoted in it may be cut, marked
                                     " [...]": provider_message is whole */
    const char *provider_message; /* the provider's error message, or NULL */
    const char *type;             /* provider's error type, or NULL */
    const char *code;             /* provider's error code, or NULL */
    const char *param;            /* provider's error param, or NULL */
    const char *request_id;       /* x-request-id / request-id, or NULL */
    int retries;                  /* retries spent (also on success) */
    int retryable;                /* 1 if this kind of failure is retried */
    llm_timeout_kind timeout;     /* which timeout fired */
    int curl_code;                /* CURLcode of the last attempt (0: ok) */
} llm_error;

typedef struct llm_usage {
    int64_t prompt_tokens;     /* OpenAI prompt_tokens, Anthropic input_tokens,
                                  Ollama prompt_eval_count */
    int64_t completion_tokens; /* completion_tokens / output_tokens / eval_count */
    int64_t total_tokens;      /* as sent, else prompt + completion */
    int64_t cached_tokens;     /* prompt tokens served from a cache, if told */
    int64_t reasoning_tokens;  /* completion tokens spent reasoning, if told */
} llm_usage;

typedef struct llm_timings {
    double queued_ms;      /* submit -> first admitted */
    double first_byte_ms;  /* submit -> first response byte (last attempt) */
    double first_token_ms; /* submit -> first text/tool delta (streams) */
    double total_ms;       /* submit -> terminal (0 while in flight) */
    uint64_t bytes_received; /* response bytes over all attempts */
    int attempts;          /* transfers started */
} llm_timings;

typedef struct llm_allocator {
    void *(*alloc_fn)(size_t size, void *user_data);
    void *(*realloc_fn)(void *ptr, size_t size, void *user_data);
    void (*free_fn)(void *ptr, void *user_data);
    void *user_data;
} llm_allocator; /* all three functions or none */

typedef enum llm_log_level {
    LLM_LOG_ERROR, LLM_LOG_WARN, LLM_LOG_INFO, LLM_LOG_DEBUG
} llm_log_level;
typedef void (*llm_log_fn)(llm_log_level level, const char *message, void *user_data);

/* Wire protocol of a provider. */
typedef enum llm_api {
    LLM_API_OPENAI = 0, /* OpenAI-compatible /chat/completions, /embeddings */
    LLM_API_ANTHROPIC,  /* Anthropic /v1/messages */
    LLM_API_OLLAMA,     /* Ollama native /api/chat, /api/embed */
    LLM_API_COUNT_
} llm_api;

/* A provider the host registers: "name/model" routes to it. */
typedef struct llm_provider_desc {
    const char *name;     /* routing prefix, e.g. "groq" for "groq/llama-3.3-70b" */
    llm_api api;          /* default: OpenAI-compatible */
    const char *base_url; /* e.g. "https://api.groq.com/openai/v1" (required) */
    const char *api_key;  /* NULL: no credentials sent */
} llm_provider_desc;

/* External event loops (see EXTERNAL EVENT LOOPS): a socket as the
   operating system names it (curl_socket_t), and what to watch it for. */
#ifdef _WIN32
typedef uintptr_t llm_socket; /* SOCKET */
#else
typedef int llm_socket;       /* a file descriptor */
#endif
enum {
    LLM_IO_IN = 1u << 0,  /* readable (watch_socket: watch for it) */
    LLM_IO_OUT = 1u << 1, /* writable */
    LLM_IO_ERR = 1u << 2  /* llm_socket_ready: an error or hang-up seen */
};
/* what == 0: stop watching s (it may be closed already). socket_data is
   what llm_socket_assign attached to s (NULL until then). */
typedef void (*llm_watch_socket_fn)(llm_client *c, llm_socket s, int what, void *socket_data, void *user_data);
/* Call llm_timer_fired once, ms from now (0: at once); ms < 0: no timer
   (cancel the one set). Each call replaces the previous timer. */
typedef void (*llm_set_timer_fn)(llm_client *c, int ms, void *user_data);

typedef struct llm_client_desc {
    /* The default OpenAI-compatible endpoint (bare model names, "openai/"). */
    const char *base_url;           /* NULL: $OPENAI_BASE_URL, else https://api.openai.com/v1 */
    const char *api_key;            /* NULL: $OPENAI_API_KEY */
    const char *anthropic_base_url; /* NULL: $ANTHROPIC_BASE_URL, else https://api.anthropic.com */
    const char *anthropic_api_key;  /* NULL: $ANTHROPIC_API_KEY */
    const char *anthropic_version;  /* NULL: "2023-06-01" */
    const char *ollama_host;        /* NULL: $OLLAMA_HOST, else http://127.0.0.1:11434 */
    const llm_provider_desc *providers; /* more routing prefixes (copied) */
    int n_providers;

    int max_concurrent;        /* transfers at once; 0: 16 */
    int max_retries;           /* 0: 2; negative: none */
    int retry_max_delay_ms;    /* largest server-asked delay honoured; 0: 60000 */
    int connect_timeout_ms;    /* 0: 5000; negative: none */
    int first_byte_timeout_ms; /* 0 or negative: none (timeout_ms bounds it) */
    int idle_timeout_ms;       /* streams: longest gap between data events
                                  (keep-alive comments do not count);
                                  0: 120000; negative: none */
    int timeout_ms;            /* whole request incl. retries; 0: 600000; <0: none */
    const char *ca_file;       /* PEM bundle to trust (private CA); NULL: system */
    const char *user_agent;    /* NULL: "llmasync/<version>" */
    size_t max_response_bytes; /* largest response body; 0: 64 MiB */
    size_t max_event_bytes;    /* largest SSE event / NDJSON line; 0: 4 MiB */
    int max_json_depth;        /* deepest JSON accepted; 0: 128 */
    int max_tool_calls;        /* tool calls per answer; 0: 128 */
    unsigned retry_seed;       /* jitter seed (tests); 0: from clock and address */
    llm_allocator allocator;   /* zero: malloc/realloc/free */
    llm_log_fn log_fn;         /* NULL: silent */
    void *log_user_data;
    /* 0.2.0 */
    int native_ca;             /* 1: also trust the operating system's store
                                  (CURLSSLOPT_NATIVE_CA: Windows with an
                                  OpenSSL libcurl; Schannel always does) */
    const char *proxy;         /* e.g. "http://proxy:3128"; NULL: libcurl's
                                  environment variables (see the README);
                                  "": no proxy whatever the environment */
    const char *no_proxy;      /* hosts reached without the proxy, comma-
                                  separated ("*": all); NULL: $no_proxy;
                                  "": none, whatever the environment */
    /* The host's own event loop (libuv, an engine's reactor): it watches
       the sockets and one timer and reports with llm_socket_ready and
       llm_timer_fired. Set both or neither (NULL: the client's own). */
    llm_watch_socket_fn watch_socket;
    llm_set_timer_fn set_timer;
    void *io_user_data;        /* passed to watch_socket and set_timer */
    /* Rate limits per provider (see RATE LIMITS): requests and estimated
       tokens per minute; 0: none (the servers' own headers still pace). */
    int rate_rpm;
    int rate_tpm;
    /* Record and replay (see RECORD AND REPLAY): a JSON Lines file of every
       exchange, appended to; or answers read back from one, with no
       network. NULL: $LLMASYNC_RECORD / $LLMASYNC_REPLAY; "": neither,
       whatever the environment. */
    const char *record_path;
    const char *replay_path;
    int replay_paced;          /* 1: at the recorded pace; 0: instantly
                                  ($LLMASYNC_REPLAY_PACED=1 sets it) */
} llm_client_desc;

/* An image given to a model (vision): a URL, or the bytes themselves. */
typedef struct llm_image {
    const char *url;          /* "https://..." or "data:image/png;base64,...";
                                 or NULL and data */
    const void *data;         /* the image file's bytes (copied, base64-encoded
                                 by the library) */
    size_t len;
    const char *mime_type;    /* with data: "image/png", "image/jpeg",
                                 "image/gif", "image/webp"; NULL: from the
                                 bytes' signature */
    const char *detail;       /* OpenAI: "low", "high", "auto"; NULL: not sent */
} llm_image;

/* Zero-initialise it (= {0}, memset, or designated initializers): fields
   may be added at the end, and a zero field means "none". */
typedef struct llm_message {
    const char *role;         /* "system", "developer", "user", "assistant", "tool" */
    const char *content;      /* UTF-8 text; NULL only for an assistant turn
                                 that carries tool calls in raw_json */
    const char *name;         /* optional participant name (OpenAI) */
    const char *tool_call_id; /* role "tool": the call this answers */
    const char *raw_json;     /* optional: the whole message as a JSON object in
                                 the provider's own shape (tool-call turns),
                                 sent verbatim; role/content ignored */
    const llm_image *images;  /* images with a user message (each API's own
                                 shape: image_url parts, image blocks, images) */
    int n_images;
} llm_message;

/* What llm_wait() saw (bits; 0: the time is up). */
enum {
    LLM_WAIT_TEXT = 1u << 0,  /* a stream without on_delta / on_event got new
                                 text (llm_request_take it) or tool-call
                                 arguments (llm_request_partial_tool_args) */
    LLM_WAIT_DONE = 1u << 1,  /* a request is terminal and not yet reported:
                                 collect it with llm_wait_any(c, 0) */
    LLM_WAIT_WOKEN = 1u << 2, /* llm_wakeup() was called */
    LLM_WAIT_IDLE = 1u << 3   /* nothing is in flight and nothing is left to
                                 report: waiting would be for nothing */
};

typedef void (*llm_delta_fn)(llm_request *r, const char *delta, size_t len, void *user_data);
typedef void (*llm_done_fn)(llm_request *r, void *user_data);
typedef void (*llm_event_fn)(llm_request *r, const char *event, const char *data,
                             size_t len, void *user_data);

typedef struct llm_chat_desc {
    const char *model;             /* required; "provider/model" picks a provider */
    const llm_message *messages;   /* required, n_messages >= 1 */
    int n_messages;
    const char *system;            /* optional system prompt (first message for
                                      OpenAI/Ollama, top-level for Anthropic) */
    int max_tokens;                /* 0: not sent (Anthropic, where it is
                                      required: LLM_ANTHROPIC_DEFAULT_MAX_TOKENS) */
    double temperature;            /* sent when nonzero or when has_temperature */
    int has_temperature;           /* set to 1 to send temperature 0.0 exactly */
    int stream;                    /* 1: stream tokens (SSE / NDJSON) */
    const char *extra_json;        /* a JSON object whose members are merged into
                                      the body (tools, response_format, seed...);
                                      a member named like one we set replaces ours */
    const char *const *headers;    /* extra headers, each "Name: value" */
    int n_headers;
    int timeout_ms;                /* 0: the client's */
    int idle_timeout_ms;           /* 0: the client's */
    int max_retries;               /* 0: the client's; negative: none */
    void *user_data;
    llm_delta_fn on_delta;         /* new text of a stream (inside llm_poll...) */
    llm_done_fn on_done;           /* the request became terminal */
    /* 0.2.0 */
    int n;                         /* choices (OpenAI-compatible); 0 or 1: one.
                                      Choice 0 is the text; the others:
                                      llm_request_choice_text */
    int priority;                  /* admission: higher first, then submit
                                      order; 0: normal (negative: background) */
} llm_chat_desc;

typedef struct llm_embed_desc {
    const char *model;             /* required; "provider/model" as for chat */
    const char *const *inputs;     /* required, n_inputs >= 1, UTF-8 */
    int n_inputs;
    int dimensions;                /* 0: not sent */
    int batch_size;                /* inputs per HTTP request; 0: 256 */
    const char *extra_json;
    const char *const *headers;
    int n_headers;
    int timeout_ms, max_retries;
    void *user_data;
    llm_done_fn on_done;
    /* 0.2.0 */
    int priority;                  /* admission: higher first, then submit
                                      order; 0: normal (negative: background) */
} llm_embed_desc;

typedef struct llm_raw_desc {
    const char *provider;          /* "openai" (NULL), "anthropic", "ollama", or
                                      a registered name */
    const char *path;              /* appended to the base URL, e.g. "/responses" */
    const char *body_json;         /* request body (must be JSON); NULL: GET */
    int stream;                    /* 1: the answer is SSE; events one by one */
    const char *const *headers;
    int n_headers;
    int timeout_ms, idle_timeout_ms, max_retries;
    void *user_data;
    llm_event_fn on_event;         /* each SSE event (streaming) */
    llm_done_fn on_done;
    /* 0.2.0 */
    int priority;                  /* admission: higher first, then submit
                                      order; 0: normal (negative: background) */
} llm_raw_desc;

/* The Responses API (POST {base}/responses, OpenAI-compatible). Read the
   answer like a chat: llm_request_text / _take (output text), _reasoning
   (the reasoning summary), _tool_call (function calls: id is the call_id),
   _refusal, _usage, _id (the response id, for previous_response_id) and
   _finish_reason ("completed", or why it is incomplete, for example
   "max_output_tokens"). A "failed" response fails the request. */
typedef struct llm_responses_desc {
    const char *model;             /* required; "provider/model" as for chat */
    const char *input;             /* a string input; or NULL and messages */
    const llm_message *messages;   /* input items: messages (with images), and
                                      role "tool" + tool_call_id for a
                                      function call's output */
    int n_messages;
    const char *instructions;      /* system-level instructions */
    const char *tools_json;        /* a JSON array of tools, sent as "tools" */
    const char *reasoning_effort;  /* "minimal", "low", "medium", "high": asks
                                      for reasoning and its summary; NULL: not sent */
    const char *previous_response_id; /* continue a stored conversation */
    int store;                     /* 0: not sent (the server's default); 1:
                                      true; -1: false */
    int max_output_tokens;         /* 0: not sent */
    double temperature;            /* sent when nonzero or has_temperature */
    int has_temperature;
    int stream;                    /* 1: typed events as they come */
    const char *extra_json;        /* members merged into the body */
    const char *const *headers;
    int n_headers;
    int timeout_ms, idle_timeout_ms, max_retries;
    void *user_data;
    llm_delta_fn on_delta;
    llm_done_fn on_done;
    int priority;                  /* admission: higher first, then submit
                                      order; 0: normal (negative: background) */
} llm_responses_desc;

/* Audio bytes as they arrive (speech); called inside llm_poll & co. */
typedef void (*llm_bytes_fn)(llm_request *r, const void *data, size_t len, void *user_data);

/* Speech (POST {base}/audio/speech): the answer is binary audio, read with
   llm_request_bytes (all so far) or llm_request_take_bytes (new since the
   last take), or given to on_audio as it arrives, so playback can start
   before the end. The text functions return nothing for it;
   max_response_bytes bounds it. */
typedef struct llm_speech_desc {
    const char *model;             /* required: "tts-1", "gpt-4o-mini-tts"... */
    const char *input;             /* required: the text to speak */
    const char *voice;             /* required: "alloy", "nova"... */
    const char *format;            /* "mp3" (NULL), "opus", "aac", "flac", "wav", "pcm" */
    double speed;                  /* 0: not sent */
    const char *instructions;      /* how to speak (gpt-4o-mini-tts) */
    const char *extra_json;
    const char *const *headers;
    int n_headers;
    int timeout_ms, idle_timeout_ms, max_retries;
    void *user_data;
    llm_bytes_fn on_audio;
    llm_done_fn on_done;
    int priority;                  /* admission: higher first, then submit
                                      order; 0: normal (negative: background) */
} llm_speech_desc;

/* Transcription and translation (POST {base}/audio/transcriptions,
   /audio/translations): the audio file is sent as multipart/form-data; the
   answer's text is llm_request_text (for "json" and "verbose_json" the text
   field, the whole document in llm_request_json; for "text", "srt", "vtt"
   the body). With stream = 1 (gpt-4o-transcribe models) the text comes as
   it is recognised. */
typedef struct llm_audio_desc {
    const char *model;             /* required: "whisper-1", "gpt-4o-transcribe"... */
    const void *audio;             /* required: the audio file's bytes (copied) */
    size_t audio_len;
    const char *filename;          /* NULL: "audio.wav"; its extension names the format */
    const char *mime_type;         /* NULL: from the filename's extension */
    const char *language;          /* ISO-639-1, transcriptions only; NULL: detected */
    const char *prompt;            /* optional context */
    const char *response_format;   /* "json" (NULL), "text", "verbose_json", "srt", "vtt" */
    double temperature;            /* sent when nonzero or has_temperature */
    int has_temperature;
    int stream;                    /* transcriptions: text as it comes */
    const char *const *headers;
    int n_headers;
    int timeout_ms, idle_timeout_ms, max_retries;
    void *user_data;
    llm_delta_fn on_delta;
    llm_done_fn on_done;
    int priority;                  /* admission: higher first, then submit
                                      order; 0: normal (negative: background) */
    const char *path;              /* instead of audio: a file read at submit
                                      (filename defaults to its last part);
                                      a retry sends it whole again */
    const char *timestamp_granularities; /* "word", "segment" or
                                      "word,segment" (verbose_json only;
                                      the segments / words are in
                                      llm_request_json); NULL: not sent */
} llm_audio_desc;

/* Rerank (POST {base}/rerank: vLLM, Jina, Cohere v2, TEI-style servers):
   documents ordered by relevance to a query. Read with
   llm_request_rank_count and llm_request_rank. */
typedef struct llm_rerank_desc {
    const char *model;             /* required; "provider/model" as for chat */
    const char *query;             /* required */
    const char *const *documents;  /* required, n_documents >= 1, UTF-8 */
    int n_documents;
    int top_n;                     /* 0: not sent (all) */
    const char *extra_json;
    const char *const *headers;
    int n_headers;
    int timeout_ms, max_retries;
    void *user_data;
    llm_done_fn on_done;
    int priority;                  /* admission: higher first, then submit
                                      order; 0: normal (negative: background) */
} llm_rerank_desc;

typedef struct llm_tool_call {
    int index;                     /* position in the answer */
    const char *id;                /* "" when the provider sent none */
    const char *type;              /* "function" (OpenAI), "tool_use" (Anthropic) */
    const char *name;
    const char *arguments;         /* JSON text as sent (assembled from deltas) */
    size_t arguments_len;
    const struct llm_json_value *arguments_json; /* parsed, or NULL if invalid */
} llm_tool_call;

/* >>json types ============================================================
   The JSON tree: one allocation per document. Children of an array or object
   are contiguous (items[0..len-1]); object members carry their key. Strings
   are unescaped UTF-8, NUL-terminated, and may contain NUL (use len).
   Numbers keep their exact text in str; read them with llm_json_number /
   llm_json_int64. */

typedef enum llm_json_type {
    LLM_JSON_NULL, LLM_JSON_FALSE, LLM_JSON_TRUE, LLM_JSON_NUMBER,
    LLM_JSON_STRING, LLM_JSON_ARRAY, LLM_JSON_OBJECT
} llm_json_type;

typedef struct llm_json_value {
    llm_json_type type;
    const char *key;     /* member name inside an object, else NULL */
    size_t key_len;
    const char *str;     /* STRING: the text; NUMBER: the literal; else NULL */
    size_t len;          /* STRING/NUMBER: bytes; ARRAY/OBJECT: children */
    const struct llm_json_value *items; /* ARRAY/OBJECT children */
} llm_json_value;

typedef enum llm_json_error {
    LLM_JSON_OK = 0,
    LLM_JSON_ERR_EMPTY,       /* no value in the input */
    LLM_JSON_ERR_SYNTAX,      /* unexpected character */
    LLM_JSON_ERR_EOF,         /* input ended inside a value */
    LLM_JSON_ERR_STRING,      /* control character or bad escape in a string */
    LLM_JSON_ERR_UTF8,        /* invalid UTF-8 or lone surrogate escape */
    LLM_JSON_ERR_NUMBER,      /* malformed number */
    LLM_JSON_ERR_DEPTH,       /* nested deeper than max_depth */
    LLM_JSON_ERR_TRAILING,    /* something after the value */
    LLM_JSON_ERR_NO_MEMORY,
    LLM_JSON_ERR_INVALID_ARG
} llm_json_error;

typedef struct llm_json_result {
    llm_json_error error;
    size_t offset;  /* byte offset of the error (0-based) */
    size_t line;    /* 1-based */
    size_t column;  /* 1-based, in bytes */
} llm_json_result;

enum {
    LLM_JSON_ALLOW_TRAILING_COMMAS = 1u << 0, /* [1,2,] and {"a":1,} */
    LLM_JSON_ALLOW_COMMENTS        = 1u << 1  /* // line and block comments */
};

typedef struct llm_json_options {
    unsigned flags;                  /* LLM_JSON_ALLOW_*; 0: strict RFC 8259 */
    int max_depth;                   /* 0: 128; at most LLM_JSON_DEPTH_LIMIT */
    const llm_allocator *allocator;  /* NULL: malloc/realloc/free */
} llm_json_options;

#define LLM_JSON_DEPTH_LIMIT 4096

#ifndef LLM_JSON_WRITER_MAX_DEPTH
#define LLM_JSON_WRITER_MAX_DEPTH 64
#endif

/* The writer: a growable buffer it owns; errors are sticky (check at end). */
typedef struct llm_json_writer {
    char *data;        /* the text so far, NUL-terminated (NULL before use) */
    size_t len, cap;
    int error;         /* 0, or an llm_json_error (NO_MEMORY, UTF8, INVALID_ARG) */
    int depth;
    unsigned char need_comma[LLM_JSON_WRITER_MAX_DEPTH + 1];
    unsigned char in_object[LLM_JSON_WRITER_MAX_DEPTH + 1];
    int after_key;
    llm_allocator allocator;
} llm_json_writer;

/* >>functions ============================================================ */

/* client */
LLMASYNC_API llm_client *llm_client_new(const llm_client_desc *desc);
LLMASYNC_API void llm_client_free(llm_client *c);
LLMASYNC_API void llm_wakeup(llm_client *c); /* thread-safe */
/* the version of the compiled implementation, as LLMASYNC_VERSION; num (if
   not NULL) gets its LLMASYNC_VERSION_NUM */
LLMASYNC_API const char *llm_version(int *num);

/* submitting */
LLMASYNC_API llm_request *llm_chat(llm_client *c, const llm_chat_desc *desc);
LLMASYNC_API llm_request *llm_embed(llm_client *c, const llm_embed_desc *desc);
LLMASYNC_API llm_request *llm_raw(llm_client *c, const llm_raw_desc *desc);
LLMASYNC_API llm_request *llm_responses(llm_client *c, const llm_responses_desc *desc);
LLMASYNC_API llm_request *llm_speech(llm_client *c, const llm_speech_desc *desc);
LLMASYNC_API llm_request *llm_transcribe(llm_client *c, const llm_audio_desc *desc);
LLMASYNC_API llm_request *llm_translate(llm_client *c, const llm_audio_desc *desc);
LLMASYNC_API llm_request *llm_rerank(llm_client *c, const llm_rerank_desc *desc);
LLMASYNC_API llm_request *llm_chat_blocking(llm_client *c, const llm_chat_desc *desc);

/* driving */
LLMASYNC_API int llm_poll(llm_client *c);
/* the host's own event loop (llm_client_desc.watch_socket / set_timer) */
LLMASYNC_API int llm_socket_ready(llm_client *c, llm_socket s, int what);
LLMASYNC_API int llm_timer_fired(llm_client *c);
LLMASYNC_API int llm_socket_assign(llm_client *c, llm_socket s, void *socket_data);
/* llm_poll within a time budget; *deferred (may be NULL) says work is left */
LLMASYNC_API int llm_poll_budget(llm_client *c, int budget_us, int *deferred);
/* the next terminal request, like llm_wait_any(c, 0) but driving nothing */
LLMASYNC_API llm_request *llm_take_done(llm_client *c);
LLMASYNC_API llm_request *llm_wait_any(llm_client *c, int timeout_ms);
LLMASYNC_API int llm_wait(llm_client *c, int timeout_ms); /* LLM_WAIT_* bits */
LLMASYNC_API void llm_cancel(llm_request *r);
LLMASYNC_API void llm_request_free(llm_request *r);

/* reading a request (pointers: see MEMORY AND OWNERSHIP above) */
LLMASYNC_API llm_status llm_request_status(const llm_request *r);
LLMASYNC_API const char *llm_request_text(const llm_request *r, size_t *len);
LLMASYNC_API size_t llm_request_take(llm_request *r, const char **delta);
LLMASYNC_API const char *llm_request_reasoning(const llm_request *r, size_t *len);
LLMASYNC_API const llm_error *llm_request_error(const llm_request *r);
LLMASYNC_API const llm_usage *llm_request_usage(const llm_request *r);
LLMASYNC_API const llm_timings *llm_request_timings(const llm_request *r);
LLMASYNC_API void *llm_request_user_data(const llm_request *r);
LLMASYNC_API const char *llm_request_finish_reason(const llm_request *r); /* "" if none */
LLMASYNC_API const char *llm_request_id(const llm_request *r);    /* response id, "" if none */
LLMASYNC_API const char *llm_request_model(const llm_request *r); /* model that answered */
LLMASYNC_API const llm_json_value *llm_request_json(const llm_request *r);
LLMASYNC_API const llm_json_value *llm_request_content_json(const llm_request *r);
/* structured output as it streams (see STRUCTURED OUTPUT AS IT STREAMS) */
LLMASYNC_API const llm_json_value *llm_request_partial_json(llm_request *r);
LLMASYNC_API int llm_request_partial_tool_count(const llm_request *r);
LLMASYNC_API const llm_json_value *llm_request_partial_tool_args(llm_request *r, int i, const char **name);
LLMASYNC_API int llm_request_tool_call_count(const llm_request *r);
LLMASYNC_API const llm_tool_call *llm_request_tool_call(const llm_request *r, int i);
LLMASYNC_API int llm_request_embedding_count(const llm_request *r);
LLMASYNC_API const float *llm_request_embedding(const llm_request *r, int i, int *dimensions);
/* the model declined: its refusal text ("" if none) */
LLMASYNC_API const char *llm_request_refusal(const llm_request *r, size_t *len);
/* n > 1: choices in index order; choice 0 is llm_request_text */
LLMASYNC_API int llm_request_choice_count(const llm_request *r);
LLMASYNC_API const char *llm_request_choice_text(const llm_request *r, int i, size_t *len);
LLMASYNC_API const char *llm_request_choice_finish_reason(const llm_request *r, int i);
LLMASYNC_API int llm_request_choice_tool_call_count(const llm_request *r, int i);
LLMASYNC_API const llm_tool_call *llm_request_choice_tool_call(const llm_request *r, int i, int k);
/* binary answers (speech): all bytes so far / only those new since the last take */
LLMASYNC_API const void *llm_request_bytes(const llm_request *r, size_t *len);
LLMASYNC_API size_t llm_request_take_bytes(llm_request *r, const void **data);
/* rerank: how many results; the document index of the i-th most relevant
   (-1 if none) and its score */
LLMASYNC_API int llm_request_rank_count(const llm_request *r);
LLMASYNC_API int llm_request_rank(const llm_request *r, int i, double *score);

LLMASYNC_API const char *llm_error_string(llm_error_kind kind);
LLMASYNC_API const char *llm_status_string(llm_status status);

/* JSON: parse (free with llm_json_free) */
LLMASYNC_API llm_json_value *llm_json_parse(const char *text, size_t len,
                                            const llm_json_options *opt,
                                            llm_json_result *result);
LLMASYNC_API void llm_json_free(llm_json_value *root);
/* A JSON text still arriving (a prefix): the document of what is complete
   so far; see STRUCTURED OUTPUT AS IT STREAMS. */
LLMASYNC_API llm_json_value *llm_json_parse_partial(const char *text, size_t len,
                                                    const llm_json_options *opt,
                                                    llm_json_result *result);
LLMASYNC_API int llm_json_complete(const llm_json_value *root, const llm_json_value *v);
LLMASYNC_API const char *llm_json_error_string(llm_json_error e);
/* JSON: read. Every accessor accepts NULL and answers NULL / 0 / fallback. */
LLMASYNC_API const llm_json_value *llm_json_get(const llm_json_value *obj, const char *key);
LLMASYNC_API const llm_json_value *llm_json_at(const llm_json_value *arr, size_t i);
LLMASYNC_API const llm_json_value *llm_json_path(const llm_json_value *v, const char *path);
LLMASYNC_API const char *llm_json_string(const llm_json_value *v, size_t *len);
LLMASYNC_API int llm_json_number(const llm_json_value *v, double *out);
LLMASYNC_API int llm_json_int64(const llm_json_value *v, int64_t *out);
LLMASYNC_API double llm_json_double(const llm_json_value *v, double fallback);
LLMASYNC_API int llm_json_bool(const llm_json_value *v, int fallback);
LLMASYNC_API int llm_json_is_null(const llm_json_value *v);
/* JSON: write */
LLMASYNC_API void llm_jw_init(llm_json_writer *w, const llm_allocator *allocator);
LLMASYNC_API void llm_jw_free(llm_json_writer *w);
LLMASYNC_API void llm_jw_object_begin(llm_json_writer *w);
LLMASYNC_API void llm_jw_object_end(llm_json_writer *w);
LLMASYNC_API void llm_jw_array_begin(llm_json_writer *w);
LLMASYNC_API void llm_jw_array_end(llm_json_writer *w);
LLMASYNC_API void llm_jw_key(llm_json_writer *w, const char *key);
LLMASYNC_API void llm_jw_key_n(llm_json_writer *w, const char *key, size_t len);
LLMASYNC_API void llm_jw_string(llm_json_writer *w, const char *s);
LLMASYNC_API void llm_jw_string_n(llm_json_writer *w, const char *s, size_t len);
LLMASYNC_API void llm_jw_number(llm_json_writer *w, double d);
LLMASYNC_API void llm_jw_int(llm_json_writer *w, int64_t i);
LLMASYNC_API void llm_jw_bool(llm_json_writer *w, int b);
LLMASYNC_API void llm_jw_null(llm_json_writer *w);
LLMASYNC_API void llm_jw_raw(llm_json_writer *w, const char *json, size_t len);
LLMASYNC_API void llm_jw_value(llm_json_writer *w, const llm_json_value *v);
LLMASYNC_API const char *llm_jw_text(const llm_json_writer *w, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* LLMASYNC_H */

/* ======================================================================== */
/*                            IMPLEMENTATION                                */
/* ======================================================================== */
#ifdef LLMASYNC_IMPLEMENTATION
#ifndef LLMASYNC_IMPLEMENTATION_INCLUDED
#define LLMASYNC_IMPLEMENTATION_INCLUDED

#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <stdarg.h>
#include <limits.h>
#include <time.h>
#include <curl/curl.h>
#ifndef LLMASYNC_PIPEWAIT
#define LLMASYNC_PIPEWAIT 1
#endif
/* How the pump learns which transfers can move (see >>io). */
#if defined(LLMASYNC_IO_PERFORM) || defined(_WIN32)
#define LLM__IO_PERFORM 1
#elif defined(__linux__) && !defined(LLMASYNC_IO_POLL)
#define LLM__IO_EPOLL 1
#else
#define LLM__IO_POLL 1
#endif

#ifdef _WIN32
#include <windows.h>
#else
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#if defined(LLM__IO_EPOLL)
#include <sys/epoll.h>
#elif defined(LLM__IO_POLL)
#include <poll.h>
#endif
#endif

#ifndef LLM_ASSERT
#include <assert.h>
#define LLM_ASSERT(c) assert(c)
#endif

#if defined(LLMASYNC_MALLOC) && defined(LLMASYNC_REALLOC) && defined(LLMASYNC_FREE)
/* all three overridden */
#elif !defined(LLMASYNC_MALLOC) && !defined(LLMASYNC_REALLOC) && !defined(LLMASYNC_FREE)
#define LLMASYNC_MALLOC(sz) malloc(sz)
#define LLMASYNC_REALLOC(p, sz) realloc(p, sz)
#define LLMASYNC_FREE(p) free(p)
#else
#error "llmasync: define LLMASYNC_MALLOC, LLMASYNC_REALLOC and LLMASYNC_FREE together, or none"
#endif

/* Defaults of the descs; each is documented next to its field. */
#define LLM__DEF_MAX_CONCURRENT 16
#define LLM__DEF_MAX_RETRIES 2
#define LLM__DEF_RETRY_CAP_MS 60000
#define LLM__DEF_CONNECT_MS 5000
#define LLM__DEF_IDLE_MS 120000
#define LLM__DEF_TOTAL_MS 600000
#define LLM__DEF_MAX_RESPONSE ((size_t)64 << 20)
#define LLM__DEF_MAX_EVENT ((size_t)4 << 20)
#define LLM__DEF_JSON_DEPTH 128
#define LLM__DEF_MAX_TOOL_CALLS 128
#define LLM__DEF_EMBED_BATCH 256
#ifndef LLM_ANTHROPIC_DEFAULT_MAX_TOKENS
#define LLM_ANTHROPIC_DEFAULT_MAX_TOKENS 4096
#endif

/* >>platform ============================================================= */

/* Monotonic microseconds. */
static int64_t llm__now_us(void) {
#if defined(_WIN32)
    LARGE_INTEGER f, t;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&t);
    return (int64_t)((double)t.QuadPart * 1e6 / (double)f.QuadPart);
#elif defined(CLOCK_MONOTONIC)
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
#elif defined(LLMASYNC_ALLOW_COARSE_CLOCK)
    return (int64_t)time(NULL) * 1000000; /* whole seconds: timeouts and retries lose precision */
#else
#error "llmasync: no monotonic clock. Define _POSIX_C_SOURCE=200809L (or include llmasync.h first), or LLMASYNC_ALLOW_COARSE_CLOCK to accept a one-second clock."
#endif
}

/* >>memory =============================================================== */

static void *llm__def_alloc(size_t n, void *u) { (void)u; return LLMASYNC_MALLOC(n); }
static void *llm__def_realloc(void *p, size_t n, void *u) { (void)u; return LLMASYNC_REALLOC(p, n); }
static void llm__def_free(void *p, void *u) { (void)u; LLMASYNC_FREE(p); }

static llm_allocator llm__allocator(const llm_allocator *a) {
    llm_allocator r;
    if (a && a->alloc_fn && a->realloc_fn && a->free_fn) return *a;
    r.alloc_fn = llm__def_alloc;
    r.realloc_fn = llm__def_realloc;
    r.free_fn = llm__def_free;
    r.user_data = NULL;
    return r;
}
static void *llm__malloc(const llm_allocator *a, size_t n) { return a->alloc_fn(n ? n : 1, a->user_data); }
static void *llm__realloc(const llm_allocator *a, void *p, size_t n) {
    return p ? a->realloc_fn(p, n ? n : 1, a->user_data) : a->alloc_fn(n ? n : 1, a->user_data);
}
static void llm__free(const llm_allocator *a, void *p) { if (p) a->free_fn(p, a->user_data); }

static void *llm__calloc(const llm_allocator *a, size_t n) {
    void *p = llm__malloc(a, n);
    if (p) memset(p, 0, n);
    return p;
}

static char *llm__strndup(const llm_allocator *a, const char *s, size_t n) {
    char *p;
    if (n == (size_t)-1) return NULL;
    p = (char *)llm__malloc(a, n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
static char *llm__strdup(const llm_allocator *a, const char *s) {
    return s ? llm__strndup(a, s, strlen(s)) : NULL;
}

/* A growable byte buffer, always NUL-terminated once allocated. */
typedef struct llm__buf { char *p; size_t len, cap; } llm__buf;

/* Room for extra more bytes (and the NUL). Capacity doubles, but never
   beyond ceiling unless more is needed: a buffer whose size is bounded
   (a response body) is not given twice its bound. */
static int llm__buf_reserve_max(const llm_allocator *a, llm__buf *b, size_t extra, size_t ceiling) {
    size_t need, cap;
    char *p;
    if (extra > (size_t)-1 - b->len - 1) return 0;
    need = b->len + extra + 1;
    if (need <= b->cap) return 1;
    cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap > (size_t)-1 / 2 ? need : cap * 2;
    if (cap > ceiling) cap = ceiling > need ? ceiling : need;
    p = (char *)llm__realloc(a, b->p, cap);
    if (!p) return 0;
    b->p = p;
    b->cap = cap;
    return 1;
}
static int llm__buf_reserve(const llm_allocator *a, llm__buf *b, size_t extra) {
    return llm__buf_reserve_max(a, b, extra, (size_t)-1);
}
static int llm__buf_add_max(const llm_allocator *a, llm__buf *b, const void *d, size_t n, size_t ceiling) {
    if (!llm__buf_reserve_max(a, b, n, ceiling)) return 0;
    if (n) memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 1;
}
static int llm__buf_add(const llm_allocator *a, llm__buf *b, const void *d, size_t n) {
    if (!llm__buf_reserve(a, b, n)) return 0;
    if (n) memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 1;
}
static int llm__buf_adds(const llm_allocator *a, llm__buf *b, const char *s) {
    return llm__buf_add(a, b, s, strlen(s));
}
static void llm__buf_clear(llm__buf *b) { b->len = 0; if (b->p) b->p[0] = '\0'; }
static void llm__buf_free(const llm_allocator *a, llm__buf *b) {
    llm__free(a, b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* >>strings ============================================================== */

static int llm__lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* Case-insensitive compare of n bytes against a NUL-terminated lower-case word. */
static int llm__ieq_n(const char *s, size_t n, const char *word) {
    size_t i;
    for (i = 0; i < n; i++)
        if (word[i] == '\0' || llm__lower((unsigned char)s[i]) != word[i]) return 0;
    return word[n] == '\0';
}
static int llm__eq_n(const char *s, size_t n, const char *word) {
    return strlen(word) == n && memcmp(s, word, n) == 0;
}
static int llm__has_crlf(const char *s) {
    return s && (strchr(s, '\r') != NULL || strchr(s, '\n') != NULL);
}

/* Length of the valid UTF-8 prefix (== n when all of it is valid). Strict:
   no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t llm__utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) {
            if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return i;
            i += 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            unsigned c1;
            if (i + 2 >= n) return i;
            c1 = s[i + 1];
            if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80) return i;
            if (c == 0xE0 && c1 < 0xA0) return i;  /* overlong */
            if (c == 0xED && c1 >= 0xA0) return i; /* surrogate */
            i += 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            unsigned c1;
            if (i + 3 >= n) return i;
            c1 = s[i + 1];
            if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80) return i;
            if (c == 0xF0 && c1 < 0x90) return i;  /* overlong */
            if (c == 0xF4 && c1 >= 0x90) return i; /* > U+10FFFF */
            i += 4;
        } else {
            return i;
        }
    }
    return n;
}

/* After a (v)snprintf that may have cut: drop a broken trailing character. */
static void llm__utf8_trim(char *s) {
    s[llm__utf8_valid((const unsigned char *)s, strlen(s))] = '\0';
}

static size_t llm__utf8_put(char *o, unsigned long cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static int llm__hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Exact decimal -> double without the C library (no locale, no allocation):
   the decimal is held as up to 800 digits and scaled by powers of two until
   its integer part holds the 53-bit mantissa, then rounded half to even
   (the "simple decimal conversion" of Go's strconv and wuffs). Only used
   when the fast path cannot be exact. */
#define LLM__DEC_DIGITS 800
typedef struct llm__dec {
    unsigned char d[LLM__DEC_DIGITS]; /* digits 0..9, most significant first */
    int nd, dp;                       /* digits used; position of the point */
    int trunc;                        /* nonzero digits were dropped */
} llm__dec;

static void llm__dec_trim(llm__dec *a) {
    while (a->nd > 0 && a->d[a->nd - 1] == 0) a->nd--;
    if (a->nd == 0) a->dp = 0;
}
/* a *= 2^k, 0 < k <= 60 */
static void llm__dec_lshift(llm__dec *a, unsigned k) {
    unsigned char tmp[LLM__DEC_DIGITS + 24];
    int w = (int)sizeof tmp, i, extra, n;
    uint64_t carry = 0;
    for (i = a->nd - 1; i >= 0; i--) {
        uint64_t v = ((uint64_t)a->d[i] << k) + carry;
        tmp[--w] = (unsigned char)(v % 10);
        carry = v / 10;
    }
    while (carry) { tmp[--w] = (unsigned char)(carry % 10); carry /= 10; }
    n = (int)sizeof tmp - w;
    extra = n - a->nd;
    if (n > LLM__DEC_DIGITS) {
        for (i = LLM__DEC_DIGITS; i < n; i++) if (tmp[w + i]) a->trunc = 1;
        n = LLM__DEC_DIGITS;
    }
    memcpy(a->d, tmp + w, (size_t)n);
    a->nd = n;
    a->dp += extra;
    llm__dec_trim(a);
}
/* a /= 2^k, 0 < k <= 60 */
static void llm__dec_rshift(llm__dec *a, unsigned k) {
    int r = 0, w = 0;
    uint64_t n = 0, mask = ((uint64_t)1 << k) - 1;
    for (; (n >> k) == 0; r++) {
        if (r >= a->nd) {
            if (n == 0) { a->nd = 0; a->dp = 0; return; }
            while ((n >> k) == 0) { n *= 10; r++; }
            break;
        }
        n = n * 10 + a->d[r];
    }
    a->dp -= r - 1;
    for (; r < a->nd; r++) {
        uint64_t dig = n >> k;
        n &= mask;
        a->d[w++] = (unsigned char)dig;
        n = n * 10 + a->d[r];
    }
    while (n > 0) {
        uint64_t dig = n >> k;
        n &= mask;
        if (w < LLM__DEC_DIGITS) a->d[w++] = (unsigned char)dig;
        else if (dig > 0) a->trunc = 1;
        n *= 10;
    }
    a->nd = w;
    llm__dec_trim(a);
}
static void llm__dec_shift(llm__dec *a, int k) {
    if (a->nd == 0) return;
    while (k > 60) { llm__dec_lshift(a, 60); k -= 60; }
    if (k > 0) llm__dec_lshift(a, (unsigned)k);
    while (k < -60) { llm__dec_rshift(a, 60); k += 60; }
    if (k < 0) llm__dec_rshift(a, (unsigned)-k);
}
static int llm__dec_round_up(const llm__dec *a, int nd) {
    if (nd < 0 || nd >= a->nd) return 0;
    if (a->d[nd] == 5 && nd + 1 == a->nd) { /* exactly half: to even, unless digits were dropped */
        if (a->trunc) return 1;
        return nd > 0 && (a->d[nd - 1] & 1);
    }
    return a->d[nd] >= 5;
}
static uint64_t llm__dec_rounded(const llm__dec *a) {
    int i;
    uint64_t n = 0;
    if (a->dp > 20) return ~(uint64_t)0;
    for (i = 0; i < a->dp && i < a->nd; i++) n = n * 10 + a->d[i];
    for (; i < a->dp; i++) n *= 10;
    if (llm__dec_round_up(a, a->dp)) n++;
    return n;
}
/* The double nearest the decimal (IEEE 754 binary64: 52 mantissa bits, 11
   exponent bits, bias -1023), as in Go's decimal.floatBits. */
static double llm__dec_to_double(llm__dec *a, int neg) {
    static const int powtab[] = { 1, 3, 6, 9, 13, 16, 19, 23, 26 };
    const int bias = -1023, mantbits = 52;
    int exp = 0;
    uint64_t mant, bits;
    double out;
    if (a->nd == 0) { mant = 0; exp = bias; goto done; }
    if (a->dp > 310) goto overflow;
    if (a->dp < -330) { mant = 0; exp = bias; goto done; }
    while (a->dp > 0) {
        int n = a->dp >= 9 ? 27 : powtab[a->dp];
        llm__dec_shift(a, -n);
        exp += n;
    }
    while (a->dp < 0 || (a->dp == 0 && a->d[0] < 5)) {
        int n = -a->dp >= 9 ? 27 : powtab[-a->dp];
        llm__dec_shift(a, n);
        exp -= n;
    }
    exp--;
    if (exp < bias + 1) {
        int n = bias + 1 - exp;
        llm__dec_shift(a, -n);
        exp += n;
    }
    if (exp - bias >= (1 << 11) - 1) goto overflow;
    llm__dec_shift(a, 1 + mantbits);
    mant = llm__dec_rounded(a);
    if (mant == ((uint64_t)2 << mantbits)) {
        mant >>= 1;
        exp++;
        if (exp - bias >= (1 << 11) - 1) goto overflow;
    }
    if ((mant & ((uint64_t)1 << mantbits)) == 0) exp = bias;
    goto done;
overflow:
    mant = 0;
    exp = (1 << 11) - 1 + bias;
done:
    bits = mant & (((uint64_t)1 << mantbits) - 1);
    bits |= (uint64_t)((exp - bias) & ((1 << 11) - 1)) << mantbits;
    if (neg) bits |= (uint64_t)1 << 63;
    memcpy(&out, &bits, sizeof out);
    return out;
}
/* Reads a JSON number literal (validated by the caller) into a; returns
   1 when it is negative. The point's position counts every integer digit,
   kept or not, and every zero between the point and the first significant
   digit, in 64 bits (no input is that long); the exponent saturates at
   10^15 and the sum at +-10^9, far past the +-330 where the answer is
   already 0 or infinity. */
#define LLM__DEC_DP_MAX 1000000000
static int llm__dec_read(llm__dec *a, const char *s, size_t len) {
    const char *p = s, *end = s + len;
    int neg = 0, sawdot = 0;
    int64_t sig = 0, dp = 0, e = 0; /* significant digits read; the point */
    a->nd = a->dp = a->trunc = 0;
    if (p < end && *p == '-') { neg = 1; p++; }
    for (; p < end; p++) {
        if (*p == '.') { sawdot = 1; dp = sig; continue; }
        if (*p < '0' || *p > '9') break;
        if (*p == '0' && sig == 0) { /* a leading zero: only after the point does it move it */
            if (sawdot) dp--;
            continue;
        }
        if (a->nd < LLM__DEC_DIGITS) a->d[a->nd++] = (unsigned char)(*p - '0');
        else if (*p != '0') a->trunc = 1;
        sig++;
    }
    if (!sawdot) dp = sig;
    if (p < end && (*p == 'e' || *p == 'E')) {
        int eneg = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-')) { eneg = *p == '-'; p++; }
        for (; p < end && *p >= '0' && *p <= '9'; p++)
            if (e < 1000000000000000) e = e * 10 + (*p - '0');
        dp += eneg ? -e : e;
    }
    if (dp > LLM__DEC_DP_MAX) dp = LLM__DEC_DP_MAX;
    if (dp < -LLM__DEC_DP_MAX) dp = -LLM__DEC_DP_MAX;
    a->dp = (int)dp;
    if (a->nd == 0) a->dp = 0;
    return neg;
}

/* JSON number literal -> double, locale-independent and exact: Clinger's
   fast path when the digits fit 2^53 and the power of ten is exact, else
   the decimal conversion above. Reads no locale, allocates nothing. */
static double llm__strtod(const char *s, size_t len) {
    static const double p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
                                  1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
                                  1e20, 1e21, 1e22 };
    const char *p = s, *end = s + len;
    int neg = 0, digits = 0, exp10 = 0, eneg = 0, e = 0;
    uint64_t m = 0;
    llm__dec dec;
    if (p < end && *p == '-') { neg = 1; p++; }
    while (p < end && *p >= '0' && *p <= '9') {
        if (m || *p != '0') digits++;
        if (digits > 19) goto slow;
        m = m * 10 + (uint64_t)(*p - '0');
        p++;
    }
    if (p < end && *p == '.') {
        p++;
        while (p < end && *p >= '0' && *p <= '9') {
            if (m || *p != '0') digits++;
            if (digits > 19) goto slow;
            m = m * 10 + (uint64_t)(*p - '0');
            if (--exp10 < -100000) goto slow; /* a long run of zeros: no overflow, and exact below */
            p++;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) { eneg = *p == '-'; p++; }
        while (p < end && *p >= '0' && *p <= '9') {
            if (e >= 100000) goto slow; /* saturating here could land in range by mistake */
            e = e * 10 + (*p - '0');
            p++;
        }
        exp10 += eneg ? -e : e;
    }
    if (m <= ((uint64_t)1 << 53) && exp10 >= -22 && exp10 <= 22) {
        double d = (double)m;
        d = exp10 < 0 ? d / p10[-exp10] : d * p10[exp10];
        return neg ? -d : d;
    }
slow:
    neg = llm__dec_read(&dec, s, len);
    return llm__dec_to_double(&dec, neg);
}

/* >>json parse ===========================================================
   Two passes over the text, as sheredom's json.h does: the first validates
   and counts values and string bytes, the second fills ONE allocation.
   Children of a container must be contiguous, yet their count is only known
   when the container closes. So values are built on a stack growing up from
   the start of the value array; when a container closes, its children move
   to a region growing down from the end. A value is always in exactly one of
   the two regions, so with exactly as many slots as values they never meet.
   Both passes are iterative: depth costs no C stack. */

/* Before the root. open: the deepest value of a partial document still
   being written (NULL: all of it is complete); see llm_json_parse_partial. */
typedef struct llm__jdoc { llm_allocator alloc; const llm_json_value *open; } llm__jdoc;

typedef struct llm__jp {
    const unsigned char *s;
    size_t n, i;
    unsigned flags;
    int max_depth;
    size_t n_values, n_bytes;
    llm_json_error err;
    size_t err_at;
    llm_json_value *vals;
    size_t top, fin;
    char *out;
    int prefix; /* llm_json_parse_partial: a text cut anywhere ends in ERR_EOF */
} llm__jp;

static int llm__jfail(llm__jp *p, llm_json_error e, size_t at) {
    if (p->err == LLM_JSON_OK) { p->err = e; p->err_at = at; }
    return 0;
}

static int llm__jws(llm__jp *p) {
    const unsigned char *s = p->s;
    size_t i = p->i, n = p->n;
    for (;;) {
        while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) i++;
        if (i + 1 == n && s[i] == '/' && (p->flags & LLM_JSON_ALLOW_COMMENTS) && p->prefix) {
            p->i = n;
            return llm__jfail(p, LLM_JSON_ERR_EOF, n); /* a comment may begin */
        }
        if (i + 1 < n && s[i] == '/' && (p->flags & LLM_JSON_ALLOW_COMMENTS)) {
            if (s[i + 1] == '/') {
                i += 2;
                while (i < n && s[i] != '\n') i++;
                continue;
            }
            if (s[i + 1] == '*') {
                size_t start = i;
                i += 2;
                while (i + 1 < n && !(s[i] == '*' && s[i + 1] == '/')) i++;
                if (i + 1 >= n) { p->i = n; return llm__jfail(p, LLM_JSON_ERR_EOF, start); }
                i += 2;
                continue;
            }
        }
        break;
    }
    p->i = i;
    return 1;
}

/* 1 for the bytes a string holds as they are: printable ASCII but " and \ */
static const unsigned char llm__jplain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* Partial texts: can these `have` bytes, cut by the end of the input, begin
   a valid UTF-8 character? (Completed with each plausible continuation.) */
static int llm__utf8_cut_ok(const unsigned char *s, size_t have) {
    static const unsigned char fill[4] = { 0x80, 0x90, 0xA0, 0xBF };
    size_t need = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : 2, k, f;
    unsigned char t[4];
    if (s[0] < 0xC2 || s[0] > 0xF4 || have >= need) return 0;
    for (f = 0; f < 4; f++) {
        for (k = 0; k < need; k++) t[k] = k < have ? s[k] : fill[f];
        if (llm__utf8_valid(t, need) == need) return 1;
    }
    return 0;
}

/* Partial texts: can these `have` bytes after a high surrogate escape,
   cut by the end of the input, begin its low half (\uDC00-\uDFFF)? */
static int llm__jlow_cut_ok(const unsigned char *s, size_t have) {
    static const char *const form = "\\u";
    size_t k;
    for (k = 0; k < have; k++) {
        unsigned c = s[k];
        if (k < 2 && c != (unsigned char)form[k]) return 0;
        if (k == 2 && c != 'd' && c != 'D') return 0;
        if (k == 3 && !((c >= 'c' && c <= 'f') || (c >= 'C' && c <= 'F'))) return 0;
        if (k >= 4 && llm__hexval((int)c) < 0) return 0;
    }
    return 1;
}

/* Pass 1 of a string at s[i] == '"': validate, count bytes (raw length is an
   upper bound of the unescaped length). */
static int llm__jstr1(llm__jp *p) {
    const unsigned char *s = p->s;
    size_t i = p->i + 1, n = p->n, start = i;
    for (;;) {
        unsigned c;
        while (i < n && llm__jplain[s[i]]) i++;
        if (i >= n) return llm__jfail(p, LLM_JSON_ERR_EOF, i);
        c = s[i];
        if (c == '"') break;
        if (c < 0x20) return llm__jfail(p, LLM_JSON_ERR_STRING, i);
        if (c == '\\') {
            if (i + 1 >= n) return llm__jfail(p, LLM_JSON_ERR_EOF, i + 1);
            c = s[i + 1];
            if (c == 'u') {
                unsigned long cp = 0;
                int k;
                for (k = 0; k < 4; k++) {
                    int h = i + 2 + (size_t)k < n ? llm__hexval(s[i + 2 + k]) : -2;
                    if (h == -2) return llm__jfail(p, LLM_JSON_ERR_EOF, n);
                    if (h < 0) return llm__jfail(p, LLM_JSON_ERR_STRING, i + 2 + (size_t)k);
                    cp = cp * 16 + (unsigned long)h;
                }
                if (cp >= 0xDC00 && cp <= 0xDFFF) return llm__jfail(p, LLM_JSON_ERR_UTF8, i);
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned long lo = 0;
                    if (i + 12 > n && p->prefix && llm__jlow_cut_ok(s + i + 6, n - (i + 6)))
                        return llm__jfail(p, LLM_JSON_ERR_EOF, n);
                    if (i + 12 > n || s[i + 6] != '\\' || s[i + 7] != 'u')
                        return llm__jfail(p, LLM_JSON_ERR_UTF8, i);
                    for (k = 0; k < 4; k++) {
                        int h = llm__hexval(s[i + 8 + k]);
                        if (h < 0) return llm__jfail(p, LLM_JSON_ERR_UTF8, i);
                        lo = lo * 16 + (unsigned long)h;
                    }
                    if (lo < 0xDC00 || lo > 0xDFFF) return llm__jfail(p, LLM_JSON_ERR_UTF8, i);
                    i += 12;
                } else {
                    i += 6;
                }
            } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||
                       c == 'r' || c == 't') {
                i += 2;
            } else {
                return llm__jfail(p, LLM_JSON_ERR_STRING, i);
            }
        } else { /* c >= 0x80 */
            /* ok == 0 exactly when the character at i is invalid or cut */
            size_t ok = llm__utf8_valid(s + i, n - i < 4 ? n - i : 4);
            if (ok == 0 && p->prefix && llm__utf8_cut_ok(s + i, n - i)) return llm__jfail(p, LLM_JSON_ERR_EOF, n);
            if (ok == 0) return llm__jfail(p, LLM_JSON_ERR_UTF8, i);
            i += c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        }
    }
    p->n_bytes += (i - start) + 1;
    p->i = i + 1;
    return 1;
}

static int llm__jnum1(llm__jp *p) {
    const unsigned char *s = p->s;
    size_t i = p->i, n = p->n, start = i;
    if (i < n && s[i] == '-') i++;
    if (i >= n) return llm__jfail(p, LLM_JSON_ERR_EOF, i);
    if (s[i] == '0') {
        i++;
    } else if (s[i] >= '1' && s[i] <= '9') {
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    } else {
        return llm__jfail(p, LLM_JSON_ERR_NUMBER, i);
    }
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n) return llm__jfail(p, LLM_JSON_ERR_EOF, i);
        if (!(s[i] >= '0' && s[i] <= '9')) return llm__jfail(p, LLM_JSON_ERR_NUMBER, i);
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n) return llm__jfail(p, LLM_JSON_ERR_EOF, i);
        if (!(s[i] >= '0' && s[i] <= '9')) return llm__jfail(p, LLM_JSON_ERR_NUMBER, i);
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    /* a number runs into a letter or digit-like char: "1x", "01" */
    if (i < n && ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
                  (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '.' || s[i] == '+' || s[i] == '-'))
        return llm__jfail(p, LLM_JSON_ERR_NUMBER, i);
    p->n_bytes += (i - start) + 1;
    p->i = i;
    return 1;
}

static int llm__jlit(llm__jp *p, const char *word, size_t wl) {
    size_t avail = p->n - p->i, k;
    for (k = 0; k < wl; k++) {
        if (k >= avail) return llm__jfail(p, LLM_JSON_ERR_EOF, p->n);
        if (p->s[p->i + k] != (unsigned char)word[k]) return llm__jfail(p, LLM_JSON_ERR_SYNTAX, p->i + k);
    }
    p->i += wl;
    return 1;
}

/* Pass 1: validate, count. */
static int llm__jpass1(llm__jp *p) {
    unsigned char objbits[LLM_JSON_DEPTH_LIMIT / 8 + 1];
    int depth = 0, in_obj = 0;
    unsigned c;
    if (!llm__jws(p)) return 0;
    if (p->i >= p->n) return llm__jfail(p, LLM_JSON_ERR_EMPTY, p->i);
value:
    if (p->i >= p->n) return llm__jfail(p, LLM_JSON_ERR_EOF, p->i);
    c = p->s[p->i];
    p->n_values++;
    if (c == '{' || c == '[') {
        if (depth >= p->max_depth) return llm__jfail(p, LLM_JSON_ERR_DEPTH, p->i);
        if (c == '{') objbits[depth / 8] |= (unsigned char)(1u << (depth % 8));
        else objbits[depth / 8] &= (unsigned char)~(1u << (depth % 8));
        depth++;
        p->i++;
        if (!llm__jws(p)) return 0;
        if (p->i >= p->n) return llm__jfail(p, LLM_JSON_ERR_EOF, p->i);
        if (p->s[p->i] == (c == '{' ? '}' : ']')) { p->i++; depth--; goto after; }
        if (c == '{') goto key;
        goto value;
    }
    if (c == '"') { if (!llm__jstr1(p)) return 0; goto after; }
    if (c == 't') { if (!llm__jlit(p, "true", 4)) return 0; goto after; }
    if (c == 'f') { if (!llm__jlit(p, "false", 5)) return 0; goto after; }
    if (c == 'n') { if (!llm__jlit(p, "null", 4)) return 0; goto after; }
    if (c == '-' || (c >= '0' && c <= '9')) { if (!llm__jnum1(p)) return 0; goto after; }
    return llm__jfail(p, LLM_JSON_ERR_SYNTAX, p->i);
key:
    if (p->i >= p->n) return llm__jfail(p, LLM_JSON_ERR_EOF, p->i);
    if (p->s[p->i] != '"') return llm__jfail(p, LLM_JSON_ERR_SYNTAX, p->i);
    if (!llm__jstr1(p) || !llm__jws(p)) return 0;
    if (p->i >= p->n) return llm__jfail(p, LLM_JSON_ERR_EOF, p->i);
    if (p->s[p->i] != ':') return llm__jfail(p, LLM_JSON_ERR_SYNTAX, p->i);
    p->i++;
    if (!llm__jws(p)) return 0;
    goto value;
after:
    if (!llm__jws(p)) return 0;
    if (depth == 0) {
        if (p->i < p->n) return llm__jfail(p, LLM_JSON_ERR_TRAILING, p->i);
        return 1;
    }
    if (p->i >= p->n) return llm__jfail(p, LLM_JSON_ERR_EOF, p->i);
    in_obj = (objbits[(depth - 1) / 8] >> ((depth - 1) % 8)) & 1;
    c = p->s[p->i];
    if (c == ',') {
        p->i++;
        if (!llm__jws(p)) return 0;
        if (p->i >= p->n) return llm__jfail(p, LLM_JSON_ERR_EOF, p->i);
        if ((p->flags & LLM_JSON_ALLOW_TRAILING_COMMAS) && p->s[p->i] == (in_obj ? '}' : ']')) {
            p->i++;
            depth--;
            goto after;
        }
        if (in_obj) goto key;
        goto value;
    }
    if (c == (in_obj ? '}' : ']')) { p->i++; depth--; goto after; }
    return llm__jfail(p, LLM_JSON_ERR_SYNTAX, p->i);
}

/* Pass 2 string decoding into p->out; the input is known valid. */
static size_t llm__jstr2(llm__jp *p) {
    const unsigned char *s = p->s;
    size_t i = p->i + 1;
    char *o = p->out, *o0 = p->out;
    for (;;) {
        size_t run = i;
        while (s[run] != '"' && s[run] != '\\') run++; /* validated: UTF-8 needs no care here */
        if (run > i) { memcpy(o, s + i, run - i); o += run - i; i = run; }
        if (s[i] == '"') break;
        switch (s[i + 1]) {
        case 'b': *o++ = '\b'; i += 2; break;
        case 'f': *o++ = '\f'; i += 2; break;
        case 'n': *o++ = '\n'; i += 2; break;
        case 'r': *o++ = '\r'; i += 2; break;
        case 't': *o++ = '\t'; i += 2; break;
        case 'u': {
            unsigned long cp = 0;
            int k;
            for (k = 0; k < 4; k++) cp = cp * 16 + (unsigned long)llm__hexval(s[i + 2 + k]);
            i += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned long lo = 0;
                for (k = 0; k < 4; k++) lo = lo * 16 + (unsigned long)llm__hexval(s[i + 2 + k]);
                i += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            o += llm__utf8_put(o, cp);
            break;
        }
        default: *o++ = (char)s[i + 1]; i += 2; break; /* " \ / */
        }
    }
    *o = '\0';
    p->out = o + 1;
    p->i = i + 1;
    return (size_t)(o - o0);
}

static void llm__jpass2(llm__jp *p) {
    const size_t none = (size_t)-1;
    size_t cur = none, idx, k, parent;
    const char *key = NULL;
    size_t key_len = 0;
    llm_json_value *v;
    unsigned c;
    llm__jws(p);
value:
    idx = p->top++;
    v = &p->vals[idx];
    v->key = key;
    v->key_len = key_len;
    v->str = NULL;
    v->len = 0;
    v->items = NULL;
    key = NULL;
    key_len = 0;
    c = p->s[p->i];
    if (c == '{' || c == '[') {
        v->type = c == '{' ? LLM_JSON_OBJECT : LLM_JSON_ARRAY;
        v->len = cur; /* while open: index of the enclosing container */
        cur = idx;
        p->i++;
        llm__jws(p);
        if (p->s[p->i] == (c == '{' ? '}' : ']')) goto close;
        if (c == '{') goto key;
        goto value;
    }
    if (c == '"') {
        v->type = LLM_JSON_STRING;
        v->str = p->out;
        v->len = llm__jstr2(p);
    } else if (c == 't') {
        v->type = LLM_JSON_TRUE;
        p->i += 4;
    } else if (c == 'f') {
        v->type = LLM_JSON_FALSE;
        p->i += 5;
    } else if (c == 'n') {
        v->type = LLM_JSON_NULL;
        p->i += 4;
    } else {
        size_t start = p->i;
        while (p->i < p->n && ((p->s[p->i] >= '0' && p->s[p->i] <= '9') || p->s[p->i] == '-' ||
                               p->s[p->i] == '+' || p->s[p->i] == '.' || p->s[p->i] == 'e' ||
                               p->s[p->i] == 'E'))
            p->i++;
        v->type = LLM_JSON_NUMBER;
        v->str = p->out;
        v->len = p->i - start;
        memcpy(p->out, p->s + start, v->len);
        p->out[v->len] = '\0';
        p->out += v->len + 1;
    }
after:
    if (cur == none) return;
    llm__jws(p);
    c = p->s[p->i];
    if (c == ',') {
        p->i++;
        llm__jws(p);
        c = p->s[p->i];
        if (c == '}' || c == ']') goto close; /* trailing comma (allowed by pass 1) */
        if (p->vals[cur].type == LLM_JSON_OBJECT) goto key;
        goto value;
    }
close: /* p->s[p->i] is the closing bracket of container cur */
    p->i++;
    parent = p->vals[cur].len;
    k = p->top - cur - 1;
    p->fin -= k;
    if (k) memmove(&p->vals[p->fin], &p->vals[cur + 1], k * sizeof(llm_json_value));
    p->vals[cur].items = k ? &p->vals[p->fin] : NULL;
    p->vals[cur].len = k;
    p->top = cur + 1;
    cur = parent;
    goto after;
key:
    key_len = llm__jstr2(p);
    key = p->out - key_len - 1;
    llm__jws(p);
    p->i++; /* ':' */
    llm__jws(p);
    goto value;
}

static void llm__jresult(const llm__jp *p, llm_json_result *res) {
    size_t i, line = 1, col = 1;
    if (!res) return;
    res->error = p->err;
    res->offset = p->err_at;
    for (i = 0; i < p->err_at && i < p->n; i++) {
        if (p->s[i] == '\n') { line++; col = 1; } else col++;
    }
    res->line = line;
    res->column = col;
}

/* Measure: how many bytes the document needs (0 on a parse error). */
static size_t llm__json_measure(llm__jp *p, const char *text, size_t len, unsigned flags, int depth) {
    memset(p, 0, sizeof *p);
    p->s = (const unsigned char *)text;
    p->n = len;
    p->flags = flags;
    p->max_depth = depth <= 0 ? LLM__DEF_JSON_DEPTH : depth > LLM_JSON_DEPTH_LIMIT ? LLM_JSON_DEPTH_LIMIT : depth;
    if (!text) { llm__jfail(p, LLM_JSON_ERR_INVALID_ARG, 0); return 0; }
    if (!llm__jpass1(p)) return 0;
    if (p->n_values > ((size_t)-1 - sizeof(llm__jdoc) - p->n_bytes) / sizeof(llm_json_value)) {
        llm__jfail(p, LLM_JSON_ERR_NO_MEMORY, 0);
        return 0;
    }
    return sizeof(llm__jdoc) + p->n_values * sizeof(llm_json_value) + p->n_bytes;
}

/* Build into mem (of the measured size); returns the root. */
static llm_json_value *llm__json_build(llm__jp *p, void *mem) {
    ((llm__jdoc *)mem)->open = NULL; /* complete (llm_json_parse_partial sets it) */
    p->vals = (llm_json_value *)((char *)mem + sizeof(llm__jdoc));
    p->out = (char *)(p->vals + p->n_values);
    p->top = 0;
    p->fin = p->n_values;
    p->i = 0;
    llm__jpass2(p);
    return p->vals;
}

LLMASYNC_API llm_json_value *llm_json_parse(const char *text, size_t len, const llm_json_options *opt,
                                            llm_json_result *result) {
    llm__jp p;
    llm_allocator a = llm__allocator(opt ? opt->allocator : NULL);
    size_t size = llm__json_measure(&p, text, len, opt ? opt->flags : 0, opt ? opt->max_depth : 0);
    llm__jdoc *doc;
    if (!size) { llm__jresult(&p, result); return NULL; }
    doc = (llm__jdoc *)llm__malloc(&a, size);
    if (!doc) {
        llm__jfail(&p, LLM_JSON_ERR_NO_MEMORY, 0);
        llm__jresult(&p, result);
        return NULL;
    }
    doc->alloc = a;
    llm__jresult(&p, result);
    return llm__json_build(&p, doc);
}

LLMASYNC_API void llm_json_free(llm_json_value *root) {
    llm__jdoc *doc;
    llm_allocator a;
    if (!root) return;
    doc = (llm__jdoc *)((char *)root - sizeof(llm__jdoc));
    a = doc->alloc;
    llm__free(&a, doc);
}

/* ---- partial documents (a JSON text still arriving) ----
   Pass 1 in prefix mode says whether the text can still become JSON (it
   fails with ERR_EOF exactly when more input could make it valid). Then
   llm__jclose finds where to cut it and what to append so that it becomes
   the document of everything complete so far: open containers are closed;
   a string value being written is cut after its last whole character and
   closed; a key without its value, a number (it may grow) and a literal not
   yet whole are dropped. That text goes through the strict parser. */
typedef struct llm__jcut {
    size_t cut;       /* keep text[0, cut) */
    int open_string;  /* then a '"': a string value still being written */
    int depth;        /* then this many closers, innermost first: */
    char *closers;    /* written here (depth bytes) */
} llm__jcut;

/* The input is known to be a valid prefix of some JSON text (pass 1 said
   ERR_EOF). Every bracket moves `good`, so the containers open at `good`
   are the ones open at the end. */
static void llm__jclose(const unsigned char *s, size_t n, unsigned flags, llm__jcut *k) {
    size_t i = 0, good = 0;
    int want_key = 0;
    k->depth = 0;
    k->open_string = 0;
    for (;;) {
        unsigned c;
        for (;;) { /* white space and comments */
            while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) i++;
            if (i + 1 < n && s[i] == '/' && (flags & LLM_JSON_ALLOW_COMMENTS) && s[i + 1] == '/') {
                while (i < n && s[i] != '\n') i++;
                continue;
            }
            if (i + 1 < n && s[i] == '/' && (flags & LLM_JSON_ALLOW_COMMENTS) && s[i + 1] == '*') {
                i += 2;
                while (i + 1 < n && !(s[i] == '*' && s[i + 1] == '/')) i++;
                i = i + 1 < n ? i + 2 : n;
                continue;
            }
            break;
        }
        if (i >= n || s[i] == '/') break; /* the end, or a comment cut at its first byte */
        c = s[i];
        if (c == '{' || c == '[') {
            k->closers[k->depth++] = c == '{' ? '}' : ']';
            want_key = c == '{';
            good = ++i;
        } else if (c == '}' || c == ']') {
            k->depth--;
            want_key = 0;
            good = ++i;
        } else if (c == ',') {
            want_key = k->depth > 0 && k->closers[k->depth - 1] == '}';
            i++;
        } else if (c == ':') {
            i++;
        } else if (c == '"') {
            size_t whole = i + 1; /* after the last whole character */
            i++;
            while (i < n && s[i] != '"') {
                size_t step = 1;
                if (s[i] == '\\') {
                    step = i + 1 < n && s[i + 1] == 'u' ? 6 : 2;
                    if (step == 6 && i + 6 <= n) { /* a high surrogate needs its low half */
                        unsigned long cp = 0;
                        int h;
                        for (h = 2; h < 6; h++) cp = cp * 16 + (unsigned long)llm__hexval(s[i + h]);
                        if (cp >= 0xD800 && cp <= 0xDBFF) step = 12;
                    }
                } else if (s[i] >= 0x80) {
                    step = s[i] >= 0xF0 ? 4 : s[i] >= 0xE0 ? 3 : 2;
                }
                if (i + step > n) break;
                i += step;
                whole = i;
            }
            if (i >= n || s[i] != '"') { /* cut inside: a key is dropped, a value kept */
                if (!want_key) { good = whole; k->open_string = 1; }
                break;
            }
            i++;
            if (want_key) want_key = 0;
            else good = i;
        } else { /* a number or a literal: whole when something follows it */
            size_t start = i;
            while (i < n && ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') || s[i] == '-' ||
                             s[i] == '+' || s[i] == '.' || s[i] == 'E'))
                i++;
            if (i < n) { good = i; continue; }
            /* at the end: a number may grow; a literal is whole when spelt out */
            if ((i - start == 4 && (memcmp(s + start, "true", 4) == 0 || memcmp(s + start, "null", 4) == 0)) ||
                (i - start == 5 && memcmp(s + start, "false", 5) == 0))
                good = i;
            break;
        }
    }
    k->cut = good;
}

LLMASYNC_API llm_json_value *llm_json_parse_partial(const char *text, size_t len, const llm_json_options *opt,
                                                    llm_json_result *result) {
    llm__jp p;
    llm_allocator a = llm__allocator(opt ? opt->allocator : NULL);
    unsigned flags = opt ? opt->flags : 0;
    int depth = opt ? opt->max_depth : 0;
    llm__jcut k;
    char *buf;
    size_t blen, size;
    llm_json_value *root, *v;
    llm__jdoc *doc;
    int d;
    memset(&p, 0, sizeof p);
    p.s = (const unsigned char *)text;
    p.n = len;
    p.flags = flags;
    p.prefix = 1;
    p.max_depth = depth <= 0 ? LLM__DEF_JSON_DEPTH : depth > LLM_JSON_DEPTH_LIMIT ? LLM_JSON_DEPTH_LIMIT : depth;
    if (!text) {
        llm__jfail(&p, LLM_JSON_ERR_INVALID_ARG, 0);
    } else if (llm__jpass1(&p)) { /* whole already; a number at the very end may still grow */
        root = llm_json_parse(text, len, opt, result);
        if (root && root->type == LLM_JSON_NUMBER && len && text[len - 1] >= '0' && text[len - 1] <= '9')
            ((llm__jdoc *)(void *)((char *)root - sizeof(llm__jdoc)))->open = root;
        return root;
    } else if (p.err == LLM_JSON_ERR_EMPTY) { /* nothing yet */
        p.err = LLM_JSON_ERR_EOF;
        p.err_at = len;
    }
    if (p.err != LLM_JSON_ERR_EOF) { llm__jresult(&p, result); return NULL; }
    /* a valid beginning: close it. Depth is bounded by pass 1's limit. */
    buf = (char *)llm__malloc(&a, len + 2 * (size_t)p.max_depth + 2);
    if (!buf) {
        p.err = LLM_JSON_ERR_NO_MEMORY;
        p.err_at = 0;
        llm__jresult(&p, result);
        return NULL;
    }
    k.closers = buf + len + 1 + p.max_depth; /* past where the closed text can reach */
    llm__jclose(p.s, len, flags, &k);
    if (k.cut == 0) { /* nothing whole yet (white space, a number, a key...) */
        llm__free(&a, buf);
        llm__jresult(&p, result);
        return NULL;
    }
    memcpy(buf, text, k.cut);
    blen = k.cut;
    if (k.open_string) buf[blen++] = '"';
    for (d = k.depth - 1; d >= 0; d--) buf[blen++] = k.closers[d];
    size = llm__json_measure(&p, buf, blen, flags, depth);
    if (!size) { /* cannot happen for a text pass 1 accepted; never a crash */
        llm__free(&a, buf);
        p.s = (const unsigned char *)text; /* line and column of the caller's text */
        p.n = len;
        p.err = LLM_JSON_ERR_SYNTAX;
        p.err_at = k.cut;
        llm__jresult(&p, result);
        return NULL;
    }
    doc = (llm__jdoc *)llm__malloc(&a, size);
    if (!doc) {
        llm__free(&a, buf);
        p.s = (const unsigned char *)text;
        p.n = len;
        p.err = LLM_JSON_ERR_NO_MEMORY;
        p.err_at = 0;
        llm__jresult(&p, result);
        return NULL;
    }
    doc->alloc = a;
    root = llm__json_build(&p, doc);
    llm__free(&a, buf);
    /* the open values are the last child at each open level */
    v = root;
    for (d = 1; d < k.depth; d++) v = (llm_json_value *)&v->items[v->len - 1];
    if (k.open_string && k.depth > 0) v = (llm_json_value *)&v->items[v->len - 1];
    doc->open = (k.depth > 0 || k.open_string) ? v : NULL;
    if (result) {
        result->error = LLM_JSON_OK;
        result->offset = result->line = result->column = 0;
    }
    return root;
}

/* 1 when v (a value of the document root) has arrived whole. */
LLMASYNC_API int llm_json_complete(const llm_json_value *root, const llm_json_value *v) {
    const llm_json_value *open, *at = root;
    if (!root || !v) return 0;
    open = ((const llm__jdoc *)(const void *)((const char *)root - sizeof(llm__jdoc)))->open;
    if (!open) return 1;
    for (;;) { /* the open values: root, its last child, ..., open */
        if (at == v) return 0;
        if (at == open || (at->type != LLM_JSON_ARRAY && at->type != LLM_JSON_OBJECT) || at->len == 0) return 1;
        at = &at->items[at->len - 1];
    }
}

/* Parse into a reusable buffer (hot path: one SSE event). No allocation once
   the buffer is large enough. */
static const llm_json_value *llm__json_parse_buf(const llm_allocator *a, llm__buf *scratch, const char *text,
                                                 size_t len, int depth, llm_json_result *res) {
    llm__jp p;
    size_t size = llm__json_measure(&p, text, len, 0, depth);
    if (!size) { llm__jresult(&p, res); return NULL; }
    if (scratch->cap < size) {
        llm__buf_clear(scratch);
        if (!llm__buf_reserve(a, scratch, size)) {
            llm__jfail(&p, LLM_JSON_ERR_NO_MEMORY, 0);
            llm__jresult(&p, res);
            return NULL;
        }
    }
    llm__jresult(&p, res);
    return llm__json_build(&p, scratch->p);
}

LLMASYNC_API const char *llm_json_error_string(llm_json_error e) {
    switch (e) {
    case LLM_JSON_OK: return "ok";
    case LLM_JSON_ERR_EMPTY: return "no JSON value";
    case LLM_JSON_ERR_SYNTAX: return "unexpected character";
    case LLM_JSON_ERR_EOF: return "unexpected end of input";
    case LLM_JSON_ERR_STRING: return "invalid string (control character or escape)";
    case LLM_JSON_ERR_UTF8: return "invalid UTF-8 or lone surrogate";
    case LLM_JSON_ERR_NUMBER: return "invalid number";
    case LLM_JSON_ERR_DEPTH: return "nested too deeply";
    case LLM_JSON_ERR_TRAILING: return "unexpected data after the value";
    case LLM_JSON_ERR_NO_MEMORY: return "out of memory";
    case LLM_JSON_ERR_INVALID_ARG: return "invalid argument";
    }
    return "unknown";
}

/* >>json read ============================================================ */

static const llm_json_value *llm__json_get_n(const llm_json_value *o, const char *key, size_t kl) {
    size_t i;
    if (!o || o->type != LLM_JSON_OBJECT || !key) return NULL;
    for (i = 0; i < o->len; i++)
        if (o->items[i].key_len == kl && memcmp(o->items[i].key, key, kl) == 0) return &o->items[i];
    return NULL;
}
LLMASYNC_API const llm_json_value *llm_json_get(const llm_json_value *o, const char *key) {
    return key ? llm__json_get_n(o, key, strlen(key)) : NULL;
}
LLMASYNC_API const llm_json_value *llm_json_at(const llm_json_value *a, size_t i) {
    if (!a || (a->type != LLM_JSON_ARRAY && a->type != LLM_JSON_OBJECT) || i >= a->len) return NULL;
    return &a->items[i];
}
/* "choices.0.message.content": dot-separated keys, decimal indexes in arrays. */
LLMASYNC_API const llm_json_value *llm_json_path(const llm_json_value *v, const char *path) {
    const char *p = path;
    if (!path) return NULL;
    while (v && *p) {
        const char *e = strchr(p, '.');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (v->type == LLM_JSON_ARRAY) {
            size_t i = 0, k;
            if (n == 0) return NULL;
            for (k = 0; k < n; k++) {
                size_t dgt;
                if (p[k] < '0' || p[k] > '9') return NULL;
                dgt = (size_t)(p[k] - '0');
                if (i > ((size_t)-1 - dgt) / 10) return NULL; /* no such index */
                i = i * 10 + dgt;
            }
            v = llm_json_at(v, i);
        } else {
            v = llm__json_get_n(v, p, n);
        }
        p += n;
        if (*p == '.') p++;
    }
    return v;
}
LLMASYNC_API const char *llm_json_string(const llm_json_value *v, size_t *len) {
    if (!v || v->type != LLM_JSON_STRING) { if (len) *len = 0; return NULL; }
    if (len) *len = v->len;
    return v->str;
}
LLMASYNC_API int llm_json_number(const llm_json_value *v, double *out) {
    if (!v || v->type != LLM_JSON_NUMBER) return 0;
    if (out) *out = llm__strtod(v->str, v->len);
    return 1;
}
LLMASYNC_API double llm_json_double(const llm_json_value *v, double fallback) {
    double d;
    return llm_json_number(v, &d) ? d : fallback;
}
/* Exact: fails (0) when the number is not an integer or does not fit. It is
   decided from the digits, never through a double: 1e3 and 100.0e-2 are
   integers, 5e-324 and 9007199254740993.5 are not. */
LLMASYNC_API int llm_json_int64(const llm_json_value *v, int64_t *out) {
    const char *p, *end, *sig = NULL;
    int neg = 0, nsig = 0, trailing = 0, frac = 0, in_frac = 0, i;
    long exp10 = 0, q;
    uint64_t m = 0, lim;
    if (!v || v->type != LLM_JSON_NUMBER) return 0;
    p = v->str;
    end = v->str + v->len;
    if (p < end && *p == '-') { neg = 1; p++; }
    /* the significant digits (no leading zeros), across the point */
    for (; p < end && ((*p >= '0' && *p <= '9') || *p == '.'); p++) {
        if (*p == '.') { in_frac = 1; continue; }
        if (in_frac) frac++;
        if (!sig && *p == '0') continue;
        if (!sig) sig = p;
        nsig++;
        trailing = *p == '0' ? trailing + 1 : 0;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        int eneg = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-')) { eneg = *p == '-'; p++; }
        for (; p < end; p++)
            if (exp10 < 100000) exp10 = exp10 * 10 + (*p - '0');
        if (eneg) exp10 = -exp10;
    }
    if (!sig) { if (out) *out = 0; return 1; } /* zero, in any form */
    nsig -= trailing;                  /* value = digits * 10^q */
    q = exp10 - frac + trailing;
    if (q < 0) return 0;               /* a fraction is left */
    if (nsig + q > 19) return 0;       /* more than 19 digits: too large */
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (i = 0, p = sig; i < nsig; p++) {
        unsigned d;
        if (*p == '.') continue;
        d = (unsigned)(*p - '0');
        if (m > (lim - d) / 10) return 0;
        m = m * 10 + d;
        i++;
    }
    for (; q > 0; q--) {
        if (m > lim / 10) return 0;
        m *= 10;
    }
    if (out) *out = neg ? (m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m) : (int64_t)m;
    return 1;
}
LLMASYNC_API int llm_json_bool(const llm_json_value *v, int fallback) {
    if (!v) return fallback;
    if (v->type == LLM_JSON_TRUE) return 1;
    if (v->type == LLM_JSON_FALSE) return 0;
    return fallback;
}
LLMASYNC_API int llm_json_is_null(const llm_json_value *v) { return v && v->type == LLM_JSON_NULL; }

/* >>json write =========================================================== */

LLMASYNC_API void llm_jw_init(llm_json_writer *w, const llm_allocator *allocator) {
    memset(w, 0, sizeof *w);
    w->allocator = llm__allocator(allocator);
}
LLMASYNC_API void llm_jw_free(llm_json_writer *w) {
    if (!w) return;
    llm__free(&w->allocator, w->data);
    w->data = NULL;
    w->len = w->cap = 0;
}
static void llm__jw_put(llm_json_writer *w, const char *s, size_t n) {
    llm__buf b;
    if (w->error) return;
    b.p = w->data;
    b.len = w->len;
    b.cap = w->cap;
    if (!llm__buf_add(&w->allocator, &b, s, n)) { w->error = LLM_JSON_ERR_NO_MEMORY; return; }
    w->data = b.p;
    w->len = b.len;
    w->cap = b.cap;
}
/* Separator before a value: a comma unless first, nothing after a key. */
static int llm__jw_sep(llm_json_writer *w) {
    if (w->error) return 0;
    if (w->after_key) { w->after_key = 0; return 1; }
    if (w->in_object[w->depth]) { w->error = LLM_JSON_ERR_INVALID_ARG; return 0; } /* value without key */
    if (w->need_comma[w->depth]) {
        if (w->depth == 0) { w->error = LLM_JSON_ERR_INVALID_ARG; return 0; } /* second root */
        llm__jw_put(w, ",", 1);
    }
    w->need_comma[w->depth] = 1;
    return !w->error;
}
static void llm__jw_open(llm_json_writer *w, int obj) {
    if (!llm__jw_sep(w)) return;
    if (w->depth >= LLM_JSON_WRITER_MAX_DEPTH) { w->error = LLM_JSON_ERR_DEPTH; return; }
    llm__jw_put(w, obj ? "{" : "[", 1);
    w->depth++;
    w->need_comma[w->depth] = 0;
    w->in_object[w->depth] = (unsigned char)obj;
}
static void llm__jw_close(llm_json_writer *w, int obj) {
    if (w->error) return;
    if (w->depth == 0 || w->in_object[w->depth] != obj || w->after_key) { w->error = LLM_JSON_ERR_INVALID_ARG; return; }
    w->depth--;
    llm__jw_put(w, obj ? "}" : "]", 1);
}
LLMASYNC_API void llm_jw_object_begin(llm_json_writer *w) { llm__jw_open(w, 1); }
LLMASYNC_API void llm_jw_object_end(llm_json_writer *w) { llm__jw_close(w, 1); }
LLMASYNC_API void llm_jw_array_begin(llm_json_writer *w) { llm__jw_open(w, 0); }
LLMASYNC_API void llm_jw_array_end(llm_json_writer *w) { llm__jw_close(w, 0); }

/* s[0, n) is known valid UTF-8 (llm__jw_str_ok or llm__jw_quoted said so):
   one pass over the bytes, not two. */
static void llm__jw_quoted_valid(llm_json_writer *w, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run;
    llm__jw_put(w, "\"", 1);
    while (i < n) {
        char esc[6];
        run = i;
        while (run < n && u[run] >= 0x20 && u[run] != '"' && u[run] != '\\') run++;
        if (run > i) llm__jw_put(w, s + i, run - i);
        if (run >= n) break;
        esc[0] = '\\';
        switch (u[run]) {
        case '"': esc[1] = '"'; llm__jw_put(w, esc, 2); break;
        case '\\': esc[1] = '\\'; llm__jw_put(w, esc, 2); break;
        case '\n': esc[1] = 'n'; llm__jw_put(w, esc, 2); break;
        case '\r': esc[1] = 'r'; llm__jw_put(w, esc, 2); break;
        case '\t': esc[1] = 't'; llm__jw_put(w, esc, 2); break;
        case '\b': esc[1] = 'b'; llm__jw_put(w, esc, 2); break;
        case '\f': esc[1] = 'f'; llm__jw_put(w, esc, 2); break;
        default:
            esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
            esc[4] = hex[u[run] >> 4];
            esc[5] = hex[u[run] & 15];
            llm__jw_put(w, esc, 6);
        }
        i = run + 1;
    }
    llm__jw_put(w, "\"", 1);
}
static void llm__jw_quoted(llm_json_writer *w, const char *s, size_t n) {
    if (!s) { w->error = LLM_JSON_ERR_INVALID_ARG; return; }
    if (llm__utf8_valid((const unsigned char *)s, n) != n) { w->error = LLM_JSON_ERR_UTF8; return; }
    llm__jw_quoted_valid(w, s, n);
}
/* A string's bytes are checked before anything is written for it, so a
   writer with an error holds the text as it was before the failing call. */
static int llm__jw_str_ok(llm_json_writer *w, const char *s, size_t n) {
    if (w->error) return 0;
    if (!s) { w->error = LLM_JSON_ERR_INVALID_ARG; return 0; }
    if (llm__utf8_valid((const unsigned char *)s, n) != n) { w->error = LLM_JSON_ERR_UTF8; return 0; }
    return 1;
}
LLMASYNC_API void llm_jw_key_n(llm_json_writer *w, const char *key, size_t len) {
    if (w->error) return;
    if (!w->in_object[w->depth] || w->after_key || w->depth == 0) { w->error = LLM_JSON_ERR_INVALID_ARG; return; }
    if (!llm__jw_str_ok(w, key, len)) return;
    if (w->need_comma[w->depth]) llm__jw_put(w, ",", 1);
    w->need_comma[w->depth] = 1;
    llm__jw_quoted_valid(w, key, len);
    llm__jw_put(w, ":", 1);
    w->after_key = 1;
}
LLMASYNC_API void llm_jw_key(llm_json_writer *w, const char *key) {
    if (!key) { w->error = LLM_JSON_ERR_INVALID_ARG; return; }
    llm_jw_key_n(w, key, strlen(key));
}
LLMASYNC_API void llm_jw_string_n(llm_json_writer *w, const char *s, size_t len) {
    if (!llm__jw_str_ok(w, s, len) || !llm__jw_sep(w)) return;
    llm__jw_quoted_valid(w, s, len);
}
LLMASYNC_API void llm_jw_string(llm_json_writer *w, const char *s) {
    if (!s) { llm_jw_null(w); return; }
    llm_jw_string_n(w, s, strlen(s));
}
/* Shortest text that reads back as the same double, as JSON. printf may
   write the locale's decimal point (one byte or several): whatever stands
   between the digits and is not a digit, sign or exponent becomes '.',
   without asking the locale (localeconv is not thread-safe). */
static size_t llm__fmt_double(char *buf, size_t cap, double d) {
    int prec;
    size_t n = 0;
    char tmp[64];
    for (prec = 15; prec <= 17; prec++) {
        int k = snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        size_t i;
        if (k <= 0 || (size_t)k >= sizeof tmp) return 0;
        for (i = 0, n = 0; i < (size_t)k && n + 1 < cap; i++) {
            char ch = tmp[i];
            if ((ch >= '0' && ch <= '9') || ch == '-' || ch == '+' || ch == 'e' || ch == 'E') buf[n++] = ch;
            else if (n == 0 || buf[n - 1] != '.') buf[n++] = '.'; /* the decimal point, whatever its bytes */
        }
        buf[n] = '\0';
        if (llm__strtod(buf, n) == d) break;
    }
    return n;
}
LLMASYNC_API void llm_jw_number(llm_json_writer *w, double d) {
    char buf[40];
    size_t n;
    if (!(d - d == 0.0)) { w->error = LLM_JSON_ERR_INVALID_ARG; return; } /* NaN, inf */
    if (!llm__jw_sep(w)) return;
    n = llm__fmt_double(buf, sizeof buf, d);
    llm__jw_put(w, buf, n);
}
LLMASYNC_API void llm_jw_int(llm_json_writer *w, int64_t v) {
    char buf[24];
    int n;
    if (!llm__jw_sep(w)) return;
    n = snprintf(buf, sizeof buf, "%lld", (long long)v);
    llm__jw_put(w, buf, (size_t)n);
}
LLMASYNC_API void llm_jw_bool(llm_json_writer *w, int b) {
    if (!llm__jw_sep(w)) return;
    if (b) llm__jw_put(w, "true", 4); else llm__jw_put(w, "false", 5);
}
LLMASYNC_API void llm_jw_null(llm_json_writer *w) {
    if (!llm__jw_sep(w)) return;
    llm__jw_put(w, "null", 4);
}
LLMASYNC_API void llm_jw_raw(llm_json_writer *w, const char *json, size_t len) {
    if (!json) { w->error = LLM_JSON_ERR_INVALID_ARG; return; }
    if (!llm__jw_sep(w)) return;
    llm__jw_put(w, json, len);
}
/* Writes a parsed tree. Iterative (an explicit stack from the allocator), so
   depth costs no C stack. */
LLMASYNC_API void llm_jw_value(llm_json_writer *w, const llm_json_value *v) {
    typedef struct { const llm_json_value *c; size_t next; } frame;
    frame *st = NULL;
    size_t sp = 0, cap = 0;
    if (!v) { w->error = LLM_JSON_ERR_INVALID_ARG; return; }
    if (!llm__jw_sep(w)) return;
    for (;;) {
        if (v) { /* write v, or open it */
            switch (v->type) {
            case LLM_JSON_NULL: llm__jw_put(w, "null", 4); break;
            case LLM_JSON_TRUE: llm__jw_put(w, "true", 4); break;
            case LLM_JSON_FALSE: llm__jw_put(w, "false", 5); break;
            case LLM_JSON_NUMBER: llm__jw_put(w, v->str, v->len); break;
            case LLM_JSON_STRING: llm__jw_quoted(w, v->str, v->len); break;
            case LLM_JSON_ARRAY:
            case LLM_JSON_OBJECT:
                if (sp == cap) {
                    size_t nc = cap ? cap * 2 : 16;
                    frame *ns = (frame *)llm__realloc(&w->allocator, st, nc * sizeof(frame));
                    if (!ns) { w->error = LLM_JSON_ERR_NO_MEMORY; goto out; }
                    st = ns;
                    cap = nc;
                }
                st[sp].c = v;
                st[sp].next = 0;
                sp++;
                llm__jw_put(w, v->type == LLM_JSON_OBJECT ? "{" : "[", 1);
                break;
            }
            v = NULL;
        }
        if (w->error || sp == 0) break;
        { /* next child of the innermost open container, or close it */
            frame *f = &st[sp - 1];
            if (f->next < f->c->len) {
                const llm_json_value *ch = &f->c->items[f->next];
                if (f->next) llm__jw_put(w, ",", 1);
                if (f->c->type == LLM_JSON_OBJECT) {
                    llm__jw_quoted(w, ch->key ? ch->key : "", ch->key ? ch->key_len : 0);
                    llm__jw_put(w, ":", 1);
                }
                f->next++;
                v = ch;
            } else {
                llm__jw_put(w, f->c->type == LLM_JSON_OBJECT ? "}" : "]", 1);
                sp--;
            }
        }
    }
out:
    llm__free(&w->allocator, st);
}
LLMASYNC_API const char *llm_jw_text(const llm_json_writer *w, size_t *len) {
    if (!w || w->error || w->depth != 0 || w->after_key || !w->data) { if (len) *len = 0; return NULL; }
    if (len) *len = w->len;
    return w->data;
}

/* >>sse ==================================================================
   Incremental server-sent events decoder (WHATWG rules): lines end at CR, LF
   or CRLF, also when the CR and the LF arrive in different reads; ':' starts
   a comment; "field: value" splits at the first colon and loses one leading
   space; data lines join with '\n'; a blank line dispatches an event that
   has data; a leading BOM is skipped. Bytes are scanned once: a line that
   lies whole inside a read is handed on without copying. Line and event size
   are bounded by max (LLM_ERR_TOO_LARGE, never unbounded growth). */

typedef int (*llm__event_cb)(void *ctx, const char *event, size_t elen, const char *data, size_t dlen);

typedef struct llm__sse {
    llm__buf line;  /* unfinished line carried between reads */
    llm__buf data;  /* data of the event being built */
    llm__buf event; /* its event type */
    llm__buf id;    /* last event id */
    long retry_ms;  /* last retry field, -1 if none */
    int has_data;
    int skip_lf;    /* the previous read ended with CR */
    int bom_seen;   /* bytes of a leading BOM matched so far; 3 or -1: decided */
    int events;     /* data events dispatched */
    int comments;   /* comment lines seen (keep-alives) */
    size_t max;     /* an event's data (or type) may hold this many bytes */
    size_t line_max;/* a line: max and room for its field name */
    int err;        /* LLM_ERR_TOO_LARGE / LLM_ERR_NO_MEMORY / -1 (callback stop) */
} llm__sse;
#define LLM__SSE_FIELD_ROOM 16 /* "retry: ", "event: ", "data: " ... */

static void llm__sse_init(llm__sse *d, size_t max) {
    memset(d, 0, sizeof *d);
    d->retry_ms = -1;
    d->max = max;
    d->line_max = max > (size_t)-1 - LLM__SSE_FIELD_ROOM ? (size_t)-1 : max + LLM__SSE_FIELD_ROOM;
}
static void llm__sse_free(const llm_allocator *a, llm__sse *d) {
    llm__buf_free(a, &d->line);
    llm__buf_free(a, &d->data);
    llm__buf_free(a, &d->event);
    llm__buf_free(a, &d->id);
}

static int llm__sse_line(const llm_allocator *a, llm__sse *d, const char *l, size_t n, llm__event_cb cb, void *ctx) {
    const char *colon, *val;
    size_t flen, vlen;
    if (n == 0) { /* dispatch */
        int rc = 0;
        if (d->has_data) {
            d->events++;
            rc = cb(ctx, d->event.p ? d->event.p : "", d->event.len, d->data.p ? d->data.p : "", d->data.len);
        }
        llm__buf_clear(&d->data);
        llm__buf_clear(&d->event);
        d->has_data = 0;
        if (rc) { d->err = -1; return 0; }
        return 1;
    }
    if (l[0] == ':') { d->comments++; return 1; }
    colon = (const char *)memchr(l, ':', n);
    flen = colon ? (size_t)(colon - l) : n;
    val = colon ? colon + 1 : l + n;
    vlen = colon ? n - flen - 1 : 0;
    if (vlen && val[0] == ' ') { val++; vlen--; }
    if (llm__eq_n(l, flen, "data")) {
        /* the event's data: lines joined by '\n', at most max bytes */
        size_t have = d->data.len + (size_t)d->has_data;
        if (have > d->max || vlen > d->max - have) { d->err = LLM_ERR_TOO_LARGE; return 0; }
        if ((d->has_data && !llm__buf_add(a, &d->data, "\n", 1)) || !llm__buf_add(a, &d->data, val, vlen)) {
            d->err = LLM_ERR_NO_MEMORY;
            return 0;
        }
        d->has_data = 1;
    } else if (llm__eq_n(l, flen, "event")) {
        llm__buf_clear(&d->event);
        if (vlen > d->max || !llm__buf_add(a, &d->event, val, vlen)) {
            d->err = vlen > d->max ? LLM_ERR_TOO_LARGE : LLM_ERR_NO_MEMORY;
            return 0;
        }
    } else if (llm__eq_n(l, flen, "id")) {
        if (!memchr(val, '\0', vlen)) {
            llm__buf_clear(&d->id);
            if (!llm__buf_add(a, &d->id, val, vlen)) { d->err = LLM_ERR_NO_MEMORY; return 0; }
        }
    } else if (llm__eq_n(l, flen, "retry")) {
        size_t k;
        long v = 0;
        for (k = 0; k < vlen && val[k] >= '0' && val[k] <= '9'; k++)
            v = v <= 99999999 ? v * 10 + (val[k] - '0') : 999999999; /* saturates */
        if (k == vlen && vlen > 0) d->retry_ms = v;
    } /* other fields are ignored */
    return 1;
}

/* Feeds n bytes; 1 on success, 0 on error (d->err says which). */
static int llm__sse_feed(const llm_allocator *a, llm__sse *d, const char *p, size_t n, llm__event_cb cb, void *ctx) {
    static const unsigned char bom[3] = { 0xEF, 0xBB, 0xBF };
    const char *lf;
    while (d->bom_seen >= 0 && d->bom_seen < 3 && n) { /* the stream's first bytes */
        if ((unsigned char)*p == bom[d->bom_seen]) {
            d->bom_seen++;
            p++;
            n--;
        } else {
            int had = d->bom_seen;
            d->bom_seen = -1;
            if (had && !llm__sse_feed(a, d, (const char *)bom, (size_t)had, cb, ctx)) return 0;
        }
    }
    if (d->bom_seen >= 0 && d->bom_seen < 3) return 1; /* still undecided */
    lf = (const char *)memchr(p, '\n', n);
    while (n) {
        const char *cr;
        size_t k, lim;
        if (d->skip_lf) {
            d->skip_lf = 0;
            if (*p == '\n') { p++; n--; continue; }
        }
        /* the next line end: the first LF is looked up once per read, not
           once per line, so CR-only streams stay linear */
        if (lf && lf < p) lf = (const char *)memchr(p, '\n', n);
        lim = lf ? (size_t)(lf - p) : n;
        cr = (const char *)memchr(p, '\r', lim);
        k = cr ? (size_t)(cr - p) : lim;
        if (k == n) { /* unfinished line: keep it */
            if (n > d->line_max - d->line.len) { d->err = LLM_ERR_TOO_LARGE; return 0; }
            if (!llm__buf_add(a, &d->line, p, n)) { d->err = LLM_ERR_NO_MEMORY; return 0; }
            return 1;
        }
        if (d->line.len) {
            int ok;
            if (k > d->line_max - d->line.len) { d->err = LLM_ERR_TOO_LARGE; return 0; }
            if (!llm__buf_add(a, &d->line, p, k)) { d->err = LLM_ERR_NO_MEMORY; return 0; }
            ok = llm__sse_line(a, d, d->line.p, d->line.len, cb, ctx);
            llm__buf_clear(&d->line);
            if (!ok) return 0;
        } else {
            if (k > d->line_max) { d->err = LLM_ERR_TOO_LARGE; return 0; }
            if (!llm__sse_line(a, d, p, k, cb, ctx)) return 0;
        }
        if (p[k] == '\r') {
            if (k + 1 < n) { if (p[k + 1] == '\n') k++; }
            else d->skip_lf = 1;
        }
        p += k + 1;
        n -= k + 1;
    }
    return 1;
}

/* >>ndjson ===============================================================
   One JSON document per line (Ollama). LF or CRLF; blank lines skipped;
   bounded like SSE. The event callback gets each line as data. */

typedef struct llm__ndjson { llm__buf line; size_t max; int err; int events; } llm__ndjson;

static int llm__nd_line(llm__ndjson *d, const char *l, size_t n, llm__event_cb cb, void *ctx) {
    size_t i;
    if (n && l[n - 1] == '\r') n--;
    for (i = 0; i < n; i++)
        if (l[i] != ' ' && l[i] != '\t') break;
    if (i == n) return 1;
    d->events++;
    if (cb(ctx, "", 0, l, n)) { d->err = -1; return 0; }
    return 1;
}
static int llm__nd_feed(const llm_allocator *a, llm__ndjson *d, const char *p, size_t n, llm__event_cb cb, void *ctx) {
    while (n) {
        const char *nl = (const char *)memchr(p, '\n', n);
        size_t k = nl ? (size_t)(nl - p) : n;
        if (!nl) {
            if (d->line.len + n > d->max) { d->err = LLM_ERR_TOO_LARGE; return 0; }
            if (!llm__buf_add(a, &d->line, p, n)) { d->err = LLM_ERR_NO_MEMORY; return 0; }
            return 1;
        }
        if (d->line.len) {
            int ok;
            if (d->line.len + k > d->max) { d->err = LLM_ERR_TOO_LARGE; return 0; }
            if (!llm__buf_add(a, &d->line, p, k)) { d->err = LLM_ERR_NO_MEMORY; return 0; }
            ok = llm__nd_line(d, d->line.p, d->line.len, cb, ctx);
            llm__buf_clear(&d->line);
            if (!ok) return 0;
        } else {
            if (k > d->max) { d->err = LLM_ERR_TOO_LARGE; return 0; }
            if (!llm__nd_line(d, p, k, cb, ctx)) return 0;
        }
        p += k + 1;
        n -= k + 1;
    }
    return 1;
}
/* End of stream: a last line without a newline still counts. */
static int llm__nd_finish(llm__ndjson *d, llm__event_cb cb, void *ctx) {
    int ok = 1;
    if (d->line.len) ok = llm__nd_line(d, d->line.p, d->line.len, cb, ctx);
    llm__buf_clear(&d->line);
    return ok;
}

/* >>structs ============================================================== */

enum { LLM__K_CHAT, LLM__K_EMBED, LLM__K_RAW, LLM__K_GROUP, LLM__K_RESPONSES, LLM__K_SPEECH, LLM__K_AUDIO, LLM__K_RERANK };
/* Which client list holds a request; one list per state, plus the reported. */
enum { LLM__L_NONE, LLM__L_QUEUED, LLM__L_ACTIVE, LLM__L_RETRY, LLM__L_GROUP, LLM__L_DONE, LLM__L_HELD, LLM__L_COUNT };
/* How the body of the current attempt is consumed. */
enum { LLM__M_UNDECIDED, LLM__M_STREAM, LLM__M_BUFFER, LLM__M_BINARY };

typedef struct llm__provider {
    char *name;         /* routing prefix */
    llm_api api;
    char *base_url;     /* without trailing '/' */
    char *api_key;      /* "" when none */
    int builtin_openai; /* the default OpenAI endpoint: max_completion_tokens */
} llm__provider;

typedef struct llm__list { llm_request *head, *tail; int count; } llm__list;

typedef struct llm__tool {
    int index;
    llm__buf id, type, name, args;
    llm_json_value *args_json;
    llm_json_value *pdoc;   /* llm_request_partial_tool_args: of args[0, pdoc_len) */
    size_t pdoc_len;
    llm_tool_call pub;
} llm__tool;

typedef struct llm__choice { /* n > 1: choices 1.. */
    int index;
    llm__buf text;
    char finish[32];
    struct llm__tool *tools;    /* its tool calls (see llm__choice_tools_swap) */
    int n_tools, cap_tools;
} llm__choice;
typedef struct llm__rank { int index; double score; } llm__rank;
#define LLM__MAX_CHOICES 128

/* The I/O back end's state; its operations are in >>io. */
#if defined(LLM__IO_EPOLL)
typedef struct llm__io {
    int ep;               /* epoll set: curl's sockets and the wake pipe */
    int wake[2];          /* llm_wakeup writes [1]; the set watches [0] */
    int64_t curl_due;     /* when curl's own timer fires */
} llm__io;
#elif defined(LLM__IO_POLL)
typedef struct llm__io {
    struct pollfd *pfd;   /* [0] is the wake pipe, then curl's sockets */
    int n, cap;
    int wake[2];
    int64_t curl_due;
} llm__io;
#else
typedef struct llm__io {
    volatile long woken;  /* llm_wakeup sets it (atomically) */
} llm__io;
#endif

static int llm__io_room(llm_client *c, int transfers); /* >>io */
static void llm__io_kick(llm_client *c);               /* >>io */

/* Record and replay's state (>>record): one exchange of a replay file... */
typedef struct llm__rx {
    const llm_json_value *events;
    const char *method, *path, *hash;
    size_t body_len;
    int curl;
    const char *curl_error;
    llm_timeout_kind timeout;
    int used;
} llm__rx;

typedef struct llm__rec {
    FILE *out;              /* recording: appended to, a line per exchange */
    llm_json_value **docs;  /* replay: the file, a document per line */
    int n_docs;
    llm__rx *xs;
    int n_xs;
    int paced;              /* replay at the recorded offsets */
} llm__rec;

struct llm_client {
    llm_allocator alloc;
    CURLM *multi;
    CURLSH *share;        /* TLS sessions (and DNS) shared by the client's transfers */
    struct llm__pace *pace; /* per provider (c->prov[i]): rate-limit state (>>pacing) */
    int rate_rpm, rate_tpm;
    int pacing;           /* some provider may be held: admission looks at each request */
    llm__provider *prov;
    int n_prov;
    int max_concurrent, max_retries, retry_cap_ms;
    long connect_ms;
    int64_t first_byte_us, idle_us, total_us;
    size_t max_response, max_event;
    int max_depth, max_tools;
    char *ca_file;
    char *proxy, *no_proxy;     /* NULL: libcurl's environment */
    int native_ca;
    char *anthropic_version;
    char *user_agent;           /* the desc's, whole, or llmasync/<version> libcurl/<version> */
    llm_log_fn log_fn;
    void *log_ud;
    llm__list lists[LLM__L_COUNT];
    llm_request *notify_head, *notify_tail; /* requests with callbacks to deliver */
    int n_inflight;       /* requests the host sees that are not terminal */
    int64_t next_timer;   /* no deadline of any request is earlier than this */
    int64_t cb_now;       /* clock read once per curl write callback */
    int text_news;        /* a stream without on_delta got text since the
                             last llm_wait returned (LLM_WAIT_TEXT) */
    int deliver_depth;
    int woken;
    uint64_t rng;
    unsigned seq;
    int curl_global;
    llm__io io;           /* the I/O back end's own state (>>io) */
    int io_inited;        /* llm__io_init was called: llm__io_free must be */
    int io_failed;        /* some request's socket could not be watched */
    /* the host's own event loop (>>io: external); ext == 0: our back end */
    int ext;
    llm_watch_socket_fn ext_watch;
    llm_set_timer_fn ext_set_timer;
    void *ext_ud;
    int64_t ext_curl_due; /* when curl's timer is due */
    int64_t ext_armed;    /* the host's timer is set for this (INT64_MAX: none) */
    int ext_in_cb;        /* inside watch_socket / set_timer */
    /* frame budget (llm_poll_budget; see >>budget) */
    int budgeted;         /* the running pump has a budget ... */
    int64_t budget_end;   /* ... that ends here */
    int budget_did;       /* the running pump did a unit of work */
    llm_request *paused_head, *paused_tail; /* transfers the budget paused, oldest first */
    llm_request *held;    /* a finished transfer read from curl, its turn left to the next pump */
    CURLcode held_res;    /* ... and curl's result for it */
    int io_left;          /* the budget left ready sockets or curl's due timer */
    llm__rec *rec;        /* recording or replaying (>>record); NULL: neither */
};

/* What one attempt learned and received: reset before each attempt
   (llm__attempt_reset), freed with the request (llm__attempt_free); nothing
   of it survives into the next attempt. Everything it allocates from the
   response goes through the request's meter (r->ra), which bounds it. */
typedef struct llm__attempt {
    long http_status;
    int mode, got_byte;
    int framing;                /* stream: 1 SSE, 2 NDJSON, 0 undecided */
    int stream_done;            /* end marker seen: [DONE], message_stop, done */
    char h_request_id[128], h_content_type[96], h_retry_after[64], h_retry_after_ms[32], h_location[256];
    int h_should_retry;         /* -1 absent, 0 false, 1 true */
    /* the server's rate-limit headers (>>pacing): which are known (LLM__RL_*),
       what remains, and in how long each budget resets */
    unsigned rl_have;
    int64_t rl_req, rl_tok, rl_req_reset_us, rl_tok_reset_us;
    size_t header_bytes;        /* response header block so far */
    size_t bytes;               /* response body bytes */
    int curl_code;
    char errbuf[CURL_ERROR_SIZE];
    llm__buf raw;               /* buffered body (non-stream, errors) */
    llm__sse sse;
    llm__ndjson nd;
    llm__buf scratch;           /* parse memory for stream events */
    int abort_kind, abort_retryable;
    llm_timeout_kind abort_timeout;
    char abort_msg[384];
    /* the provider's own error detail (error body, error event) */
    llm__buf pmsg;
    char type[64], code[64], param[64];
    /* the answer as it arrives */
    llm__buf text, reasoning;
    size_t take_off, cb_off;
    llm__tool *tools;
    int n_tools, cap_tools;
    int tool_news;              /* a tool call grew since llm__deliver looked */
    llm_usage usage;
    char finish_reason[32], resp_id[128], resp_model[128];
    llm_json_value *doc, *content_doc;
    llm_json_value *pdoc;       /* llm_request_partial_json: of text[0, pdoc_len) */
    size_t pdoc_len;
    llm__buf events;            /* raw streams: events not yet delivered */
    size_t events_off;
    float *vec;                 /* embeddings */
    int n_vec, dim;
    llm__buf refusal;           /* the model declined: its words */
    llm__choice *choices;       /* n > 1: the other choices */
    int n_choices, cap_choices;
    llm__buf bin;               /* a binary answer (speech) */
    size_t bin_take, bin_cb;
    llm__rank *ranks;           /* rerank results, best first */
    int n_ranks;
    int64_t t_first_byte, t_first_token;
} llm__attempt;

/* How the request ended or, while it waits to retry, how its last attempt
   failed: what llm_request_error shows. One writer (llm__outcome_set and
   llm__outcome_done, which start from nothing each time), one free
   (llm__outcome_free). The strings live in one allocation, keys masked. */
typedef struct llm__outcome {
    llm_error err;
    char *strs;
} llm__outcome;

#define LLM__REQ_LIVE 0x4C4C4D52u  /* "LLMR" */
#define LLM__REQ_FREED 0xDEADF4EEu
/* API misuse: a request used after llm_request_free (debug builds). */
#define LLM__LIVE(r) LLM_ASSERT((r)->magic == LLM__REQ_LIVE && "llmasync: request used after llm_request_free")

struct llm_request {
    llm_client *c;
    llm_request *prev, *next;   /* in c->lists[list] */
    unsigned magic;             /* LLM__REQ_LIVE until freed (misuse checks);
                                   not in the first 16 bytes, which an
                                   allocator may reuse at once */
    llm_status status;
    int kind;
    int list;
    llm_request *nprev, *nnext; /* in the notify list */
    int notify;
    unsigned seq;
    const llm__provider *prov;
    /* what to send (all owned copies) */
    char *url;
    char *body;
    size_t body_len;
    struct curl_slist *hdrs;    /* nodes and strings in one allocation of ours */
    char *ctype;                /* the body's Content-Type header; NULL: JSON */
    char *upload;               /* llm_audio_desc.path's bytes until the body holds them */
    int stream;
    int counted;                /* counted in c->n_inflight */
    /* settings */
    int max_retries;
    int priority;               /* admission order (llm__link_queued) */
    int64_t idle_us, first_byte_us;
    void *user_data;
    llm_delta_fn on_delta;
    llm_done_fn on_done;
    llm_event_fn on_event;
    llm_bytes_fn on_audio;
    /* transfer */
    CURL *easy;
    int in_multi;
    int retries;
    int64_t t_submit, t_attempt, t_last_event;
    int64_t deadline_total, retry_at;
    /* the response memory meter: ra allocates through c->alloc, counting */
    llm_allocator ra;
    size_t meter_used, meter_limit;
    int meter_over;             /* an allocation was refused by the bound */
    llm__attempt a;
    /* embeddings */
    int n_inputs;
    /* groups (batched embeddings) */
    llm_request *parent;
    llm_request **children;
    int n_children, children_left, batch_size;
    /* outcome */
    llm__outcome o;
    llm_timings tm;
    int terminal;    /* reached DONE, FAILED or CANCELLED (set once) */
    int done_called; /* on_done delivered */
    int blocking, in_cb, free_pending;
    int pinned;      /* llm_chat_blocking is waiting on it: a free is deferred */
    int io_failed;   /* its socket could not be watched: fail it next pump */
    int paused;      /* the budget paused its transfer (in c->paused_*) */
    llm_request *pprev, *pnext;
    int64_t t_paused;
    /* record and replay (>>record) */
    llm__buf rec_buf;           /* recording: this attempt's events so far */
    int rec_on;                 /* recording this attempt */
    const struct llm__rx *rpx;  /* replaying this attempt from this exchange */
    size_t rp_i;                /* ... its next event ... */
    int64_t rp_due;             /* ... due then */
};

/* >>errors =============================================================== */

LLMASYNC_API const char *llm_error_string(llm_error_kind k) {
    switch (k) {
    case LLM_ERR_NONE: return "none";
    case LLM_ERR_CONNECTION: return "connection";
    case LLM_ERR_TIMEOUT: return "timeout";
    case LLM_ERR_RATE_LIMIT: return "rate_limit";
    case LLM_ERR_AUTH: return "auth";
    case LLM_ERR_PERMISSION: return "permission";
    case LLM_ERR_BAD_REQUEST: return "bad_request";
    case LLM_ERR_NOT_FOUND: return "not_found";
    case LLM_ERR_CONFLICT: return "conflict";
    case LLM_ERR_TOO_LARGE: return "too_large";
    case LLM_ERR_UNPROCESSABLE: return "unprocessable";
    case LLM_ERR_SERVER: return "server";
    case LLM_ERR_OVERLOADED: return "overloaded";
    case LLM_ERR_PROTOCOL: return "protocol";
    case LLM_ERR_CANCELLED: return "cancelled";
    case LLM_ERR_INVALID: return "invalid";
    case LLM_ERR_NO_MEMORY: return "no_memory";
    case LLM_ERR_COUNT_: break;
    }
    return "unknown";
}

LLMASYNC_API const char *llm_status_string(llm_status s) {
    switch (s) {
    case LLM_QUEUED: return "queued";
    case LLM_ACTIVE: return "active";
    case LLM_RETRY_WAIT: return "retry_wait";
    case LLM_DONE: return "done";
    case LLM_FAILED: return "failed";
    case LLM_CANCELLED: return "cancelled";
    }
    return "unknown";
}

static const char *llm__timeout_name(llm_timeout_kind t) {
    switch (t) {
    case LLM_TIMEOUT_CONNECT: return "connect";
    case LLM_TIMEOUT_FIRST_BYTE: return "first byte";
    case LLM_TIMEOUT_IDLE: return "stream idle";
    case LLM_TIMEOUT_TOTAL: return "total";
    case LLM_TIMEOUT_SERVER: return "server (HTTP 408)";
    case LLM_TIMEOUT_NONE: break;
    }
    return "";
}

/* The status table of BEHAVIOUR.md. Below 400 nothing is an error status
   of these APIs: a 1xx that ends a transfer, a 2xx where a failure is
   mapped, a 3xx: none is an answer, so each is a protocol error. */
static llm_error_kind llm__kind_of_status(long s) {
    if (s < 400) return LLM_ERR_PROTOCOL;
    switch (s) {
    case 400: return LLM_ERR_BAD_REQUEST;
    case 401: return LLM_ERR_AUTH;
    case 403: return LLM_ERR_PERMISSION;
    case 404: return LLM_ERR_NOT_FOUND;
    case 408: return LLM_ERR_TIMEOUT;
    case 409: return LLM_ERR_CONFLICT;
    case 413: return LLM_ERR_TOO_LARGE;
    case 422: return LLM_ERR_UNPROCESSABLE;
    case 429: return LLM_ERR_RATE_LIMIT;
    case 529: return LLM_ERR_OVERLOADED;
    default: break;
    }
    if (s >= 500) return LLM_ERR_SERVER;
    return LLM_ERR_BAD_REQUEST;
}

/* A provider's error type, where it says more than the status (mid-stream
   errors have no status of their own). */
static llm_error_kind llm__kind_of_type(const char *t, llm_error_kind fallback) {
    if (!t || !*t) return fallback;
    if (!strcmp(t, "overloaded_error")) return LLM_ERR_OVERLOADED;
    if (!strcmp(t, "rate_limit_error") || !strcmp(t, "rate_limit_exceeded") || !strcmp(t, "tokens")) return LLM_ERR_RATE_LIMIT;
    if (!strcmp(t, "authentication_error")) return LLM_ERR_AUTH;
    if (!strcmp(t, "permission_error")) return LLM_ERR_PERMISSION;
    if (!strcmp(t, "not_found_error")) return LLM_ERR_NOT_FOUND;
    if (!strcmp(t, "request_too_large")) return LLM_ERR_TOO_LARGE;
    if (!strcmp(t, "api_error") || !strcmp(t, "server_error")) return LLM_ERR_SERVER;
    return fallback;
}

/* Copies at most cap-1 bytes, never cutting a UTF-8 sequence in two. */
static void llm__copy_cut(char *dst, size_t cap, const char *s, size_t n) {
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* Key masking. Every run of LLM__MASK_MIN or more consecutive characters of
   a configured key becomes "***" wherever the text holds it: plain, JSON-
   escaped (\u0073, \/) or URL-encoded (%73), whole or in pieces, cut or not.
   So a cut can never leave more than LLM__MASK_MIN - 1 characters of a key
   behind, whichever comes first, the cut or the masking. */
#define LLM__MASK_MIN 8

/* Does text[i..] hold the key character ch, plainly or encoded? Returns the
   bytes it takes in text, 0 if not. */
static size_t llm__mask_char(const char *t, size_t n, size_t i, char ch) {
    /* the encoded readings first: a key's own '%' or backslash arrives
       URL-encoded ("%25") or JSON-escaped (two backslashes), and the first
       byte alone would match it plainly and leave the rest unmatched */
    if (t[i] == '%' && i + 2 < n) {
        int h = llm__hexval((unsigned char)t[i + 1]), l = llm__hexval((unsigned char)t[i + 2]);
        if (h >= 0 && l >= 0 && h * 16 + l == (unsigned char)ch) return 3;
    }
    if (t[i] == '\\' && i + 1 < n) {
        if (t[i + 1] == ch && (ch == '/' || ch == '\\' || ch == '"')) return 2;
        if (t[i + 1] == 'u' && i + 5 < n) {
            int k, v = 0;
            for (k = 2; k < 6; k++) {
                int h = llm__hexval((unsigned char)t[i + k]);
                if (h < 0) break;
                v = v * 16 + h;
            }
            if (k == 6 && v == (unsigned char)ch) return 6;
        }
    }
    return t[i] == ch ? 1 : 0;
}

/* The text bytes of the longest run of one key starting at text[i] (0 when
   no run reaches the minimum). A run may start anywhere in the key. */
static size_t llm__mask_run(const char *t, size_t n, size_t i, const char *key, size_t kl) {
    size_t best = 0, j;
    for (j = 0; j + LLM__MASK_MIN <= kl; j++) {
        size_t at = i, m = 0, step;
        if (t[i] != key[j] && t[i] != '%' && t[i] != '\\') continue;
        while (j + m < kl && at < n && (step = llm__mask_char(t, n, at, key[j + m])) != 0) { at += step; m++; }
        if (m >= LLM__MASK_MIN && at - i > best) best = at - i;
    }
    return best;
}

/* Masks every key of the client in t[0..*n) (NULs allowed), in place; the
   text only shrinks. Keys shorter than the run length are masked whole. */
static void llm__mask_n(const llm_client *c, char *t, size_t *n) {
    size_t i = 0;
    int k;
    for (k = 0; k < c->n_prov; k++) { /* the common case: nothing to find */
        const char *key = c->prov[k].api_key;
        if (strlen(key) >= 6) break;
    }
    if (k == c->n_prov) return;
    while (i < *n) {
        size_t span = 0;
        for (k = 0; k < c->n_prov; k++) {
            const char *key = c->prov[k].api_key;
            size_t kl = strlen(key), run;
            if (kl < 6) continue;
            if (kl < LLM__MASK_MIN) { /* a short key: only whole */
                size_t at = i, m = 0, step;
                while (m < kl && at < *n && (step = llm__mask_char(t, *n, at, key[m])) != 0) { at += step; m++; }
                run = m == kl ? at - i : 0;
            } else {
                run = llm__mask_run(t, *n, i, key, kl);
            }
            if (run > span) span = run;
        }
        if (span >= 3) {
            memcpy(t + i, "***", 3);
            memmove(t + i + 3, t + i + span, *n - i - span);
            *n -= span - 3;
            i += 3;
        } else {
            i++;
        }
    }
}
static void llm__mask(const llm_client *c, char *s) {
    size_t n = strlen(s);
    llm__mask_n(c, s, &n);
    s[n] = '\0';
}

/* Provider messages are kept whole up to this many bytes; a longer one is
   cut at a character boundary and ends with LLM__CUT_MARK. */
#ifndef LLM_PROVIDER_MESSAGE_MAX
#define LLM_PROVIDER_MESSAGE_MAX 4096
#endif
#define LLM__CUT_MARK " [...]"

/* >>log ================================================================== */

static void llm__log(llm_client *c, llm_log_level lv, const char *fmt, ...) {
    char buf[LLM_PROVIDER_MESSAGE_MAX + 1024];
    va_list ap;
    if (!c->log_fn) return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    llm__mask(c, buf); /* before the cut below, and any fragment left is short */
    llm__utf8_trim(buf);
    c->log_fn(lv, buf, c->log_ud);
}

/* >>request helpers ====================================================== */

static void llm__abort(llm_request *r, llm_error_kind kind, int retryable, const char *fmt, ...) {
    va_list ap;
    int n;
    if (r->a.abort_kind) return; /* the first cause wins */
    if (kind == LLM_ERR_NO_MEMORY && r->meter_over) {
        /* not the system's memory: the response's bound said no */
        r->a.abort_kind = LLM_ERR_TOO_LARGE;
        r->a.abort_retryable = 0;
        snprintf(r->a.abort_msg, sizeof r->a.abort_msg,
                 "the response needs more memory than its bound (2 x max_response_bytes + 1 MiB = %lu bytes)",
                 (unsigned long)(2 * r->c->max_response + ((size_t)1 << 20)));
        return;
    }
    r->a.abort_kind = (int)kind;
    r->a.abort_retryable = retryable;
    va_start(ap, fmt);
    n = vsnprintf(r->a.abort_msg, sizeof r->a.abort_msg, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof r->a.abort_msg) { /* cut like a provider message: at a character, marked */
        size_t mark = sizeof LLM__CUT_MARK - 1, keep = sizeof r->a.abort_msg - 1 - mark;
        while (keep > 0 && ((unsigned char)r->a.abort_msg[keep] & 0xC0) == 0x80) keep--;
        memcpy(r->a.abort_msg + keep, LLM__CUT_MARK, mark + 1);
    }
    llm__utf8_trim(r->a.abort_msg);
}

static void llm__notify(llm_request *r) {
    llm_client *c = r->c;
    if (r->notify || r->parent) return;
    r->notify = 1;
    r->nnext = NULL;
    r->nprev = c->notify_tail;
    if (c->notify_tail) c->notify_tail->nnext = r; else c->notify_head = r;
    c->notify_tail = r;
}
static void llm__unnotify(llm_request *r) {
    llm_client *c = r->c;
    if (!r->notify) return;
    if (r->nprev) r->nprev->nnext = r->nnext; else c->notify_head = r->nnext;
    if (r->nnext) r->nnext->nprev = r->nprev; else c->notify_tail = r->nprev;
    r->nprev = r->nnext = NULL;
    r->notify = 0;
}

static void llm__first_token(llm_request *r) {
    if (r->a.t_first_token) return;
    r->a.t_first_token = r->c->cb_now ? r->c->cb_now : llm__now_us();
    r->tm.first_token_ms = (double)(r->a.t_first_token - r->t_submit) / 1000.0;
}
static int llm__add_text(llm_request *r, const char *s, size_t n) {
    if (!n) return 1;
    if (!llm__buf_add(&r->ra, &r->a.text, s, n)) {
        llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory while receiving text");
        return 0;
    }
    llm__first_token(r);
    llm__notify(r);
    return 1;
}
static int llm__add_reasoning(llm_request *r, const char *s, size_t n) {
    if (n && !llm__buf_add(&r->ra, &r->a.reasoning, s, n)) {
        llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory while receiving text");
        return 0;
    }
    return 1;
}

static void llm__set_str(char *dst, size_t cap, const llm_json_value *v) {
    size_t n;
    const char *s = llm_json_string(v, &n);
    if (s) llm__copy_cut(dst, cap, s, n);
}

/* A tool call grew: news for llm_wait (LLM_WAIT_TEXT) when nobody is told
   through a callback, so a host can read the partial arguments. */
static void llm__tool_news(llm_request *r) {
    r->a.tool_news = 1;
    llm__notify(r);
}

/* The tool call with this index, created on first sight; bounded. */
static llm__tool *llm__tool_at(llm_request *r, int index) {
    int i;
    llm__tool *t;
    for (i = r->a.n_tools - 1; i >= 0; i--)
        if (r->a.tools[i].index == index) return &r->a.tools[i];
    if (index < 0 || r->a.n_tools >= r->c->max_tools) {
        llm__abort(r, LLM_ERR_PROTOCOL, 0, "tool call index %d outside the limit of %d", index, r->c->max_tools);
        return NULL;
    }
    if (r->a.n_tools == r->a.cap_tools) {
        int nc = r->a.cap_tools ? r->a.cap_tools * 2 : 4;
        llm__tool *nt = (llm__tool *)llm__realloc(&r->ra, r->a.tools, (size_t)nc * sizeof(llm__tool));
        if (!nt) { llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory for tool calls"); return NULL; }
        r->a.tools = nt;
        r->a.cap_tools = nc;
    }
    t = &r->a.tools[r->a.n_tools++];
    memset(t, 0, sizeof *t);
    t->index = index;
    llm__notify(r);
    llm__first_token(r);
    return t;
}
static int llm__tool_set(llm_request *r, llm__buf *b, const llm_json_value *v, int append) {
    size_t n;
    const char *s = llm_json_string(v, &n);
    if (!s) return 1;
    if (!append) llm__buf_clear(b);
    if (!llm__buf_add(&r->ra, b, s, n)) { llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory for tool calls"); return 0; }
    if (n) llm__tool_news(r);
    return 1;
}
static int llm__tool_type(llm_request *r, llm__tool *t, const char *type) {
    llm__buf_clear(&t->type);
    if (!llm__buf_adds(&r->ra, &t->type, type)) { llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory for tool calls"); return 0; }
    return 1;
}
/* Arguments that arrive as an object (Anthropic non-stream, Ollama). A
   failure is recorded by llm__abort, which ends the request. */
static void llm__tool_args_json(llm_request *r, llm__tool *t, const llm_json_value *v) {
    llm_json_writer w;
    size_t n;
    const char *s;
    if (!v) return;
    if (v->type == LLM_JSON_STRING) { (void)llm__tool_set(r, &t->args, v, 1); return; }
    llm_jw_init(&w, &r->ra);
    llm_jw_value(&w, v);
    s = llm_jw_text(&w, &n);
    if (!s || !llm__buf_add(&r->ra, &t->args, s, n)) llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory for tool calls");
    else if (n) llm__tool_news(r);
    llm_jw_free(&w);
}

/* Token counts come from the server: sums saturate instead of overflowing. */
static int64_t llm__sat_add(int64_t a, int64_t b) {
    if (b > 0 && a > INT64_MAX - b) return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b) return INT64_MIN;
    return a + b;
}

static void llm__usage_read(llm_usage *u, const llm_json_value *o) {
    int64_t v;
    if (!o || o->type != LLM_JSON_OBJECT) return;
    /* OpenAI */
    if (llm_json_int64(llm_json_get(o, "prompt_tokens"), &v)) u->prompt_tokens = v;
    if (llm_json_int64(llm_json_get(o, "completion_tokens"), &v)) u->completion_tokens = v;
    if (llm_json_int64(llm_json_get(o, "total_tokens"), &v)) u->total_tokens = v;
    if (llm_json_int64(llm_json_path(o, "prompt_tokens_details.cached_tokens"), &v)) u->cached_tokens = v;
    if (llm_json_int64(llm_json_path(o, "completion_tokens_details.reasoning_tokens"), &v)) u->reasoning_tokens = v;
    /* Anthropic (output_tokens is cumulative in message_delta) */
    if (llm_json_int64(llm_json_get(o, "input_tokens"), &v)) u->prompt_tokens = v;
    if (llm_json_int64(llm_json_get(o, "output_tokens"), &v)) u->completion_tokens = v;
    if (llm_json_int64(llm_json_get(o, "cache_read_input_tokens"), &v)) u->cached_tokens = v;
    /* Responses API */
    if (llm_json_int64(llm_json_path(o, "input_tokens_details.cached_tokens"), &v)) u->cached_tokens = v;
    if (llm_json_int64(llm_json_path(o, "output_tokens_details.reasoning_tokens"), &v)) u->reasoning_tokens = v;
    if (!llm_json_get(o, "total_tokens")) u->total_tokens = llm__sat_add(u->prompt_tokens, u->completion_tokens);
}

/* Copies a provider string into dst (cap bytes), cut at a character
   boundary with LLM__CUT_MARK when longer. */
static void llm__copy_marked(char *dst, size_t cap, const char *s, size_t n) {
    size_t mark = sizeof LLM__CUT_MARK - 1;
    if (n < cap) { memcpy(dst, s, n); dst[n] = '\0'; return; }
    n = cap - 1 - mark;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    memcpy(dst, s, n);
    memcpy(dst + n, LLM__CUT_MARK, mark + 1);
}
static void llm__set_marked(char *dst, size_t cap, const llm_json_value *v) {
    size_t n;
    const char *s = llm_json_string(v, &n);
    if (s) llm__copy_marked(dst, cap, s, n);
}
/* The provider's message: whole up to LLM_PROVIDER_MESSAGE_MAX bytes, else
   cut at a character boundary and marked. */
static void llm__set_pmsg(llm_request *r, const char *s, size_t n) {
    size_t mark = sizeof LLM__CUT_MARK - 1, keep = n;
    int cut = n > LLM_PROVIDER_MESSAGE_MAX;
    llm__buf_clear(&r->a.pmsg);
    if (cut) {
        keep = LLM_PROVIDER_MESSAGE_MAX - mark;
        while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80) keep--;
    }
    if (!llm__buf_add(&r->ra, &r->a.pmsg, s, keep) || (cut && !llm__buf_adds(&r->ra, &r->a.pmsg, LLM__CUT_MARK))) {
        llm__buf_clear(&r->a.pmsg);
        if (r->meter_over) r->meter_over = 0; /* over the bound: the message says less, the kind is still right */
        else llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory for the provider's error message");
    }
}
static void llm__set_pmsg_json(llm_request *r, const llm_json_value *v) {
    size_t n;
    const char *s = llm_json_string(v, &n);
    if (s) llm__set_pmsg(r, s, n);
}
static const char *llm__pmsg(const llm_request *r) { return r->a.pmsg.len ? r->a.pmsg.p : ""; }

/* Reads a provider error object ({"message","type","code","param"}, or a
   bare string) into the attempt's error detail. */
static void llm__error_detail(llm_request *r, const llm_json_value *e) {
    const llm_json_value *v;
    if (!e) return;
    if (e->type == LLM_JSON_STRING) { llm__set_pmsg_json(r, e); return; }
    if (e->type != LLM_JSON_OBJECT) return;
    llm__set_pmsg_json(r, llm_json_get(e, "message"));
    llm__set_marked(r->a.type, sizeof r->a.type, llm_json_get(e, "type"));
    v = llm_json_get(e, "code");
    if (v && v->type == LLM_JSON_NUMBER) llm__copy_marked(r->a.code, sizeof r->a.code, v->str, v->len);
    else llm__set_marked(r->a.code, sizeof r->a.code, v);
    llm__set_marked(r->a.param, sizeof r->a.param, llm_json_get(e, "param"));
}

/* Error bodies come in many shapes: OpenAI {"error":{...}}, Anthropic
   {"type":"error","error":{...}}, Ollama {"error":"..."}, FastAPI-style
   {"detail":...}, {"message":...}, HTML pages, plain text, nothing. A body
   too big to parse within the response's memory bound is shown as text:
   the status still says what happened. */
static void llm__decode_error_body(llm_request *r) {
    const char *b = r->a.raw.p ? r->a.raw.p : "";
    size_t n = r->a.raw.len;
    llm_json_value *doc;
    llm_json_options o;
    llm_json_result jr;
    memset(&o, 0, sizeof o);
    o.allocator = &r->ra;
    o.max_depth = r->c->max_depth;
    llm__buf_clear(&r->a.pmsg);
    r->a.type[0] = r->a.code[0] = r->a.param[0] = '\0';
    if (n == 0) return;
    doc = llm_json_parse(b, n, &o, &jr);
    if (!doc && jr.error == LLM_JSON_ERR_NO_MEMORY) {
        if (!r->meter_over) {
            llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory decoding an error body");
            return;
        }
        r->meter_over = 0; /* read it as text below */
    }
    if (doc) {
        const llm_json_value *e = llm_json_get(doc, "error"), *d;
        if (e) llm__error_detail(r, e);
        if (!r->a.pmsg.len) llm__set_pmsg_json(r, llm_json_get(doc, "message"));
        d = llm_json_get(doc, "detail");
        if (!r->a.pmsg.len && d) {
            if (d->type == LLM_JSON_STRING) llm__set_pmsg_json(r, d);
            else llm__set_pmsg_json(r, llm_json_path(d, "0.msg"));
        }
        if (!r->a.type[0]) llm__set_marked(r->a.type, sizeof r->a.type, llm_json_get(doc, "type"));
        if (!strcmp(r->a.type, "error")) r->a.type[0] = '\0';
        llm_json_free(doc);
        if (!r->a.pmsg.len) { /* JSON without a message: its first 200 bytes, whole characters */
            size_t k = n > 200 ? 200 : n;
            while (k > 0 && k < n && ((unsigned char)b[k] & 0xC0) == 0x80) k--;
            llm__set_pmsg(r, b, llm__utf8_valid((const unsigned char *)b, k));
        }
        return;
    }
    { /* not JSON: an HTML page's <title>, else the text with tags removed */
        const char *t = NULL, *te = NULL, *p;
        size_t i, o2 = 0, scan = n > ((size_t)1 << 20) ? ((size_t)1 << 20) : n; /* the start says enough */
        char tmp[LLM_PROVIDER_MESSAGE_MAX + 16];
        int in_tag = 0, space = 0;
        for (p = b; p + 7 <= b + scan; p++)
            if (llm__ieq_n(p, 7, "<title>")) { t = p + 7; break; }
        if (t)
            for (p = t; p + 8 <= b + scan; p++)
                if (llm__ieq_n(p, 8, "</title>")) { te = p; break; }
        if (t && te) { b = t; n = (size_t)(te - t); }
        for (i = 0; i < n && o2 < sizeof tmp - 8; i++) {
            unsigned char ch = (unsigned char)b[i];
            if (ch == '<') { in_tag = 1; continue; }
            if (ch == '>') { in_tag = 0; space = 1; continue; }
            if (in_tag) continue;
            if (ch < 0x20 || ch == ' ') { space = 1; continue; }
            if (space && o2) tmp[o2++] = ' ';
            space = 0;
            tmp[o2++] = (char)ch;
        }
        o2 = llm__utf8_valid((const unsigned char *)tmp, o2); /* keep the valid prefix */
        llm__set_pmsg(r, tmp, o2);
    }
}

/* >>provider: shared =====================================================
   Each wire API (llm_api) is one section below (>>api: ...) of a handful of
   operations, and one row of llm__apis (>>provider table): its URL paths
   and auth headers, body encoders, answer decoders, stream event decoder,
   framing and end marker. Nothing outside those sections knows which API
   it drives: adding a provider is one section and one row. This section
   holds what several APIs share. */
static int llm__extra_has(const llm_json_value *extra, const char *key) {
    return extra && llm_json_get(extra, key) != NULL;
}

static void llm__extra_write(llm_json_writer *w, const llm_json_value *extra) {
    size_t i;
    if (!extra) return;
    for (i = 0; i < extra->len; i++) {
        llm_jw_key_n(w, extra->items[i].key, extra->items[i].key_len);
        llm_jw_value(w, &extra->items[i]);
    }
}

typedef struct llm__chat_in {
    const llm_chat_desc *d;
    const char *model;   /* wire model name (prefix stripped) */
    const llm_json_value *extra;
    llm_json_value **raw_msgs; /* parsed raw_json per message, or NULL */
} llm__chat_in;

typedef struct llm__embed_in {
    const char *model;   /* wire model name */
    const char *const *inputs;
    int n, dimensions;
    const llm_json_value *extra;
} llm__embed_in;


static int llm__send_temp(const llm_chat_desc *d) { return d->has_temperature || d->temperature != 0.0; }


/* One or two headers, name and value apart (the value may be a secret). */
typedef struct llm__hdr { const char *name, *value; } llm__hdr;


static int llm__role_basic(const char *role) {
    static const char *roles[] = { "system", "developer", "user", "assistant", "tool" };
    size_t i;
    for (i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (!strcmp(role, roles[i])) return 1;
    return 0;
}
static int llm__oa_role_ok(const char *role) { return llm__role_basic(role) || !strcmp(role, "function"); }


/* The body both embeddings APIs share; each adds its own members. */
static void llm__enc_embed_begin(llm_json_writer *w, const llm__embed_in *in) {
    int i;
    llm_jw_object_begin(w);
    if (!llm__extra_has(in->extra, "model")) { llm_jw_key(w, "model"); llm_jw_string(w, in->model); }
    if (!llm__extra_has(in->extra, "input")) {
        llm_jw_key(w, "input");
        llm_jw_array_begin(w);
        for (i = 0; i < in->n; i++) llm_jw_string(w, in->inputs[i]);
        llm_jw_array_end(w);
    }
    if (in->dimensions > 0 && !llm__extra_has(in->extra, "dimensions")) { llm_jw_key(w, "dimensions"); llm_jw_int(w, in->dimensions); }
}
static void llm__enc_embed_end(llm_json_writer *w, const llm__embed_in *in) {
    llm__extra_write(w, in->extra);
    llm_jw_object_end(w);
}


/* Whole tool calls (OpenAI answers, Ollama lines): each is a new one, also
   when a stream sends them in separate lines. */
static void llm__dec_tool_calls(llm_request *r, const llm_json_value *tcs) {
    size_t i;
    for (i = 0; tcs && tcs->type == LLM_JSON_ARRAY && i < tcs->len && !r->a.abort_kind; i++) {
        const llm_json_value *tc = &tcs->items[i];
        llm__tool *t = llm__tool_at(r, r->a.n_tools);
        if (!t) return;
        llm__tool_set(r, &t->id, llm_json_get(tc, "id"), 0);
        llm__tool_set(r, &t->type, llm_json_get(tc, "type"), 0);
        if (!t->type.len) llm__tool_type(r, t, "function");
        llm__tool_set(r, &t->name, llm_json_path(tc, "function.name"), 0);
        llm__tool_args_json(r, t, llm_json_path(tc, "function.arguments"));
    }
}

/* The tool-call code reads and writes r->a.tools. Another choice's calls
   (n > 1) go through the same code: its array is swapped in for the call
   and swapped back after (every caller swaps twice, abort or not). */
static void llm__choice_tools_swap(llm_request *r, llm__choice *ch) {
    llm__tool *t = r->a.tools;
    int n = r->a.n_tools, cap = r->a.cap_tools;
    r->a.tools = ch->tools;
    r->a.n_tools = ch->n_tools;
    r->a.cap_tools = ch->cap_tools;
    ch->tools = t;
    ch->n_tools = n;
    ch->cap_tools = cap;
}

static void llm__dec_openai_message(llm_request *r, const llm_json_value *msg) {
    size_t n;
    const char *s;
    s = llm_json_string(llm_json_get(msg, "content"), &n);
    if (s) llm__add_text(r, s, n);
    s = llm_json_string(llm_json_get(msg, "reasoning_content"), &n);
    if (!s) s = llm_json_string(llm_json_get(msg, "reasoning"), &n);
    if (!s) s = llm_json_string(llm_json_get(msg, "thinking"), &n); /* Ollama */
    if (s) llm__add_reasoning(r, s, n);
    llm__dec_tool_calls(r, llm_json_get(msg, "tool_calls"));
}

/* What the server says of its answer (id, model, finish reason) is handed
   out as it arrives: masked as it is stored. */
static void llm__set_meta(llm_request *r, char *dst, size_t cap, const llm_json_value *v) {
    llm__set_str(dst, cap, v);
    llm__mask(r->c, dst);
}

static void llm__dec_meta(llm_request *r, const llm_json_value *root) {
    if (!r->a.resp_id[0]) llm__set_meta(r, r->a.resp_id, sizeof r->a.resp_id, llm_json_get(root, "id"));
    if (!r->a.resp_model[0]) llm__set_meta(r, r->a.resp_model, sizeof r->a.resp_model, llm_json_get(root, "model"));
}

static int llm__b64val(int ch) {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+' || ch == '-') return 62;
    if (ch == '/' || ch == '_') return 63;
    return -1;
}

/* One vector: a JSON array of numbers, or base64 of little-endian float32. */
static int llm__embed_vector(llm_request *r, const llm_json_value *e, int slot) {
    size_t i, n;
    float *out;
    if (!e) return 0;
    if (e->type == LLM_JSON_ARRAY) {
        n = e->len;
    } else if (e->type == LLM_JSON_STRING) {
        size_t chars = e->len;
        while (chars && e->str[chars - 1] == '=') chars--;
        n = chars * 6 / 8 / 4;
    } else {
        return 0;
    }
    if (n == 0 || n > 1000000) return 0;
    if (!r->a.vec) {
        if ((size_t)r->n_inputs > ((size_t)-1 / sizeof(float)) / n) return 0;
        r->a.dim = (int)n;
        r->a.vec = (float *)llm__calloc(&r->ra, (size_t)r->n_inputs * n * sizeof(float));
        if (!r->a.vec) { llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory for embeddings"); return 0; }
    }
    out = r->a.vec + (size_t)slot * (size_t)r->a.dim;
    if (e->type == LLM_JSON_ARRAY) {
        if (n != (size_t)r->a.dim) return 0;
        for (i = 0; i < n; i++) {
            double d;
            if (!llm_json_number(&e->items[i], &d)) return 0;
            /* a finite double beyond float's range has no float value
               (converting it is undefined): such a vector is malformed */
            if (d > 3.4028234663852886e38 || d < -3.4028234663852886e38) return 0;
            out[i] = (float)d;
        }
        return 1;
    } else { /* base64 */
        const char *s = e->str;
        unsigned char bytes[4];
        size_t k = 0, nb = 0, want = (size_t)r->a.dim * 4;
        uint32_t acc = 0;
        int bits = 0;
        for (i = 0; i < e->len && s[i] != '='; i++) {
            int v = llm__b64val((unsigned char)s[i]);
            if (v < 0) return 0;
            acc = (acc << 6) | (uint32_t)v;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                bytes[nb++ % 4] = (unsigned char)(acc >> bits);
                if (nb % 4 == 0) {
                    uint32_t u = (uint32_t)bytes[0] | ((uint32_t)bytes[1] << 8) | ((uint32_t)bytes[2] << 16) | ((uint32_t)bytes[3] << 24);
                    float f;
                    if (k >= (size_t)r->a.dim) return 0;
                    memcpy(&f, &u, sizeof f);
                    out[k++] = f;
                }
            }
        }
        return nb == want;
    }
}

/* The refusal text (OpenAI "refusal", Responses refusal parts). */
static int llm__add_refusal(llm_request *r, const char *s, size_t n) {
    if (n && !llm__buf_add(&r->ra, &r->a.refusal, s, n)) {
        llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory while receiving text");
        return 0;
    }
    if (n) llm__notify(r);
    return 1;
}

/* Choice index (>= 1) of an n > 1 answer, created on first sight; bounded. */
static llm__choice *llm__choice_at(llm_request *r, int64_t index) {
    int i;
    llm__choice *ch;
    for (i = 0; i < r->a.n_choices; i++)
        if (r->a.choices[i].index == index) return &r->a.choices[i];
    if (index < 1 || index >= LLM__MAX_CHOICES) {
        llm__abort(r, LLM_ERR_PROTOCOL, 0, "choice index %lld outside 0..%d", (long long)index, LLM__MAX_CHOICES - 1);
        return NULL;
    }
    if (r->a.n_choices == r->a.cap_choices) {
        int nc = r->a.cap_choices ? r->a.cap_choices * 2 : 4;
        llm__choice *n = (llm__choice *)llm__realloc(&r->ra, r->a.choices, (size_t)nc * sizeof *n);
        if (!n) { llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory for choices"); return NULL; }
        r->a.choices = n;
        r->a.cap_choices = nc;
    }
    ch = &r->a.choices[r->a.n_choices++];
    memset(ch, 0, sizeof *ch);
    ch->index = (int)index;
    return ch;
}
static int llm__choice_add(llm_request *r, llm__choice *ch, const llm_json_value *content, const llm_json_value *finish) {
    size_t n;
    const char *s = llm_json_string(content, &n);
    if (s && n && !llm__buf_add(&r->ra, &ch->text, s, n)) {
        llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory while receiving text");
        return 0;
    }
    if (finish) llm__set_str(ch->finish, sizeof ch->finish, finish);
    llm__mask(r->c, ch->finish);
    return 1;
}

/* Images: each API's own shape, from a URL or the bytes. */
static const char llm__b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static void llm__jw_b64(llm_json_writer *w, const unsigned char *d, size_t n) {
    char q[4];
    size_t i;
    for (i = 0; i + 2 < n; i += 3) {
        q[0] = llm__b64chars[d[i] >> 2];
        q[1] = llm__b64chars[((d[i] & 3) << 4) | (d[i + 1] >> 4)];
        q[2] = llm__b64chars[((d[i + 1] & 15) << 2) | (d[i + 2] >> 6)];
        q[3] = llm__b64chars[d[i + 2] & 63];
        llm__jw_put(w, q, 4);
    }
    if (i < n) {
        q[0] = llm__b64chars[d[i] >> 2];
        q[1] = llm__b64chars[((d[i] & 3) << 4) | (i + 1 < n ? d[i + 1] >> 4 : 0)];
        q[2] = i + 1 < n ? llm__b64chars[(d[i + 1] & 15) << 2] : '=';
        q[3] = '=';
        llm__jw_put(w, q, 4);
    }
}
/* A JSON string: prefix (plain ASCII) and the base64 of d. */
static void llm__jw_string_b64(llm_json_writer *w, const char *prefix, const unsigned char *d, size_t n) {
    if (!llm__jw_sep(w)) return;
    llm__jw_put(w, "\"", 1);
    llm__jw_put(w, prefix, strlen(prefix));
    llm__jw_b64(w, d, n);
    llm__jw_put(w, "\"", 1);
}
/* The image's media type: as given, else from the file's signature. */
static const char *llm__image_mime(const llm_image *im) {
    const unsigned char *d = (const unsigned char *)im->data;
    if (im->mime_type) return im->mime_type;
    if (!d) return NULL;
    if (im->len >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8)) return "image/png";
    if (im->len >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return "image/jpeg";
    if (im->len >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6))) return "image/gif";
    if (im->len >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4)) return "image/webp";
    return NULL;
}
/* "data:<mime>;base64,<payload>": the mime and the payload, or 0. */
static int llm__data_url(const char *u, const char **mime, size_t *mime_len, const char **b64) {
    const char *semi;
    if (strncmp(u, "data:", 5) != 0) return 0;
    semi = strstr(u + 5, ";base64,");
    if (!semi || semi == u + 5) return 0;
    *mime = u + 5;
    *mime_len = (size_t)(semi - (u + 5));
    *b64 = semi + 8;
    return 1;
}
/* Checked at submit: a URL (http, https or a base64 data: URL of an image)
   or bytes of a known image type; detail low/high/auto. */
static const char *llm__image_problem(const llm_image *im, int urls_ok) {
    static const char *types[] = { "image/png", "image/jpeg", "image/gif", "image/webp" };
    const char *mime, *b64;
    size_t ml, k;
    if (im->detail && strcmp(im->detail, "low") && strcmp(im->detail, "high") && strcmp(im->detail, "auto"))
        return "detail must be low, high or auto";
    if (im->url) {
        if (im->data) return "give url or data, not both";
        for (k = 0; im->url[k]; k++)
            if ((unsigned char)im->url[k] <= 0x20 || im->url[k] == 0x7F) return "url holds a space or control character";
        if (llm__data_url(im->url, &mime, &ml, &b64)) {
            if (ml < 7 || strncmp(mime, "image/", 6)) return "a data: URL must hold an image";
            if (!*b64) return "a data: URL without data";
            return NULL;
        }
        if (strncmp(im->url, "http://", 7) && strncmp(im->url, "https://", 8)) return "url must be http(s):// or data:image/...;base64,";
        return urls_ok ? NULL : "this API takes images as bytes or data: URLs only";
    }
    if (!im->data || !im->len) return "neither url nor data";
    mime = llm__image_mime(im);
    if (!mime) return "unknown image type (set mime_type)";
    for (k = 0; k < sizeof types / sizeof types[0]; k++)
        if (!strcmp(mime, types[k])) return NULL;
    return "mime_type must be image/png, image/jpeg, image/gif or image/webp";
}
/* The image as one URL string: as given, or a data: URL of the bytes. */
static void llm__jw_image_url(llm_json_writer *w, const llm_image *im) {
    char prefix[64];
    if (im->url) { llm_jw_string(w, im->url); return; }
    snprintf(prefix, sizeof prefix, "data:%s;base64,", llm__image_mime(im));
    llm__jw_string_b64(w, prefix, (const unsigned char *)im->data, im->len);
}
/* The image's base64 payload alone (Anthropic, Ollama). */
static void llm__jw_image_b64(llm_json_writer *w, const llm_image *im) {
    const char *mime = NULL, *b64 = NULL;
    size_t ml = 0;
    if (im->url && llm__data_url(im->url, &mime, &ml, &b64)) { llm_jw_string(w, b64); return; }
    llm__jw_string_b64(w, "", (const unsigned char *)im->data, im->len);
}

/* >>api: openai ==========================================================
   OpenAI-compatible: /chat/completions, /embeddings (OpenAI, vLLM,
   llama.cpp, OpenRouter, Groq...). */
static int llm__oa_auth(llm__hdr *h, const llm__provider *p, const llm_client *c) {
    (void)c;
    if (!p->api_key[0]) return 0;
    h[0].name = "Authorization: Bearer ";
    h[0].value = p->api_key;
    return 1;
}


static void llm__oa_enc_chat(llm_json_writer *w, const llm__chat_in *in, const llm__provider *p) {
    const llm_chat_desc *d = in->d;
    int i;
    llm_jw_object_begin(w);
    if (!llm__extra_has(in->extra, "model")) { llm_jw_key(w, "model"); llm_jw_string(w, in->model); }
    if (!llm__extra_has(in->extra, "messages")) {
        llm_jw_key(w, "messages");
        llm_jw_array_begin(w);
        if (d->system) {
            llm_jw_object_begin(w);
            llm_jw_key(w, "role"); llm_jw_string(w, "system");
            llm_jw_key(w, "content"); llm_jw_string(w, d->system);
            llm_jw_object_end(w);
        }
        for (i = 0; i < d->n_messages; i++) {
            const llm_message *m = &d->messages[i];
            if (in->raw_msgs[i]) { llm_jw_value(w, in->raw_msgs[i]); continue; }
            llm_jw_object_begin(w);
            llm_jw_key(w, "role"); llm_jw_string(w, m->role);
            llm_jw_key(w, "content");
            if (m->n_images > 0) { /* content parts: the text, then image_url parts */
                int k;
                llm_jw_array_begin(w);
                if (m->content[0]) {
                    llm_jw_object_begin(w);
                    llm_jw_key(w, "type"); llm_jw_string(w, "text");
                    llm_jw_key(w, "text"); llm_jw_string(w, m->content);
                    llm_jw_object_end(w);
                }
                for (k = 0; k < m->n_images; k++) {
                    llm_jw_object_begin(w);
                    llm_jw_key(w, "type"); llm_jw_string(w, "image_url");
                    llm_jw_key(w, "image_url");
                    llm_jw_object_begin(w);
                    llm_jw_key(w, "url"); llm__jw_image_url(w, &m->images[k]);
                    if (m->images[k].detail) { llm_jw_key(w, "detail"); llm_jw_string(w, m->images[k].detail); }
                    llm_jw_object_end(w);
                    llm_jw_object_end(w);
                }
                llm_jw_array_end(w);
            } else {
                llm_jw_string(w, m->content);
            }
            if (m->name) { llm_jw_key(w, "name"); llm_jw_string(w, m->name); }
            if (m->tool_call_id) { llm_jw_key(w, "tool_call_id"); llm_jw_string(w, m->tool_call_id); }
            llm_jw_object_end(w);
        }
        llm_jw_array_end(w);
    }
    if (d->n > 1 && !llm__extra_has(in->extra, "n")) { llm_jw_key(w, "n"); llm_jw_int(w, d->n); }
    if (d->max_tokens > 0) {
        /* OpenAI's own endpoint wants max_completion_tokens (reasoning models
           reject max_tokens); compatible servers know max_tokens best. */
        const char *k = p->builtin_openai ? "max_completion_tokens" : "max_tokens";
        if (!llm__extra_has(in->extra, k)) { llm_jw_key(w, k); llm_jw_int(w, d->max_tokens); }
    }
    if (llm__send_temp(d) && !llm__extra_has(in->extra, "temperature")) {
        llm_jw_key(w, "temperature"); llm_jw_number(w, d->temperature);
    }
    if (d->stream) {
        if (!llm__extra_has(in->extra, "stream")) { llm_jw_key(w, "stream"); llm_jw_bool(w, 1); }
        if (!llm__extra_has(in->extra, "stream_options")) {
            llm_jw_key(w, "stream_options");
            llm_jw_object_begin(w);
            llm_jw_key(w, "include_usage"); llm_jw_bool(w, 1);
            llm_jw_object_end(w);
        }
    }
    llm__extra_write(w, in->extra);
    llm_jw_object_end(w);
}

static void llm__oa_enc_embed(llm_json_writer *w, const llm__embed_in *in) {
    llm__enc_embed_begin(w, in);
    if (!llm__extra_has(in->extra, "encoding_format")) { llm_jw_key(w, "encoding_format"); llm_jw_string(w, "float"); }
    llm__enc_embed_end(w, in);
}


/* A whole chat.completion. */
static void llm__oa_dec_chat(llm_request *r, const llm_json_value *root) {
    size_t i;
    const llm_json_value *ch = llm_json_get(root, "choices"), *c0 = NULL;
    for (i = 0; ch && ch->type == LLM_JSON_ARRAY && i < ch->len && !r->a.abort_kind; i++) {
        int64_t idx = 0;
        llm_json_int64(llm_json_get(&ch->items[i], "index"), &idx);
        if (idx == 0) { if (!c0) c0 = &ch->items[i]; continue; }
        { /* n > 1: the other choices' text and finish reason */
            llm__choice *o = llm__choice_at(r, idx);
            if (!o) return;
            if (o->text.len || o->n_tools || o->finish[0]) {
                llm__abort(r, LLM_ERR_PROTOCOL, 0, "choice %lld given twice", (long long)idx);
                return;
            }
            llm__choice_add(r, o, llm_json_path(&ch->items[i], "message.content"), llm_json_get(&ch->items[i], "finish_reason"));
            llm__choice_tools_swap(r, o);
            llm__dec_tool_calls(r, llm_json_path(&ch->items[i], "message.tool_calls"));
            llm__choice_tools_swap(r, o);
        }
    }
    if (r->a.abort_kind) return;
    if (!c0) { llm__abort(r, LLM_ERR_PROTOCOL, 0, "response has no choice with index 0"); return; }
    llm__dec_openai_message(r, llm_json_get(c0, "message"));
    {
        size_t n;
        const char *s = llm_json_string(llm_json_path(c0, "message.refusal"), &n);
        if (s) llm__add_refusal(r, s, n);
    }
    llm__set_meta(r, r->a.finish_reason, sizeof r->a.finish_reason, llm_json_get(c0, "finish_reason"));
    llm__usage_read(&r->a.usage, llm_json_get(root, "usage"));
}


/* A chunk's tool-call deltas, assembled by their index; 1 on abort. */
static int llm__oa_tool_deltas(llm_request *r, const llm_json_value *tcs) {
    size_t j;
    for (j = 0; tcs && tcs->type == LLM_JSON_ARRAY && j < tcs->len; j++) {
        const llm_json_value *tc = &tcs->items[j];
        int64_t ti = (int64_t)j;
        llm__tool *t;
        llm_json_int64(llm_json_get(tc, "index"), &ti);
        if (ti < 0 || ti >= r->c->max_tools) {
            llm__abort(r, LLM_ERR_PROTOCOL, 0, "tool call index %lld outside 0..%d", (long long)ti, r->c->max_tools - 1);
            return 1;
        }
        t = llm__tool_at(r, (int)ti);
        if (!t) return 1;
        if (!llm__tool_set(r, &t->id, llm_json_get(tc, "id"), 0) ||
            !llm__tool_set(r, &t->type, llm_json_get(tc, "type"), 0) ||
            !llm__tool_set(r, &t->name, llm_json_path(tc, "function.name"), 0) ||
            !llm__tool_set(r, &t->args, llm_json_path(tc, "function.arguments"), 1))
            return 1;
    }
    return 0;
}

/* OpenAI chat.completion.chunk. Never assumes choices[0]: the usage chunk
   has "choices": []. */
static int llm__oa_event(llm_request *r, const char *ev, size_t el, const llm_json_value *root) {
    const llm_json_value *e = llm_json_get(root, "error"), *ch, *u;
    size_t i;
    if ((e && !llm_json_is_null(e)) || llm__eq_n(ev, el, "error")) {
        llm__error_detail(r, e ? e : root);
        llm__abort(r, llm__kind_of_type(r->a.type, LLM_ERR_SERVER), 1, "stream error: %s",
                   r->a.pmsg.len ? llm__pmsg(r) : "error event");
        return 1;
    }
    llm__dec_meta(r, root);
    ch = llm_json_get(root, "choices");
    for (i = 0; ch && ch->type == LLM_JSON_ARRAY && i < ch->len; i++) {
        const llm_json_value *c0 = &ch->items[i], *d, *tcs;
        int64_t idx = 0;
        size_t n;
        const char *s;
        llm_json_int64(llm_json_get(c0, "index"), &idx);
        d = llm_json_get(c0, "delta");
        if (idx != 0) { /* n > 1: another choice's text and tool calls */
            llm__choice *o = llm__choice_at(r, idx);
            int bad;
            if (!o || !llm__choice_add(r, o, llm_json_get(d, "content"), llm_json_get(c0, "finish_reason"))) return 1;
            llm__choice_tools_swap(r, o);
            bad = llm__oa_tool_deltas(r, llm_json_get(d, "tool_calls"));
            llm__choice_tools_swap(r, o);
            if (bad) return 1;
            continue;
        }
        s = llm_json_string(llm_json_get(d, "content"), &n);
        if (s && !llm__add_text(r, s, n)) return 1;
        s = llm_json_string(llm_json_get(d, "refusal"), &n);
        if (s && !llm__add_refusal(r, s, n)) return 1;
        s = llm_json_string(llm_json_get(d, "reasoning_content"), &n);
        if (!s) s = llm_json_string(llm_json_get(d, "reasoning"), &n);
        if (s && !llm__add_reasoning(r, s, n)) return 1;
        tcs = llm_json_get(d, "tool_calls");
        if (llm__oa_tool_deltas(r, tcs)) return 1;
        llm__set_meta(r, r->a.finish_reason, sizeof r->a.finish_reason, llm_json_get(c0, "finish_reason"));
    }
    u = llm_json_get(root, "usage");
    if (u && u->type == LLM_JSON_OBJECT) llm__usage_read(&r->a.usage, u);
    return 0;
}

/* /embeddings: {"data": [{"index", "embedding"}...]} in any order. */
static void llm__oa_dec_embed(llm_request *r, const llm_json_value *root) {
    const llm_json_value *data;
    unsigned char *seen;
    size_t i;
    int filled = 0;
    data = llm_json_get(root, "data");
    if (!data || data->type != LLM_JSON_ARRAY) { llm__abort(r, LLM_ERR_PROTOCOL, 0, "embeddings: response has no data array"); return; }
    /* every vector must be there before n_inputs x dimension floats are
       allocated from the size of the first */
    if (data->len != (size_t)r->n_inputs) {
        llm__abort(r, LLM_ERR_PROTOCOL, 0, "embeddings: got %lu of %d vectors", (unsigned long)data->len, r->n_inputs);
        return;
    }
    seen = (unsigned char *)llm__calloc(&r->ra, (size_t)r->n_inputs);
    if (!seen) { llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory for embeddings"); return; }
    for (i = 0; i < data->len; i++) {
        const llm_json_value *it = &data->items[i];
        int64_t idx = (int64_t)i;
        llm_json_int64(llm_json_get(it, "index"), &idx);
        if (idx < 0 || idx >= r->n_inputs) { llm__abort(r, LLM_ERR_PROTOCOL, 0, "embeddings: index %lld out of range", (long long)idx); break; }
        if (seen[idx]) { llm__abort(r, LLM_ERR_PROTOCOL, 0, "embeddings: index %lld given twice", (long long)idx); break; }
        seen[idx] = 1;
        if (!llm__embed_vector(r, llm_json_get(it, "embedding"), (int)idx)) {
            if (!r->a.abort_kind) llm__abort(r, LLM_ERR_PROTOCOL, 0, "embeddings: vector %lld is malformed or of another size", (long long)idx);
            break;
        }
        filled++;
    }
    llm__free(&r->ra, seen);
    if (r->a.abort_kind) return;
    if (filled != r->n_inputs) { llm__abort(r, LLM_ERR_PROTOCOL, 0, "embeddings: got %d of %d vectors", filled, r->n_inputs); return; }
    r->a.n_vec = r->n_inputs;
    llm__usage_read(&r->a.usage, llm_json_get(root, "usage"));
    llm__set_meta(r, r->a.resp_model, sizeof r->a.resp_model, llm_json_get(root, "model"));
}


/* >>api: anthropic =======================================================
   Anthropic Messages: /v1/messages. */
static int llm__an_auth(llm__hdr *h, const llm__provider *p, const llm_client *c) {
    int n = 0;
    if (p->api_key[0]) { h[n].name = "x-api-key: "; h[n].value = p->api_key; n++; }
    h[n].name = "anthropic-version: ";
    h[n].value = c->anthropic_version;
    return n + 1;
}


static void llm__an_enc_chat(llm_json_writer *w, const llm__chat_in *in, const llm__provider *p) {
    (void)p;
    const llm_chat_desc *d = in->d;
    int i, nsys = 0;
    llm_jw_object_begin(w);
    if (!llm__extra_has(in->extra, "model")) { llm_jw_key(w, "model"); llm_jw_string(w, in->model); }
    if (!llm__extra_has(in->extra, "max_tokens")) {
        llm_jw_key(w, "max_tokens");
        llm_jw_int(w, d->max_tokens > 0 ? d->max_tokens : LLM_ANTHROPIC_DEFAULT_MAX_TOKENS);
    }
    /* Anthropic has no system role: desc.system and system/developer
       messages become the top-level system, joined by blank lines. */
    for (i = 0; i < d->n_messages; i++)
        if (!in->raw_msgs[i] && (!strcmp(d->messages[i].role, "system") || !strcmp(d->messages[i].role, "developer"))) nsys++;
    if ((d->system || nsys) && !llm__extra_has(in->extra, "system")) {
        llm__buf sys = { NULL, 0, 0 };
        int ok = 1;
        if (d->system) ok = llm__buf_adds(&w->allocator, &sys, d->system);
        for (i = 0; i < d->n_messages && ok; i++) {
            const llm_message *m = &d->messages[i];
            if (in->raw_msgs[i] || (strcmp(m->role, "system") && strcmp(m->role, "developer"))) continue;
            if (sys.len) ok = llm__buf_adds(&w->allocator, &sys, "\n\n");
            if (ok) ok = llm__buf_adds(&w->allocator, &sys, m->content);
        }
        llm_jw_key(w, "system");
        if (ok) llm_jw_string_n(w, sys.p ? sys.p : "", sys.len);
        else w->error = LLM_JSON_ERR_NO_MEMORY;
        llm__buf_free(&w->allocator, &sys);
    }
    if (!llm__extra_has(in->extra, "messages")) {
        llm_jw_key(w, "messages");
        llm_jw_array_begin(w);
        for (i = 0; i < d->n_messages; i++) {
            const llm_message *m = &d->messages[i];
            if (in->raw_msgs[i]) { llm_jw_value(w, in->raw_msgs[i]); continue; }
            if (!strcmp(m->role, "system") || !strcmp(m->role, "developer")) continue;
            llm_jw_object_begin(w);
            if (!strcmp(m->role, "tool")) { /* a tool result is a user turn with a block */
                llm_jw_key(w, "role"); llm_jw_string(w, "user");
                llm_jw_key(w, "content");
                llm_jw_array_begin(w);
                llm_jw_object_begin(w);
                llm_jw_key(w, "type"); llm_jw_string(w, "tool_result");
                llm_jw_key(w, "tool_use_id"); llm_jw_string(w, m->tool_call_id);
                llm_jw_key(w, "content"); llm_jw_string(w, m->content);
                llm_jw_object_end(w);
                llm_jw_array_end(w);
            } else if (m->n_images > 0) { /* image blocks, then the text */
                int k;
                llm_jw_key(w, "role"); llm_jw_string(w, m->role);
                llm_jw_key(w, "content");
                llm_jw_array_begin(w);
                for (k = 0; k < m->n_images; k++) {
                    const llm_image *im = &m->images[k];
                    const char *mime = NULL, *b64 = NULL;
                    size_t ml = 0;
                    llm_jw_object_begin(w);
                    llm_jw_key(w, "type"); llm_jw_string(w, "image");
                    llm_jw_key(w, "source");
                    llm_jw_object_begin(w);
                    if (im->url && !llm__data_url(im->url, &mime, &ml, &b64)) {
                        llm_jw_key(w, "type"); llm_jw_string(w, "url");
                        llm_jw_key(w, "url"); llm_jw_string(w, im->url);
                    } else {
                        llm_jw_key(w, "type"); llm_jw_string(w, "base64");
                        llm_jw_key(w, "media_type");
                        if (im->url) llm_jw_string_n(w, mime, ml);
                        else llm_jw_string(w, llm__image_mime(im));
                        llm_jw_key(w, "data"); llm__jw_image_b64(w, im);
                    }
                    llm_jw_object_end(w);
                    llm_jw_object_end(w);
                }
                if (m->content[0]) {
                    llm_jw_object_begin(w);
                    llm_jw_key(w, "type"); llm_jw_string(w, "text");
                    llm_jw_key(w, "text"); llm_jw_string(w, m->content);
                    llm_jw_object_end(w);
                }
                llm_jw_array_end(w);
            } else {
                llm_jw_key(w, "role"); llm_jw_string(w, m->role);
                llm_jw_key(w, "content"); llm_jw_string(w, m->content);
            }
            llm_jw_object_end(w);
        }
        llm_jw_array_end(w);
    }
    if (llm__send_temp(d) && !llm__extra_has(in->extra, "temperature")) {
        llm_jw_key(w, "temperature"); llm_jw_number(w, d->temperature);
    }
    if (d->stream && !llm__extra_has(in->extra, "stream")) { llm_jw_key(w, "stream"); llm_jw_bool(w, 1); }
    llm__extra_write(w, in->extra);
    llm_jw_object_end(w);
}

/* A whole Messages answer: text, thinking and tool_use blocks. */
static void llm__an_dec_chat(llm_request *r, const llm_json_value *root) {
    size_t i;
    const llm_json_value *content = llm_json_get(root, "content");
    if (!content || content->type != LLM_JSON_ARRAY) { llm__abort(r, LLM_ERR_PROTOCOL, 0, "response has no content array"); return; }
    for (i = 0; i < content->len && !r->a.abort_kind; i++) {
        const llm_json_value *b = &content->items[i];
        const char *type = llm_json_string(llm_json_get(b, "type"), NULL);
        size_t n;
        const char *s;
        if (!type) continue;
        if (!strcmp(type, "text")) {
            s = llm_json_string(llm_json_get(b, "text"), &n);
            if (s) llm__add_text(r, s, n);
        } else if (!strcmp(type, "thinking")) {
            s = llm_json_string(llm_json_get(b, "thinking"), &n);
            if (s) llm__add_reasoning(r, s, n);
        } else if (!strcmp(type, "tool_use")) {
            llm__tool *t = llm__tool_at(r, (int)i);
            if (!t) return;
            llm__tool_set(r, &t->id, llm_json_get(b, "id"), 0);
            llm__tool_type(r, t, "tool_use");
            llm__tool_set(r, &t->name, llm_json_get(b, "name"), 0);
            llm__tool_args_json(r, t, llm_json_get(b, "input"));
        }
    }
    llm__set_meta(r, r->a.finish_reason, sizeof r->a.finish_reason, llm_json_get(root, "stop_reason"));
    llm__usage_read(&r->a.usage, llm_json_get(root, "usage"));
}


/* Anthropic Messages stream events. */
static int llm__an_event(llm_request *r, const char *ev, size_t el, const llm_json_value *root) {
    char type[48];
    const llm_json_value *v;
    size_t n;
    const char *s;
    int64_t idx = 0;
    if (el && el < sizeof type) llm__copy_cut(type, sizeof type, ev, el);
    else { type[0] = '\0'; llm__set_str(type, sizeof type, llm_json_get(root, "type")); }
    if (!strcmp(type, "ping")) return 0;
    if (!strcmp(type, "error")) {
        llm__error_detail(r, llm_json_get(root, "error"));
        llm__abort(r, llm__kind_of_type(r->a.type, LLM_ERR_SERVER), 1, "stream error: %s",
                   r->a.pmsg.len ? llm__pmsg(r) : "error event");
        return 1;
    }
    if (!strcmp(type, "message_start")) {
        v = llm_json_get(root, "message");
        llm__dec_meta(r, v);
        llm__usage_read(&r->a.usage, llm_json_get(v, "usage"));
        return 0;
    }
    llm_json_int64(llm_json_get(root, "index"), &idx);
    if (!strcmp(type, "content_block_start")) {
        v = llm_json_get(root, "content_block");
        s = llm_json_string(llm_json_get(v, "type"), NULL);
        if (s && !strcmp(s, "tool_use")) {
            llm__tool *t;
            if (idx < 0 || idx >= 1000000) { llm__abort(r, LLM_ERR_PROTOCOL, 0, "bad content block index"); return 1; }
            t = llm__tool_at(r, (int)idx);
            if (!t) return 1;
            llm__tool_set(r, &t->id, llm_json_get(v, "id"), 0);
            if (!llm__tool_type(r, t, "tool_use")) return 1;
            llm__tool_set(r, &t->name, llm_json_get(v, "name"), 0);
        } else if (s && !strcmp(s, "text")) {
            s = llm_json_string(llm_json_get(v, "text"), &n);
            if (s && !llm__add_text(r, s, n)) return 1;
        }
        return r->a.abort_kind ? 1 : 0;
    }
    if (!strcmp(type, "content_block_delta")) {
        v = llm_json_get(root, "delta");
        s = llm_json_string(llm_json_get(v, "type"), NULL);
        if (!s) return 0;
        if (!strcmp(s, "text_delta")) {
            s = llm_json_string(llm_json_get(v, "text"), &n);
            if (s && !llm__add_text(r, s, n)) return 1;
        } else if (!strcmp(s, "input_json_delta")) {
            int i;
            llm__tool *t = NULL;
            if (idx < 0 || idx >= 1000000) { llm__abort(r, LLM_ERR_PROTOCOL, 0, "bad content block index"); return 1; }
            for (i = 0; i < r->a.n_tools; i++) if (r->a.tools[i].index == (int)idx) t = &r->a.tools[i];
            /* server_tool_use / mcp_tool_use blocks stream their input too:
               the server runs those, they are not calls for the host */
            if (t && !llm__tool_set(r, &t->args, llm_json_get(v, "partial_json"), 1)) return 1;
        } else if (!strcmp(s, "thinking_delta")) {
            s = llm_json_string(llm_json_get(v, "thinking"), &n);
            if (s && !llm__add_reasoning(r, s, n)) return 1;
        } /* signature_delta, citations_delta: nothing to keep */
        return 0;
    }
    if (!strcmp(type, "message_delta")) {
        llm__set_meta(r, r->a.finish_reason, sizeof r->a.finish_reason, llm_json_path(root, "delta.stop_reason"));
        llm__usage_read(&r->a.usage, llm_json_get(root, "usage"));
        return 0;
    }
    if (!strcmp(type, "message_stop")) r->a.stream_done = 1;
    return 0; /* content_block_stop and unknown events */
}

/* >>api: ollama ==========================================================
   Ollama native: /api/chat (NDJSON streams), /api/embed. */
static int llm__ol_auth(llm__hdr *h, const llm__provider *p, const llm_client *c) {
    (void)c;
    if (!p->api_key[0]) return 0; /* a bearer key only when one was given (a proxy in front of Ollama) */
    h[0].name = "Authorization: Bearer ";
    h[0].value = p->api_key;
    return 1;
}


static void llm__ol_enc_chat(llm_json_writer *w, const llm__chat_in *in, const llm__provider *p) {
    (void)p;
    const llm_chat_desc *d = in->d;
    int i;
    llm_jw_object_begin(w);
    if (!llm__extra_has(in->extra, "model")) { llm_jw_key(w, "model"); llm_jw_string(w, in->model); }
    if (!llm__extra_has(in->extra, "messages")) {
        llm_jw_key(w, "messages");
        llm_jw_array_begin(w);
        if (d->system) {
            llm_jw_object_begin(w);
            llm_jw_key(w, "role"); llm_jw_string(w, "system");
            llm_jw_key(w, "content"); llm_jw_string(w, d->system);
            llm_jw_object_end(w);
        }
        for (i = 0; i < d->n_messages; i++) {
            const llm_message *m = &d->messages[i];
            if (in->raw_msgs[i]) { llm_jw_value(w, in->raw_msgs[i]); continue; }
            llm_jw_object_begin(w);
            llm_jw_key(w, "role"); llm_jw_string(w, !strcmp(m->role, "developer") ? "system" : m->role);
            llm_jw_key(w, "content"); llm_jw_string(w, m->content);
            if (m->n_images > 0) { /* base64 payloads, no URLs (checked at submit) */
                int k;
                llm_jw_key(w, "images");
                llm_jw_array_begin(w);
                for (k = 0; k < m->n_images; k++) llm__jw_image_b64(w, &m->images[k]);
                llm_jw_array_end(w);
            }
            if (m->tool_call_id) { llm_jw_key(w, "tool_call_id"); llm_jw_string(w, m->tool_call_id); }
            llm_jw_object_end(w);
        }
        llm_jw_array_end(w);
    }
    if (!llm__extra_has(in->extra, "stream")) { llm_jw_key(w, "stream"); llm_jw_bool(w, d->stream != 0); }
    if ((llm__send_temp(d) || d->max_tokens > 0) && !llm__extra_has(in->extra, "options")) {
        llm_jw_key(w, "options");
        llm_jw_object_begin(w);
        if (llm__send_temp(d)) { llm_jw_key(w, "temperature"); llm_jw_number(w, d->temperature); }
        if (d->max_tokens > 0) { llm_jw_key(w, "num_predict"); llm_jw_int(w, d->max_tokens); }
        llm_jw_object_end(w);
    }
    llm__extra_write(w, in->extra);
    llm_jw_object_end(w);
}

static void llm__ol_enc_embed(llm_json_writer *w, const llm__embed_in *in) {
    llm__enc_embed_begin(w, in);
    llm__enc_embed_end(w, in);
}


/* A whole /api/chat answer. */
static void llm__ol_dec_chat(llm_request *r, const llm_json_value *root) {
    int64_t v;
    llm__dec_openai_message(r, llm_json_get(root, "message"));
    llm__set_meta(r, r->a.finish_reason, sizeof r->a.finish_reason, llm_json_get(root, "done_reason"));
    if (llm_json_int64(llm_json_get(root, "prompt_eval_count"), &v)) r->a.usage.prompt_tokens = v;
    if (llm_json_int64(llm_json_get(root, "eval_count"), &v)) r->a.usage.completion_tokens = v;
    r->a.usage.total_tokens = llm__sat_add(r->a.usage.prompt_tokens, r->a.usage.completion_tokens);
}


/* Ollama NDJSON lines. */
static int llm__ol_event(llm_request *r, const char *ev, size_t el, const llm_json_value *root) {
    (void)ev;
    (void)el;
    const llm_json_value *e = llm_json_get(root, "error");
    int64_t v;
    if (e && !llm_json_is_null(e)) {
        llm__error_detail(r, e);
        llm__abort(r, llm__kind_of_type(r->a.type, LLM_ERR_SERVER), 1, "stream error: %s",
                   r->a.pmsg.len ? llm__pmsg(r) : "error line");
        return 1;
    }
    llm__dec_meta(r, root);
    llm__dec_openai_message(r, llm_json_get(root, "message"));
    if (r->a.abort_kind) return 1;
    if (llm_json_bool(llm_json_get(root, "done"), 0)) {
        r->a.stream_done = 1;
        llm__set_meta(r, r->a.finish_reason, sizeof r->a.finish_reason, llm_json_get(root, "done_reason"));
        if (llm_json_int64(llm_json_get(root, "prompt_eval_count"), &v)) r->a.usage.prompt_tokens = v;
        if (llm_json_int64(llm_json_get(root, "eval_count"), &v)) r->a.usage.completion_tokens = v;
        r->a.usage.total_tokens = llm__sat_add(r->a.usage.prompt_tokens, r->a.usage.completion_tokens);
    }
    return 0;
}

/* /api/embed: {"embeddings": [[...], ...]} in input order. */
static void llm__ol_dec_embed(llm_request *r, const llm_json_value *root) {
    const llm_json_value *data;
    size_t i;
    int64_t v;
    data = llm_json_get(root, "embeddings");
    if (!data || data->type != LLM_JSON_ARRAY || data->len != (size_t)r->n_inputs) {
        llm__abort(r, LLM_ERR_PROTOCOL, 0, "embeddings: expected %d vectors", r->n_inputs);
        return;
    }
    for (i = 0; i < data->len; i++) {
        if (!llm__embed_vector(r, &data->items[i], (int)i)) {
            llm__abort(r, LLM_ERR_PROTOCOL, 0, "embeddings: vector %lu is malformed", (unsigned long)i);
            return;
        }
    }
    if (llm_json_int64(llm_json_get(root, "prompt_eval_count"), &v)) r->a.usage.prompt_tokens = r->a.usage.total_tokens = v;
    r->a.n_vec = r->n_inputs;
    llm__set_meta(r, r->a.resp_model, sizeof r->a.resp_model, llm_json_get(root, "model"));
}


/* >>provider table =======================================================
   One row per wire API, in the order of llm_api. */

typedef struct llm__api_ops {
    const char *name;
    /* URL and auth */
    const char *chat_path, *embed_path;          /* NULL: no such endpoint */
    const char *responses_path, *speech_path, *transcribe_path, *translate_path, *rerank_path;
    int (*auth)(llm__hdr *h, const llm__provider *p, const llm_client *c);
    /* encode */
    int (*role_ok)(const char *role);
    double max_temperature;                      /* 0: no upper bound */
    int tool_needs_id;                           /* a "tool" message names its call */
    int image_urls;                              /* images by http(s) URL (else bytes only) */
    int choices;                                 /* n > 1 */
    void (*enc_chat)(llm_json_writer *w, const llm__chat_in *in, const llm__provider *p);
    void (*enc_embed)(llm_json_writer *w, const llm__embed_in *in);
    /* decode */
    void (*dec_chat)(llm_request *r, const llm_json_value *root);
    void (*dec_embed)(llm_request *r, const llm_json_value *root);
    /* stream */
    int framing;                                 /* 1 SSE, 2 NDJSON (unless the server says) */
    const char *stream_accept;
    const char *done_data;                       /* an event whose data ends the stream, or NULL */
    int (*event)(llm_request *r, const char *ev, size_t el, const llm_json_value *root);
    const char *end_marker;                      /* named when a stream ends without it */
} llm__api_ops;

static const llm__api_ops llm__apis[LLM_API_COUNT_] = {
    { "openai", "/chat/completions", "/embeddings", "/responses", "/audio/speech", "/audio/transcriptions",
      "/audio/translations", "/rerank", llm__oa_auth, llm__oa_role_ok, 0.0, 1, 1, 1, llm__oa_enc_chat,
      llm__oa_enc_embed, llm__oa_dec_chat, llm__oa_dec_embed, 1, "Accept: text/event-stream", "[DONE]",
      llm__oa_event, "data: [DONE]" },
    { "anthropic", "/v1/messages", NULL, NULL, NULL, NULL, NULL, NULL, llm__an_auth, llm__role_basic, 1.0, 1, 1, 0, llm__an_enc_chat, NULL,
      llm__an_dec_chat, NULL, 1, "Accept: text/event-stream", NULL, llm__an_event, "message_stop" },
    { "ollama", "/api/chat", "/api/embed", NULL, NULL, NULL, NULL, NULL, llm__ol_auth, llm__role_basic, 0.0, 0, 0, 0, llm__ol_enc_chat,
      llm__ol_enc_embed, llm__ol_dec_chat, llm__ol_dec_embed, 2, "Accept: application/x-ndjson", NULL,
      llm__ol_event, "\"done\": true" },
};
static const llm__api_ops *llm__ops_of(const llm__provider *p) { return &llm__apis[p->api]; }

/* A whole (non-stream) chat answer, any API. */
static void llm__decode_chat(llm_request *r, const llm_json_value *root) {
    const llm_json_value *e = llm_json_get(root, "error");
    if (e && !llm_json_is_null(e)) { /* an error under a 2xx status (Ollama does this) */
        llm__error_detail(r, e);
        llm__abort(r, llm__kind_of_type(r->a.type, LLM_ERR_SERVER), 1, "%s", r->a.pmsg.len ? llm__pmsg(r) : "error in response");
        return;
    }
    llm__dec_meta(r, root);
    llm__ops_of(r->prov)->dec_chat(r, root);
}
static void llm__decode_embed(llm_request *r, const llm_json_value *root) {
    const llm__api_ops *ops = llm__ops_of(r->prov);
    if (!ops->dec_embed) { llm__abort(r, LLM_ERR_PROTOCOL, 0, "the %s API has no embeddings", ops->name); return; }
    ops->dec_embed(r, root);
}


/* Raw streams: every event is kept for on_event, and its data (plus '\n')
   appended to the text. */
static int llm__ev_raw(llm_request *r, const char *ev, size_t el, const char *data, size_t dl) {
    uint32_t lens[2];
    lens[0] = (uint32_t)el;
    lens[1] = (uint32_t)dl;
    if (r->on_event) {
        if (!llm__buf_add(&r->ra, &r->a.events, lens, sizeof lens) || !llm__buf_add(&r->ra, &r->a.events, ev, el) ||
            !llm__buf_add(&r->ra, &r->a.events, "", 1) || !llm__buf_add(&r->ra, &r->a.events, data, dl) ||
            !llm__buf_add(&r->ra, &r->a.events, "", 1)) {
            llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory for stream events");
            return 1;
        }
        llm__notify(r);
    }
    if (!llm__add_text(r, data, dl) || !llm__add_text(r, "\n", 1)) return 1;
    return 0;
}

/* >>endpoint: responses ==================================================
   The Responses API (OpenAI-compatible /responses): a body of input items,
   an answer of output items (messages, reasoning, function calls), typed
   stream events. Text, reasoning summary, refusals and function calls land
   where chat puts them, so the same readers serve both. */

typedef struct llm__resp_in {
    const llm_responses_desc *d;
    const char *model;
    const llm_json_value *extra, *tools;
    llm_json_value **raw_msgs;
} llm__resp_in;

static void llm__enc_responses(llm_json_writer *w, const llm__resp_in *in) {
    const llm_responses_desc *d = in->d;
    int i, k;
    llm_jw_object_begin(w);
    if (!llm__extra_has(in->extra, "model")) { llm_jw_key(w, "model"); llm_jw_string(w, in->model); }
    if (!llm__extra_has(in->extra, "input")) {
        llm_jw_key(w, "input");
        if (d->input) {
            llm_jw_string(w, d->input);
        } else {
            llm_jw_array_begin(w);
            for (i = 0; i < d->n_messages; i++) {
                const llm_message *m = &d->messages[i];
                if (in->raw_msgs[i]) { llm_jw_value(w, in->raw_msgs[i]); continue; }
                llm_jw_object_begin(w);
                if (!strcmp(m->role, "tool")) { /* a function call's output */
                    llm_jw_key(w, "type"); llm_jw_string(w, "function_call_output");
                    llm_jw_key(w, "call_id"); llm_jw_string(w, m->tool_call_id);
                    llm_jw_key(w, "output"); llm_jw_string(w, m->content);
                } else if (m->n_images > 0) {
                    llm_jw_key(w, "role"); llm_jw_string(w, m->role);
                    llm_jw_key(w, "content");
                    llm_jw_array_begin(w);
                    if (m->content[0]) {
                        llm_jw_object_begin(w);
                        llm_jw_key(w, "type"); llm_jw_string(w, "input_text");
                        llm_jw_key(w, "text"); llm_jw_string(w, m->content);
                        llm_jw_object_end(w);
                    }
                    for (k = 0; k < m->n_images; k++) {
                        llm_jw_object_begin(w);
                        llm_jw_key(w, "type"); llm_jw_string(w, "input_image");
                        llm_jw_key(w, "image_url"); llm__jw_image_url(w, &m->images[k]);
                        if (m->images[k].detail) { llm_jw_key(w, "detail"); llm_jw_string(w, m->images[k].detail); }
                        llm_jw_object_end(w);
                    }
                    llm_jw_array_end(w);
                } else {
                    llm_jw_key(w, "role"); llm_jw_string(w, m->role);
                    llm_jw_key(w, "content"); llm_jw_string(w, m->content);
                }
                llm_jw_object_end(w);
            }
            llm_jw_array_end(w);
        }
    }
    if (d->instructions && !llm__extra_has(in->extra, "instructions")) { llm_jw_key(w, "instructions"); llm_jw_string(w, d->instructions); }
    if (in->tools && !llm__extra_has(in->extra, "tools")) { llm_jw_key(w, "tools"); llm_jw_value(w, in->tools); }
    if (d->reasoning_effort && !llm__extra_has(in->extra, "reasoning")) {
        llm_jw_key(w, "reasoning");
        llm_jw_object_begin(w);
        llm_jw_key(w, "effort"); llm_jw_string(w, d->reasoning_effort);
        llm_jw_key(w, "summary"); llm_jw_string(w, "auto");
        llm_jw_object_end(w);
    }
    if (d->previous_response_id && !llm__extra_has(in->extra, "previous_response_id")) {
        llm_jw_key(w, "previous_response_id"); llm_jw_string(w, d->previous_response_id);
    }
    if (d->store && !llm__extra_has(in->extra, "store")) { llm_jw_key(w, "store"); llm_jw_bool(w, d->store > 0); }
    if (d->max_output_tokens > 0 && !llm__extra_has(in->extra, "max_output_tokens")) {
        llm_jw_key(w, "max_output_tokens"); llm_jw_int(w, d->max_output_tokens);
    }
    if ((d->has_temperature || d->temperature != 0.0) && !llm__extra_has(in->extra, "temperature")) {
        llm_jw_key(w, "temperature"); llm_jw_number(w, d->temperature);
    }
    if (d->stream && !llm__extra_has(in->extra, "stream")) { llm_jw_key(w, "stream"); llm_jw_bool(w, 1); }
    llm__extra_write(w, in->extra);
    llm_jw_object_end(w);
}

/* Status "completed" is the finish reason; an incomplete answer says why;
   a failed one fails the request with its error. */
static void llm__resp_status(llm_request *r, const llm_json_value *resp) {
    const char *st = llm_json_string(llm_json_get(resp, "status"), NULL);
    if (st && !strcmp(st, "failed")) {
        const llm_json_value *e = llm_json_get(resp, "error");
        llm__error_detail(r, e);
        if (!r->a.type[0]) llm__set_marked(r->a.type, sizeof r->a.type, llm_json_get(e, "code"));
        llm__abort(r, llm__kind_of_type(r->a.type, LLM_ERR_SERVER), 1, "response failed: %s",
                   r->a.pmsg.len ? llm__pmsg(r) : "no reason given");
        return;
    }
    if (st && !strcmp(st, "incomplete")) {
        const llm_json_value *why = llm_json_path(resp, "incomplete_details.reason");
        if (why) llm__set_meta(r, r->a.finish_reason, sizeof r->a.finish_reason, why);
        else snprintf(r->a.finish_reason, sizeof r->a.finish_reason, "incomplete");
    } else if (st) {
        llm__set_meta(r, r->a.finish_reason, sizeof r->a.finish_reason, llm_json_get(resp, "status"));
    }
    llm__usage_read(&r->a.usage, llm_json_get(resp, "usage"));
}

/* A function_call output item: a tool call at its output index. */
static llm__tool *llm__resp_call(llm_request *r, const llm_json_value *item, int64_t index) {
    llm__tool *t;
    if (index < 0 || index >= 1000000) { llm__abort(r, LLM_ERR_PROTOCOL, 0, "bad output index"); return NULL; }
    t = llm__tool_at(r, (int)index);
    if (!t) return NULL;
    if (!llm__tool_set(r, &t->id, llm_json_get(item, "call_id"), 0) || !llm__tool_type(r, t, "function") ||
        !llm__tool_set(r, &t->name, llm_json_get(item, "name"), 0))
        return NULL;
    return t;
}

/* A whole response object. */
static void llm__resp_decode(llm_request *r, const llm_json_value *root) {
    const llm_json_value *out = llm_json_get(root, "output"), *e = llm_json_get(root, "error");
    size_t i, j;
    if (e && !llm_json_is_null(e) && !llm_json_get(root, "status")) { /* an error object, not a response */
        llm__error_detail(r, e);
        llm__abort(r, llm__kind_of_type(r->a.type, LLM_ERR_SERVER), 1, "%s", r->a.pmsg.len ? llm__pmsg(r) : "error in response");
        return;
    }
    llm__dec_meta(r, root);
    if (!out || out->type != LLM_JSON_ARRAY) { llm__abort(r, LLM_ERR_PROTOCOL, 0, "response has no output array"); return; }
    for (i = 0; i < out->len && !r->a.abort_kind; i++) {
        const llm_json_value *it = &out->items[i], *parts;
        const char *type = llm_json_string(llm_json_get(it, "type"), NULL);
        if (!type) continue;
        if (!strcmp(type, "message")) {
            parts = llm_json_get(it, "content");
            for (j = 0; parts && parts->type == LLM_JSON_ARRAY && j < parts->len; j++) {
                const llm_json_value *pt = &parts->items[j];
                const char *pty = llm_json_string(llm_json_get(pt, "type"), NULL), *s;
                size_t n;
                if (!pty) continue;
                if (!strcmp(pty, "output_text") && (s = llm_json_string(llm_json_get(pt, "text"), &n)) != NULL) llm__add_text(r, s, n);
                else if (!strcmp(pty, "refusal") && (s = llm_json_string(llm_json_get(pt, "refusal"), &n)) != NULL) llm__add_refusal(r, s, n);
            }
        } else if (!strcmp(type, "reasoning")) {
            parts = llm_json_get(it, "summary");
            for (j = 0; parts && parts->type == LLM_JSON_ARRAY && j < parts->len; j++) {
                size_t n;
                const char *s = llm_json_string(llm_json_get(&parts->items[j], "text"), &n);
                if (s && r->a.reasoning.len) llm__add_reasoning(r, "\n\n", 2);
                if (s) llm__add_reasoning(r, s, n);
            }
        } else if (!strcmp(type, "function_call")) {
            llm__tool *t = llm__resp_call(r, it, (int64_t)i);
            if (t) llm__tool_set(r, &t->args, llm_json_get(it, "arguments"), 0);
        } /* web/file search calls and others: the server's business */
    }
    if (!r->a.abort_kind) llm__resp_status(r, root);
}

/* The typed stream events. */
static int llm__resp_event(llm_request *r, const char *ev, size_t el, const llm_json_value *root) {
    char type[64];
    const llm_json_value *v;
    const char *s;
    size_t n;
    int64_t idx = -1;
    if (el && el < sizeof type) llm__copy_cut(type, sizeof type, ev, el);
    else { type[0] = '\0'; llm__set_str(type, sizeof type, llm_json_get(root, "type")); }
    llm_json_int64(llm_json_get(root, "output_index"), &idx);
    if (!strcmp(type, "response.output_text.delta")) {
        s = llm_json_string(llm_json_get(root, "delta"), &n);
        if (s && !llm__add_text(r, s, n)) return 1;
    } else if (!strcmp(type, "response.refusal.delta")) {
        s = llm_json_string(llm_json_get(root, "delta"), &n);
        if (s && !llm__add_refusal(r, s, n)) return 1;
    } else if (!strcmp(type, "response.reasoning_summary_text.delta")) {
        s = llm_json_string(llm_json_get(root, "delta"), &n);
        if (s && !llm__add_reasoning(r, s, n)) return 1;
    } else if (!strcmp(type, "response.reasoning_summary_part.added")) {
        if (r->a.reasoning.len && !llm__add_reasoning(r, "\n\n", 2)) return 1;
    } else if (!strcmp(type, "response.output_item.added")) {
        v = llm_json_get(root, "item");
        s = llm_json_string(llm_json_get(v, "type"), NULL);
        if (s && !strcmp(s, "function_call") && !llm__resp_call(r, v, idx)) return 1;
    } else if (!strcmp(type, "response.function_call_arguments.delta") ||
               !strcmp(type, "response.function_call_arguments.done")) {
        int i, done = !strcmp(type, "response.function_call_arguments.done");
        llm__tool *t = NULL;
        for (i = 0; i < r->a.n_tools; i++) if (r->a.tools[i].index == idx) t = &r->a.tools[i];
        if (!t) { llm__abort(r, LLM_ERR_PROTOCOL, 0, "arguments for an unknown function call (output %lld)", (long long)idx); return 1; }
        if (!llm__tool_set(r, &t->args, llm_json_get(root, done ? "arguments" : "delta"), !done)) return 1;
    } else if (!strcmp(type, "response.created") || !strcmp(type, "response.in_progress")) {
        llm__dec_meta(r, llm_json_get(root, "response"));
    } else if (!strcmp(type, "response.completed") || !strcmp(type, "response.incomplete") ||
               !strcmp(type, "response.failed")) {
        v = llm_json_get(root, "response");
        llm__dec_meta(r, v);
        llm__resp_status(r, v);
        r->a.stream_done = 1;
        return r->a.abort_kind ? 1 : 0;
    } else if (!strcmp(type, "error")) {
        llm__error_detail(r, root);
        if (!strcmp(r->a.type, "error")) r->a.type[0] = '\0'; /* the event's own type says nothing */
        if (!r->a.type[0]) llm__set_marked(r->a.type, sizeof r->a.type, llm_json_get(root, "code"));
        llm__abort(r, llm__kind_of_type(r->a.type, LLM_ERR_SERVER), 1, "stream error: %s",
                   r->a.pmsg.len ? llm__pmsg(r) : "error event");
        return 1;
    }
    return r->a.abort_kind ? 1 : 0; /* other events: nothing to keep */
}

/* >>endpoint: audio ======================================================
   Speech answers are bytes (LLM__M_BINARY); transcriptions and translations
   send the audio as multipart/form-data and answer JSON, text or a stream
   of transcript events. */

static void llm__enc_speech(llm_json_writer *w, const llm_speech_desc *d, const char *model, const llm_json_value *extra) {
    llm_jw_object_begin(w);
    if (!llm__extra_has(extra, "model")) { llm_jw_key(w, "model"); llm_jw_string(w, model); }
    if (!llm__extra_has(extra, "input")) { llm_jw_key(w, "input"); llm_jw_string(w, d->input); }
    if (!llm__extra_has(extra, "voice")) { llm_jw_key(w, "voice"); llm_jw_string(w, d->voice); }
    if (!llm__extra_has(extra, "response_format")) { llm_jw_key(w, "response_format"); llm_jw_string(w, d->format ? d->format : "mp3"); }
    if (d->speed != 0.0 && !llm__extra_has(extra, "speed")) { llm_jw_key(w, "speed"); llm_jw_number(w, d->speed); }
    if (d->instructions && !llm__extra_has(extra, "instructions")) { llm_jw_key(w, "instructions"); llm_jw_string(w, d->instructions); }
    llm__extra_write(w, extra);
    llm_jw_object_end(w);
}

/* One part of a multipart/form-data body. */
static int llm__mp_part(const llm_allocator *a, llm__buf *b, const char *boundary, const char *name, const char *filename,
                        const char *ctype, const void *data, size_t len) {
    return llm__buf_adds(a, b, "--") && llm__buf_adds(a, b, boundary) &&
           llm__buf_adds(a, b, "\r\nContent-Disposition: form-data; name=\"") && llm__buf_adds(a, b, name) &&
           llm__buf_adds(a, b, "\"") &&
           (!filename || (llm__buf_adds(a, b, "; filename=\"") && llm__buf_adds(a, b, filename) && llm__buf_adds(a, b, "\""))) &&
           (!ctype || (llm__buf_adds(a, b, "\r\nContent-Type: ") && llm__buf_adds(a, b, ctype))) &&
           llm__buf_adds(a, b, "\r\n\r\n") && llm__buf_add(a, b, data, len) && llm__buf_adds(a, b, "\r\n");
}
static int llm__mp_field(const llm_allocator *a, llm__buf *b, const char *boundary, const char *name, const char *v) {
    return !v || llm__mp_part(a, b, boundary, name, NULL, NULL, v, strlen(v));
}
static int llm__has_bytes(const char *hay, size_t n, const char *needle) {
    size_t k = strlen(needle), i;
    for (i = 0; k && i + k <= n; i++)
        if (hay[i] == needle[0] && !memcmp(hay + i, needle, k)) return 1;
    return 0;
}
static const char *llm__audio_mime(const char *filename) {
    static const char *map[][2] = { { ".wav", "audio/wav" }, { ".mp3", "audio/mpeg" }, { ".mpga", "audio/mpeg" },
                                    { ".mpeg", "audio/mpeg" }, { ".m4a", "audio/mp4" }, { ".mp4", "audio/mp4" },
                                    { ".ogg", "audio/ogg" }, { ".oga", "audio/ogg" }, { ".opus", "audio/ogg" },
                                    { ".flac", "audio/flac" }, { ".webm", "audio/webm" }, { ".pcm", "audio/pcm" } };
    size_t i, n = strlen(filename);
    for (i = 0; i < sizeof map / sizeof map[0]; i++) {
        size_t k = strlen(map[i][0]);
        if (n >= k && llm__ieq_n(filename + n - k, k, map[i][0])) return map[i][1];
    }
    return "application/octet-stream";
}

/* A transcription's answer: the text of a JSON answer, or the body as text
   (text, srt, vtt). */
static void llm__audio_decode(llm_request *r, const llm_json_value *root) {
    const llm_json_value *t = llm_json_get(root, "text");
    size_t n;
    const char *s = llm_json_string(t, &n);
    if (!s) { llm__abort(r, LLM_ERR_PROTOCOL, 0, "transcription answer has no text"); return; }
    llm__add_text(r, s, n);
    llm__usage_read(&r->a.usage, llm_json_get(root, "usage"));
}
/* transcript.text.delta / transcript.text.done events. */
static int llm__audio_event(llm_request *r, const char *ev, size_t el, const llm_json_value *root) {
    const char *type = llm_json_string(llm_json_get(root, "type"), NULL), *s;
    size_t n;
    (void)ev;
    (void)el;
    if (!type) return 0;
    if (!strcmp(type, "transcript.text.delta")) {
        s = llm_json_string(llm_json_get(root, "delta"), &n);
        if (s && !llm__add_text(r, s, n)) return 1;
    } else if (!strcmp(type, "transcript.text.done")) {
        llm__usage_read(&r->a.usage, llm_json_get(root, "usage"));
        r->a.stream_done = 1;
    } else if (!strcmp(type, "error")) {
        llm__error_detail(r, llm_json_get(root, "error") ? llm_json_get(root, "error") : root);
        llm__abort(r, llm__kind_of_type(r->a.type, LLM_ERR_SERVER), 1, "stream error: %s",
                   r->a.pmsg.len ? llm__pmsg(r) : "error event");
        return 1;
    }
    return 0;
}

/* >>endpoint: rerank =====================================================
   {"results": [{"index", "relevance_score"}]} (Cohere, Jina, vLLM) or a
   bare array of {"index", "score"} (text-embeddings-inference). */

static void llm__enc_rerank(llm_json_writer *w, const llm_rerank_desc *d, const char *model, const llm_json_value *extra) {
    int i;
    llm_jw_object_begin(w);
    if (!llm__extra_has(extra, "model")) { llm_jw_key(w, "model"); llm_jw_string(w, model); }
    if (!llm__extra_has(extra, "query")) { llm_jw_key(w, "query"); llm_jw_string(w, d->query); }
    if (!llm__extra_has(extra, "documents")) {
        llm_jw_key(w, "documents");
        llm_jw_array_begin(w);
        for (i = 0; i < d->n_documents; i++) llm_jw_string(w, d->documents[i]);
        llm_jw_array_end(w);
    }
    if (d->top_n > 0 && !llm__extra_has(extra, "top_n")) { llm_jw_key(w, "top_n"); llm_jw_int(w, d->top_n); }
    llm__extra_write(w, extra);
    llm_jw_object_end(w);
}
static int llm__rank_cmp(const void *a, const void *b) {
    const llm__rank *x = (const llm__rank *)a, *y = (const llm__rank *)b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->index - y->index;
}
static void llm__rerank_decode(llm_request *r, const llm_json_value *root) {
    const llm_json_value *res = root->type == LLM_JSON_ARRAY ? root : llm_json_get(root, "results");
    size_t i, j;
    if (!res) res = llm_json_get(root, "data");
    if (!res || res->type != LLM_JSON_ARRAY) { llm__abort(r, LLM_ERR_PROTOCOL, 0, "rerank: no results array"); return; }
    if (res->len > (size_t)r->n_inputs) {
        llm__abort(r, LLM_ERR_PROTOCOL, 0, "rerank: %lu results for %d documents", (unsigned long)res->len, r->n_inputs);
        return;
    }
    r->a.ranks = (llm__rank *)llm__calloc(&r->ra, (res->len ? res->len : 1) * sizeof *r->a.ranks);
    if (!r->a.ranks) { llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory for rerank results"); return; }
    for (i = 0; i < res->len; i++) {
        const llm_json_value *it = &res->items[i], *sc = llm_json_get(it, "relevance_score");
        int64_t idx = -1;
        double score;
        if (!sc) sc = llm_json_get(it, "score");
        if (!llm_json_int64(llm_json_get(it, "index"), &idx) || idx < 0 || idx >= r->n_inputs || !llm_json_number(sc, &score)) {
            llm__abort(r, LLM_ERR_PROTOCOL, 0, "rerank: result %lu has no valid index and score", (unsigned long)i);
            return;
        }
        for (j = 0; j < i; j++)
            if (r->a.ranks[j].index == (int)idx) {
                llm__abort(r, LLM_ERR_PROTOCOL, 0, "rerank: document %lld ranked twice", (long long)idx);
                return;
            }
        r->a.ranks[i].index = (int)idx;
        r->a.ranks[i].score = score;
    }
    r->a.n_ranks = (int)res->len;
    qsort(r->a.ranks, res->len, sizeof *r->a.ranks, llm__rank_cmp);
    llm__usage_read(&r->a.usage, llm_json_get(root, "usage"));
    llm__dec_meta(r, root);
}

/* >>endpoints ============================================================
   One descriptor per kind of request: how its answer is read. Chat and
   embeddings take their decoder and stream events from the provider's row;
   the others are OpenAI-compatible endpoints with their own. */

typedef struct llm__endpoint {
    const char *name;
    void (*decode)(llm_request *r, const llm_json_value *root); /* NULL: the row's, or none */
    int (*event)(llm_request *r, const char *ev, size_t el, const llm_json_value *root); /* NULL: the row's */
    const char *end_marker;                                     /* NULL: the row's */
    int binary;                                                 /* a 2xx answer is bytes */
} llm__endpoint;

static const llm__endpoint llm__endpoints[] = {
    { "chat", llm__decode_chat, NULL, NULL, 0 },                                   /* LLM__K_CHAT */
    { "embeddings", llm__decode_embed, NULL, NULL, 0 },                            /* LLM__K_EMBED */
    { "raw", NULL, NULL, NULL, 0 },                                                /* LLM__K_RAW */
    { "embeddings", NULL, NULL, NULL, 0 },                                         /* LLM__K_GROUP */
    { "responses", llm__resp_decode, llm__resp_event, "response.completed", 0 },   /* LLM__K_RESPONSES */
    { "speech", NULL, NULL, NULL, 1 },                                             /* LLM__K_SPEECH */
    { "audio", llm__audio_decode, llm__audio_event, "transcript.text.done", 0 },   /* LLM__K_AUDIO */
    { "rerank", llm__rerank_decode, NULL, NULL, 0 },                               /* LLM__K_RERANK */
};

/* Every stream event of every API arrives here (SSE and NDJSON alike). */
static int llm__stream_event(void *ctx, const char *ev, size_t el, const char *data, size_t dl) {
    llm_request *r = (llm_request *)ctx;
    const llm_json_value *root;
    const llm__api_ops *ops;
    llm_json_result jr;
    r->t_last_event = r->c->cb_now;
    if (r->kind == LLM__K_RAW) return llm__ev_raw(r, ev, el, data, dl);
    ops = llm__ops_of(r->prov);
    if (ops->done_data && llm__eq_n(data, dl, ops->done_data)) {
        r->a.stream_done = 1;
        return 0;
    }
    root = llm__json_parse_buf(&r->ra, &r->a.scratch, data, dl, r->c->max_depth, &jr);
    if (!root) {
        if (jr.error == LLM_JSON_ERR_NO_MEMORY) llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory parsing a stream event");
        else llm__abort(r, LLM_ERR_PROTOCOL, 0, "stream event is not valid JSON (byte %lu: %s)",
                        (unsigned long)jr.offset, llm_json_error_string(jr.error));
        return 1;
    }
    if (llm__endpoints[r->kind].event) return llm__endpoints[r->kind].event(r, ev, el, root);
    return ops->event(r, ev, el, root);
}

/* >>lists ================================================================ */

static void llm__unlink(llm_request *r) {
    llm__list *l;
    if (r->list == LLM__L_NONE) return;
    l = &r->c->lists[r->list];
    if (r->prev) r->prev->next = r->next; else l->head = r->next;
    if (r->next) r->next->prev = r->prev; else l->tail = r->prev;
    r->prev = r->next = NULL;
    l->count--;
    r->list = LLM__L_NONE;
}
/* Appends r to a list (the queue keeps its own order: llm__link_queued). */
static void llm__link(llm_request *r, int list) {
    llm__list *l = &r->c->lists[list];
    llm__unlink(r);
    r->next = NULL;
    r->prev = l->tail;
    if (l->tail) l->tail->next = r; else l->head = r;
    l->tail = r;
    l->count++;
    r->list = list;
}

/* The queue is kept in admission order: priority (higher first), then
   submit order; a request back from RETRY_WAIT goes first among its
   priority (front). Walks from the end it joins, so requests of one
   priority cost O(1). */
static void llm__timer(llm_client *c, int64_t at);
static void llm__link_queued(llm_request *r, int front) {
    llm__list *l = &r->c->lists[LLM__L_QUEUED];
    llm_request *at;
    llm__unlink(r);
    if (front) { /* before the first of the same or a lower priority */
        for (at = l->head; at && at->priority > r->priority; at = at->next) {}
    } else { /* after the last of the same or a higher priority */
        for (at = l->tail; at && at->priority < r->priority; at = at->prev) {}
        at = at ? at->next : l->head;
    }
    if (!at) {
        llm__link(r, LLM__L_QUEUED);
    } else {
        r->next = at;
        r->prev = at->prev;
        if (at->prev) at->prev->next = r; else l->head = r;
        at->prev = r;
        l->count++;
        r->list = LLM__L_QUEUED;
    }
    /* an external loop calls us only when asked: ask for a pump to admit it */
    if (r->c->ext) llm__timer(r->c, llm__now_us());
}

static void llm__ext_arm(llm_client *c); /* >>io: external */
static void llm__timer(llm_client *c, int64_t at) {
    if (at > 0 && at < c->next_timer) {
        c->next_timer = at;
        if (c->ext) llm__ext_arm(c); /* the host's timer must come by then */
    }
}

/* >>budget ===============================================================
   llm_poll_budget: a pump that stops starting work once its time is spent
   and leaves the rest to the next call. The work is cut into units, each
   started only while time is left, and the first unit of a pump always
   runs (so every call makes progress, even with a budget of 0):
     - one write callback: curl's bytes for one transfer (at most
       CURL_MAX_WRITE_SIZE, 16 KiB), decoded into events. Out of time, the
       callback returns CURL_WRITEFUNC_PAUSE before touching them: curl
       keeps them and hands them over again after curl_easy_pause(CONT),
       which llm__resume calls at the next pump (any pump: llm_poll and the
       waits resume everything);
     - one request's callbacks in llm__deliver (on_event, on_audio,
       on_delta, on_done, in that order);
     - one finished transfer (curl_multi_info_read, then llm__attempt_done:
       a whole non-streamed body is parsed here);
     - one admission (llm__start), one timer action, one ready socket handed
       to curl (which may read, connect, send headers).
   A budgeted pump therefore ends within its budget plus one unit. Nothing
   is dropped or reordered within a request: curl redelivers its held bytes
   before any newer ones, deliveries pick up where they stopped. The time a
   transfer spends paused does not count towards idle_timeout_ms (the bytes
   had arrived; the library was behind, not the server); the total timeout
   still runs. Writers: the paused list only llm__pause / llm__unpause;
   c->held only llm__drain (llm__detach forgets it); c->io_left only the
   I/O pass (llm__io_move, llm__io_hand); budgeted and budget_end only
   llm__pump_budget; budget_did is set by every unit ("something ran"),
   and reset and restored by llm__pump_budget. No request status is
   written here: a budget only delays, llm__transition decides. */

static int llm__budget_spent_at(const llm_client *c, int64_t now) {
    return c->budgeted && c->budget_did && now >= c->budget_end;
}
static int llm__budget_spent(const llm_client *c) {
    return c->budgeted && c->budget_did && llm__now_us() >= c->budget_end;
}
/* The write callback is about to return CURL_WRITEFUNC_PAUSE: remember it,
   oldest first, so the next pump resumes it. */
static void llm__pause(llm_request *r, int64_t now) {
    llm_client *c = r->c;
    if (r->paused) return;
    r->paused = 1;
    r->t_paused = now;
    r->pnext = NULL;
    r->pprev = c->paused_tail;
    if (c->paused_tail) c->paused_tail->pnext = r; else c->paused_head = r;
    c->paused_tail = r;
}
/* Off the paused list: resumed, or its transfer left curl (the held bytes
   die with it). */
static void llm__unpause(llm_request *r) {
    llm_client *c = r->c;
    if (!r->paused) return;
    if (r->pprev) r->pprev->pnext = r->pnext; else c->paused_head = r->pnext;
    if (r->pnext) r->pnext->pprev = r->pprev; else c->paused_tail = r->pprev;
    r->pprev = r->pnext = NULL;
    r->paused = 0;
}

/* >>pacing ===============================================================
   Rate limits, per provider (a row of c->prov, so per base URL and key).
   Two sources: the servers' own headers (OpenAI x-ratelimit-remaining-* /
   -reset-* durations such as "6m0s" or "20ms"; Anthropic
   anthropic-ratelimit-*-remaining / -reset, RFC 3339 times; a 429's
   Retry-After), and the client's rate_rpm / rate_tpm, token buckets that
   refill at that many per minute. When a budget is spent, admission holds
   that provider's queued requests on a timer (c->next_timer, so waits
   sleep exactly until then) instead of sending them to collect 429s;
   other providers' requests go on, in priority order. A reset is clamped
   to [0, retry_max_delay_ms]; a value that does not parse is ignored.
   The request budget is counted down by each admission (rl_left) from the
   last answer's remaining, less the requests still in flight then (they
   may not have reached the server when it counted), so a burst of freed
   slots cannot overrun it. Writers: hold_until, rl_until only
   llm__pace_learn; rl_left llm__pace_learn and llm__pace_take; the buckets
   only llm__pace_take; c->pacing only llm__pace_learn and client set-up. */
#define LLM__RL_REQ 1u
#define LLM__RL_TOK 2u
#define LLM__RL_REQ_RESET 4u
#define LLM__RL_TOK_RESET 8u

typedef struct llm__pace {
    int64_t hold_until;  /* nothing of this provider is admitted before */
    int64_t rl_left;     /* requests the server's budget has left until rl_until */
    int64_t rl_until;    /* ... when that budget resets (0: not known) */
    double req_avail;    /* rate_rpm bucket: admissions available */
    double tok_avail;    /* rate_tpm bucket: estimated tokens available */
    int64_t refilled;    /* when the buckets were last topped up (0: full) */
} llm__pace;

static int llm__parse_decimal(const char *s, double *out);
static int64_t llm__days_from_civil(int64_t y, int m, int d);

/* OpenAI's reset durations: "1s", "6m0s", "1h2m3.5s", "20ms"; a bare
   number is seconds. Microseconds, or -1. */
static int64_t llm__rl_duration(const char *s, size_t n) {
    double total = 0;
    size_t i = 0;
    int parts = 0;
    while (i < n && s[i] == ' ') i++;
    while (i < n) {
        double v = 0, scale = 1;
        size_t start = i;
        while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 12) v = v * 10 + (s[i++] - '0');
        if (i < n && s[i] == '.') {
            i++;
            while (i < n && s[i] >= '0' && s[i] <= '9' && scale > 1e-9) { scale /= 10; v += (s[i++] - '0') * scale; }
        }
        if (i == start) return -1;
        if (i >= n || s[i] == ' ') { total += v * 1e6; parts++; break; } /* bare seconds */
        if (i + 1 < n && s[i] == 'm' && s[i + 1] == 's') { total += v * 1e3; i += 2; }
        else if (s[i] == 'h') { total += v * 3600e6; i++; }
        else if (s[i] == 'm') { total += v * 60e6; i++; }
        else if (s[i] == 's') { total += v * 1e6; i++; }
        else return -1;
        parts++;
    }
    while (i < n && s[i] == ' ') i++;
    if (!parts || i != n || total > 864e8) return -1; /* more than a day: not a rate limit */
    return (int64_t)total;
}

/* Anthropic's reset times, RFC 3339 ("2024-04-18T12:34:56Z", a fraction
   and an offset allowed): microseconds from now (wall clock), or -1. */
static int64_t llm__rl_time(const char *s, size_t n) {
    int v[6], k, field[6] = { 4, 2, 2, 2, 2, 2 };
    const char sep[6] = { '-', '-', 'T', ':', ':', 0 };
    size_t i = 0;
    int64_t t, off = 0;
    for (k = 0; k < 6; k++) {
        int d;
        v[k] = 0;
        for (d = 0; d < field[k]; d++, i++) {
            if (i >= n || s[i] < '0' || s[i] > '9') return -1;
            v[k] = v[k] * 10 + (s[i] - '0');
        }
        if (k < 5) {
            if (i >= n || !(s[i] == sep[k] || (k == 2 && (s[i] == 't' || s[i] == ' ')))) return -1;
            i++;
        }
    }
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60) return -1;
    if (i < n && s[i] == '.') { i++; while (i < n && s[i] >= '0' && s[i] <= '9') i++; }
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 <= n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int hh = (s[i + 1] - '0') * 10 + (s[i + 2] - '0'), mm = (s[i + 4] - '0') * 10 + (s[i + 5] - '0');
        if (s[i + 1] < '0' || s[i + 1] > '9' || s[i + 2] < '0' || s[i + 2] > '9' || s[i + 4] < '0' || s[i + 4] > '9' ||
            s[i + 5] < '0' || s[i + 5] > '9' || hh > 23 || mm > 59)
            return -1;
        off = (int64_t)(hh * 3600 + mm * 60) * (s[i] == '+' ? 1 : -1);
        i += 6;
    } else {
        return -1;
    }
    if (i != n) return -1;
    t = llm__days_from_civil(v[0], v[1], v[2]) * 86400 + v[3] * 3600 + v[4] * 60 + v[5] - off;
    return (t - (int64_t)time(NULL)) * 1000000;
}

/* A count ("59", "0"): -1 if not one. */
static int64_t llm__rl_count(const char *s, size_t n) {
    int64_t v = 0;
    size_t i;
    if (!n || n > 18) return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* One response header: a rate-limit one is read here (1), else 0. For
   tokens the smallest budget wins (Anthropic sends input and output ones). */
static int llm__rl_header(llm_request *r, const char *k, size_t kl, const char *v, size_t vl) {
    llm__attempt *a = &r->a;
    int64_t x;
    int tok;
    if (kl > 12 && llm__ieq_n(k, 12, "x-ratelimit-")) {
        const char *rest = k + 12;
        size_t rl = kl - 12;
        if (llm__ieq_n(rest, rl, "remaining-requests") || llm__ieq_n(rest, rl, "remaining-tokens")) {
            tok = rl == 16;
            if ((x = llm__rl_count(v, vl)) < 0) return 1;
            if (!tok) { a->rl_req = x; a->rl_have |= LLM__RL_REQ; }
            else if (!(a->rl_have & LLM__RL_TOK) || x < a->rl_tok) { a->rl_tok = x; a->rl_have |= LLM__RL_TOK; }
        } else if (llm__ieq_n(rest, rl, "reset-requests") || llm__ieq_n(rest, rl, "reset-tokens")) {
            tok = rl == 12;
            if ((x = llm__rl_duration(v, vl)) < 0) return 1;
            if (!tok) { a->rl_req_reset_us = x; a->rl_have |= LLM__RL_REQ_RESET; }
            else { a->rl_tok_reset_us = x; a->rl_have |= LLM__RL_TOK_RESET; }
        }
        return 1;
    }
    if (kl > 20 && llm__ieq_n(k, 20, "anthropic-ratelimit-")) {
        const char *rest = k + 20;
        size_t rl = kl - 20;
        int is_rem = rl > 10 && llm__ieq_n(rest + rl - 10, 10, "-remaining");
        int is_reset = rl > 6 && llm__ieq_n(rest + rl - 6, 6, "-reset");
        tok = !(rl >= 8 && llm__ieq_n(rest, 8, "requests"));
        if (is_rem && (x = llm__rl_count(v, vl)) >= 0) {
            if (!tok) { a->rl_req = x; a->rl_have |= LLM__RL_REQ; }
            else if (!(a->rl_have & LLM__RL_TOK) || x < a->rl_tok) { a->rl_tok = x; a->rl_have |= LLM__RL_TOK; }
        } else if (is_reset && (x = llm__rl_time(v, vl)) > -1000000) {
            if (x < 0) x = 0;
            if (!tok) { a->rl_req_reset_us = x; a->rl_have |= LLM__RL_REQ_RESET; }
            else if (!(a->rl_have & LLM__RL_TOK_RESET) || x > a->rl_tok_reset_us) { a->rl_tok_reset_us = x; a->rl_have |= LLM__RL_TOK_RESET; }
        }
        return 1;
    }
    return 0;
}

static llm__pace *llm__pace_of(const llm_request *r) { return &r->c->pace[r->prov - r->c->prov]; }

/* What a request is guessed to cost against rate_tpm: its body at four
   bytes a token (the answer's tokens are not known before it comes). */
static double llm__pace_tokens(const llm_request *r) { return (double)r->body_len / 4.0 + 1.0; }

/* The buckets hold one second's worth (at least one request / token), so
   requests are spread over the minute: at most rate_rpm per minute plus
   one second's worth. A token estimate larger than the bucket waits for a
   full one and leaves it in debt. */
static double llm__pace_cap(int per_minute) { return per_minute / 60.0 > 1.0 ? per_minute / 60.0 : 1.0; }
static void llm__pace_fill(const llm_client *c, const llm__pace *p, int64_t now, double *req, double *tok) {
    double dt = (double)(now - p->refilled) / 60e6;
    *req = p->refilled ? p->req_avail + dt * c->rate_rpm : llm__pace_cap(c->rate_rpm);
    *tok = p->refilled ? p->tok_avail + dt * c->rate_tpm : llm__pace_cap(c->rate_tpm);
    if (*req > llm__pace_cap(c->rate_rpm)) *req = llm__pace_cap(c->rate_rpm);
    if (*tok > llm__pace_cap(c->rate_tpm)) *tok = llm__pace_cap(c->rate_tpm);
}
/* 0 when r may start now; else when its provider's budget allows it. */
static int64_t llm__pace_wait(const llm_request *r, int64_t now) {
    const llm_client *c = r->c;
    const llm__pace *p = llm__pace_of(r);
    double req, tok, need;
    if (c->rec && !c->rec->out && !c->rec->paced) return 0; /* instant replay: no holds */
    if (p->hold_until > now) return p->hold_until;
    if (p->rl_until > now && p->rl_left <= 0) return p->rl_until;
    if (!c->rate_rpm && !c->rate_tpm) return 0;
    llm__pace_fill(c, p, now, &req, &tok);
    if (c->rate_rpm && req < 1.0) return now + 1 + (int64_t)((1.0 - req) * 60e6 / c->rate_rpm);
    need = llm__pace_tokens(r);
    if (need > llm__pace_cap(c->rate_tpm)) need = llm__pace_cap(c->rate_tpm);
    if (c->rate_tpm && tok < need) return now + 1 + (int64_t)((need - tok) * 60e6 / c->rate_tpm);
    return 0;
}
/* r starts: it spends its provider's buckets. */
static void llm__pace_take(llm_request *r, int64_t now) {
    const llm_client *c = r->c;
    llm__pace *p = llm__pace_of(r);
    if (p->rl_until > now) p->rl_left--;
    if (!c->rate_rpm && !c->rate_tpm) return;
    llm__pace_fill(c, p, now, &p->req_avail, &p->tok_avail);
    p->refilled = now;
    p->req_avail -= 1.0;
    p->tok_avail -= llm__pace_tokens(r);
}

static void llm__timer(llm_client *c, int64_t at);
static int64_t llm__server_delay_us(const llm_request *r);

/* An answer came: what its headers say about the provider's budget. */
static void llm__pace_learn(llm_request *r) {
    llm_client *c = r->c;
    llm__pace *p = llm__pace_of(r);
    const llm__attempt *a = &r->a;
    int64_t now = llm__now_us(), cap = (int64_t)c->retry_cap_ms * 1000, until = 0, busy = 0, d;
    const llm_request *o;
    if (!a->rl_have && a->http_status != 429) return;
    for (o = c->lists[LLM__L_ACTIVE].head; o; o = o->next) /* sent, not answered: they use the budget too */
        if (o != r && o->prov == r->prov) busy++;
    if ((a->rl_have & LLM__RL_REQ) && (a->rl_have & LLM__RL_REQ_RESET)) {
        /* what is left for requests not sent yet: the others in flight may
           not have reached the server when it counted; admission spends it */
        int64_t left = a->rl_req - busy;
        if (now >= p->rl_until) { /* a new window (or the first): as the server says */
            p->rl_left = left;
            p->rl_until = now + (a->rl_req_reset_us < cap ? a->rl_req_reset_us : cap);
        } else if (left < p->rl_left) { /* the same window: answers may come out of order */
            p->rl_left = left;
        }
        c->pacing = 1;
        if (p->rl_left <= 0) llm__timer(c, p->rl_until);
    }
    if ((a->rl_have & LLM__RL_TOK) && (a->rl_have & LLM__RL_TOK_RESET) && a->rl_tok <= 0) {
        d = now + (a->rl_tok_reset_us < cap ? a->rl_tok_reset_us : cap);
        if (d > until) until = d;
    }
    if (a->http_status == 429 && (d = llm__server_delay_us(r)) >= 0) { /* the others wait too */
        d = now + (d < cap ? d : cap);
        if (d > until) until = d;
    }
    if (until > p->hold_until) {
        p->hold_until = until;
        c->pacing = 1;
        llm__timer(c, until);
    }
}

/* >>transfer ============================================================= */

static void llm__rec_add(llm_request *r, char tag, const char *p, size_t n); /* >>record */

static void llm__detach(llm_request *r) {
    llm__unpause(r);
    r->rpx = NULL; /* a replayed attempt ends here as a transfer does */
    if (r->c->held == r) r->c->held = NULL; /* its curl message goes with the handle */
    if (r->in_multi) {
        curl_multi_remove_handle(r->c->multi, r->easy);
        r->in_multi = 0;
    }
}
static void llm__release_easy(llm_request *r) {
    llm__detach(r);
    if (r->easy) {
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
    }
}

/* The response memory meter. Everything an attempt allocates from the
   response (body, decoders, text, parsed documents, tool calls, vectors)
   goes through r->ra, which counts it and refuses an allocation that would
   take the request beyond its bound: 2 x max_response_bytes + 1 MiB for the
   library's whole heap while it handles one response (LLM__METER_SLACK of
   it is kept for what is not counted: the request itself, its error). A
   refusal sets meter_over, and llm__abort turns the "no memory" that
   follows into LLM_ERR_TOO_LARGE. */
#define LLM__METER_HDR 16 /* keeps the allocator's alignment */
#define LLM__METER_SLACK ((size_t)64 << 10)

static void *llm__meter_alloc(size_t n, void *u) {
    llm_request *r = (llm_request *)u;
    const llm_allocator *a = &r->c->alloc;
    char *p;
    if (n > r->meter_limit - r->meter_used || r->meter_limit - r->meter_used - n < LLM__METER_HDR) {
        r->meter_over = 1;
        return NULL;
    }
    p = (char *)a->alloc_fn(n + LLM__METER_HDR, a->user_data);
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    r->meter_used += n + LLM__METER_HDR;
    return p + LLM__METER_HDR;
}
static void *llm__meter_realloc(void *q, size_t n, void *u) {
    llm_request *r = (llm_request *)u;
    const llm_allocator *a = &r->c->alloc;
    char *p;
    size_t old;
    if (!q) return llm__meter_alloc(n, u);
    memcpy(&old, (char *)q - LLM__METER_HDR, sizeof old);
    if (n > old && (n - old > r->meter_limit - r->meter_used || n > (size_t)-1 - LLM__METER_HDR)) {
        r->meter_over = 1;
        return NULL;
    }
    p = (char *)a->realloc_fn((char *)q - LLM__METER_HDR, n + LLM__METER_HDR, a->user_data);
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    r->meter_used = r->meter_used - old + n;
    return p + LLM__METER_HDR;
}
static void llm__meter_free(void *q, void *u) {
    llm_request *r = (llm_request *)u;
    const llm_allocator *a = &r->c->alloc;
    size_t old;
    if (!q) return;
    memcpy(&old, (char *)q - LLM__METER_HDR, sizeof old);
    r->meter_used -= old + LLM__METER_HDR;
    a->free_fn((char *)q - LLM__METER_HDR, a->user_data);
}
static void llm__meter_init(llm_request *r) {
    size_t m = r->c->max_response, lim;
    r->ra.alloc_fn = llm__meter_alloc;
    r->ra.realloc_fn = llm__meter_realloc;
    r->ra.free_fn = llm__meter_free;
    r->ra.user_data = r;
    lim = m > ((size_t)-1 - ((size_t)1 << 20)) / 2 ? (size_t)-1 : 2 * m + ((size_t)1 << 20);
    r->meter_limit = lim - LLM__METER_SLACK;
}

static void llm__free_tools(llm_request *r) {
    int i;
    for (i = 0; i < r->a.n_tools; i++) {
        llm__tool *t = &r->a.tools[i];
        llm__buf_free(&r->ra, &t->id);
        llm__buf_free(&r->ra, &t->type);
        llm__buf_free(&r->ra, &t->name);
        llm__buf_free(&r->ra, &t->args);
        llm_json_free(t->args_json);
        llm_json_free(t->pdoc);
    }
    llm__free(&r->ra, r->a.tools);
    r->a.tools = NULL;
    r->a.n_tools = r->a.cap_tools = 0;
}

/* Frees everything the attempt holds. */
static void llm__attempt_free(llm_request *r) {
    llm__attempt *a = &r->a;
    llm__buf_free(&r->ra, &a->raw);
    llm__sse_free(&r->ra, &a->sse);
    llm__buf_free(&r->ra, &a->nd.line);
    llm__buf_free(&r->ra, &a->scratch);
    llm__buf_free(&r->ra, &a->pmsg);
    llm__buf_free(&r->ra, &a->text);
    llm__buf_free(&r->ra, &a->reasoning);
    llm__free_tools(r);
    llm_json_free(a->doc);
    llm_json_free(a->content_doc);
    llm_json_free(a->pdoc);
    a->doc = a->content_doc = a->pdoc = NULL;
    a->pdoc_len = 0;
    llm__buf_free(&r->ra, &a->events);
    llm__free(&r->ra, a->vec);
    a->vec = NULL;
    llm__buf_free(&r->ra, &a->refusal);
    while (a->n_choices > 0) {
        llm__choice *ch = &a->choices[--a->n_choices];
        llm__buf_free(&r->ra, &ch->text);
        llm__choice_tools_swap(r, ch);
        llm__free_tools(r);
        llm__choice_tools_swap(r, ch);
    }
    llm__free(&r->ra, a->choices);
    a->choices = NULL;
    a->cap_choices = 0;
    llm__buf_free(&r->ra, &a->bin);
    llm__free(&r->ra, a->ranks);
    a->ranks = NULL;
}
/* Everything an attempt learned is forgotten before the next one: its
   memory goes back, every field starts from zero. */
static void llm__attempt_reset(llm_request *r) {
    llm__attempt *a = &r->a;
    llm__attempt_free(r);
    memset(a, 0, sizeof *a);
    a->h_should_retry = -1;
    llm__sse_init(&a->sse, r->c->max_event);
    a->nd.max = r->c->max_event;
    r->meter_over = 0;
    r->tm.first_byte_ms = r->tm.first_token_ms = 0;
}

/* Response headers larger than this (all lines of one response) fail the
   attempt with LLM_ERR_TOO_LARGE. */
#ifndef LLM_MAX_HEADER_BYTES
#define LLM_MAX_HEADER_BYTES (64 * 1024)
#endif

static void llm__first_byte(llm_request *r, int64_t now) {
    if (r->a.got_byte) return;
    r->a.got_byte = 1;
    r->a.t_first_byte = now;
    r->tm.first_byte_ms = (double)(now - r->t_submit) / 1000.0;
}

static size_t llm__on_header(char *buf, size_t size, size_t nitems, void *ud) {
    llm_request *r = (llm_request *)ud;
    size_t n = size * nitems, k, vs;
    const char *colon;
    char *dst = NULL;
    size_t cap = 0;
    llm__first_byte(r, llm__now_us());
    if (r->rec_on) llm__rec_add(r, 'h', buf, n);
    r->a.header_bytes += n;
    if (r->a.header_bytes > LLM_MAX_HEADER_BYTES) {
        llm__abort(r, LLM_ERR_TOO_LARGE, 0, "response headers larger than %d bytes", LLM_MAX_HEADER_BYTES);
        return 0;
    }
    if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        /* a new response (after "100 Continue", say): forget the last one */
        long st = 0;
        k = 5;
        while (k < n && buf[k] != ' ') k++;
        while (k < n && buf[k] == ' ') k++;
        while (k < n && buf[k] >= '0' && buf[k] <= '9' && st < 1000) st = st * 10 + (buf[k++] - '0');
        r->a.http_status = st;
        r->a.h_request_id[0] = r->a.h_content_type[0] = r->a.h_retry_after[0] = r->a.h_retry_after_ms[0] = r->a.h_location[0] = '\0';
        r->a.h_should_retry = -1;
        r->a.rl_have = 0;
        return n;
    }
    colon = (const char *)memchr(buf, ':', n);
    if (!colon) return n;
    k = (size_t)(colon - buf);
    vs = k + 1;
    while (vs < n && (buf[vs] == ' ' || buf[vs] == '\t')) vs++;
    while (n > vs && (buf[n - 1] == '\r' || buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\t')) n--;
    if (llm__ieq_n(buf, k, "content-type")) { dst = r->a.h_content_type; cap = sizeof r->a.h_content_type; }
    else if (llm__ieq_n(buf, k, "x-request-id") || llm__ieq_n(buf, k, "request-id")) { dst = r->a.h_request_id; cap = sizeof r->a.h_request_id; }
    else if (llm__ieq_n(buf, k, "retry-after")) { dst = r->a.h_retry_after; cap = sizeof r->a.h_retry_after; }
    else if (llm__ieq_n(buf, k, "retry-after-ms")) { dst = r->a.h_retry_after_ms; cap = sizeof r->a.h_retry_after_ms; }
    else if (llm__ieq_n(buf, k, "location")) { dst = r->a.h_location; cap = sizeof r->a.h_location; }
    else if (llm__rl_header(r, buf, k, buf + vs, n - vs)) return size * nitems;
    else if (llm__ieq_n(buf, k, "x-should-retry")) {
        if (llm__ieq_n(buf + vs, n - vs, "true")) r->a.h_should_retry = 1;
        else if (llm__ieq_n(buf + vs, n - vs, "false")) r->a.h_should_retry = 0;
        return size * nitems;
    }
    if (dst) {
        size_t vl = n - vs, i;
        if (vl >= cap) vl = cap - 1;
        for (i = 0; i < vl; i++) dst[i] = (buf[vs + i] >= 0x20 && buf[vs + i] < 0x7F) ? buf[vs + i] : '?';
        dst[vl] = '\0';
    }
    return size * nitems;
}

/* "application/json", with or without parameters (not application/jsonl) */
static int llm__is_json_type(const char *ct) {
    size_t n = strlen(ct);
    return n >= 16 && llm__ieq_n(ct, 16, "application/json") && (n == 16 || ct[16] == ';' || ct[16] == ' ');
}

/* How the body is read, decided from the request and the headers, never
   from the body's first bytes (an empty stream is still a stream): a 2xx
   answer to a streaming request is a stream unless it says it is one JSON
   document; NDJSON or SSE as the server says, else the API's. */
static void llm__decide_mode(llm_request *r) {
    const char *ct = r->a.h_content_type;
    int ok = r->a.http_status >= 200 && r->a.http_status < 300;
    if (r->a.mode != LLM__M_UNDECIDED) return;
    if (ok && llm__endpoints[r->kind].binary) r->a.mode = LLM__M_BINARY; /* audio bytes, whatever the type */
    else r->a.mode = (r->stream && ok && !llm__is_json_type(ct)) ? LLM__M_STREAM : LLM__M_BUFFER;
    if (r->a.mode == LLM__M_STREAM) {
        if (strstr(ct, "ndjson") || strstr(ct, "jsonl")) r->a.framing = 2;
        else if (strstr(ct, "event-stream")) r->a.framing = 1;
        else r->a.framing = llm__ops_of(r->prov)->framing;
    }
}

/* libcurl hands over body bytes here. It only records: no curl calls, no
   host callbacks; returning short aborts the transfer with our reason kept
   in abort_kind. */
static size_t llm__on_write(char *p, size_t size, size_t nmemb, void *ud) {
    llm_request *r = (llm_request *)ud;
    llm_client *c = r->c;
    size_t n = size * nmemb;
    int ok;
    c->cb_now = llm__now_us();
    if (n && llm__budget_spent_at(c, c->cb_now)) { /* not one byte taken: curl keeps them all */
        llm__pause(r, c->cb_now);
        return CURL_WRITEFUNC_PAUSE;
    }
    c->budget_did = 1;
    if (r->rec_on) llm__rec_add(r, 'b', p, n);
    r->tm.bytes_received += n;
    r->a.bytes += n;
    llm__first_byte(r, c->cb_now);
    if (r->a.bytes > c->max_response) {
        llm__abort(r, LLM_ERR_TOO_LARGE, 0, "response larger than max_response_bytes (%lu bytes)", (unsigned long)c->max_response);
        return 0;
    }
    llm__decide_mode(r);
    if (r->a.mode == LLM__M_BINARY) { /* handed to the host as it comes */
        if (!llm__buf_add_max(&r->ra, &r->a.bin, p, n, c->max_response + 1)) {
            llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory buffering the audio");
            return 0;
        }
        r->t_last_event = c->cb_now; /* bytes are the events of a binary stream */
        llm__first_token(r);
        llm__notify(r);
        return n;
    }
    if (r->a.mode == LLM__M_BUFFER) {
        if (!llm__buf_add_max(&r->ra, &r->a.raw, p, n, c->max_response + 1)) {
            llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory buffering the response");
            return 0;
        }
        return n;
    }
    if (r->a.framing == 2) {
        ok = llm__nd_feed(&r->ra, &r->a.nd, p, n, llm__stream_event, r);
        if (!ok && r->a.nd.err == LLM_ERR_TOO_LARGE)
            llm__abort(r, LLM_ERR_TOO_LARGE, 0, "stream line larger than max_event_bytes (%lu)", (unsigned long)c->max_event);
        else if (!ok && r->a.nd.err == LLM_ERR_NO_MEMORY)
            llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory decoding the stream");
    } else {
        ok = llm__sse_feed(&r->ra, &r->a.sse, p, n, llm__stream_event, r);
        if (!ok && r->a.sse.err == LLM_ERR_TOO_LARGE)
            llm__abort(r, LLM_ERR_TOO_LARGE, 0, "stream event larger than max_event_bytes (%lu)", (unsigned long)c->max_event);
        else if (!ok && r->a.sse.err == LLM_ERR_NO_MEMORY)
            llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory decoding the stream");
    }
    return ok ? n : 0;
}

static int llm__easy_setup(llm_request *r) {
    llm_client *c = r->c;
    CURL *e = curl_easy_init();
    if (!e) return 0;
    /* a new connection to a host seen before resumes its TLS session (one
       round trip less); the multi handle shares connections and DNS already */
    if (r->c->share) curl_easy_setopt(e, CURLOPT_SHARE, r->c->share);
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->a.errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, llm__on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, llm__on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)r);
    if (r->body) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    if (c->connect_ms > 0) curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
#if LLMASYNC_PIPEWAIT
    /* A burst of requests to one HTTPS host waits for the first connection's
       ALPN answer and, when it is HTTP/2, shares it: one TLS handshake
       instead of one per request (bench/h2_connections.sh). Only for
       https://: on plain http:// (HTTP/1.1, no ALPN) libcurl would make a
       request wait for another's connection to be free, a fast request
       queued behind a slow one (test_completion_order). */
    if (llm__ieq_n(r->url, 8, "https://")) curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
#endif
    /* Never follow redirects: custom credential headers (x-api-key) would go
       to the new host. A 3xx fails with the Location in the message. */
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
#if LIBCURL_VERSION_NUM >= 0x074700
    if (c->native_ca) curl_easy_setopt(e, CURLOPT_SSL_OPTIONS, (long)CURLSSLOPT_NATIVE_CA);
#endif
    if (c->proxy) curl_easy_setopt(e, CURLOPT_PROXY, c->proxy);       /* overrides the environment */
    if (c->no_proxy) curl_easy_setopt(e, CURLOPT_NOPROXY, c->no_proxy);
    r->easy = e;
    return 1;
}

/* >>retry ================================================================ */

/* A non-negative decimal number, the whole (trimmed) string. */
static int llm__parse_decimal(const char *s, double *out) {
    size_t i = 0, n, start;
    while (s[i] == ' ') i++;
    start = i;
    while (s[i] >= '0' && s[i] <= '9') i++;
    if (i == start) return 0;
    if (s[i] == '.') {
        i++;
        while (s[i] >= '0' && s[i] <= '9') i++;
    }
    n = i;
    while (s[i] == ' ') i++;
    if (s[i] != '\0' || n - start > 40) return 0;
    {
        char tmp[48];
        memcpy(tmp, s + start, n - start);
        tmp[n - start] = '\0';
        *out = llm__strtod(tmp, n - start);
    }
    return 1;
}

static int64_t llm__days_from_civil(int64_t y, int m, int d) {
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* HTTP dates (IMF-fixdate, RFC 850, asctime) to Unix seconds; -1 if not one. */
static int64_t llm__http_date(const char *s) {
    static const char *mon[] = { "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec" };
    int day = -1, month = -1, hh = -1, mm = -1, ss = -1;
    int64_t year = -1;
    const char *p = s;
    while (*p) {
        const char *t;
        size_t n;
        while (*p == ' ' || *p == ',' || *p == '-') p++;
        t = p;
        while (*p && *p != ' ' && *p != ',' && *p != '-') p++;
        n = (size_t)(p - t);
        if (!n) break;
        if (t[0] >= '0' && t[0] <= '9') {
            if (n == 8 && t[2] == ':' && t[5] == ':') {
                hh = (t[0] - '0') * 10 + (t[1] - '0');
                mm = (t[3] - '0') * 10 + (t[4] - '0');
                ss = (t[6] - '0') * 10 + (t[7] - '0');
            } else {
                int64_t v = 0;
                size_t i;
                for (i = 0; i < n && i < 6; i++) {
                    if (t[i] < '0' || t[i] > '9') return -1;
                    v = v * 10 + (t[i] - '0');
                }
                if (n <= 2 && day < 0) day = (int)v; /* "06 Nov", asctime's "Nov  6" */
                else if (n == 2) year = v + (v < 70 ? 2000 : 1900);
                else year = v;
            }
        } else if (n >= 3) {
            int i;
            for (i = 0; i < 12; i++)
                if (llm__lower((unsigned char)t[0]) == mon[i][0] && llm__lower((unsigned char)t[1]) == mon[i][1] &&
                    llm__lower((unsigned char)t[2]) == mon[i][2] && (n == 3))
                    month = i + 1;
        }
    }
    if (day < 1 || day > 31 || month < 1 || year < 1970 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60) return -1;
    return llm__days_from_civil(year, month, day) * 86400 + hh * 3600 + mm * 60 + ss;
}

static double llm__rand01(llm_client *c) { /* xorshift64*: per client, no global state */
    uint64_t x = c->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c->rng = x;
    return (double)((x * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

/* The server's Retry-After when sane, else exponential backoff with jitter:
   min(0.5 * 2^n, 8) s times a factor in [0.75, 1]. */
/* The server's own delay (retry-after-ms, else Retry-After seconds or an
   HTTP date): microseconds, or -1 when none or beyond retry_max_delay_ms. */
static int64_t llm__server_delay_us(const llm_request *r) {
    double ms = -1, v;
    int64_t when;
    if (r->a.h_retry_after_ms[0] && llm__parse_decimal(r->a.h_retry_after_ms, &v)) ms = v;
    if (ms < 0 && r->a.h_retry_after[0]) {
        if (llm__parse_decimal(r->a.h_retry_after, &v)) ms = v * 1000.0;
        else if ((when = llm__http_date(r->a.h_retry_after)) >= 0) ms = ((double)when - (double)time(NULL)) * 1000.0;
    }
    return ms >= 0 && ms <= (double)r->c->retry_cap_ms ? (int64_t)(ms * 1000.0) : -1;
}

static int64_t llm__retry_delay_us(llm_request *r) {
    llm_client *c = r->c;
    double base;
    int64_t d = llm__server_delay_us(r);
    if (d >= 0) return d;
    base = 0.5;
    { int i; for (i = 0; i < r->retries && base < 8.0; i++) base *= 2; }
    if (base > 8.0) base = 8.0;
    return (int64_t)(base * (1.0 - 0.25 * llm__rand01(c)) * 1e6);
}

/* >>record ===============================================================
   Record and replay (llm_client_desc.record_path / replay_path, or the
   environment's LLMASYNC_RECORD / LLMASYNC_REPLAY). A recording is a JSON
   Lines file, one exchange (one attempt) per line, appended when the
   attempt ends:
     {"llmasync_exchange":1,"provider":"openai","method":"POST",
      "path":"/v1/chat/completions","body_len":123,"body_hash":"<16 hex>",
      "body":"...","events":[[us,"h","HTTP/1.1 200 OK\r\n"],
      [us,"b","data: ..."],[us,"b",{"b64":"..."}]],"curl":0,
      "curl_error":"","timeout":"idle"}
   us: microseconds since the attempt started; "h" one header line as curl
   gave it, "b" the body bytes of one write callback (a string when they
   are UTF-8, else base64). Request headers are never written (the keys
   live there), nor Set-Cookie lines; every key of the client is masked in
   what is written. "body" (the request's, for people reading the file) is
   kept when it is UTF-8 and at most LLM__REC_BODY_MAX bytes.
   An exchange's identity is method, path (query included, host not: a
   recording made against one server replays against any base URL) and
   body length and hash (a multipart boundary, random per request, does
   not count).
   Replay makes no transfer. An attempt takes the first unused exchange of
   its identity, in file order, so retries and repeated prompts come back
   in the order they were recorded; its events go through the same header
   and write callbacks as curl's bytes, instantly or (replay_paced) at
   their recorded offsets, and it ends as the recorded attempt ended
   (curl's result, or one of our timeouts). Instantly means instantly:
   retry delays and rate-limit holds are skipped too. An attempt with no
   exchange fails, not retried, as LLM_ERR_CONNECTION naming method, path
   and body.
   Writers: c->rec only llm__rec_open and llm__rec_close; r->rec_buf and
   r->rec_on only the record hooks; r->rpx, rp_i and rp_due only
   llm__replay_start, llm__replay_feed and llm__detach (which ends a
   replay as it ends a transfer). */

#define LLM__REC_BODY_MAX (64 * 1024)


static void llm__fail_or_retry(llm_request *r, llm_error_kind kind, long status, int retryable,
                               llm_timeout_kind to, const char *detail); /* >>state */
static void llm__attempt_done(llm_request *r, CURLcode res);              /* >>state */
static void llm__transition(llm_request *r, llm_status to);               /* >>state */

/* The URL's path and query: what identifies an exchange, whatever host. */
static const char *llm__url_path(const char *url) {
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    p = strchr(p, '/');
    return p ? p : "/";
}

/* FNV-1a of the request body; a multipart boundary counts as one byte. */
static void llm__rec_hash(const llm_request *r, char out[17]) {
    uint64_t h = 14695981039346656037ull;
    const char *b = r->body, *bd = NULL;
    size_t n = r->body ? r->body_len : 0, bl = 0, i = 0;
    if (r->ctype && (bd = strstr(r->ctype, "boundary=")) != NULL) {
        bd += 9;
        bl = strlen(bd);
    }
    while (i < n) {
        unsigned char ch;
        if (bl && b[i] == bd[0] && n - i >= bl && memcmp(b + i, bd, bl) == 0) {
            ch = 0;
            i += bl;
        } else {
            ch = (unsigned char)b[i++];
        }
        h = (h ^ ch) * 1099511628211ull;
    }
    snprintf(out, 17, "%08lx%08lx", (unsigned long)(h >> 32), (unsigned long)(h & 0xFFFFFFFFu));
}

/* ---- recording ---- */

/* One event of the attempt: tag, offset, length, bytes. Without memory the
   attempt is not recorded (a hole is better than a wrong exchange). */
static void llm__rec_add(llm_request *r, char tag, const char *p, size_t n) {
    llm_client *c = r->c;
    int64_t us = llm__now_us() - r->t_attempt;
    if (tag == 'h' && n >= 11 && llm__ieq_n(p, 11, "set-cookie:")) return;
    if (!llm__buf_add(&c->alloc, &r->rec_buf, &tag, 1) || !llm__buf_add(&c->alloc, &r->rec_buf, &us, sizeof us) ||
        !llm__buf_add(&c->alloc, &r->rec_buf, &n, sizeof n) || !llm__buf_add(&c->alloc, &r->rec_buf, p, n)) {
        r->rec_on = 0;
        llm__buf_free(&c->alloc, &r->rec_buf);
        llm__log(c, LLM_LOG_WARN, "llmasync: request %u: out of memory recording it; this attempt is not recorded", r->seq);
    }
}

/* Bytes as a JSON string, masked: text when UTF-8, else {"b64": ...}. */
static void llm__rec_bytes(llm_json_writer *w, const llm_client *c, char *p, size_t n) {
    llm__mask_n(c, p, &n);
    if (llm__utf8_valid((const unsigned char *)p, n) == n) {
        llm_jw_string_n(w, p, n);
        return;
    }
    llm_jw_object_begin(w);
    llm_jw_key(w, "b64");
    llm__jw_string_b64(w, "", (const unsigned char *)p, n);
    llm_jw_object_end(w);
}

/* The attempt ended (curl's result, or our timeout `to`): one line. */
static void llm__rec_write(llm_request *r, int curl_code, const char *curl_error, llm_timeout_kind to) {
    llm_client *c = r->c;
    llm_json_writer w;
    char hash[17], err[CURL_ERROR_SIZE];
    const char *text, *path;
    size_t len, off = 0;
    if (!r->rec_on) return;
    r->rec_on = 0;
    path = llm__url_path(r->url);
    llm__rec_hash(r, hash);
    llm_jw_init(&w, &c->alloc);
    llm_jw_object_begin(&w);
    llm_jw_key(&w, "llmasync_exchange");
    llm_jw_int(&w, 1);
    llm_jw_key(&w, "provider");
    llm_jw_string(&w, r->prov ? r->prov->name : "");
    llm_jw_key(&w, "method");
    llm_jw_string(&w, r->body ? "POST" : "GET");
    llm_jw_key(&w, "path");
    llm_jw_string(&w, path);
    llm_jw_key(&w, "body_len");
    llm_jw_int(&w, r->body ? (int64_t)r->body_len : 0);
    llm_jw_key(&w, "body_hash");
    llm_jw_string(&w, hash);
    if (r->body && r->body_len <= LLM__REC_BODY_MAX &&
        llm__utf8_valid((const unsigned char *)r->body, r->body_len) == r->body_len) {
        char *copy = llm__strndup(&c->alloc, r->body, r->body_len);
        if (copy) {
            size_t n = r->body_len;
            llm__mask_n(c, copy, &n);
            llm_jw_key(&w, "body");
            llm_jw_string_n(&w, copy, n);
            llm__free(&c->alloc, copy);
        }
    }
    llm_jw_key(&w, "events");
    llm_jw_array_begin(&w);
    while (off < r->rec_buf.len) {
        char tag = r->rec_buf.p[off];
        int64_t us;
        size_t n;
        memcpy(&us, r->rec_buf.p + off + 1, sizeof us);
        memcpy(&n, r->rec_buf.p + off + 1 + sizeof us, sizeof n);
        off += 1 + sizeof us + sizeof n;
        llm_jw_array_begin(&w);
        llm_jw_int(&w, us);
        llm_jw_string(&w, tag == 'h' ? "h" : "b");
        llm__rec_bytes(&w, c, r->rec_buf.p + off, n);
        llm_jw_array_end(&w);
        off += n;
    }
    llm_jw_array_end(&w);
    llm_jw_key(&w, "curl");
    llm_jw_int(&w, curl_code);
    snprintf(err, sizeof err, "%s", curl_error ? curl_error : "");
    llm__utf8_trim(err);
    llm__mask(c, err);
    llm_jw_key(&w, "curl_error");
    llm_jw_string(&w, err);
    if (to != LLM_TIMEOUT_NONE) {
        llm_jw_key(&w, "timeout");
        llm_jw_string(&w, to == LLM_TIMEOUT_FIRST_BYTE ? "first_byte" : to == LLM_TIMEOUT_IDLE ? "idle" : "total");
    }
    llm_jw_object_end(&w);
    text = llm_jw_text(&w, &len);
    if (!w.error && text && c->rec && c->rec->out) {
        if (fwrite(text, 1, len, c->rec->out) != len || fputc('\n', c->rec->out) == EOF || fflush(c->rec->out) != 0)
            llm__log(c, LLM_LOG_WARN, "llmasync: request %u: could not write its recording", r->seq);
    } else {
        llm__log(c, LLM_LOG_WARN, "llmasync: request %u: could not record it (%s)", r->seq, llm_json_error_string((llm_json_error)w.error));
    }
    llm_jw_free(&w);
    llm__buf_free(&c->alloc, &r->rec_buf);
}

/* ---- replay ---- */

static int llm__b64_ok(const char *s, size_t n) {
    size_t i;
    for (i = 0; i < n && s[i] != '='; i++)
        if (llm__b64val((unsigned char)s[i]) < 0) return 0;
    return 1;
}

/* One line of a replay file, checked whole so replay never meets a surprise;
   NULL when it is fine, else what is wrong. */
static const char *llm__rx_read(llm__rx *x, const llm_json_value *o) {
    const llm_json_value *v;
    int64_t n;
    size_t i;
    memset(x, 0, sizeof *x);
    if (!o || o->type != LLM_JSON_OBJECT || !llm_json_int64(llm_json_get(o, "llmasync_exchange"), &n) || n != 1)
        return "not an exchange (\"llmasync_exchange\":1)";
    x->method = llm_json_string(llm_json_get(o, "method"), NULL);
    x->path = llm_json_string(llm_json_get(o, "path"), NULL);
    x->hash = llm_json_string(llm_json_get(o, "body_hash"), &i);
    if (!x->method || !x->path || !x->hash || i != 16) return "method, path or body_hash missing";
    if (!llm_json_int64(llm_json_get(o, "body_len"), &n) || n < 0) return "body_len missing";
    x->body_len = (size_t)n;
    if (!llm_json_int64(llm_json_get(o, "curl"), &n) || n < 0 || n > 1000) return "curl missing";
    x->curl = (int)n;
    x->curl_error = llm_json_string(llm_json_get(o, "curl_error"), NULL);
    if (!x->curl_error) x->curl_error = "";
    v = llm_json_get(o, "timeout");
    if (v) {
        const char *t = llm_json_string(v, NULL);
        if (t && !strcmp(t, "first_byte")) x->timeout = LLM_TIMEOUT_FIRST_BYTE;
        else if (t && !strcmp(t, "idle")) x->timeout = LLM_TIMEOUT_IDLE;
        else if (t && !strcmp(t, "total")) x->timeout = LLM_TIMEOUT_TOTAL;
        else return "timeout is not first_byte, idle or total";
    }
    x->events = llm_json_get(o, "events");
    if (!x->events || x->events->type != LLM_JSON_ARRAY) return "events missing";
    for (i = 0; i < x->events->len; i++) {
        const llm_json_value *e = &x->events->items[i], *d;
        const char *tag;
        size_t tl;
        if (e->type != LLM_JSON_ARRAY || e->len != 3 || !llm_json_int64(&e->items[0], &n) || n < 0) return "an event is not [us, tag, data]";
        tag = llm_json_string(&e->items[1], &tl);
        if (!tag || tl != 1 || (tag[0] != 'h' && tag[0] != 'b')) return "an event's tag is not \"h\" or \"b\"";
        d = &e->items[2];
        if (d->type == LLM_JSON_OBJECT) d = llm_json_get(d, "b64");
        else if (d->type != LLM_JSON_STRING) return "an event's data is not a string or {\"b64\": ...}";
        if (!d || d->type != LLM_JSON_STRING || (d != &e->items[2] && !llm__b64_ok(d->str, d->len))) return "an event's b64 data is not base64";
    }
    return NULL;
}

static void llm__rec_close(llm_client *c) {
    llm__rec *rc = c->rec;
    int i;
    if (!rc) return;
    if (rc->out) fclose(rc->out);
    for (i = 0; i < rc->n_docs; i++) llm_json_free(rc->docs[i]);
    llm__free(&c->alloc, rc->docs);
    llm__free(&c->alloc, rc->xs);
    llm__free(&c->alloc, rc);
    c->rec = NULL;
}

/* Reads a whole file; NULL when it cannot. */
static char *llm__read_file(const llm_allocator *a, const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    llm__buf b = { NULL, 0, 0 };
    char chunk[16384];
    size_t n;
    if (!f) return NULL;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (!llm__buf_add(a, &b, chunk, n)) { fclose(f); llm__buf_free(a, &b); return NULL; }
    if (ferror(f) || (!b.p && !llm__buf_add(a, &b, "", 0))) { fclose(f); llm__buf_free(a, &b); return NULL; }
    fclose(f);
    *len = b.len;
    return b.p;
}

/* Loads a replay text (name: the file's, for messages); 0 with a message
   in why when a line is not an exchange. */
static int llm__rec_load(llm_client *c, const char *text, size_t len, const char *name, char *why, size_t cap) {
    llm__rec *rc = c->rec;
    size_t at = 0, lines = 0;
    int cap_docs = 0;
    while (at < len) {
        const char *nl = (const char *)memchr(text + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - text) : len, k;
        llm_json_options o;
        llm_json_result jr;
        llm_json_value *doc;
        const char *bad;
        lines++;
        for (k = at; k < end && (text[k] == ' ' || text[k] == '\t' || text[k] == '\r'); k++) {}
        if (k == end) { at = end + 1; continue; } /* a blank line */
        memset(&o, 0, sizeof o);
        o.allocator = &c->alloc;
        doc = llm_json_parse(text + at, end - at, &o, &jr);
        if (!doc) {
            snprintf(why, cap, "replay file %s: line %lu: %s at column %lu", name, (unsigned long)lines,
                     llm_json_error_string(jr.error), (unsigned long)jr.column);
            return 0;
        }
        if (rc->n_docs == cap_docs) {
            int nc = cap_docs ? cap_docs * 2 : 16;
            llm_json_value **nd = (llm_json_value **)llm__realloc(&c->alloc, rc->docs, (size_t)nc * sizeof *nd);
            llm__rx *nx = nd ? (llm__rx *)llm__realloc(&c->alloc, rc->xs, (size_t)nc * sizeof *nx) : NULL;
            if (nd) rc->docs = nd;
            if (!nd || !nx) {
                llm_json_free(doc);
                snprintf(why, cap, "replay file %s: out of memory", name);
                return 0;
            }
            rc->xs = nx;
            cap_docs = nc;
        }
        rc->docs[rc->n_docs++] = doc;
        bad = llm__rx_read(&rc->xs[rc->n_xs], doc);
        if (bad) {
            snprintf(why, cap, "replay file %s: line %lu: %s", name, (unsigned long)lines, bad);
            return 0;
        }
        rc->n_xs++;
        at = end + 1;
    }
    return 1;
}

/* Opens the recording (appended to) or loads the replay file; 0 with a
   message in why when it cannot. */
static int llm__rec_open(llm_client *c, const char *record, const char *replay, int paced, char *why, size_t cap) {
    llm__rec *rc;
    size_t len = 0;
    char *text;
    int ok;
    if (!record && !replay) return 1;
    if (record && replay) { snprintf(why, cap, "record and replay at once"); return 0; }
    rc = (llm__rec *)llm__calloc(&c->alloc, sizeof *rc);
    if (!rc) { snprintf(why, cap, "out of memory"); return 0; }
    c->rec = rc;
    if (record) {
        rc->out = fopen(record, "ab");
        if (!rc->out) { snprintf(why, cap, "record file %s cannot be opened for appending", record); return 0; }
        return 1;
    }
    rc->paced = paced;
    text = llm__read_file(&c->alloc, replay, &len);
    if (!text) { snprintf(why, cap, "replay file %s cannot be read", replay); return 0; }
    ok = llm__rec_load(c, text, len, replay, why, cap);
    llm__free(&c->alloc, text);
    return ok;
}

/* A replayed attempt starts: its exchange, or a failure naming it. */
static void llm__replay_start(llm_request *r, int64_t now) {
    llm_client *c = r->c;
    llm__rec *rc = c->rec;
    const char *method = r->body ? "POST" : "GET", *path = llm__url_path(r->url);
    size_t blen = r->body ? r->body_len : 0;
    char hash[17];
    int i, same_path = 0;
    llm__rec_hash(r, hash);
    llm__attempt_reset(r);
    r->t_attempt = r->t_last_event = now;
    if (r->tm.attempts == 0) r->tm.queued_ms = (double)(now - r->t_submit) / 1000.0;
    llm__transition(r, LLM_ACTIVE);
    for (i = 0; i < rc->n_xs; i++) {
        llm__rx *x = &rc->xs[i];
        if (strcmp(x->path, path) || strcmp(x->method, method)) continue;
        same_path++;
        if (!x->used && x->body_len == blen && !strcmp(x->hash, hash)) {
            x->used = 1;
            r->rpx = x;
            r->rp_i = 0;
            r->rp_due = now;
            r->tm.attempts++;
            llm__timer(c, now);
            if (rc->paced && r->first_byte_us > 0) llm__timer(c, now + r->first_byte_us);
            if (rc->paced && r->stream && r->idle_us > 0) llm__timer(c, now + r->idle_us);
            return;
        }
    }
    {
        char msg[512];
        snprintf(msg, sizeof msg, "replay: no recorded exchange for %s %s with this body (%lu bytes, hash %s); "
                 "the recording holds %d exchanges, %d of them %s %s, all used or with other bodies",
                 method, path, (unsigned long)blen, hash, rc->n_xs, same_path, method, path);
        llm__utf8_trim(msg);
        llm__fail_or_retry(r, LLM_ERR_CONNECTION, 0, 0, LLM_TIMEOUT_NONE, msg);
    }
}

/* The message and retry rule of one of our own timeouts (>>state's
   llm__timers_once and a replayed one). */
static void llm__time_out(llm_request *r, llm_timeout_kind which) {
    char msg[96];
    if (which == LLM_TIMEOUT_IDLE)
        snprintf(msg, sizeof msg, "no stream data event for %lld ms", (long long)(r->idle_us / 1000));
    else if (which == LLM_TIMEOUT_FIRST_BYTE)
        snprintf(msg, sizeof msg, "no response byte within %lld ms", (long long)(r->first_byte_us / 1000));
    else
        snprintf(msg, sizeof msg, "request not finished within %lld ms", (long long)((r->deadline_total - r->t_submit) / 1000));
    llm__rec_write(r, 0, "", which);
    llm__detach(r); /* closes the connection: the server stops */
    llm__fail_or_retry(r, LLM_ERR_TIMEOUT, 0, which != LLM_TIMEOUT_TOTAL, which, msg);
}

/* Feeds a replayed attempt what is due; 1 when the attempt ended. */
static int llm__replay_feed(llm_request *r, int64_t now) {
    llm_client *c = r->c;
    const llm__rx *x = r->rpx;
    while (r->rp_i < x->events->len) {
        const llm_json_value *e = &x->events->items[r->rp_i], *d = &e->items[2];
        int64_t us = 0;
        size_t n, got;
        const char *p;
        llm__buf tmp = { NULL, 0, 0 };
        llm_json_int64(&e->items[0], &us);
        if (c->rec->paced && r->t_attempt + us > now) {
            r->rp_due = r->t_attempt + us;
            llm__timer(c, r->rp_due);
            return 0;
        }
        if (llm__budget_spent(c)) { /* the next pump goes on */
            r->rp_due = now;
            llm__timer(c, now);
            return 0;
        }
        if (d->type == LLM_JSON_OBJECT) { /* base64: decoded here, checked at load */
            const llm_json_value *s = llm_json_get(d, "b64");
            uint32_t acc = 0;
            int bits = 0;
            size_t i;
            if (!llm__buf_reserve(&c->alloc, &tmp, s->len)) {
                llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory replaying the response");
                llm__attempt_done(r, CURLE_WRITE_ERROR);
                return 1;
            }
            for (i = 0; i < s->len && s->str[i] != '='; i++) {
                acc = (acc << 6) | (uint32_t)llm__b64val((unsigned char)s->str[i]);
                bits += 6;
                if (bits >= 8) {
                    bits -= 8;
                    tmp.p[tmp.len++] = (char)((acc >> bits) & 0xFF);
                }
            }
            p = tmp.p;
            n = tmp.len;
        } else {
            p = d->str;
            n = d->len;
        }
        if (e->items[1].str[0] == 'h') got = llm__on_header((char *)p, 1, n, r);
        else got = n ? llm__on_write((char *)p, 1, n, r) : 0;
        llm__buf_free(&c->alloc, &tmp);
        if (got == CURL_WRITEFUNC_PAUSE && e->items[1].str[0] == 'b' && n) { /* out of budget: this event again */
            llm__unpause(r);
            r->rp_due = now;
            llm__timer(c, now);
            return 0;
        }
        if (got != n) { /* refused: the request's reason is in abort_kind */
            llm__attempt_done(r, CURLE_WRITE_ERROR);
            return 1;
        }
        c->budget_did = 1; /* after the callback, which looks at the budget itself */
        r->rp_i++;
    }
    if (x->timeout != LLM_TIMEOUT_NONE) {
        llm__time_out(r, x->timeout);
        return 1;
    }
    snprintf(r->a.errbuf, sizeof r->a.errbuf, "%s", x->curl_error);
    llm__attempt_done(r, (CURLcode)x->curl);
    return 1;
}

/* Replayed attempts that are due, each as far as it goes. An attempt that
   ends changes the lists: the scan starts again. */
static void llm__replay_move(llm_client *c) {
    llm_request *r;
    int again = 1;
    if (!c->rec || c->rec->out) return;
    while (again && !llm__budget_spent(c)) {
        int64_t now = llm__now_us();
        again = 0;
        for (r = c->lists[LLM__L_ACTIVE].head; r; r = r->next)
            if (r->rpx && r->rp_due <= now && llm__replay_feed(r, now)) { again = 1; break; }
    }
}

/* >>state ================================================================
   The request state machine. Every status change goes through
   llm__transition; nothing else writes r->status.

     (new) ----submit----> QUEUED            (GROUP parents: the group list)
     QUEUED ---admit-----> ACTIVE            holds a slot under max_concurrent
     ACTIVE ---retryable--> RETRY_WAIT       slot released, timer retry_at
     RETRY_WAIT --timer--> QUEUED            first in line: admitted before
     any non-terminal ---> DONE | FAILED | CANCELLED   exactly once

   Terminal requests wait in the DONE list until llm_wait_any reports them
   (then HELD), or go to HELD directly when llm_chat_blocking owns them. */

/* The one writer of the outcome: it starts from nothing, so no field of an
   earlier attempt can survive into it. Strings are copied into one
   allocation and every key is masked in them; without memory the message
   is a fixed text and the kind is still right. */
static void llm__outcome_free(llm_request *r) {
    llm__free(&r->c->alloc, r->o.strs);
    r->o.strs = NULL;
}
/* An outcome whose message is a string literal: nothing to allocate. */
static void llm__outcome_static(llm_request *r, llm_error_kind kind, const char *literal) {
    llm__outcome_free(r);
    memset(&r->o.err, 0, sizeof r->o.err);
    r->o.err.kind = kind;
    r->o.err.message = literal;
    r->o.err.retries = r->retries;
}
/* Returns 0 when there was no memory for the strings: the outcome is then
   LLM_ERR_NO_MEMORY (an allocation did fail) with a fixed message. */
static int llm__outcome_set(llm_request *r, llm_error_kind kind, long status, int retryable, llm_timeout_kind to,
                            int curl_code, const char *msg, const char *pmsg, const char *type, const char *code,
                            const char *param, const char *request_id) {
    llm_error *e = &r->o.err;
    const char *v[6];
    const char **out[6];
    size_t len[6], total = 0, off = 0;
    int i;
    v[0] = msg ? msg : "";
    v[1] = pmsg; v[2] = type; v[3] = code; v[4] = param; v[5] = request_id;
    out[0] = &e->message; out[1] = &e->provider_message; out[2] = &e->type;
    out[3] = &e->code; out[4] = &e->param; out[5] = &e->request_id;
    llm__outcome_free(r);
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->http_status = (int)status;
    e->retryable = retryable;
    e->timeout = kind == LLM_ERR_TIMEOUT ? to : LLM_TIMEOUT_NONE;
    e->curl_code = curl_code;
    e->retries = r->retries;
    e->message = "";
    for (i = 0; i < 6; i++) {
        len[i] = v[i] && (i == 0 || v[i][0]) ? strlen(v[i]) : 0;
        total += len[i] + 1;
    }
    if (!v[0][0] && total == 6) return 1; /* nothing to keep (success) */
    r->o.strs = (char *)llm__malloc(&r->c->alloc, total);
    if (!r->o.strs) {
        llm__outcome_static(r, LLM_ERR_NO_MEMORY, "no_memory: out of memory while recording an error");
        return 0;
    }
    for (i = 0; i < 6; i++) {
        char *d = r->o.strs + off;
        size_t n = len[i];
        off += len[i] + 1;
        if (i > 0 && !len[i]) continue; /* stays NULL */
        memcpy(d, v[i], n);
        llm__mask_n(r->c, d, &n);
        d[n] = '\0';
        *out[i] = d;
    }
    return 1;
}
/* Success: an empty error but the retries spent and the final attempt's
   request id, which stays in the final attempt (nothing to allocate, so a
   success never fails for want of memory to describe it). */
static void llm__outcome_done(llm_request *r) {
    llm__outcome_set(r, LLM_ERR_NONE, 0, 0, LLM_TIMEOUT_NONE, 0, "", NULL, NULL, NULL, NULL, NULL);
    if (r->a.h_request_id[0]) {
        llm__mask(r->c, r->a.h_request_id);
        r->o.err.request_id = r->a.h_request_id;
    }
}

static void llm__group_child_done(llm_request *ch);

static void llm__transition(llm_request *r, llm_status to) {
    llm_client *c = r->c;
    int i;
    if (r->terminal) return; /* terminal already: never twice */
    switch (to) {
    case LLM_QUEUED:
        if (r->kind == LLM__K_GROUP) llm__link(r, LLM__L_GROUP);
        else llm__link_queued(r, r->status == LLM_RETRY_WAIT);
        if (!r->counted && !r->parent) { r->counted = 1; c->n_inflight++; }
        llm__timer(c, r->deadline_total);
        break;
    case LLM_ACTIVE:
        llm__link(r, LLM__L_ACTIVE);
        if (r->parent && r->parent->status == LLM_QUEUED) r->parent->status = LLM_ACTIVE;
        break;
    case LLM_RETRY_WAIT:
        llm__detach(r);
        llm__link(r, LLM__L_RETRY);
        llm__timer(c, r->retry_at);
        break;
    case LLM_DONE:
    case LLM_FAILED:
    case LLM_CANCELLED:
        r->terminal = 1;
        llm__release_easy(r);
        llm__unlink(r);
        r->status = to;
        r->tm.total_ms = (double)(llm__now_us() - r->t_submit) / 1000.0;
        if (r->counted) { r->counted = 0; c->n_inflight--; }
        if (to == LLM_DONE) llm__outcome_done(r);
        for (i = 0; i < r->n_children; i++) /* a group's open batches end with it */
            if (!r->children[i]->terminal) {
                llm_request *ch = r->children[i];
                llm__outcome_static(ch, LLM_ERR_CANCELLED, "cancelled: with its batch group");
                llm__transition(ch, LLM_CANCELLED);
            }
        if (r->parent) { llm__group_child_done(r); return; }
        llm__link(r, r->blocking ? LLM__L_HELD : LLM__L_DONE);
        llm__notify(r);
        return;
    }
    r->status = to;
}

/* Sets the error and either schedules a retry or fails the request. */
static void llm__fail_or_retry(llm_request *r, llm_error_kind kind, long status, int retryable,
                               llm_timeout_kind to, const char *detail) {
    llm_client *c = r->c;
    size_t n;
    int retry;
    int64_t now = 0, delay = 0;
    char msg[LLM_PROVIDER_MESSAGE_MAX + 512];
    if (status > 0)
        n = (size_t)snprintf(msg, sizeof msg, "HTTP %ld (%s): %s", status, llm_error_string(kind), detail);
    else if (kind == LLM_ERR_TIMEOUT)
        n = (size_t)snprintf(msg, sizeof msg, "timeout (%s): %s", llm__timeout_name(to), detail);
    else
        n = (size_t)snprintf(msg, sizeof msg, "%s: %s", llm_error_string(kind), detail);
    if (n < sizeof msg && (r->a.type[0] || r->a.code[0]))
        snprintf(msg + n, sizeof msg - n, " [%s%s%s%s]", r->a.type[0] ? "type " : "", r->a.type,
                 r->a.type[0] && r->a.code[0] ? ", code " : r->a.code[0] ? "code " : "", r->a.code);
    llm__utf8_trim(msg);
    if (r->a.text.len || r->a.n_tools || r->a.bin.len || r->a.refusal.len)
        retryable = 0; /* never replay what the host may have seen */
    retry = retryable && r->retries < r->max_retries && r->status == LLM_ACTIVE;
    if (retry) {
        now = llm__now_us();
        delay = c->rec && !c->rec->out && !c->rec->paced ? 0 : llm__retry_delay_us(r); /* instant replay */
        if (r->deadline_total && now + delay >= r->deadline_total) retry = 0;
    }
    if (retry) r->retries++;
    if (!llm__outcome_set(r, kind, status, retryable, to, r->a.curl_code, msg, llm__pmsg(r), r->a.type, r->a.code,
                          r->a.param, r->a.h_request_id))
        retry = 0; /* no memory: that is the outcome now, and it is final */
    if (retry) {
        r->retry_at = now + delay;
        llm__log(c, LLM_LOG_INFO, "llmasync: request %u: %s; retry %d of %d in %lld ms", r->seq, r->o.err.message,
                 r->retries, r->max_retries, (long long)(delay / 1000));
        llm__transition(r, LLM_RETRY_WAIT);
        return;
    }
    llm__log(c, LLM_LOG_WARN, "llmasync: request %u failed: %s", r->seq, r->o.err.message);
    llm__transition(r, LLM_FAILED);
}

/* What an OK transfer must still pass to be DONE. */
static int llm__decode_success(llm_request *r) {
    llm_client *c = r->c;
    const llm__endpoint *ep = &llm__endpoints[r->kind];
    llm__decide_mode(r); /* an empty body decides here */
    if (r->a.mode == LLM__M_BINARY) return 1;
    if (r->a.mode == LLM__M_STREAM) {
        if (r->a.framing == 2) llm__nd_finish(&r->a.nd, llm__stream_event, r);
        if (r->a.abort_kind) return 0;
        if (r->kind != LLM__K_RAW && !r->a.stream_done && !r->a.finish_reason[0]) {
            llm__abort(r, LLM_ERR_PROTOCOL, 1, "stream ended before its end marker (%s)",
                       ep->end_marker ? ep->end_marker : llm__ops_of(r->prov)->end_marker);
            return 0;
        }
        return 1;
    }
    if (r->kind == LLM__K_RAW || (r->kind == LLM__K_AUDIO && !llm__is_json_type(r->a.h_content_type))) {
        /* the body is the text (raw calls; text, srt, vtt transcripts): moved, not copied */
        llm__buf t = r->a.text;
        r->a.text = r->a.raw;
        r->a.raw = t;
        llm__buf_clear(&r->a.raw);
        if (r->a.text.len == 0) return 1;
        llm__first_token(r);
        llm__notify(r);
        if (r->kind == LLM__K_AUDIO) return 1;
    }
    {
        llm_json_options o;
        llm_json_result jr;
        const llm__buf *body = r->kind == LLM__K_RAW ? &r->a.text : &r->a.raw;
        memset(&o, 0, sizeof o);
        o.allocator = &r->ra;
        o.max_depth = c->max_depth;
        r->a.doc = llm_json_parse(body->p ? body->p : "", body->len, &o, &jr);
        if (!r->a.doc) {
            if (jr.error == LLM_JSON_ERR_NO_MEMORY) llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory parsing the response");
            else llm__abort(r, LLM_ERR_PROTOCOL, 0, "response body is not valid JSON (line %lu, column %lu: %s)",
                            (unsigned long)jr.line, (unsigned long)jr.column, llm_json_error_string(jr.error));
            return 0;
        }
    }
    if (ep->decode) ep->decode(r, r->a.doc);
    return !r->a.abort_kind;
}

/* After success: tool call views, their arguments and the content as JSON. */
/* The public views of r->a.tools, arguments parsed. */
static int llm__finalize_tools(llm_request *r, const llm_json_options *opt) {
    llm_json_options o = *opt;
    llm_json_result jr;
    int i;
    for (i = 0; i < r->a.n_tools; i++) {
        llm__tool *t = &r->a.tools[i];
        t->pub.index = t->index;
        t->pub.id = t->id.p ? t->id.p : "";
        t->pub.type = t->type.p ? t->type.p : "";
        t->pub.name = t->name.p ? t->name.p : "";
        if (!t->args.len && !llm__buf_adds(&r->ra, &t->args, "{}")) return 0; /* a call without arguments */
        t->pub.arguments = t->args.p;
        t->pub.arguments_len = t->args.len;
        if (t->args.len) {
            t->args_json = llm_json_parse(t->args.p, t->args.len, &o, &jr);
            if (!t->args_json && jr.error == LLM_JSON_ERR_NO_MEMORY) return 0;
        }
        t->pub.arguments_json = t->args_json;
    }
    return 1;
}

static int llm__finalize(llm_request *r) {
    llm_client *c = r->c;
    llm_json_options o;
    llm_json_result jr;
    int i, ok;
    memset(&o, 0, sizeof o);
    o.allocator = &r->ra;
    o.max_depth = c->max_depth;
    if (!llm__finalize_tools(r, &o)) return 0;
    for (i = 0; i < r->a.n_choices; i++) { /* n > 1: each choice's calls */
        llm__choice_tools_swap(r, &r->a.choices[i]);
        ok = llm__finalize_tools(r, &o);
        llm__choice_tools_swap(r, &r->a.choices[i]);
        if (!ok) return 0;
    }
    if ((r->kind == LLM__K_CHAT || r->kind == LLM__K_RESPONSES) && r->a.text.len) {
        /* Structured output: the content as JSON, tolerating a ``` fence. */
        const char *s = r->a.text.p, *e = r->a.text.p + r->a.text.len;
        while (s < e && (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')) s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\r' || e[-1] == '\t')) e--;
        if (e - s >= 6 && memcmp(s, "```", 3) == 0 && memcmp(e - 3, "```", 3) == 0) {
            const char *nl = (const char *)memchr(s, '\n', (size_t)(e - s));
            if (nl) { s = nl + 1; e -= 3; }
        }
        if (s < e && (*s == '{' || *s == '[')) {
            r->a.content_doc = llm_json_parse(s, (size_t)(e - s), &o, &jr);
            if (!r->a.content_doc && jr.error == LLM_JSON_ERR_NO_MEMORY) {
                /* a convenience view, not the answer: when it does not fit
                   the response's bound it is simply not there */
                if (!r->meter_over) return 0;
                r->meter_over = 0;
            }
        }
    }
    return 1;
}

static int llm__tls_trust_error(CURLcode res) {
    return res == CURLE_PEER_FAILED_VERIFICATION || res == CURLE_SSL_CACERT_BADFILE ||
           res == CURLE_SSL_CERTPROBLEM || res == CURLE_SSL_ISSUER_ERROR ||
           res == CURLE_SSL_PINNEDPUBKEYNOTMATCH || res == CURLE_SSL_CRL_BADFILE;
}

/* libcurl (7.88 among others) fails an over-long header line with
   CURLE_OUT_OF_MEMORY; its error text says which. */
static int llm__curl_header_limit(const char *errbuf) {
    const char *p;
    for (p = errbuf; *p; p++)
        if (llm__ieq_n(p, 6, "header")) return 1;
    return 0;
}

/* A transfer ended (curl_multi_info_read said so): classify it. */
static void llm__attempt_done(llm_request *r, CURLcode res) {
    long status = r->a.http_status;
    char detail[sizeof r->a.abort_msg + 400];
    llm__rec_write(r, (int)res, r->a.errbuf, LLM_TIMEOUT_NONE);
    llm__detach(r);
    r->a.curl_code = (int)res;
    llm__pace_learn(r);
    if (r->a.abort_kind) {
        llm__fail_or_retry(r, (llm_error_kind)r->a.abort_kind, status, r->a.abort_retryable, r->a.abort_timeout, r->a.abort_msg);
        return;
    }
    if (res != CURLE_OK) {
        const char *why = r->a.errbuf[0] ? r->a.errbuf : curl_easy_strerror(res);
        if (res == CURLE_OPERATION_TIMEDOUT) {
            llm__fail_or_retry(r, LLM_ERR_TIMEOUT, 0, 1, LLM_TIMEOUT_CONNECT, why);
        } else if (res == CURLE_OUT_OF_MEMORY && (llm__curl_header_limit(r->a.errbuf) || (status && !r->a.mode))) {
            /* libcurl (7.88) reports a header line beyond its own limit
               (100 KiB) as "out of memory": the status line came, no
               body did, so it was the headers */
            snprintf(detail, sizeof detail, "a response header line is longer than libcurl accepts (libcurl said: %s)", why);
            llm__fail_or_retry(r, LLM_ERR_TOO_LARGE, 0, 0, LLM_TIMEOUT_NONE, detail);
        } else if (res == CURLE_OUT_OF_MEMORY) {
            llm__fail_or_retry(r, LLM_ERR_NO_MEMORY, 0, 0, LLM_TIMEOUT_NONE, why);
        } else if (llm__tls_trust_error(res)) {
            snprintf(detail, sizeof detail, "TLS certificate not trusted (%s); set ca_file for a private CA", why);
            llm__fail_or_retry(r, LLM_ERR_CONNECTION, 0, 0, LLM_TIMEOUT_NONE, detail);
        } else if (res == CURLE_URL_MALFORMAT) {
            llm__fail_or_retry(r, LLM_ERR_INVALID, 0, 0, LLM_TIMEOUT_NONE, why);
        } else if (res == CURLE_UNSUPPORTED_PROTOCOL || res == CURLE_WEIRD_SERVER_REPLY) {
            /* the URL scheme was checked at submit: the server spoke no HTTP */
            snprintf(detail, sizeof detail, "the server's answer is not HTTP (%s)", why);
            llm__fail_or_retry(r, LLM_ERR_PROTOCOL, 0, 1, LLM_TIMEOUT_NONE, detail);
        } else {
            if (status) snprintf(detail, sizeof detail, "transfer broken after HTTP %ld: %s", status, why);
            else snprintf(detail, sizeof detail, "%s", why);
            llm__fail_or_retry(r, LLM_ERR_CONNECTION, 0, 1, LLM_TIMEOUT_NONE, detail);
        }
        return;
    }
    if (status >= 200 && status < 300) {
        if (llm__decode_success(r) && llm__finalize(r)) {
            llm__transition(r, LLM_DONE);
            return;
        }
        if (!r->a.abort_kind) llm__abort(r, LLM_ERR_NO_MEMORY, 0, "out of memory decoding the response");
        llm__fail_or_retry(r, (llm_error_kind)r->a.abort_kind, status, r->a.abort_retryable, LLM_TIMEOUT_NONE, r->a.abort_msg);
        return;
    }
    if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
        snprintf(detail, sizeof detail, "redirect to %s not followed (credentials never go to another URL); set the base URL to the final one",
                 r->a.h_location[0] ? r->a.h_location : "(no Location)");
        llm__fail_or_retry(r, LLM_ERR_PROTOCOL, status, 0, LLM_TIMEOUT_NONE, detail);
        return;
    }
    if (status >= 300 && status < 400) { /* 300, 304, 305...: not an answer to a POST either */
        snprintf(detail, sizeof detail, "HTTP %ld (%s) is not an answer this API gives", status,
                 status == 300 ? "multiple choices" : status == 304 ? "not modified" : status == 305 ? "use proxy" : "a 3xx status");
        llm__fail_or_retry(r, LLM_ERR_PROTOCOL, status, 0, LLM_TIMEOUT_NONE, detail);
        return;
    }
    {
        llm_error_kind kind = llm__kind_of_status(status);
        int retry;
        llm__decode_error_body(r);
        if (r->a.abort_kind) { /* no memory to read the body */
            llm__fail_or_retry(r, (llm_error_kind)r->a.abort_kind, status, 0, LLM_TIMEOUT_NONE, r->a.abort_msg);
            return;
        }
        if (!strcmp(r->a.type, "overloaded_error")) kind = LLM_ERR_OVERLOADED;
        if (r->a.h_should_retry >= 0) retry = r->a.h_should_retry;
        else retry = status == 408 || status == 409 || status == 429 || status >= 500;
        llm__fail_or_retry(r, kind, status, retry, status == 408 ? LLM_TIMEOUT_SERVER : LLM_TIMEOUT_NONE,
                           r->a.pmsg.len ? llm__pmsg(r) : r->a.raw.len ? "(no message in the body)" : "empty response body");
    }
}

/* Admit one queued request: set up its transfer and hand it to curl. */
static void llm__start(llm_request *r) {
    llm_client *c = r->c;
    CURLMcode mc;
    int64_t now = llm__now_us();
    if (c->rec && !c->rec->out) { /* replay: no transfer */
        llm__replay_start(r, now);
        return;
    }
    if (!r->easy && !llm__easy_setup(r)) {
        llm__fail_or_retry(r, LLM_ERR_NO_MEMORY, 0, 0, LLM_TIMEOUT_NONE, "could not create a transfer");
        return;
    }
    if (!llm__io_room(c, c->lists[LLM__L_ACTIVE].count + 1)) {
        llm__transition(r, LLM_ACTIVE); /* a failed attempt, like any other */
        llm__fail_or_retry(r, LLM_ERR_NO_MEMORY, 0, 0, LLM_TIMEOUT_NONE, "out of memory for the socket list");
        return;
    }
    llm__attempt_reset(r);
    r->t_attempt = r->t_last_event = now;
    if (r->tm.attempts == 0) r->tm.queued_ms = (double)(now - r->t_submit) / 1000.0;
    llm__transition(r, LLM_ACTIVE);
    mc = curl_multi_add_handle(c->multi, r->easy);
    if (mc != CURLM_OK) {
        llm__fail_or_retry(r, mc == CURLM_OUT_OF_MEMORY ? LLM_ERR_NO_MEMORY : LLM_ERR_CONNECTION, 0, 0,
                           LLM_TIMEOUT_NONE, curl_multi_strerror(mc));
        return;
    }
    r->in_multi = 1;
    r->tm.attempts++;
    if (c->rec) { /* recording: this attempt's events from now */
        llm__buf_clear(&r->rec_buf);
        r->rec_on = 1;
    }
    if (r->first_byte_us > 0) llm__timer(c, now + r->first_byte_us);
    if (r->stream && r->idle_us > 0) llm__timer(c, now + r->idle_us);
}

/* The first queued request that may start now (admission order), or NULL;
   with pacing, a request whose provider is held is passed over (its wait
   becomes a timer) and the next one looked at. */
static llm_request *llm__admissible(llm_client *c, int64_t *now) {
    llm_request *r = c->lists[LLM__L_QUEUED].head;
    if (!r || !c->pacing) return r;
    if (!*now) *now = llm__now_us();
    for (; r; r = r->next) {
        int64_t w = llm__pace_wait(r, *now);
        if (!w) return r;
        llm__timer(c, w);
    }
    return NULL;
}

static int llm__admit(llm_client *c) {
    int n = 0;
    int64_t now = 0;
    llm_request *r;
    while (c->lists[LLM__L_ACTIVE].count < c->max_concurrent && !llm__budget_spent(c) &&
           (r = llm__admissible(c, &now)) != NULL) {
        if (c->pacing) llm__pace_take(r, now);
        llm__start(r);
        /* under a budget the transfer connects now, inside its own unit:
           otherwise curl's next timer action would connect every transfer
           admitted since, all in one go */
        if (c->budgeted) llm__io_kick(c);
        c->budget_did = 1;
        n++;
    }
    return n;
}

/* Deadlines. c->next_timer is a lower bound of every deadline, so this scan
   runs only when something may be due; idle deadlines only move later. */
static int llm__timers_once(llm_client *c, int64_t now) {
    int64_t next = INT64_MAX;
    llm_request *r, *nx;
    for (r = c->lists[LLM__L_ACTIVE].head; r; r = nx) {
        llm_timeout_kind which = LLM_TIMEOUT_NONE;
        int64_t d = INT64_MAX;
        nx = r->next;
        if (r->rpx && r->rp_due < next) next = r->rp_due; /* a replay's next event */
        if (r->deadline_total) { d = r->deadline_total; which = LLM_TIMEOUT_TOTAL; }
        if (r->first_byte_us > 0 && !r->a.got_byte && r->t_attempt + r->first_byte_us < d) {
            d = r->t_attempt + r->first_byte_us;
            which = LLM_TIMEOUT_FIRST_BYTE;
        }
        if (r->stream && r->idle_us > 0 && !r->paused && r->t_last_event + r->idle_us < d) {
            d = r->t_last_event + r->idle_us;
            which = LLM_TIMEOUT_IDLE;
        }
        if (d > now) { if (d < next) next = d; continue; }
        llm__time_out(r, which);
        return 1; /* the lists changed under us: scan again */
    }
    for (r = c->lists[LLM__L_RETRY].head; r; r = nx) {
        nx = r->next;
        if (r->retry_at <= now) { llm__transition(r, LLM_QUEUED); return 1; }
        if (r->retry_at < next) next = r->retry_at;
    }
    for (r = c->lists[LLM__L_QUEUED].head; r; r = nx) {
        nx = r->next;
        if (!r->deadline_total) continue;
        if (r->deadline_total <= now) {
            llm__fail_or_retry(r, LLM_ERR_TIMEOUT, 0, 0, LLM_TIMEOUT_TOTAL, "request not started within its total timeout");
            return 1;
        }
        if (r->deadline_total < next) next = r->deadline_total;
    }
    c->next_timer = next;
    return 0;
}
/* Everything due now, however many: each action takes a request out of the
   list it was found in, so this ends. */
static void llm__timers(llm_client *c, int64_t now) {
    /* under a budget the rest waits: next_timer stays due until a whole
       scan finds nothing more to do */
    while (!llm__budget_spent(c) && llm__timers_once(c, now)) c->budget_did = 1;
}

/* Finished transfers. Reading curl's message is cheap, handling it is a
   unit: out of budget, the one read is held (c->held) for the next pump,
   so whether one is waiting is known, never guessed. llm__detach forgets a
   held one, as curl_multi_remove_handle forgets its message. */
static void llm__drain(llm_client *c) {
    for (;;) {
        llm_request *r;
        if (!c->held) {
            int left = 0;
            CURLMsg *m = curl_multi_info_read(c->multi, &left);
            char *priv = NULL;
            if (!m) break;
            if (m->msg != CURLMSG_DONE) continue;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
            if (!priv) continue;
            c->held = (llm_request *)priv;
            c->held_res = m->data.result; /* copy: the message dies with the handle */
        }
        if (llm__budget_spent(c)) break;
        r = c->held;
        c->held = NULL;
        llm__attempt_done(r, c->held_res);
        c->budget_did = 1;
    }
}

static void llm__destroy(llm_request *r);

/* Host callbacks, only from here: never inside a curl callback. */
static void llm__deliver(llm_client *c) {
    if (c->deliver_depth) return;
    c->deliver_depth++;
    while (c->notify_head && !llm__budget_spent(c)) { /* the rest stays listed, in order */
        llm_request *r = c->notify_head;
        c->budget_did = 1;
        llm__unnotify(r);
        r->in_cb = 1;
        while (r->a.events_off < r->a.events.len && !r->free_pending) {
            uint32_t lens[2]; /* record: lens, type, NUL, data, NUL */
            const char *ev;
            memcpy(lens, r->a.events.p + r->a.events_off, sizeof lens);
            ev = r->a.events.p + r->a.events_off + sizeof lens;
            r->a.events_off += sizeof lens + lens[0] + 1 + lens[1] + 1;
            if (r->on_event) r->on_event(r, ev, ev + lens[0] + 1, lens[1], r->user_data);
        }
        if (r->a.events_off >= r->a.events.len && !r->free_pending) { llm__buf_clear(&r->a.events); r->a.events_off = 0; }
        if (r->a.bin.len > r->a.bin_cb && !r->free_pending) { /* audio */
            size_t from = r->a.bin_cb;
            r->a.bin_cb = r->a.bin.len;
            if (r->on_audio) r->on_audio(r, r->a.bin.p + from, r->a.bin.len - from, r->user_data);
            else c->text_news = 1; /* llm_wait: LLM_WAIT_TEXT, take them */
        }
        if (r->a.text.len > r->a.cb_off && !r->free_pending) {
            if (r->on_delta) {
                size_t from = r->a.cb_off;
                r->a.cb_off = r->a.text.len;
                r->on_delta(r, r->a.text.p + from, r->a.text.len - from, r->user_data);
            } else {
                r->a.cb_off = r->a.text.len;
                if (r->stream && !r->on_event) c->text_news = 1;
            }
        }
        if (r->a.tool_news && !r->free_pending) {
            r->a.tool_news = 0;
            if (r->stream && !r->on_event) c->text_news = 1; /* partial tool arguments to read */
        }
        if (r->terminal && !r->done_called && !r->free_pending) {
            r->done_called = 1;
            if (r->on_done) r->on_done(r, r->user_data);
        }
        r->in_cb = 0;
        if (r->free_pending && !r->pinned) llm__destroy(r);
    }
    c->deliver_depth--;
}

/* >>io ===================================================================
   How the pump learns which transfers can move: one back end per section,
   each the same seven operations, chosen at compile time.
     llm__io_init(c)        after the multi handle exists; 0 on failure
     llm__io_free(c)
     llm__io_room(c, n)     room to watch the sockets of n transfers
     llm__io_act(c)         hand curl what can move now, never blocking;
                            1 when it did anything
     llm__io_wait(c, us)    sleep until a socket is ready, curl's timer,
                            llm_wakeup or us microseconds (<= 0: no sleep)
     llm__io_wake(c)        from any thread: make a wait return (and set
                            c->woken at the next act or wait)
     llm__io_kick(c)        run curl's due timer only: the transfer just
                            added starts (connects) now (perform: nothing;
                            its next curl_multi_perform starts them all)
   epoll (Linux) and poll() (other POSIX systems) drive curl through
   curl_multi_socket_action: curl tells us which sockets to watch
   (CURLMOPT_SOCKETFUNCTION) and when its timer is due
   (CURLMOPT_TIMERFUNCTION), so a pump over 1,000 quiet streams is one
   system call. perform (Windows, or LLMASYNC_IO_PERFORM) is
   curl_multi_perform, curl_multi_poll and curl_multi_wakeup: no pipes. A
   new back end (kqueue, a browser) is one more section. */

#if !defined(LLM__IO_PERFORM)
/* ---- shared by the socket back ends ---- */

static int llm__on_timer(CURLM *m, long timeout_ms, void *userp) {
    llm_client *c = (llm_client *)userp;
    (void)m;
    c->io.curl_due = timeout_ms < 0 ? INT64_MAX : llm__now_us() + (int64_t)timeout_ms * 1000;
    return 0;
}

/* A socket we cannot watch (no memory, epoll limit) fails its transfer from
   the pump. Returning -1 to curl instead would poison the whole multi handle
   (and crash libcurl 7.88 on its next call). */
static int llm__watch_failed(llm_client *c, CURL *e, int err) {
    char *priv = NULL;
    if (e) curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
    if (priv) {
        llm_request *r = (llm_request *)priv;
        llm__abort(r, err == ENOMEM ? LLM_ERR_NO_MEMORY : LLM_ERR_CONNECTION, 0,
                   "cannot watch the connection's socket (errno %d)", err);
        r->io_failed = 1;
        c->io_failed = 1;
    }
    return 0;
}

static int llm__pipe(int fd[2]) {
    int i;
    if (pipe(fd) != 0) { fd[0] = fd[1] = -1; return 0; }
    for (i = 0; i < 2; i++) {
        fcntl(fd[i], F_SETFL, fcntl(fd[i], F_GETFL) | O_NONBLOCK);
        fcntl(fd[i], F_SETFD, FD_CLOEXEC);
    }
    return 1;
}
static void llm__drain_wake(llm_client *c) {
    char b[64];
    while (read(c->io.wake[0], b, sizeof b) > 0) {}
    c->woken = 1;
}
static void llm__io_wake(llm_client *c) {
    if (write(c->io.wake[1], "w", 1) < 0) { /* full pipe: a wake-up is pending anyway */ }
}
/* Ready sockets (fds, masks) go to curl; then its timer if due. */
static int llm__io_hand(llm_client *c, const curl_socket_t *fds, const int *masks, int n) {
    int i, running = 0, acted = 0;
    for (i = 0; i < n; i++) {
        if (fds[i] == c->io.wake[0]) { llm__drain_wake(c); continue; }
        if (llm__budget_spent(c)) { c->io_left = 1; return acted; } /* level-triggered: seen again */
        curl_multi_socket_action(c->multi, fds[i], masks[i], &running);
        c->budget_did = acted = 1;
    }
    if (llm__budget_spent(c)) { c->io_left = 1; return acted; }
    if (llm__now_us() >= c->io.curl_due) {
        c->io.curl_due = INT64_MAX;
        curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        c->budget_did = acted = 1;
    }
    return acted;
}
static void llm__io_kick(llm_client *c) {
    int running = 0;
    if (llm__now_us() < c->io.curl_due) return;
    c->io.curl_due = INT64_MAX;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
}
static int llm__io_ms(llm_client *c, int64_t us) { /* a sleep never past curl's timer */
    int64_t t = c->io.curl_due - llm__now_us();
    if (t < us) us = t;
    if (us < 0) us = 0;
    if (us > (int64_t)86400 * 1000000) us = (int64_t)86400 * 1000000;
    return (int)((us + 999) / 1000);
}
static int llm__io_watch(llm_client *c, CURL *e, curl_socket_t s, int what);
static int llm__on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp) {
    (void)socketp;
    return llm__io_watch((llm_client *)userp, e, s, what);
}
static int llm__io_callbacks(llm_client *c) {
    return curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, llm__on_socket) == CURLM_OK &&
           curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, (void *)c) == CURLM_OK &&
           curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, llm__on_timer) == CURLM_OK &&
           curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, (void *)c) == CURLM_OK;
}
#endif

#if defined(LLM__IO_EPOLL)
/* ---- >>io: epoll (Linux) ---- */
#define LLM__IO_MAX_ROUNDS 8

static int llm__io_init(llm_client *c) {
    struct epoll_event ev;
    c->io.curl_due = INT64_MAX;
    c->io.ep = -1;
    if (!llm__pipe(c->io.wake)) return 0;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.fd = c->io.wake[0];
    c->io.ep = epoll_create1(EPOLL_CLOEXEC);
    return c->io.ep >= 0 && epoll_ctl(c->io.ep, EPOLL_CTL_ADD, c->io.wake[0], &ev) == 0 && llm__io_callbacks(c);
}
static void llm__io_free(llm_client *c) {
    if (c->io.ep >= 0) close(c->io.ep);
    if (c->io.wake[0] >= 0) close(c->io.wake[0]);
    if (c->io.wake[1] >= 0) close(c->io.wake[1]);
}
static int llm__io_room(llm_client *c, int transfers) { (void)c; (void)transfers; return 1; }
static int llm__io_watch(llm_client *c, CURL *e, curl_socket_t s, int what) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.data.fd = s;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(c->io.ep, EPOLL_CTL_DEL, s, &ev); /* may be closed already: fine */
        return 0;
    }
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
    if (epoll_ctl(c->io.ep, EPOLL_CTL_MOD, s, &ev) == 0) return 0;
    if (errno == ENOENT && epoll_ctl(c->io.ep, EPOLL_CTL_ADD, s, &ev) == 0) return 0;
    return llm__watch_failed(c, e, errno);
}
static int llm__io_act(llm_client *c) {
    struct epoll_event ev[64];
    curl_socket_t fds[64];
    int masks[64], i, n = epoll_wait(c->io.ep, ev, 64, 0);
    for (i = 0; i < n; i++) {
        fds[i] = ev[i].data.fd;
        masks[i] = ((ev[i].events & (EPOLLIN | EPOLLHUP)) ? CURL_CSELECT_IN : 0) |
                   ((ev[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) | ((ev[i].events & EPOLLERR) ? CURL_CSELECT_ERR : 0);
    }
    return llm__io_hand(c, fds, masks, n < 0 ? 0 : n);
}
static void llm__io_wait(llm_client *c, int64_t us) {
    struct epoll_event ev; /* level-triggered: the next act sees it again */
    if (epoll_wait(c->io.ep, &ev, 1, llm__io_ms(c, us)) == 1 && ev.data.fd == c->io.wake[0]) llm__drain_wake(c);
}

#elif defined(LLM__IO_POLL)
/* ---- >>io: poll() (POSIX) ---- */
#define LLM__IO_MAX_ROUNDS 8

static int llm__io_init(llm_client *c) {
    c->io.curl_due = INT64_MAX;
    if (!llm__pipe(c->io.wake)) return 0;
    c->io.cap = 16;
    c->io.pfd = (struct pollfd *)llm__malloc(&c->alloc, (size_t)c->io.cap * sizeof *c->io.pfd);
    if (!c->io.pfd) return 0;
    c->io.pfd[0].fd = c->io.wake[0];
    c->io.pfd[0].events = POLLIN;
    c->io.pfd[0].revents = 0;
    c->io.n = 1;
    return llm__io_callbacks(c);
}
static void llm__io_free(llm_client *c) {
    llm__free(&c->alloc, c->io.pfd);
    if (c->io.wake[0] >= 0) close(c->io.wake[0]);
    if (c->io.wake[1] >= 0) close(c->io.wake[1]);
}
/* Room for every transfer's sockets (happy eyeballs may open two each):
   the socket callback cannot allocate. */
static int llm__io_room(llm_client *c, int transfers) {
    int need = 1 + 3 * transfers + 8;
    struct pollfd *np;
    if (c->io.cap >= need) return 1;
    np = (struct pollfd *)llm__realloc(&c->alloc, c->io.pfd, (size_t)need * sizeof *np);
    if (!np) return 0;
    c->io.pfd = np;
    c->io.cap = need;
    return 1;
}
static int llm__io_watch(llm_client *c, CURL *e, curl_socket_t s, int what) {
    int i;
    for (i = 1; i < c->io.n && c->io.pfd[i].fd != s; i++) {}
    if (what == CURL_POLL_REMOVE) {
        if (i < c->io.n) c->io.pfd[i] = c->io.pfd[--c->io.n];
        return 0;
    }
    if (i == c->io.n) {
        if (c->io.n == c->io.cap) return llm__watch_failed(c, e, ENOMEM); /* llm__io_room grows it */
        c->io.pfd[i].fd = s;
        c->io.n++;
    }
    c->io.pfd[i].events = (short)(((what & CURL_POLL_IN) ? POLLIN : 0) | ((what & CURL_POLL_OUT) ? POLLOUT : 0));
    c->io.pfd[i].revents = 0;
    return 0;
}
static int llm__io_act(llm_client *c) {
    curl_socket_t fds[64];
    int masks[64], i, n = 0;
    if (poll(c->io.pfd, (nfds_t)c->io.n, 0) > 0) /* copy first: acting changes the set */
        for (i = 0; i < c->io.n && n < 64; i++) {
            short re = c->io.pfd[i].revents;
            if (!re) continue;
            fds[n] = c->io.pfd[i].fd;
            masks[n++] = ((re & (POLLIN | POLLHUP)) ? CURL_CSELECT_IN : 0) | ((re & POLLOUT) ? CURL_CSELECT_OUT : 0) |
                         ((re & (POLLERR | POLLNVAL)) ? CURL_CSELECT_ERR : 0);
        }
    return llm__io_hand(c, fds, masks, n);
}
static void llm__io_wait(llm_client *c, int64_t us) {
    c->io.pfd[0].revents = 0;
    if (poll(c->io.pfd, (nfds_t)c->io.n, llm__io_ms(c, us)) > 0 && c->io.pfd[0].revents) llm__drain_wake(c);
}

#else
/* ---- >>io: perform (Windows, or LLMASYNC_IO_PERFORM) ---- */
#define LLM__IO_MAX_ROUNDS 4
/* llm_wakeup's flag, set and taken atomically (another thread sets it). */
#if defined(_WIN32)
#define LLM__FLAG_SET(p) InterlockedExchange((volatile LONG *)(p), 1)
#define LLM__FLAG_TAKE(p) InterlockedExchange((volatile LONG *)(p), 0)
#elif defined(__GNUC__) || defined(__clang__)
#define LLM__FLAG_SET(p) __atomic_store_n((p), 1L, __ATOMIC_SEQ_CST)
#define LLM__FLAG_TAKE(p) __atomic_exchange_n((p), 0L, __ATOMIC_SEQ_CST)
#else
#error "llmasync: the perform back end needs atomics (Windows Interlocked* or GCC/Clang __atomic builtins)"
#endif

static int llm__io_init(llm_client *c) { c->io.woken = 0; return 1; }
static void llm__io_free(llm_client *c) { (void)c; }
static int llm__io_room(llm_client *c, int transfers) { (void)c; (void)transfers; return 1; }
static void llm__io_kick(llm_client *c) { (void)c; }
static void llm__io_woken(llm_client *c) {
    if (LLM__FLAG_TAKE(&c->io.woken)) c->woken = 1;
}
static int llm__io_act(llm_client *c) {
    int running = 0;
    curl_multi_perform(c->multi, &running); /* one unit: it visits every transfer */
    c->budget_did = 1;
    llm__io_woken(c);
    return 1;
}
static void llm__io_wait(llm_client *c, int64_t us) {
    int ms = us <= 0 ? 0 : us > (int64_t)86400 * 1000000 ? 86400 * 1000 : (int)((us + 999) / 1000);
    curl_multi_poll(c->multi, NULL, 0, ms, NULL); /* returns early on curl_multi_wakeup */
    llm__io_woken(c);
}
static void llm__io_wake(llm_client *c) {
    LLM__FLAG_SET(&c->io.woken);
    curl_multi_wakeup(c->multi);
}
#endif

/* ---- >>io: external (the host's own event loop) ----
   Chosen at run time (llm_client_desc.watch_socket / set_timer), over
   whichever back end was compiled: curl's socket and timer callbacks go to
   the host, which reports readiness (llm_socket_ready) and its timer
   (llm_timer_fired); each runs one pump. The host's one timer covers
   curl's timer and every deadline and retry of ours (llm__ext_arm after
   each change). Our own waits then see no sockets: only timers. */
static int llm__ext_on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp) {
    llm_client *c = (llm_client *)userp;
    int w = what == CURL_POLL_IN ? LLM_IO_IN : what == CURL_POLL_OUT ? LLM_IO_OUT
          : what == CURL_POLL_INOUT ? (LLM_IO_IN | LLM_IO_OUT) : 0; /* CURL_POLL_REMOVE */
    (void)e;
    c->ext_in_cb++;
    c->ext_watch(c, (llm_socket)s, w, socketp, c->ext_ud);
    c->ext_in_cb--;
    return 0;
}
static int llm__ext_on_timer(CURLM *m, long timeout_ms, void *userp) {
    llm_client *c = (llm_client *)userp;
    (void)m;
    c->ext_curl_due = timeout_ms < 0 ? INT64_MAX : llm__now_us() + (int64_t)timeout_ms * 1000;
    llm__ext_arm(c);
    return 0;
}
static int llm__ext_init(llm_client *c, const llm_client_desc *d) {
    c->ext = 1;
    c->ext_watch = d->watch_socket;
    c->ext_set_timer = d->set_timer;
    c->ext_ud = d->io_user_data;
    c->ext_curl_due = c->ext_armed = INT64_MAX;
    return curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, llm__ext_on_socket) == CURLM_OK &&
           curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, (void *)c) == CURLM_OK &&
           curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, llm__ext_on_timer) == CURLM_OK &&
           curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, (void *)c) == CURLM_OK;
}
/* Tells the host when to call llm_timer_fired next, when that changed. */
static void llm__ext_arm(llm_client *c) {
    int64_t due = c->ext_curl_due, now;
    int ms;
    if (!c->ext) return;
    /* next_timer is only a lower bound, stale once no request is queued,
       active or waiting to retry: then no timer of ours, so the host's
       loop can run dry and end */
    if ((c->lists[LLM__L_QUEUED].head || c->lists[LLM__L_ACTIVE].head || c->lists[LLM__L_RETRY].head) &&
        c->next_timer < due)
        due = c->next_timer;
    if (due == c->ext_armed) return;
    c->ext_armed = due;
    now = llm__now_us();
    ms = due == INT64_MAX ? -1 : due <= now ? 0
       : due - now > (int64_t)86400 * 1000000 ? 86400 * 1000 : (int)((due - now + 999) / 1000);
    c->ext_in_cb++;
    c->ext_set_timer(c, ms, c->ext_ud);
    c->ext_in_cb--;
}
/* The pump's "act": curl's timer when due; sockets come from the host. */
static int llm__ext_act(llm_client *c) {
    int running = 0;
    if (llm__now_us() < c->ext_curl_due) return 0;
    c->ext_curl_due = INT64_MAX;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    return 1;
}

/* Requests whose socket could not be watched end now, with that reason. */
static void llm__fail_unwatched(llm_client *c) {
    llm_request *r, *nx;
    if (!c->io_failed) return;
    c->io_failed = 0;
    for (r = c->lists[LLM__L_ACTIVE].head; r; r = nx) {
        nx = r->next;
        if (!r->io_failed) continue;
        r->io_failed = 0;
        llm__attempt_done(r, CURLE_OK); /* abort_kind says why */
        nx = c->lists[LLM__L_ACTIVE].head; /* the list changed: start over */
    }
}

/* Lets curl move whatever can move now; never blocks. */
static void llm__io_move(llm_client *c) {
    int round;
    c->io_left = 0;
    for (round = 0; round < LLM__IO_MAX_ROUNDS; round++) { /* again while finishing frees slots */
        int acted;
        if (llm__budget_spent(c)) { /* not looked at (after a whole pass: only what is new) */
            if (round == 0) c->io_left = 1;
            break;
        }
        acted = c->ext ? llm__ext_act(c) : llm__io_act(c);
        llm__drain(c);
        llm__fail_unwatched(c);
        if (llm__admit(c)) acted = 1; /* slots freed: start the next ones now */
        if (!acted || c->io_left) break;
    }
}

static int llm__can_admit(const llm_client *c) {
    const llm_request *r = c->lists[LLM__L_QUEUED].head;
    int64_t now;
    if (!r || c->lists[LLM__L_ACTIVE].count >= c->max_concurrent) return 0;
    if (!c->pacing) return 1;
    for (now = llm__now_us(); r; r = r->next) /* held ones wait on a timer, not on us */
        if (!llm__pace_wait(r, now)) return 1;
    return 0;
}

/* Work a budget left for later: paused transfers, undelivered callbacks,
   a finished transfer not yet handled, unhandled sockets, admissions, due
   timers. */
static int llm__deferred(const llm_client *c) {
    return c->paused_head || c->notify_head || c->held || c->io_left || llm__can_admit(c) ||
           c->next_timer <= llm__now_us();
}

/* Sleeps until socket activity, llm_wakeup, the host's limit, curl's timer
   or our earliest deadline, whichever comes first. */
static void llm__sleep(llm_client *c, int64_t max_us) {
    int64_t t = c->next_timer - llm__now_us();
    if (t < max_us) max_us = t;
    if (c->ext && c->ext_curl_due - llm__now_us() < max_us) max_us = c->ext_curl_due - llm__now_us();
    /* work is waiting: do not sleep (undelivered callbacks do not count: a
       wait inside a callback cannot deliver them and must not spin) */
    if (llm__can_admit(c) || c->paused_head || c->held || c->io_left) max_us = 0;
    llm__io_wait(c, max_us);
}

/* Paused transfers go on, oldest first, while the budget lasts. curl hands
   their held bytes to llm__on_write before curl_easy_pause returns; that
   callback may pause them again (they go to the end of the list). A failure
   there (our callback refused the bytes, abort_kind says why) ends the
   transfer now, as curl would not report it. */
static void llm__resume(llm_client *c) {
    while (c->paused_head && !llm__budget_spent(c)) {
        llm_request *r = c->paused_head;
        CURLcode rc;
        llm__unpause(r);
        r->t_last_event += llm__now_us() - r->t_paused; /* paused time is not idle time */
        /* the timer scans passed over it while it was paused: its idle
           deadline goes back on the clock, or no scan may come to see it */
        if (r->stream && r->idle_us > 0) llm__timer(c, r->t_last_event + r->idle_us);
        rc = curl_easy_pause(r->easy, CURLPAUSE_CONT);
        c->budget_did = 1;
        if (rc != CURLE_OK) llm__attempt_done(r, rc);
    }
}

static void llm__pump_run(llm_client *c) {
    int round;
    int64_t now = llm__now_us();
    /* Under a budget what the last call left goes first, latest stage
       first (callbacks, then finished transfers): the oldest work, and no
       stage can starve behind the one that feeds it (with a budget of 0
       each call does one unit, and curl_multi_perform alone would take it
       every time). */
    if (c->budgeted) llm__deliver(c);
    if (c->budgeted && c->held) llm__drain(c);
    if (now >= c->next_timer) llm__timers(c, now);
    llm__resume(c);
    for (round = 0; round < 4; round++) {
        llm__admit(c);
        llm__replay_move(c); /* replaying: no transfers, and curl must not take its units */
        llm__io_move(c);
        llm__deliver(c);
        /* callbacks may have submitted requests or freed slots: start them
           now, not at the next unrelated event */
        if (!llm__can_admit(c) || llm__budget_spent(c)) break;
    }
    if (c->ext) {
        /* more to start, or work a budget left: come back at once */
        if (llm__can_admit(c) || llm__deferred(c)) c->next_timer = now;
        llm__ext_arm(c);
    }
}

/* One pump with a budget (budgeted 0: none). The caller's budget comes back
   after, so a llm_poll or a wait inside a callback runs without one and a
   nested budget ends with its call. */
static void llm__pump_budget(llm_client *c, int budgeted, int64_t end) {
    int was = c->budgeted, did = c->budget_did;
    int64_t was_end = c->budget_end;
    c->budgeted = budgeted;
    c->budget_end = end;
    c->budget_did = 0;
    llm__pump_run(c);
    c->budgeted = was;
    c->budget_end = was_end;
    c->budget_did = did;
}
/* The pump of llm_poll, the waits and llm_chat_blocking: no budget. */
static void llm__pump(llm_client *c) { llm__pump_budget(c, 0, 0); }

/* >>group ================================================================
   A batched llm_embed is a parent with no transfer of its own and one child
   request per batch. Children are ordinary requests (queued, retried, timed
   out like any other) that the host never sees; the parent ends when the
   last child succeeds or the first one fails. */

/* dst's outcome is src's, its message prefixed. */
static void llm__copy_error(llm_request *dst, const llm_request *src, const char *prefix) {
    const llm_error *e = &src->o.err;
    char msg[LLM_PROVIDER_MESSAGE_MAX + 600];
    snprintf(msg, sizeof msg, "%s%s", prefix, e->message);
    llm__utf8_trim(msg);
    llm__outcome_set(dst, e->kind, e->http_status, e->retryable, e->timeout, e->curl_code, msg, e->provider_message,
                     e->type, e->code, e->param, e->request_id);
}

static void llm__group_child_done(llm_request *ch) {
    llm_request *p = ch->parent;
    int i;
    p->children_left--;
    p->retries += ch->retries;
    p->tm.bytes_received += ch->tm.bytes_received;
    p->tm.attempts += ch->tm.attempts;
    if (p->terminal) return;
    if (ch->status != LLM_DONE) {
        char prefix[64];
        for (i = 0; i < p->n_children && p->children[i] != ch; i++) {}
        snprintf(prefix, sizeof prefix, "batch %d of %d: ", i + 1, p->n_children);
        llm__copy_error(p, ch, prefix);
        llm__transition(p, ch->status == LLM_CANCELLED ? LLM_CANCELLED : LLM_FAILED);
        return;
    }
    if (p->children_left > 0) return;
    for (i = 0; i < p->n_children; i++) {
        llm_request *k = p->children[i];
        if (k->a.dim != p->children[0]->a.dim) {
            llm__outcome_static(p, LLM_ERR_PROTOCOL, "protocol: batches returned vectors of different sizes");
            llm__transition(p, LLM_FAILED);
            return;
        }
        p->a.usage.prompt_tokens = llm__sat_add(p->a.usage.prompt_tokens, k->a.usage.prompt_tokens);
        p->a.usage.total_tokens = llm__sat_add(p->a.usage.total_tokens, k->a.usage.total_tokens);
    }
    p->a.dim = p->children[0]->a.dim;
    p->a.n_vec = p->n_inputs;
    memcpy(p->a.resp_model, p->children[0]->a.resp_model, sizeof p->a.resp_model);
    llm__transition(p, LLM_DONE);
}

/* >>request life ========================================================= */

static llm_request *llm__new_request(llm_client *c, int kind) {
    llm_request *r = (llm_request *)llm__calloc(&c->alloc, sizeof(llm_request));
    if (!r) return NULL;
    r->c = c;
    r->kind = kind;
    r->status = LLM_QUEUED;
    r->list = LLM__L_NONE;
    r->seq = ++c->seq;
    r->prov = &c->prov[0];
    r->t_submit = llm__now_us();
    r->magic = LLM__REQ_LIVE;
    r->o.err.message = "";
    llm__meter_init(r);
    r->a.h_should_retry = -1;
    llm__sse_init(&r->a.sse, c->max_event);
    r->a.nd.max = c->max_event;
    return r;
}

/* Stops whatever the request does, without reporting it. */
static void llm__silence(llm_request *r) {
    llm_client *c = r->c;
    int i;
    llm__release_easy(r);
    llm__unlink(r);
    llm__unnotify(r);
    if (r->counted) { r->counted = 0; c->n_inflight--; }
    if (!r->terminal) { /* never reported: its outcome is not read again */
        r->terminal = 1;
        r->status = LLM_CANCELLED;
    }
    for (i = 0; i < r->n_children; i++) llm__destroy(r->children[i]);
    r->n_children = 0;
}

static void llm__destroy(llm_request *r) {
    const llm_allocator *a = &r->c->alloc;
    llm__silence(r);
    llm__free(a, r->children);
    llm__free(a, r->url);
    llm__free(a, r->body);
    llm__free(a, r->hdrs);
    llm__free(a, r->ctype);
    llm__free(a, r->upload);
    llm__attempt_free(r);
    llm__buf_free(a, &r->rec_buf);
    llm__outcome_free(r);
    r->magic = LLM__REQ_FREED; /* a second llm_request_free is caught */
    llm__free(a, r);
}

/* A request that fails before it is sent: bad argument or no memory. */
static llm_request *llm__reject(llm_request *r, llm_error_kind kind, const char *field, const char *fmt, ...) {
    char why[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    char msg[512];
    if (kind == LLM_ERR_INVALID) snprintf(msg, sizeof msg, "invalid argument: %s: %s", field, why);
    else snprintf(msg, sizeof msg, "%s: %s%s%s", llm_error_string(kind), field, *why ? ": " : "", why);
    llm__utf8_trim(msg);
    llm__outcome_set(r, kind, 0, 0, LLM_TIMEOUT_NONE, 0, msg, NULL, NULL, NULL, NULL, NULL);
    llm__log(r->c, LLM_LOG_WARN, "llmasync: request %u rejected: %s", r->seq, r->o.err.message);
    llm__transition(r, LLM_FAILED);
    return r;
}

static void llm__settings(llm_request *r, int timeout_ms, int idle_ms, int max_retries) {
    llm_client *c = r->c;
    int64_t total = timeout_ms > 0 ? (int64_t)timeout_ms * 1000 : timeout_ms < 0 ? 0 : c->total_us;
    r->deadline_total = total > 0 ? r->t_submit + total : 0;
    r->idle_us = idle_ms > 0 ? (int64_t)idle_ms * 1000 : idle_ms < 0 ? 0 : c->idle_us;
    r->first_byte_us = c->first_byte_us;
    r->max_retries = max_retries > 0 ? max_retries : max_retries < 0 ? 0 : c->max_retries;
}

/* "provider/model" routing: a known prefix picks the provider and is
   stripped; anything else (including "meta-llama/Llama-3") is a model name
   for the default endpoint. */
static const llm__provider *llm__route(llm_client *c, const char *model, const char **wire) {
    const char *slash = strchr(model, '/');
    int i;
    *wire = model;
    if (!slash) return &c->prov[0];
    for (i = 0; i < c->n_prov; i++)
        if (llm__eq_n(model, (size_t)(slash - model), c->prov[i].name)) {
            *wire = slash + 1;
            return &c->prov[i];
        }
    return &c->prov[0];
}
static const llm__provider *llm__provider_named(llm_client *c, const char *name) {
    int i;
    if (!name || !*name) return &c->prov[0];
    for (i = 0; i < c->n_prov; i++)
        if (!strcmp(c->prov[i].name, name)) return &c->prov[i];
    return NULL;
}

static int llm__url_ok(const char *u) {
    size_t i;
    if (!(llm__ieq_n(u, strlen(u) < 7 ? strlen(u) : 7, "http://") || llm__ieq_n(u, strlen(u) < 8 ? strlen(u) : 8, "https://")))
        return 0;
    for (i = 0; u[i]; i++)
        if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7F) return 0;
    return 1;
}

/* URL and header list. Header nodes and strings live in one allocation of
   ours; curl only reads them. Returns 0 after rejecting the request. */
static int llm__prepare(llm_request *r, const llm__provider *p, const char *path, const char *const *headers,
                        int n_headers, const char *accept) {
    llm_client *c = r->c;
    const char *name[6], *value[6];
    int n = 0, i, total;
    size_t bytes = 0, off;
    char *mem;
    struct curl_slist *nodes;
    if (!llm__url_ok(p->base_url)) {
        /* never echoed: a URL can hold credentials (user:key@host, ?key=) */
        llm__reject(r, LLM_ERR_INVALID, "base_url", "the base URL of provider %s must start with http:// or https:// and hold no spaces or control characters", p->name);
        return 0;
    }
    if (llm__has_crlf(p->api_key)) {
        llm__reject(r, LLM_ERR_INVALID, "api_key", "the key of provider %s contains CR or LF", p->name);
        return 0;
    }
    if (n_headers < 0) {
        llm__reject(r, LLM_ERR_INVALID, "n_headers", "is negative");
        return 0;
    }
    for (i = 0; i < n_headers; i++) {
        const char *h = headers ? headers[i] : NULL, *colon;
        size_t k;
        if (!h || llm__has_crlf(h)) {
            llm__reject(r, LLM_ERR_INVALID, "headers", "headers[%d] is %s", i, h ? "holding CR or LF" : "NULL");
            return 0;
        }
        colon = strchr(h, ':');
        for (k = 0; colon && h + k < colon; k++)
            if ((unsigned char)h[k] <= 0x20 || h[k] == 0x7F) colon = NULL;
        if (!colon || colon == h) {
            llm__reject(r, LLM_ERR_INVALID, "headers", "headers[%d] is not \"Name: value\"", i);
            return 0;
        }
        bytes += strlen(h) + 1;
    }
    r->url = (char *)llm__malloc(&c->alloc, strlen(p->base_url) + strlen(path) + 1);
    if (!r->url) { llm__reject(r, LLM_ERR_NO_MEMORY, "url", ""); return 0; }
    memcpy(r->url, p->base_url, strlen(p->base_url));
    memcpy(r->url + strlen(p->base_url), path, strlen(path) + 1);
#define LLM__HDR(a, b) do { name[n] = (a); value[n] = (b); n++; } while (0)
    if (r->body) LLM__HDR(r->ctype ? r->ctype : "Content-Type: application/json", "");
    LLM__HDR(accept, "");
    LLM__HDR("Expect:", ""); /* no 100-continue round trip for large bodies */
    {
        llm__hdr auth[2];
        int k, na = llm__ops_of(p)->auth(auth, p, c);
        for (k = 0; k < na; k++) LLM__HDR(auth[k].name, auth[k].value);
    }
#undef LLM__HDR
    total = n + n_headers;
    for (i = 0; i < n; i++) bytes += strlen(name[i]) + strlen(value[i]) + 1;
    mem = (char *)llm__malloc(&c->alloc, (size_t)total * sizeof(struct curl_slist) + bytes);
    if (!mem) { llm__reject(r, LLM_ERR_NO_MEMORY, "headers", ""); return 0; }
    nodes = (struct curl_slist *)(void *)mem;
    off = (size_t)total * sizeof(struct curl_slist);
    for (i = 0; i < total; i++) {
        char *dst = mem + off;
        size_t len;
        if (i < n) {
            size_t a = strlen(name[i]), b = strlen(value[i]);
            memcpy(dst, name[i], a);
            memcpy(dst + a, value[i], b + 1);
            len = a + b;
        } else {
            len = strlen(headers[i - n]);
            memcpy(dst, headers[i - n], len + 1);
        }
        nodes[i].data = dst;
        nodes[i].next = i + 1 < total ? &nodes[i + 1] : NULL;
        off += len + 1;
    }
    r->hdrs = nodes;
    r->prov = p;
    return 1;
}

/* UTF-8 check of a desc string; on failure rejects r naming the field. */
static int llm__check_utf8(llm_request *r, const char *s, const char *field) {
    size_t n, ok;
    if (!s) return 1;
    n = strlen(s);
    ok = llm__utf8_valid((const unsigned char *)s, n);
    if (ok == n) return 1;
    llm__reject(r, LLM_ERR_INVALID, field, "invalid UTF-8 at byte %lu", (unsigned long)ok);
    return 0;
}

/* A message's images: a count that fits, each a URL or bytes this API
   takes; on failure rejects r naming the image. */
static int llm__check_images(llm_request *r, const llm_message *m, int i, const llm__api_ops *ops) {
    char field[64];
    int k;
    if (m->n_images == 0) return 1;
    snprintf(field, sizeof field, "messages[%d].images", i);
    if (m->n_images < 0 || !m->images) { llm__reject(r, LLM_ERR_INVALID, field, "n_images is negative or images is NULL"); return 0; }
    for (k = 0; k < m->n_images; k++) {
        const char *why = llm__image_problem(&m->images[k], ops->image_urls);
        if (why) {
            snprintf(field, sizeof field, "messages[%d].images[%d]", i, k);
            llm__reject(r, LLM_ERR_INVALID, field, "%s", why);
            return 0;
        }
    }
    return 1;
}

/* Parses a JSON text of the desc; on failure rejects r naming the field. */
static llm_json_value *llm__parse_desc_json(llm_request *r, const char *text, const char *field, int want_object) {
    llm_json_options o = { 0, 0, NULL }; /* strict: no flags */
    llm_json_result jr;
    llm_json_value *v;
    o.allocator = &r->c->alloc;
    o.max_depth = r->c->max_depth;
    v = llm_json_parse(text, strlen(text), &o, &jr);
    if (!v) {
        if (jr.error == LLM_JSON_ERR_NO_MEMORY) llm__reject(r, LLM_ERR_NO_MEMORY, field, "");
        else llm__reject(r, LLM_ERR_INVALID, field, "invalid JSON at line %lu, column %lu: %s", (unsigned long)jr.line,
                         (unsigned long)jr.column, llm_json_error_string(jr.error));
        return NULL;
    }
    if (want_object && v->type != LLM_JSON_OBJECT) {
        llm_json_free(v);
        llm__reject(r, LLM_ERR_INVALID, field, "must be a JSON object");
        return NULL;
    }
    return v;
}

/* The writer's text becomes the request body; 0 after rejecting. */
static int llm__take_body(llm_request *r, llm_json_writer *w, const char *field) {
    if (w->error || !w->data) {
        if (w->error == LLM_JSON_ERR_NO_MEMORY) llm__reject(r, LLM_ERR_NO_MEMORY, "body", "");
        else llm__reject(r, LLM_ERR_INVALID, field, "cannot be encoded (%s)", llm_json_error_string((llm_json_error)w->error));
        llm_jw_free(w);
        return 0;
    }
    r->body = w->data;
    r->body_len = w->len;
    w->data = NULL;
    return 1;
}

static llm_request *llm__submit_chat(llm_client *c, const llm_chat_desc *d, int blocking) {
    llm_request *r;
    const llm__provider *p;
    const llm__api_ops *ops;
    llm__chat_in in;
    llm_json_value *extra = NULL, **raw = NULL;
    llm_json_writer w;
    char field[48];
    int i, ok = 0;
    if (!c) return NULL;
    r = llm__new_request(c, LLM__K_CHAT);
    if (!r) return NULL;
    r->blocking = blocking;
    if (!d) return llm__reject(r, LLM_ERR_INVALID, "desc", "is NULL");
    r->user_data = d->user_data;
    r->priority = d->priority;
    r->on_delta = d->on_delta;
    r->on_done = d->on_done;
    if (!d->model || !*d->model) return llm__reject(r, LLM_ERR_INVALID, "model", "missing");
    if (!llm__check_utf8(r, d->model, "model")) return r;
    p = llm__route(c, d->model, &in.model);
    ops = llm__ops_of(p);
    if (!*in.model) return llm__reject(r, LLM_ERR_INVALID, "model", "empty after the provider prefix");
    if (!d->messages || d->n_messages < 1) return llm__reject(r, LLM_ERR_INVALID, "messages", "none given (n_messages must be at least 1)");
    if (!llm__check_utf8(r, d->system, "system")) return r;
    if (d->max_tokens < 0) return llm__reject(r, LLM_ERR_INVALID, "max_tokens", "negative");
    if (d->n < 0 || d->n > LLM__MAX_CHOICES) return llm__reject(r, LLM_ERR_INVALID, "n", "must be 0..%d", LLM__MAX_CHOICES);
    if (d->n > 1 && !ops->choices) return llm__reject(r, LLM_ERR_INVALID, "n", "the %s API gives one choice", ops->name);
    if (llm__send_temp(d) && !(d->temperature >= 0.0 && d->temperature - d->temperature == 0.0))
        return llm__reject(r, LLM_ERR_INVALID, "temperature", "must be a finite number >= 0");
    if (llm__send_temp(d) && ops->max_temperature > 0 && d->temperature > ops->max_temperature)
        return llm__reject(r, LLM_ERR_INVALID, "temperature", "%s accepts 0..%g", ops->name, ops->max_temperature);
    raw = (llm_json_value **)llm__calloc(&c->alloc, (size_t)d->n_messages * sizeof *raw);
    if (!raw) return llm__reject(r, LLM_ERR_NO_MEMORY, "messages", "");
    for (i = 0; i < d->n_messages; i++) {
        const llm_message *m = &d->messages[i];
        if (m->raw_json) {
            snprintf(field, sizeof field, "messages[%d].raw_json", i);
            raw[i] = llm__parse_desc_json(r, m->raw_json, field, 1);
            if (!raw[i]) goto out;
            continue;
        }
        snprintf(field, sizeof field, "messages[%d].role", i);
        if (!m->role || !*m->role) { llm__reject(r, LLM_ERR_INVALID, field, "missing"); goto out; }
        if (!ops->role_ok(m->role)) {
            llm__reject(r, LLM_ERR_INVALID, field, "unknown role (use system, developer, user, assistant or tool)");
            goto out;
        }
        snprintf(field, sizeof field, "messages[%d].content", i);
        if (!m->content) { llm__reject(r, LLM_ERR_INVALID, field, "missing (NULL content needs raw_json)"); goto out; }
        if (!llm__check_utf8(r, m->content, field)) goto out;
        snprintf(field, sizeof field, "messages[%d].name", i);
        if (!llm__check_utf8(r, m->name, field)) goto out;
        snprintf(field, sizeof field, "messages[%d].tool_call_id", i);
        if (!llm__check_utf8(r, m->tool_call_id, field)) goto out;
        if (!llm__check_images(r, m, i, ops)) goto out;
        if (!strcmp(m->role, "tool") && !m->tool_call_id && ops->tool_needs_id) {
            llm__reject(r, LLM_ERR_INVALID, field, "required for role \"tool\"");
            goto out;
        }
    }
    if (d->extra_json && !(extra = llm__parse_desc_json(r, d->extra_json, "extra_json", 1))) goto out;
    in.d = d;
    in.extra = extra;
    in.raw_msgs = raw;
    llm_jw_init(&w, &c->alloc);
    ops->enc_chat(&w, &in, p);
    if (!llm__take_body(r, &w, "messages")) goto out;
    r->stream = d->stream != 0;
    llm__settings(r, d->timeout_ms, d->idle_timeout_ms, d->max_retries);
    if (!llm__prepare(r, p, ops->chat_path, d->headers, d->n_headers, r->stream ? ops->stream_accept : "Accept: application/json"))
        goto out;
    ok = 1;
out:
    if (raw)
        for (i = 0; i < d->n_messages; i++) llm_json_free(raw[i]);
    llm__free(&c->alloc, raw);
    llm_json_free(extra);
    if (ok) llm__transition(r, LLM_QUEUED);
    return r;
}

LLMASYNC_API llm_request *llm_chat(llm_client *c, const llm_chat_desc *desc) {
    return llm__submit_chat(c, desc, 0);
}

/* One embeddings request (or batch) for inputs[first .. first+n). */
static int llm__embed_prepare(llm_request *r, const llm__provider *p, const char *model, const llm_embed_desc *d,
                              int first, int n, const llm_json_value *extra) {
    llm_json_writer w;
    llm__embed_in in;
    in.model = model;
    in.inputs = d->inputs + first;
    in.n = n;
    in.dimensions = d->dimensions;
    in.extra = extra;
    llm_jw_init(&w, &r->c->alloc);
    llm__ops_of(p)->enc_embed(&w, &in);
    if (!llm__take_body(r, &w, "inputs")) return 0;
    r->n_inputs = n;
    llm__settings(r, d->timeout_ms, 0, d->max_retries);
    return llm__prepare(r, p, llm__ops_of(p)->embed_path, d->headers, d->n_headers, "Accept: application/json");
}

LLMASYNC_API llm_request *llm_embed(llm_client *c, const llm_embed_desc *d) {
    llm_request *r;
    const llm__provider *p;
    const char *model;
    llm_json_value *extra = NULL;
    char field[32];
    int i, bs, nb;
    if (!c) return NULL;
    r = llm__new_request(c, LLM__K_EMBED);
    if (!r) return NULL;
    if (!d) return llm__reject(r, LLM_ERR_INVALID, "desc", "is NULL");
    r->user_data = d->user_data;
    r->priority = d->priority;
    r->on_done = d->on_done;
    if (!d->model || !*d->model) return llm__reject(r, LLM_ERR_INVALID, "model", "missing");
    if (!llm__check_utf8(r, d->model, "model")) return r;
    p = llm__route(c, d->model, &model);
    if (!*model) return llm__reject(r, LLM_ERR_INVALID, "model", "empty after the provider prefix");
    if (!llm__ops_of(p)->embed_path)
        return llm__reject(r, LLM_ERR_INVALID, "model", "provider %s (%s API) has no embeddings endpoint", p->name,
                           llm__ops_of(p)->name);
    if (!d->inputs || d->n_inputs < 1) return llm__reject(r, LLM_ERR_INVALID, "inputs", "none given (n_inputs must be at least 1)");
    for (i = 0; i < d->n_inputs; i++) {
        snprintf(field, sizeof field, "inputs[%d]", i);
        if (!d->inputs[i]) return llm__reject(r, LLM_ERR_INVALID, field, "NULL");
        if (!llm__check_utf8(r, d->inputs[i], field)) return r;
    }
    if (d->dimensions < 0) return llm__reject(r, LLM_ERR_INVALID, "dimensions", "negative");
    if (d->batch_size < 0) return llm__reject(r, LLM_ERR_INVALID, "batch_size", "negative");
    if (d->extra_json && !(extra = llm__parse_desc_json(r, d->extra_json, "extra_json", 1))) return r;
    bs = d->batch_size > 0 ? d->batch_size : LLM__DEF_EMBED_BATCH;
    if (d->n_inputs <= bs) {
        if (llm__embed_prepare(r, p, model, d, 0, d->n_inputs, extra)) llm__transition(r, LLM_QUEUED);
        llm_json_free(extra);
        return r;
    }
    /* a group: one child per batch, all queued now, run under max_concurrent */
    r->kind = LLM__K_GROUP;
    r->prov = p;
    r->n_inputs = d->n_inputs;
    r->batch_size = bs;
    nb = (d->n_inputs + bs - 1) / bs;
    r->children = (llm_request **)llm__calloc(&c->alloc, (size_t)nb * sizeof *r->children);
    if (!r->children) { llm_json_free(extra); return llm__reject(r, LLM_ERR_NO_MEMORY, "batches", ""); }
    llm__settings(r, d->timeout_ms, 0, d->max_retries);
    r->deadline_total = 0; /* each batch keeps its own deadline */
    for (i = 0; i < nb; i++) {
        int first = i * bs, n = d->n_inputs - first < bs ? d->n_inputs - first : bs, k;
        llm_request *ch = llm__new_request(c, LLM__K_EMBED);
        if (!ch || !llm__embed_prepare(ch, p, model, d, first, n, extra)) {
            /* nothing is sent: the batch's reason (bad header, no memory)
               becomes the request's */
            for (k = 0; k < r->n_children; k++) llm__destroy(r->children[k]);
            r->n_children = 0;
            llm_json_free(extra);
            if (!ch) return llm__reject(r, LLM_ERR_NO_MEMORY, "batches", "");
            llm__copy_error(r, ch, "");
            llm__destroy(ch);
            llm__transition(r, LLM_FAILED);
            return r;
        }
        ch->parent = r;
        ch->priority = r->priority;
        r->children[r->n_children++] = ch;
    }
    llm_json_free(extra);
    r->children_left = nb;
    llm__transition(r, LLM_QUEUED);
    for (i = 0; i < nb; i++) llm__transition(r->children[i], LLM_QUEUED);
    return r;
}

LLMASYNC_API llm_request *llm_raw(llm_client *c, const llm_raw_desc *d) {
    llm_request *r;
    const llm__provider *p;
    llm_json_value *v;
    size_t i;
    if (!c) return NULL;
    r = llm__new_request(c, LLM__K_RAW);
    if (!r) return NULL;
    if (!d) return llm__reject(r, LLM_ERR_INVALID, "desc", "is NULL");
    r->user_data = d->user_data;
    r->priority = d->priority;
    r->on_event = d->on_event;
    r->on_done = d->on_done;
    p = llm__provider_named(c, d->provider);
    if (!p) return llm__reject(r, LLM_ERR_INVALID, "provider", "no provider is named \"%.64s\"", d->provider);
    if (!d->path || d->path[0] != '/') return llm__reject(r, LLM_ERR_INVALID, "path", "must start with '/'");
    for (i = 0; d->path[i]; i++)
        if ((unsigned char)d->path[i] <= 0x20 || d->path[i] == 0x7F)
            return llm__reject(r, LLM_ERR_INVALID, "path", "holds a space or control character at byte %lu", (unsigned long)i);
    if (d->body_json) {
        v = llm__parse_desc_json(r, d->body_json, "body_json", 0);
        if (!v) return r;
        llm_json_free(v);
        r->body = llm__strdup(&c->alloc, d->body_json);
        if (!r->body) return llm__reject(r, LLM_ERR_NO_MEMORY, "body_json", "");
        r->body_len = strlen(r->body);
    }
    r->stream = d->stream != 0;
    llm__settings(r, d->timeout_ms, d->idle_timeout_ms, d->max_retries);
    if (llm__prepare(r, p, d->path, d->headers, d->n_headers, r->stream ? "Accept: text/event-stream" : "Accept: application/json"))
        llm__transition(r, LLM_QUEUED);
    return r;
}

/* The model and its provider, for the endpoints only OpenAI-compatible
   APIs offer (path NULL in the row: LLM_ERR_INVALID naming the model). */
static const llm__provider *llm__route_endpoint(llm_request *r, const char *model, const char **wire, size_t path_off,
                                                const char *what) {
    const llm__provider *p;
    if (!model || !*model) { llm__reject(r, LLM_ERR_INVALID, "model", "missing"); return NULL; }
    if (!llm__check_utf8(r, model, "model")) return NULL;
    p = llm__route(r->c, model, wire);
    if (!**wire) { llm__reject(r, LLM_ERR_INVALID, "model", "empty after the provider prefix"); return NULL; }
    if (!*(const char *const *)(const void *)((const char *)llm__ops_of(p) + path_off)) {
        llm__reject(r, LLM_ERR_INVALID, "model", "provider %s (%s API) has no %s endpoint", p->name, llm__ops_of(p)->name, what);
        return NULL;
    }
    return p;
}
#define LLM__PATH(field) offsetof(llm__api_ops, field)
static const char *llm__path_of(const llm__provider *p, size_t off) {
    return *(const char *const *)(const void *)((const char *)llm__ops_of(p) + off);
}

/* The UTF-8 strings of a desc; the first bad one rejects r. */
static int llm__check_strs(llm_request *r, const char *const *v, const char *const *names, int n) {
    int i;
    for (i = 0; i < n; i++)
        if (!llm__check_utf8(r, v[i], names[i])) return 0;
    return 1;
}

LLMASYNC_API llm_request *llm_responses(llm_client *c, const llm_responses_desc *d) {
    llm_request *r;
    const llm__provider *p;
    llm__resp_in in;
    llm_json_value *extra = NULL, *tools = NULL, **raw = NULL;
    llm_json_writer w;
    char field[48];
    int i, ok = 0;
    if (!c) return NULL;
    r = llm__new_request(c, LLM__K_RESPONSES);
    if (!r) return NULL;
    if (!d) return llm__reject(r, LLM_ERR_INVALID, "desc", "is NULL");
    r->user_data = d->user_data;
    r->priority = d->priority;
    r->on_delta = d->on_delta;
    r->on_done = d->on_done;
    p = llm__route_endpoint(r, d->model, &in.model, LLM__PATH(responses_path), "responses");
    if (!p) return r;
    {
        const char *v[4];
        static const char *names[4] = { "input", "instructions", "reasoning_effort", "previous_response_id" };
        v[0] = d->input; v[1] = d->instructions; v[2] = d->reasoning_effort; v[3] = d->previous_response_id;
        if (!llm__check_strs(r, v, names, 4)) return r;
    }
    if (!d->input && (!d->messages || d->n_messages < 1))
        return llm__reject(r, LLM_ERR_INVALID, "input", "neither input nor messages given");
    if (d->input && d->n_messages) return llm__reject(r, LLM_ERR_INVALID, "input", "give input or messages, not both");
    if (d->max_output_tokens < 0) return llm__reject(r, LLM_ERR_INVALID, "max_output_tokens", "negative");
    if ((d->has_temperature || d->temperature != 0.0) && !(d->temperature >= 0.0 && d->temperature - d->temperature == 0.0))
        return llm__reject(r, LLM_ERR_INVALID, "temperature", "must be a finite number >= 0");
    if (d->n_messages > 0) {
        raw = (llm_json_value **)llm__calloc(&c->alloc, (size_t)d->n_messages * sizeof *raw);
        if (!raw) return llm__reject(r, LLM_ERR_NO_MEMORY, "messages", "");
    }
    for (i = 0; i < d->n_messages; i++) {
        const llm_message *m = &d->messages[i];
        if (m->raw_json) {
            snprintf(field, sizeof field, "messages[%d].raw_json", i);
            raw[i] = llm__parse_desc_json(r, m->raw_json, field, 1);
            if (!raw[i]) goto out;
            continue;
        }
        snprintf(field, sizeof field, "messages[%d].role", i);
        if (!m->role || !llm__role_basic(m->role)) { llm__reject(r, LLM_ERR_INVALID, field, "missing or unknown"); goto out; }
        snprintf(field, sizeof field, "messages[%d].content", i);
        if (!m->content) { llm__reject(r, LLM_ERR_INVALID, field, "missing (NULL content needs raw_json)"); goto out; }
        if (!llm__check_utf8(r, m->content, field)) goto out;
        snprintf(field, sizeof field, "messages[%d].tool_call_id", i);
        if (!strcmp(m->role, "tool") && !m->tool_call_id) { llm__reject(r, LLM_ERR_INVALID, field, "required for role \"tool\""); goto out; }
        if (!llm__check_utf8(r, m->tool_call_id, field)) goto out;
        if (!llm__check_images(r, m, i, llm__ops_of(p))) goto out;
    }
    if (d->tools_json) {
        if (!(tools = llm__parse_desc_json(r, d->tools_json, "tools_json", 0))) goto out;
        if (tools->type != LLM_JSON_ARRAY) { llm__reject(r, LLM_ERR_INVALID, "tools_json", "must be a JSON array"); goto out; }
    }
    if (d->extra_json && !(extra = llm__parse_desc_json(r, d->extra_json, "extra_json", 1))) goto out;
    in.d = d;
    in.extra = extra;
    in.tools = tools;
    in.raw_msgs = raw;
    llm_jw_init(&w, &c->alloc);
    llm__enc_responses(&w, &in);
    if (!llm__take_body(r, &w, "input")) goto out;
    r->stream = d->stream != 0;
    llm__settings(r, d->timeout_ms, d->idle_timeout_ms, d->max_retries);
    if (!llm__prepare(r, p, llm__path_of(p, LLM__PATH(responses_path)), d->headers, d->n_headers,
                      r->stream ? "Accept: text/event-stream" : "Accept: application/json"))
        goto out;
    ok = 1;
out:
    for (i = 0; raw && i < d->n_messages; i++) llm_json_free(raw[i]);
    llm__free(&c->alloc, raw);
    llm_json_free(extra);
    llm_json_free(tools);
    if (ok) llm__transition(r, LLM_QUEUED);
    return r;
}

LLMASYNC_API llm_request *llm_speech(llm_client *c, const llm_speech_desc *d) {
    static const char *formats[] = { "mp3", "opus", "aac", "flac", "wav", "pcm" };
    llm_request *r;
    const llm__provider *p;
    const char *model;
    llm_json_value *extra = NULL;
    llm_json_writer w;
    size_t i;
    if (!c) return NULL;
    r = llm__new_request(c, LLM__K_SPEECH);
    if (!r) return NULL;
    if (!d) return llm__reject(r, LLM_ERR_INVALID, "desc", "is NULL");
    r->user_data = d->user_data;
    r->priority = d->priority;
    r->on_audio = d->on_audio;
    r->on_done = d->on_done;
    p = llm__route_endpoint(r, d->model, &model, LLM__PATH(speech_path), "speech");
    if (!p) return r;
    if (!d->input || !*d->input) return llm__reject(r, LLM_ERR_INVALID, "input", "missing");
    if (!d->voice || !*d->voice) return llm__reject(r, LLM_ERR_INVALID, "voice", "missing");
    {
        const char *v[3];
        static const char *names[3] = { "input", "voice", "instructions" };
        v[0] = d->input; v[1] = d->voice; v[2] = d->instructions;
        if (!llm__check_strs(r, v, names, 3)) return r;
    }
    if (d->format) {
        for (i = 0; i < sizeof formats / sizeof formats[0] && strcmp(d->format, formats[i]); i++) {}
        if (i == sizeof formats / sizeof formats[0]) return llm__reject(r, LLM_ERR_INVALID, "format", "must be mp3, opus, aac, flac, wav or pcm");
    }
    if (!(d->speed >= 0.0 && d->speed - d->speed == 0.0)) return llm__reject(r, LLM_ERR_INVALID, "speed", "must be a finite number >= 0");
    if (d->extra_json && !(extra = llm__parse_desc_json(r, d->extra_json, "extra_json", 1))) return r;
    llm_jw_init(&w, &c->alloc);
    llm__enc_speech(&w, d, model, extra);
    llm_json_free(extra);
    if (!llm__take_body(r, &w, "input")) return r;
    r->stream = 1; /* bytes as they come: the idle timeout applies */
    llm__settings(r, d->timeout_ms, d->idle_timeout_ms, d->max_retries);
    if (llm__prepare(r, p, llm__path_of(p, LLM__PATH(speech_path)), d->headers, d->n_headers, "Accept: */*"))
        llm__transition(r, LLM_QUEUED);
    return r;
}

/* Transcription (translate 0) or translation (1): a multipart body. */
static llm_request *llm__submit_audio(llm_client *c, const llm_audio_desc *d, int translate) {
    static const char *formats[] = { "json", "text", "verbose_json", "srt", "vtt" };
    llm_request *r;
    const llm__provider *p;
    const char *model, *filename, *mime, *filename_def = "audio.wav";
    const void *audio = d ? d->audio : NULL;
    size_t audio_len = d ? d->audio_len : 0, file_len = 0;
    char *file = NULL;
    llm__buf b = { NULL, 0, 0 };
    char boundary[48], temp[40], ctype[96];
    size_t path_off = translate ? LLM__PATH(translate_path) : LLM__PATH(transcribe_path), i;
    int ok, tries;
    if (!c) return NULL;
    r = llm__new_request(c, LLM__K_AUDIO);
    if (!r) return NULL;
    if (!d) return llm__reject(r, LLM_ERR_INVALID, "desc", "is NULL");
    r->user_data = d->user_data;
    r->priority = d->priority;
    r->on_delta = d->on_delta;
    r->on_done = d->on_done;
    p = llm__route_endpoint(r, d->model, &model, path_off, translate ? "translation" : "transcription");
    if (!p) return r;
    if (d->path && d->audio) return llm__reject(r, LLM_ERR_INVALID, "path", "set audio or path, not both");
    if (d->path) {
        const char *base = d->path + strlen(d->path);
        while (base > d->path && base[-1] != '/' && base[-1] != '\\') base--;
        file = llm__read_file(&c->alloc, d->path, &file_len);
        if (!file) return llm__reject(r, LLM_ERR_INVALID, "path", "no file that can be read there");
        audio = file;
        audio_len = file_len;
        if (!d->filename && *base) filename_def = base;
    }
    if (!audio || audio_len == 0) {
        llm__free(&c->alloc, file);
        return llm__reject(r, LLM_ERR_INVALID, d->path ? "path" : "audio", d->path ? "the file is empty" : "missing or empty");
    }
    r->upload = file; /* freed with the request, or once the body holds it */
    if (d->timestamp_granularities) {
        const char *g = d->timestamp_granularities;
        if (!d->response_format || strcmp(d->response_format, "verbose_json"))
            return llm__reject(r, LLM_ERR_INVALID, "timestamp_granularities", "needs response_format \"verbose_json\"");
        if (strcmp(g, "word") && strcmp(g, "segment") && strcmp(g, "word,segment") && strcmp(g, "segment,word"))
            return llm__reject(r, LLM_ERR_INVALID, "timestamp_granularities", "must be word, segment or word,segment");
    }
    filename = d->filename ? d->filename : filename_def;
    mime = d->mime_type ? d->mime_type : llm__audio_mime(filename);
    {
        const char *v[6];
        static const char *names[6] = { "filename", "mime_type", "language", "prompt", "response_format", "model" };
        v[0] = filename; v[1] = mime; v[2] = d->language; v[3] = d->prompt; v[4] = d->response_format; v[5] = model;
        if (!llm__check_strs(r, v, names, 6)) return r;
        for (i = 0; i < 6; i++) /* a header line of the body: no quote, CR or LF */
            if (v[i] && (strchr(v[i], '"') || llm__has_crlf(v[i])) && i != 3)
                return llm__reject(r, LLM_ERR_INVALID, names[i], "holds a quote, CR or LF");
    }
    if (translate && d->language) return llm__reject(r, LLM_ERR_INVALID, "language", "translations are always into English");
    if (d->response_format) {
        for (i = 0; i < sizeof formats / sizeof formats[0] && strcmp(d->response_format, formats[i]); i++) {}
        if (i == sizeof formats / sizeof formats[0])
            return llm__reject(r, LLM_ERR_INVALID, "response_format", "must be json, text, verbose_json, srt or vtt");
    }
    if (d->stream && translate) return llm__reject(r, LLM_ERR_INVALID, "stream", "translations do not stream");
    if ((d->has_temperature || d->temperature != 0.0) && !(d->temperature >= 0.0 && d->temperature <= 1.0))
        return llm__reject(r, LLM_ERR_INVALID, "temperature", "must be 0..1");
    for (tries = 0;; tries++) { /* a boundary that appears nowhere in the parts */
        snprintf(boundary, sizeof boundary, "llmasync-%08lx%08lx", (unsigned long)(llm__rand01(c) * 4294967295.0),
                 (unsigned long)(r->seq * 2654435761u + (unsigned)tries));
        if (!llm__has_bytes((const char *)audio, audio_len, boundary) &&
            !(d->prompt && strstr(d->prompt, boundary)))
            break;
    }
    if (d->has_temperature || d->temperature != 0.0) snprintf(temp, sizeof temp, "%g", d->temperature);
    ok = llm__mp_part(&c->alloc, &b, boundary, "file", filename, mime, audio, audio_len) &&
         llm__mp_field(&c->alloc, &b, boundary, "model", model) &&
         llm__mp_field(&c->alloc, &b, boundary, "language", d->language) &&
         llm__mp_field(&c->alloc, &b, boundary, "prompt", d->prompt) &&
         llm__mp_field(&c->alloc, &b, boundary, "response_format", d->response_format) &&
         llm__mp_field(&c->alloc, &b, boundary, "temperature", d->has_temperature || d->temperature != 0.0 ? temp : NULL) &&
         llm__mp_field(&c->alloc, &b, boundary, "stream", d->stream ? "true" : NULL) &&
         llm__mp_field(&c->alloc, &b, boundary, "timestamp_granularities[]",
                       !d->timestamp_granularities ? NULL : strncmp(d->timestamp_granularities, "word", 4) ? "segment" : "word") &&
         llm__mp_field(&c->alloc, &b, boundary, "timestamp_granularities[]",
                       d->timestamp_granularities && strchr(d->timestamp_granularities, ',') ?
                       (strncmp(d->timestamp_granularities, "word", 4) ? "word" : "segment") : NULL) &&
         llm__buf_adds(&c->alloc, &b, "--") && llm__buf_adds(&c->alloc, &b, boundary) && llm__buf_adds(&c->alloc, &b, "--\r\n");
    llm__free(&c->alloc, r->upload);
    r->upload = NULL;
    snprintf(ctype, sizeof ctype, "Content-Type: multipart/form-data; boundary=%s", boundary);
    r->ctype = llm__strdup(&c->alloc, ctype);
    if (!ok || !r->ctype) {
        llm__buf_free(&c->alloc, &b);
        return llm__reject(r, LLM_ERR_NO_MEMORY, "audio", "");
    }
    r->body = b.p;
    r->body_len = b.len;
    r->stream = d->stream != 0;
    llm__settings(r, d->timeout_ms, d->idle_timeout_ms, d->max_retries);
    if (llm__prepare(r, p, llm__path_of(p, path_off), d->headers, d->n_headers,
                     r->stream ? "Accept: text/event-stream" : "Accept: application/json, text/plain"))
        llm__transition(r, LLM_QUEUED);
    return r;
}
LLMASYNC_API llm_request *llm_transcribe(llm_client *c, const llm_audio_desc *d) { return llm__submit_audio(c, d, 0); }
LLMASYNC_API llm_request *llm_translate(llm_client *c, const llm_audio_desc *d) { return llm__submit_audio(c, d, 1); }

LLMASYNC_API llm_request *llm_rerank(llm_client *c, const llm_rerank_desc *d) {
    llm_request *r;
    const llm__provider *p;
    const char *model;
    llm_json_value *extra = NULL;
    llm_json_writer w;
    char field[32];
    int i;
    if (!c) return NULL;
    r = llm__new_request(c, LLM__K_RERANK);
    if (!r) return NULL;
    if (!d) return llm__reject(r, LLM_ERR_INVALID, "desc", "is NULL");
    r->user_data = d->user_data;
    r->priority = d->priority;
    r->on_done = d->on_done;
    p = llm__route_endpoint(r, d->model, &model, LLM__PATH(rerank_path), "rerank");
    if (!p) return r;
    if (!d->query || !*d->query) return llm__reject(r, LLM_ERR_INVALID, "query", "missing");
    if (!llm__check_utf8(r, d->query, "query")) return r;
    if (!d->documents || d->n_documents < 1) return llm__reject(r, LLM_ERR_INVALID, "documents", "none given (n_documents must be at least 1)");
    for (i = 0; i < d->n_documents; i++) {
        snprintf(field, sizeof field, "documents[%d]", i);
        if (!d->documents[i]) return llm__reject(r, LLM_ERR_INVALID, field, "NULL");
        if (!llm__check_utf8(r, d->documents[i], field)) return r;
    }
    if (d->top_n < 0) return llm__reject(r, LLM_ERR_INVALID, "top_n", "negative");
    if (d->extra_json && !(extra = llm__parse_desc_json(r, d->extra_json, "extra_json", 1))) return r;
    llm_jw_init(&w, &c->alloc);
    llm__enc_rerank(&w, d, model, extra);
    llm_json_free(extra);
    if (!llm__take_body(r, &w, "documents")) return r;
    r->n_inputs = d->n_documents;
    llm__settings(r, d->timeout_ms, 0, d->max_retries);
    if (llm__prepare(r, p, llm__path_of(p, LLM__PATH(rerank_path)), d->headers, d->n_headers, "Accept: application/json"))
        llm__transition(r, LLM_QUEUED);
    return r;
}

/* >>client =============================================================== */

static char *llm__env(const char *name) {
    const char *v = getenv(name);
    return (v && *v) ? (char *)v : NULL;
}

static int llm__add_provider(llm_client *c, const char *name, llm_api api, const char *base, const char *key, int builtin) {
    llm__provider *p = &c->prov[c->n_prov];
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/') n--;
    p->name = llm__strdup(&c->alloc, name);
    p->base_url = llm__strndup(&c->alloc, base, n);
    p->api_key = llm__strdup(&c->alloc, key ? key : "");
    p->api = api;
    p->builtin_openai = builtin;
    c->n_prov++;
    return p->name && p->base_url && p->api_key;
}

LLMASYNC_API llm_client *llm_client_new(const llm_client_desc *desc) {
    llm_client_desc d;
    llm_allocator a;
    llm_client *c;
    int i, ok;
    char ollama[300];
    const char *oh;
    if (desc) d = *desc; else memset(&d, 0, sizeof d);
    if ((d.allocator.alloc_fn || d.allocator.realloc_fn || d.allocator.free_fn) &&
        !(d.allocator.alloc_fn && d.allocator.realloc_fn && d.allocator.free_fn)) {
        if (d.log_fn) d.log_fn(LLM_LOG_ERROR, "llmasync: allocator: set alloc_fn, realloc_fn and free_fn together", d.log_user_data);
        return NULL;
    }
    if (!d.watch_socket != !d.set_timer) {
        if (d.log_fn) d.log_fn(LLM_LOG_ERROR, "llmasync: watch_socket and set_timer: set both or neither", d.log_user_data);
        return NULL;
    }
    if (d.n_providers < 0 || (d.n_providers > 0 && !d.providers)) {
        if (d.log_fn) d.log_fn(LLM_LOG_ERROR, "llmasync: n_providers is negative or providers is NULL", d.log_user_data);
        return NULL;
    }
    if (llm__has_crlf(d.anthropic_version) || llm__has_crlf(d.user_agent) || llm__has_crlf(d.proxy) ||
        llm__has_crlf(d.no_proxy)) {
        if (d.log_fn) d.log_fn(LLM_LOG_ERROR, "llmasync: anthropic_version, user_agent, proxy or no_proxy holds CR or LF", d.log_user_data);
        return NULL;
    }
    for (i = 0; i < d.n_providers; i++) {
        const llm_provider_desc *pd = &d.providers[i];
        if (!pd->name || !*pd->name || strchr(pd->name, '/') || !pd->base_url || !*pd->base_url ||
            (int)pd->api < 0 || (int)pd->api >= LLM_API_COUNT_) {
            if (d.log_fn) d.log_fn(LLM_LOG_ERROR, "llmasync: providers[i]: needs a name without '/', a base_url and a known api", d.log_user_data);
            return NULL;
        }
    }
    a = llm__allocator(&d.allocator);
    c = (llm_client *)llm__calloc(&a, sizeof *c);
    if (!c) return NULL;
    c->alloc = a;
    c->log_fn = d.log_fn;
    c->log_ud = d.log_user_data;
    c->max_concurrent = d.max_concurrent > 0 ? d.max_concurrent : LLM__DEF_MAX_CONCURRENT;
    c->max_retries = d.max_retries > 0 ? d.max_retries : d.max_retries < 0 ? 0 : LLM__DEF_MAX_RETRIES;
    c->retry_cap_ms = d.retry_max_delay_ms > 0 ? d.retry_max_delay_ms : LLM__DEF_RETRY_CAP_MS;
    c->connect_ms = d.connect_timeout_ms > 0 ? d.connect_timeout_ms : d.connect_timeout_ms < 0 ? 0 : LLM__DEF_CONNECT_MS;
    c->first_byte_us = d.first_byte_timeout_ms > 0 ? (int64_t)d.first_byte_timeout_ms * 1000 : 0;
    c->idle_us = d.idle_timeout_ms > 0 ? (int64_t)d.idle_timeout_ms * 1000 : d.idle_timeout_ms < 0 ? 0 : (int64_t)LLM__DEF_IDLE_MS * 1000;
    c->total_us = d.timeout_ms > 0 ? (int64_t)d.timeout_ms * 1000 : d.timeout_ms < 0 ? 0 : (int64_t)LLM__DEF_TOTAL_MS * 1000;
    c->max_response = d.max_response_bytes ? d.max_response_bytes : LLM__DEF_MAX_RESPONSE;
    c->max_event = d.max_event_bytes ? d.max_event_bytes : LLM__DEF_MAX_EVENT;
    c->max_depth = d.max_json_depth > 0 ? (d.max_json_depth > LLM_JSON_DEPTH_LIMIT ? LLM_JSON_DEPTH_LIMIT : d.max_json_depth) : LLM__DEF_JSON_DEPTH;
    c->max_tools = d.max_tool_calls > 0 ? d.max_tool_calls : LLM__DEF_MAX_TOOL_CALLS;
    c->next_timer = INT64_MAX;
    c->rng = d.retry_seed ? (uint64_t)d.retry_seed * 0x9E3779B97F4A7C15ull : (uint64_t)llm__now_us() ^ (uint64_t)(uintptr_t)c;
    if (!c->rng) c->rng = 1;
    if (d.user_agent) c->user_agent = llm__strdup(&a, d.user_agent);
    else {
        const char *cv = curl_version_info(CURLVERSION_NOW)->version;
        size_t n = strlen("llmasync/" LLMASYNC_VERSION " libcurl/") + strlen(cv) + 1;
        c->user_agent = (char *)llm__malloc(&a, n);
        if (c->user_agent) snprintf(c->user_agent, n, "llmasync/%s libcurl/%s", LLMASYNC_VERSION, cv);
    }
    c->ca_file = d.ca_file ? llm__strdup(&a, d.ca_file) : NULL;
    c->proxy = d.proxy ? llm__strdup(&a, d.proxy) : NULL;
    c->native_ca = d.native_ca != 0;
    c->no_proxy = d.no_proxy ? llm__strdup(&a, d.no_proxy) : NULL;
    c->anthropic_version = llm__strdup(&a, d.anthropic_version ? d.anthropic_version : "2023-06-01");
    c->prov = (llm__provider *)llm__calloc(&a, (size_t)(3 + d.n_providers) * sizeof(llm__provider));
    c->pace = (llm__pace *)llm__calloc(&a, (size_t)(3 + d.n_providers) * sizeof(llm__pace));
    c->rate_rpm = d.rate_rpm > 0 ? d.rate_rpm : 0;
    c->rate_tpm = d.rate_tpm > 0 ? d.rate_tpm : 0;
    c->pacing = c->rate_rpm || c->rate_tpm;
    ok = c->prov && c->pace && c->anthropic_version && c->user_agent && (!d.ca_file || c->ca_file) && (!d.proxy || c->proxy) &&
         (!d.no_proxy || c->no_proxy);
    if (ok) {
        oh = d.ollama_host ? d.ollama_host : llm__env("OLLAMA_HOST");
        if (!oh) oh = "http://127.0.0.1:11434";
        if (!strstr(oh, "://")) { /* OLLAMA_HOST may be "host" or "host:port" */
            const char *colon = strrchr(oh, ':');
            snprintf(ollama, sizeof ollama, "http://%s%s", oh, colon ? "" : ":11434");
            oh = ollama;
        }
        ok = llm__add_provider(c, "openai", LLM_API_OPENAI,
                               d.base_url ? d.base_url : llm__env("OPENAI_BASE_URL") ? llm__env("OPENAI_BASE_URL") : "https://api.openai.com/v1",
                               d.api_key ? d.api_key : llm__env("OPENAI_API_KEY"), 1) &&
             llm__add_provider(c, "anthropic", LLM_API_ANTHROPIC,
                               d.anthropic_base_url ? d.anthropic_base_url : llm__env("ANTHROPIC_BASE_URL") ? llm__env("ANTHROPIC_BASE_URL") : "https://api.anthropic.com",
                               d.anthropic_api_key ? d.anthropic_api_key : llm__env("ANTHROPIC_API_KEY"), 0) &&
             llm__add_provider(c, "ollama", LLM_API_OLLAMA, oh, NULL, 0);
        for (i = 0; ok && i < d.n_providers; i++)
            ok = llm__add_provider(c, d.providers[i].name, d.providers[i].api, d.providers[i].base_url, d.providers[i].api_key, 0);
    }
#ifndef LLMASYNC_NO_CURL_GLOBAL_INIT
    if (ok) {
        ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
        c->curl_global = ok;
    }
#endif
    if (ok) ok = (c->multi = curl_multi_init()) != NULL;
    if (ok) {
        c->io_inited = 1;
        ok = llm__io_init(c);
    }
    if (ok && d.watch_socket) ok = llm__ext_init(c, &d);
    if (ok) {
        const char *rec = d.record_path ? d.record_path : llm__env("LLMASYNC_RECORD");
        const char *rep = d.replay_path ? d.replay_path : llm__env("LLMASYNC_REPLAY");
        const char *pv = llm__env("LLMASYNC_REPLAY_PACED");
        char why[512];
        ok = llm__rec_open(c, rec && *rec ? rec : NULL, rep && *rep ? rep : NULL,
                           d.replay_paced || (pv && !strcmp(pv, "1")), why, sizeof why);
        if (!ok) {
            /* asked for through the environment and nowhere to say it: the
               one line the library writes to stderr itself */
            if (c->log_fn) c->log_fn(LLM_LOG_ERROR, why, c->log_ud);
            else if (!d.record_path && !d.replay_path) fprintf(stderr, "llmasync: %s\n", why);
        }
    }
    if (ok && (c->share = curl_share_init()) != NULL && /* an optimisation: none is fine */
        (curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
         curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK)) {
        curl_share_cleanup(c->share);
        c->share = NULL;
    }
    if (!ok) {
        llm_client_free(c);
        return NULL;
    }
    /* our admission bounds transfers; keep that many connections warm */
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)(c->max_concurrent > 8 ? c->max_concurrent : 8));
    return c;
}

LLMASYNC_API void llm_client_free(llm_client *c) {
    int l, i;
    if (!c) return;
    LLM_ASSERT(c->deliver_depth == 0 && "llm_client_free inside a callback of its own requests");
    /* batch children go with their group, so free only top-level requests */
    for (l = 0; l < LLM__L_COUNT; l++) {
        llm_request *r = c->lists[l].head;
        while (r) {
            if (r->parent) { r = r->next; continue; }
            llm__destroy(r);
            r = c->lists[l].head;
        }
    }
    if (c->io_inited) llm__io_free(c);
    llm__rec_close(c);
    if (c->multi) curl_multi_cleanup(c->multi);
    if (c->share) curl_share_cleanup(c->share); /* after every transfer that used it */
    for (i = 0; c->prov && i < c->n_prov; i++) {
        llm__free(&c->alloc, c->prov[i].name);
        llm__free(&c->alloc, c->prov[i].base_url);
        llm__free(&c->alloc, c->prov[i].api_key);
    }
    llm__free(&c->alloc, c->prov);
    llm__free(&c->alloc, c->pace);
    llm__free(&c->alloc, c->ca_file);
    llm__free(&c->alloc, c->proxy);
    llm__free(&c->alloc, c->no_proxy);
    llm__free(&c->alloc, c->anthropic_version);
    llm__free(&c->alloc, c->user_agent);
#ifndef LLMASYNC_NO_CURL_GLOBAL_INIT
    if (c->curl_global) curl_global_cleanup();
#endif
    {
        llm_allocator a = c->alloc;
        llm__free(&a, c);
    }
}

LLMASYNC_API void llm_wakeup(llm_client *c) {
    if (!c) return;
    llm__io_wake(c);
}

/* >>driving ============================================================== */

LLMASYNC_API int llm_poll(llm_client *c) {
    if (!c) return 0;
    llm__pump(c);
    return c->n_inflight;
}

/* The host's own event loop: a socket it watches for us is ready. */
LLMASYNC_API int llm_socket_ready(llm_client *c, llm_socket s, int what) {
    int running = 0;
    if (!c) return 0;
    LLM_ASSERT(c->ext && "llm_socket_ready: the client has no watch_socket (llm_client_desc)");
    LLM_ASSERT(!c->ext_in_cb && "llm_socket_ready: called from watch_socket or set_timer");
    if (!c->ext || c->ext_in_cb) return c->n_inflight;
    curl_multi_socket_action(c->multi, (curl_socket_t)s,
                             ((what & LLM_IO_IN) ? CURL_CSELECT_IN : 0) | ((what & LLM_IO_OUT) ? CURL_CSELECT_OUT : 0) |
                                 ((what & LLM_IO_ERR) ? CURL_CSELECT_ERR : 0),
                             &running);
    llm__pump(c);
    return c->n_inflight;
}

/* The host's own event loop: the timer set through set_timer fired. */
LLMASYNC_API int llm_timer_fired(llm_client *c) {
    if (!c) return 0;
    LLM_ASSERT(c->ext && "llm_timer_fired: the client has no set_timer (llm_client_desc)");
    LLM_ASSERT(!c->ext_in_cb && "llm_timer_fired: called from watch_socket or set_timer");
    if (!c->ext || c->ext_in_cb) return c->n_inflight;
    c->ext_armed = INT64_MAX; /* that timer is spent: arm again whatever is due */
    llm__pump(c);
    return c->n_inflight;
}

/* Attaches the host's data to a socket (curl_multi_assign): watch_socket
   gets it back. Allowed inside watch_socket. */
LLMASYNC_API int llm_socket_assign(llm_client *c, llm_socket s, void *socket_data) {
    if (!c || !c->ext) return 0;
    return curl_multi_assign(c->multi, (curl_socket_t)s, socket_data) == CURLM_OK;
}

/* llm_poll that stops starting work once budget_us is spent (see >>budget):
   it returns within the budget plus one unit of work. *deferred says some
   was left (call again before sleeping); the next call of any kind goes
   on with it. */
LLMASYNC_API int llm_poll_budget(llm_client *c, int budget_us, int *deferred) {
    if (deferred) *deferred = 0;
    if (!c) return 0;
    llm__pump_budget(c, 1, llm__now_us() + (budget_us > 0 ? budget_us : 0));
    if (deferred) *deferred = llm__deferred(c);
    return c->n_inflight;
}

static llm_request *llm__report(llm_client *c) {
    llm_request *r = c->lists[LLM__L_DONE].head;
    llm__link(r, LLM__L_HELD);
    return r;
}

/* Reporting without a pump, so a host on a frame budget can collect what
   finished without undoing its budget (llm_wait_any pumps first). Same
   order, same exactly-once as llm_wait_any; a request whose callbacks a
   budget deferred waits for them (on_done always comes first). */
LLMASYNC_API llm_request *llm_take_done(llm_client *c) {
    llm_request *r;
    if (!c) return NULL;
    r = c->lists[LLM__L_DONE].head;
    if (!r || r->notify) return NULL;
    return llm__report(c);
}

static int64_t llm__wait_end(int timeout_ms) {
    return timeout_ms < 0 ? INT64_MAX : llm__now_us() + (int64_t)timeout_ms * 1000;
}

/* NULL means waiting is over: the time is up, nothing is in flight or left
   to report, or llm_wakeup was called. Stream text never ends the wait
   (that is llm_wait's job), so the canonical loop drains every request. */
LLMASYNC_API llm_request *llm_wait_any(llm_client *c, int timeout_ms) {
    int64_t end;
    if (!c) return NULL;
    end = llm__wait_end(timeout_ms);
    for (;;) { /* a wake-up that came before this call counts too */
        int64_t now;
        llm__pump(c);
        if (c->lists[LLM__L_DONE].head) return llm__report(c);
        if (c->woken || c->n_inflight == 0) break;
        now = llm__now_us();
        if (now >= end) break;
        llm__sleep(c, end - now);
    }
    c->woken = 0;
    return NULL;
}

/* Returns as soon as anything happened, saying what (LLM_WAIT_* bits), or 0
   when the time is up. Text and wake-ups are edges (reported once);
   LLM_WAIT_DONE holds while a terminal request waits to be collected. */
LLMASYNC_API int llm_wait(llm_client *c, int timeout_ms) {
    int64_t end;
    int got = 0;
    if (!c) return LLM_WAIT_IDLE;
    end = llm__wait_end(timeout_ms);
    for (;;) {
        int64_t now;
        llm__pump(c);
        if (c->text_news) got |= LLM_WAIT_TEXT;
        if (c->lists[LLM__L_DONE].head) got |= LLM_WAIT_DONE;
        if (c->woken) got |= LLM_WAIT_WOKEN;
        if (!got && c->n_inflight == 0) got = LLM_WAIT_IDLE;
        if (got) break;
        now = llm__now_us();
        if (now >= end) break;
        llm__sleep(c, end - now);
    }
    c->text_news = 0;
    c->woken = 0;
    return got;
}

LLMASYNC_API llm_request *llm_chat_blocking(llm_client *c, const llm_chat_desc *desc) {
    llm_request *r;
    LLM_ASSERT(!(c && c->ext) && "llm_chat_blocking: cannot wait with an external event loop (watch_socket)");
    if (c && c->ext) return NULL; /* our waits see no sockets: it would never end */
    r = llm__submit_chat(c, desc, 1);
    if (!r) return NULL;
    r->pinned = 1; /* its own callback may free it while we wait */
    for (;;) {
        llm__pump(c);
        if (r->terminal || r->free_pending) break;
        llm__sleep(c, INT64_MAX);
    }
    r->pinned = 0;
    if (r->free_pending) { /* freed by its callback: nothing to return */
        llm__destroy(r);
        return NULL;
    }
    return r;
}

LLMASYNC_API void llm_cancel(llm_request *r) {
    if (!r) return;
    LLM__LIVE(r);
    if (r->terminal || r->parent) return; /* a terminal request keeps its outcome */
    llm__outcome_static(r, LLM_ERR_CANCELLED, "cancelled");
    llm__transition(r, LLM_CANCELLED);
}

LLMASYNC_API void llm_request_free(llm_request *r) {
    if (!r) return;
    LLM_ASSERT(r->magic == LLM__REQ_LIVE && "llm_request_free: request already freed (or not a request)");
    LLM_ASSERT(!r->free_pending && "llm_request_free: request already freed in its callback");
    if (r->parent || r->free_pending) return;
    llm__silence(r);
    if (r->in_cb || r->pinned) r->free_pending = 1; /* freed when its callback or wait returns */
    else llm__destroy(r);
}

/* >>reading ============================================================== */

LLMASYNC_API llm_status llm_request_status(const llm_request *r) {
    if (!r) return LLM_FAILED;
    LLM__LIVE(r);
    return r->status;
}
LLMASYNC_API void *llm_request_user_data(const llm_request *r) {
    if (r) LLM__LIVE(r);
    return r ? r->user_data : NULL;
}

LLMASYNC_API const char *llm_request_text(const llm_request *r, size_t *len) {
    if (r) LLM__LIVE(r);
    if (len) *len = r ? r->a.text.len : 0;
    return (r && r->a.text.p) ? r->a.text.p : "";
}
LLMASYNC_API size_t llm_request_take(llm_request *r, const char **delta) {
    size_t n;
    if (r) LLM__LIVE(r);
    if (!r || r->a.take_off >= r->a.text.len) {
        if (delta) *delta = "";
        return 0;
    }
    n = r->a.text.len - r->a.take_off;
    if (delta) *delta = r->a.text.p + r->a.take_off;
    r->a.take_off = r->a.text.len;
    return n;
}
LLMASYNC_API const char *llm_request_reasoning(const llm_request *r, size_t *len) {
    if (r) LLM__LIVE(r);
    if (len) *len = r ? r->a.reasoning.len : 0;
    return (r && r->a.reasoning.p) ? r->a.reasoning.p : "";
}
LLMASYNC_API const llm_error *llm_request_error(const llm_request *r) {
    if (!r) return NULL;
    LLM__LIVE(r);
    return &r->o.err;
}
LLMASYNC_API const llm_usage *llm_request_usage(const llm_request *r) {
    if (r) LLM__LIVE(r);
    return r ? &r->a.usage : NULL;
}
/* Filled as things happen (first byte, first token, the end), so reading
   writes nothing. */
LLMASYNC_API const llm_timings *llm_request_timings(const llm_request *r) {
    if (!r) return NULL;
    LLM__LIVE(r);
    return &r->tm;
}
LLMASYNC_API const char *llm_request_finish_reason(const llm_request *r) {
    if (r) LLM__LIVE(r);
    return r ? r->a.finish_reason : "";
}
LLMASYNC_API const char *llm_request_id(const llm_request *r) {
    if (r) LLM__LIVE(r);
    return r ? r->a.resp_id : "";
}
LLMASYNC_API const char *llm_request_model(const llm_request *r) {
    if (r) LLM__LIVE(r);
    return r ? r->a.resp_model : "";
}
LLMASYNC_API const llm_json_value *llm_request_json(const llm_request *r) {
    if (r) LLM__LIVE(r);
    return r ? r->a.doc : NULL;
}
LLMASYNC_API const llm_json_value *llm_request_content_json(const llm_request *r) {
    if (r) LLM__LIVE(r);
    return r ? r->a.content_doc : NULL;
}
/* Structured output as it streams: the answer so far as a partial JSON
   document, re-parsed only when the text grew. Counted by the response's
   memory meter like every view of the answer; a view that does not fit is
   simply not there (NULL), the request goes on. */
static const llm_json_value *llm__partial(llm_request *r, const char *s, size_t n, llm_json_value **doc,
                                          size_t *doc_len) {
    llm_json_options o;
    llm_json_result jr;
    if (*doc_len == n) return *doc; /* n > 0: parsed before (NULL too: nothing yet, or not JSON) */
    llm_json_free(*doc);
    *doc = NULL;
    *doc_len = n;
    memset(&o, 0, sizeof o);
    o.allocator = &r->ra;
    o.max_depth = r->c->max_depth;
    *doc = llm_json_parse_partial(s, n, &o, &jr);
    if (!*doc && jr.error == LLM_JSON_ERR_TRAILING) /* whole, then a closing ``` fence */
        *doc = llm_json_parse(s, jr.offset, &o, &jr);
    if (!*doc && jr.error == LLM_JSON_ERR_NO_MEMORY) r->meter_over = 0;
    return *doc;
}

LLMASYNC_API const llm_json_value *llm_request_partial_json(llm_request *r) {
    const char *s, *e;
    if (!r) return NULL;
    LLM__LIVE(r);
    if (r->status == LLM_DONE) return r->a.content_doc;
    if (r->kind != LLM__K_CHAT && r->kind != LLM__K_RESPONSES) return NULL;
    s = r->a.text.p;
    e = s + r->a.text.len;
    while (s < e && (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')) s++;
    if (e - s >= 3 && memcmp(s, "```", 3) == 0) { /* a fenced block: after its first line */
        const char *nl = (const char *)memchr(s, '\n', (size_t)(e - s));
        if (!nl) return NULL;
        for (s = nl + 1; s < e && (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t'); s++) {}
    }
    if (s >= e || (*s != '{' && *s != '[')) return NULL; /* structured output is an object or array */
    return llm__partial(r, s, (size_t)(e - s), &r->a.pdoc, &r->a.pdoc_len);
}

LLMASYNC_API int llm_request_partial_tool_count(const llm_request *r) {
    if (!r) return 0;
    LLM__LIVE(r);
    return r->a.n_tools;
}

LLMASYNC_API const llm_json_value *llm_request_partial_tool_args(llm_request *r, int i, const char **name) {
    llm__tool *t;
    if (name) *name = "";
    if (!r) return NULL;
    LLM__LIVE(r);
    if (i < 0 || i >= r->a.n_tools) return NULL;
    t = &r->a.tools[i];
    if (name && t->name.p) *name = t->name.p;
    if (r->status == LLM_DONE) return t->args_json;
    if (!t->args.len) return NULL;
    return llm__partial(r, t->args.p, t->args.len, &t->pdoc, &t->pdoc_len);
}

LLMASYNC_API int llm_request_tool_call_count(const llm_request *r) {
    if (r) LLM__LIVE(r);
    return (r && r->status == LLM_DONE) ? r->a.n_tools : 0;
}
LLMASYNC_API const llm_tool_call *llm_request_tool_call(const llm_request *r, int i) {
    if (r) LLM__LIVE(r);
    if (!r || r->status != LLM_DONE || i < 0 || i >= r->a.n_tools) return NULL;
    return &r->a.tools[i].pub;
}
LLMASYNC_API int llm_request_embedding_count(const llm_request *r) {
    if (r) LLM__LIVE(r);
    return (r && r->status == LLM_DONE) ? r->a.n_vec : 0;
}
LLMASYNC_API const float *llm_request_embedding(const llm_request *r, int i, int *dimensions) {
    if (r) LLM__LIVE(r);
    if (dimensions) *dimensions = 0;
    if (!r || r->status != LLM_DONE || i < 0 || i >= r->a.n_vec) return NULL;
    if (r->kind == LLM__K_GROUP) {
        const llm_request *ch = r->children[i / r->batch_size];
        if (dimensions) *dimensions = ch->a.dim;
        return ch->a.vec + (size_t)(i % r->batch_size) * (size_t)ch->a.dim;
    }
    if (dimensions) *dimensions = r->a.dim;
    return r->a.vec + (size_t)i * (size_t)r->a.dim;
}

LLMASYNC_API const char *llm_request_refusal(const llm_request *r, size_t *len) {
    if (r) LLM__LIVE(r);
    if (len) *len = r ? r->a.refusal.len : 0;
    return (r && r->a.refusal.p) ? r->a.refusal.p : "";
}
static const llm__choice *llm__choice_find(const llm_request *r, int i) {
    int k;
    for (k = 0; k < r->a.n_choices; k++)
        if (r->a.choices[k].index == i) return &r->a.choices[k];
    return NULL;
}
LLMASYNC_API int llm_request_choice_count(const llm_request *r) {
    int k, n = 1;
    if (!r) return 0;
    LLM__LIVE(r);
    for (k = 0; k < r->a.n_choices; k++)
        if (r->a.choices[k].index + 1 > n) n = r->a.choices[k].index + 1;
    return n;
}
LLMASYNC_API const char *llm_request_choice_text(const llm_request *r, int i, size_t *len) {
    const llm__choice *ch;
    if (len) *len = 0;
    if (!r) return "";
    LLM__LIVE(r);
    if (i == 0) return llm_request_text(r, len);
    ch = llm__choice_find(r, i);
    if (!ch || !ch->text.p) return "";
    if (len) *len = ch->text.len;
    return ch->text.p;
}
LLMASYNC_API const char *llm_request_choice_finish_reason(const llm_request *r, int i) {
    const llm__choice *ch;
    if (!r) return "";
    LLM__LIVE(r);
    if (i == 0) return r->a.finish_reason;
    ch = llm__choice_find(r, i);
    return ch ? ch->finish : "";
}
/* n > 1: choice i's tool calls (i = 0: llm_request_tool_call_count). */
LLMASYNC_API int llm_request_choice_tool_call_count(const llm_request *r, int i) {
    const llm__choice *ch;
    if (!r) return 0;
    LLM__LIVE(r);
    if (i == 0) return llm_request_tool_call_count(r);
    ch = llm__choice_find(r, i);
    return ch && r->status == LLM_DONE ? ch->n_tools : 0;
}
LLMASYNC_API const llm_tool_call *llm_request_choice_tool_call(const llm_request *r, int i, int k) {
    const llm__choice *ch;
    if (!r) return NULL;
    LLM__LIVE(r);
    if (i == 0) return llm_request_tool_call(r, k);
    ch = llm__choice_find(r, i);
    if (!ch || r->status != LLM_DONE || k < 0 || k >= ch->n_tools) return NULL;
    return &ch->tools[k].pub;
}
LLMASYNC_API const void *llm_request_bytes(const llm_request *r, size_t *len) {
    if (r) LLM__LIVE(r);
    if (len) *len = r ? r->a.bin.len : 0;
    return (r && r->a.bin.p) ? (const void *)r->a.bin.p : (const void *)"";
}
LLMASYNC_API size_t llm_request_take_bytes(llm_request *r, const void **data) {
    size_t n;
    if (r) LLM__LIVE(r);
    if (!r || r->a.bin_take >= r->a.bin.len) {
        if (data) *data = "";
        return 0;
    }
    n = r->a.bin.len - r->a.bin_take;
    if (data) *data = r->a.bin.p + r->a.bin_take;
    r->a.bin_take = r->a.bin.len;
    return n;
}
LLMASYNC_API int llm_request_rank_count(const llm_request *r) {
    if (r) LLM__LIVE(r);
    return (r && r->status == LLM_DONE) ? r->a.n_ranks : 0;
}
LLMASYNC_API int llm_request_rank(const llm_request *r, int i, double *score) {
    if (score) *score = 0;
    if (r) LLM__LIVE(r);
    if (!r || r->status != LLM_DONE || i < 0 || i >= r->a.n_ranks) return -1;
    if (score) *score = r->a.ranks[i].score;
    return r->a.ranks[i].index;
}

/* >>version ============================================================== */

LLMASYNC_API const char *llm_version(int *num) {
    if (num) *num = LLMASYNC_VERSION_NUM;
    return LLMASYNC_VERSION;
}

#endif /* LLMASYNC_IMPLEMENTATION_INCLUDED */
#endif /* LLMASYNC_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
llmasync is available under the MIT licence.

Copyright (c) 2026 the llmasync authors

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
*/
