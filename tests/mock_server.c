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
 *   and msg_mock_<n>. The response head is built in a growable buffer: no
 *   size limit on the response side (see header_bytes=, header_lines=).
 *   Proxy form: a request target in absolute form ("POST http://host:port/
 *   v1/chat/completions HTTP/1.1", what a client sends to a plain HTTP
 *   proxy; http:// or https://) is routed by its path + query as if it had
 *   been sent in origin form ("http://host" or "http://host?q" alone means
 *   "/" or "/?q"); it is counted in /mock/stats "proxied" and recorded as
 *   "last_proxy_target". The Host header is not looked at.
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
 *                              "n":K (an integer 1..8, else 400): K choices
 *                              (see REPLIES). Image parts are counted and
 *                              checked (see IMAGES).
 *   POST /v1/responses         OpenAI Responses API (see RESPONSES).
 *   POST /v1/audio/speech      OpenAI text to speech (see AUDIO).
 *   POST /v1/audio/transcriptions  OpenAI speech to text, multipart/form-data
 *   POST /v1/audio/translations    (see AUDIO).
 *   POST /v1/rerank            rerank (see RERANK); also at POST /rerank and
 *                              POST /v2/rerank.
 *   GET  /v1/models            list with "mock-model".
 *   POST /v1/embeddings        OpenAI embeddings (see EMBEDDINGS).
 *   POST /v1/messages          Anthropic messages. 401 when x-api-key is
 *                              missing, empty or "bad-key"; 400 when the
 *                              anthropic-version header is missing, max_tokens
 *                              is missing, a role is not user/assistant, tools
 *                              is present and not an array, or an image block
 *                              is invalid (see IMAGES).
 *   POST /api/chat             Ollama chat; streams NDJSON unless
 *                              "stream":false. options.num_predict > 0 caps
 *                              the tokens. Messages' "images" are counted
 *                              and checked (see IMAGES).
 *   POST /api/embed            Ollama embeddings (see EMBEDDINGS).
 *   GET  /mock/stats           {"requests","connections","open_connections",
 *                              "inflight","max_inflight","last_method",
 *                              "last_path" (target with query string),
 *                              "last_authorization","last_x_api_key",
 *                              "last_anthropic_version","last_user_agent",
 *                              "last_content_type","last_x_mock" (strings or
 *                              null),"last_proxy_target" (the absolute-form
 *                              target as received, null when the last
 *                              request was in origin form),"proxied" (requests
 *                              received in absolute form),"last_body" (JSON
 *                              string, null before the first request),
 *                              "last_images" (image inputs of the last
 *                              request, see IMAGES; 0 for endpoints that take
 *                              none),"last_multipart" (see below)}.
 *                              With a multipart/form-data Content-Type (any
 *                              path) "last_body" holds only the first 64 KiB
 *                              of the body, and every byte that is not part
 *                              of valid UTF-8 is written as \u00XX (so the
 *                              stats stay valid UTF-8 JSON); other bodies are
 *                              shown whole, verbatim.
 *                              "last_multipart": null unless the last request
 *                              (any path) had a multipart/form-data
 *                              Content-Type and a well-formed body; then
 *                              {"file_bytes":N,"filename":F,
 *                              "file_content_type":CT|null,"file_fnv":
 *                              "<8 hex digits: fnv1a32 of the file bytes>",
 *                              "fields":{"<name>":"<value>",...}}, the file
 *                              part being the first part named "file" with
 *                              a filename (else the first named "file"; with
 *                              none: file_bytes 0 and filename,
 *                              file_content_type, file_fnv null) and
 *                              "fields" every other part in body order
 *                              (value = its bytes, the first 64 KiB, escaped
 *                              like last_body; a repeated name repeats the
 *                              key).
 *                              "last_path" is always the origin form (path +
 *                              query). /mock/... requests are not counted (in
 *                              "requests" nor "proxied"), not in flight, and
 *                              not "last".
 *                              "tls_resumed" = TLS connections (--tls) whose
 *                              handshake resumed an earlier session.
 *                              "connections" = TCP connections accepted. A
 *                              request is in flight from when it is fully
 *                              received until its response is completely
 *                              written or its connection closes.
 *   POST /mock/reset           zero requests, connections, proxied,
 *                              max_inflight (set to the current inflight) and
 *                              the fail_first counters; answers {"ok":true}.
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
 *   OpenAI "n":K (1..8; absent or null = 1): choices with index 0..K-1.
 *   Choice 0 has the reply above; choice i > 0 has "Echo <i>: <text>"
 *   ("Echo <i>:" when <text> is empty), tokenised the same way ("Echo",
 *   " <i>:", " hello", ...) and cut by max_tokens on its own (its own
 *   finish_reason). With tokens=, unicode=, json=1 / response_format or
 *   tools= every choice has choice 0's content; with refusal=1 every choice
 *   refuses. Streamed: one role chunk per choice (index order), then the
 *   content chunks interleaved, token j of every choice that has one in
 *   index order (each chunk carries one choice's delta), then one
 *   finish_reason chunk per choice; tool calls likewise (each call's first
 *   chunk for every choice, then fragment j for every choice). usage counts
 *   the tokens of all choices.
 *   Refusal (refusal=1, overrides tokens/unicode/json/tools): OpenAI chat
 *   "message":{"role":"assistant","content":null,"refusal":"I'm sorry, I
 *   cannot help with that."}, finish_reason "stop"; streamed as a role chunk
 *   delta {"role":"assistant","content":null,"refusal":""} then delta
 *   {"refusal":"<piece>"} chunks, one per word (cut before each space:
 *   "I'm", " sorry,", ...). Anthropic: a text block "I'm sorry, I cannot
 *   help with that." and stop_reason "refusal" (streamed as text_delta
 *   pieces, one per word). 7 tokens; max_tokens below 7 cuts it as usual
 *   ("length" / "max_tokens").
 *
 * IMAGES
 *   Image inputs are counted in every message of the request (not only the
 *   last) and exposed as /mock/stats "last_images"; the first invalid one
 *   gives 400 "mock: invalid request: ..." (after the endpoint's auth and
 *   its model/messages checks). Text extraction ignores them (text parts
 *   are joined as described in REPLIES).
 *     OpenAI chat   content parts {"type":"image_url","image_url":{"url":U}};
 *                   U must be a non-empty string starting with http://,
 *                   https:// or data:image/ (case-insensitive).
 *     Responses     content parts {"type":"input_image","image_url":U} (same
 *                   rule on U) or {"type":"input_image","file_id":"<non-
 *                   empty>"}.
 *     Anthropic     content blocks {"type":"image","source":S}, also inside
 *                   the "content" array of a tool_result block; S is
 *                   {"type":"base64","media_type":"image/png|image/jpeg|
 *                   image/gif|image/webp","data":<non-empty, only A-Z a-z
 *                   0-9 + / =>} or {"type":"url","url":"http(s)://..."}.
 *     Ollama        each string of a message's "images" array; "images"
 *                   must be an array of non-empty base64 strings (same
 *                   alphabet) or null.
 *
 * RESPONSES (POST /v1/responses)
 *   Auth: 401 only for "Authorization: Bearer bad-key". 400 ("mock: invalid
 *   request: ...") unless: the body is a JSON object; model is a non-empty
 *   string; input is a string or a non-empty array of input items, where an
 *   item is an object and a message item ({"role","content"} with no "type"
 *   or "type":"message") has role user/assistant/system/developer and a
 *   content string or array of parts ({"type":"input_text","text"},
 *   {"type":"input_image",...} see IMAGES, others with a "text" are read
 *   as text), a {"type":"function_call_output"} item has the strings
 *   call_id and output, and other item types (function_call, reasoning,
 *   ...) are accepted as they are; tools is absent, null or an array;
 *   max_output_tokens is absent, null or an integer >= 1. Optional and
 *   echoed: instructions (string, else null), previous_response_id (string,
 *   else null), store (false, else true). reasoning (present and not null)
 *   adds a reasoning item; temperature and the rest are ignored.
 *   Reply: "Echo: <text>" where <text> is the string input, or the text of
 *   the last user message item (string content, or the "text" of every
 *   part joined with one space), directive removed and trimmed, as in
 *   REPLIES (tokens=, unicode=, json=1 apply; so does a "text":{"format":
 *   {"type":"json_schema"|"json_object"}}, like chat's response_format);
 *   same tokens (cut before each space). Directives come from that text
 *   ([[...]]) and X-Mock. I (input_tokens) = words of the string input or
 *   of every message item's text, of every function_call_output output and
 *   of instructions. R = 5 with reasoning, else 0. O (output_tokens) = the
 *   reply's tokens sent (or, with tools=N, the argument fragments as for
 *   chat) + R. A max_output_tokens below the reply's token count cuts the
 *   reply: status "incomplete", incomplete_details {"reason":
 *   "max_output_tokens"} and message item status "incomplete".
 *   The answer (n = the request number, as in chatcmpl-mock-<n>):
 *     {"id":"resp_mock_<n>","object":"response","created_at":1700000000,
 *      "status":"completed"|"incomplete","model":M,"output":[ITEMS],
 *      "usage":{"input_tokens":I,"output_tokens":O,"total_tokens":I+O,
 *      "input_tokens_details":{"cached_tokens":0},"output_tokens_details":
 *      {"reasoning_tokens":R}},"incomplete_details":null|{"reason":
 *      "max_output_tokens"},"error":null,"previous_response_id":P|null,
 *      "store":true|false,"instructions":S|null}
 *   ITEMS: with reasoning first
 *     {"type":"reasoning","id":"rs_mock_<n>","summary":[{"type":
 *      "summary_text","text":"mock reasoning summary"}]}
 *   then either the message
 *     {"type":"message","id":"msg_mock_<n>","role":"assistant","status":
 *      "completed"|"incomplete","content":[{"type":"output_text","text":
 *      "<reply>","annotations":[]}]}
 *   (refusal=1: "content":[{"type":"refusal","refusal":"I'm sorry, I
 *   cannot help with that."}], 7 tokens) or, with tools=N (max 1000; not
 *   with refusal=1), N items
 *     {"type":"function_call","id":"fc_<i>","call_id":"call_<i>","name":
 *      "get_weather","arguments":"{\"city\":\"Paris\",\"i\":<i>}","status":
 *      "completed"}
 *   "stream":true: SSE, every event "event: <type>" + "data: <json>" with
 *   the JSON {"type":"<type>","sequence_number":k,...} (k = 0, 1, 2, ... in
 *   order), no [DONE]:
 *     response.created      {"response":<the answer with "status":
 *                           "in_progress","output":[],"usage":null>}
 *     response.in_progress  the same
 *   with reasoning (output_index 0):
 *     response.output_item.added  {"output_index":0,"item":{"type":
 *                           "reasoning","id":"rs_mock_<n>","summary":[]}}
 *     response.reasoning_summary_text.delta  {"item_id":"rs_mock_<n>",
 *                           "output_index":0,"summary_index":0,"delta":D}
 *                           for D = "mock", " reasoning", " summary"
 *     response.reasoning_summary_text.done  {"item_id","output_index":0,
 *                           "summary_index":0,"text":"mock reasoning
 *                           summary"}
 *     response.output_item.done  {"output_index":0,"item":<the full
 *                           reasoning item>}
 *   the message (output_index o = 1 with reasoning, else 0):
 *     response.output_item.added  {"output_index":o,"item":{"type":
 *                           "message","id":"msg_mock_<n>","role":
 *                           "assistant","status":"in_progress","content":
 *                           []}}
 *     response.content_part.added  {"item_id":"msg_mock_<n>",
 *                           "output_index":o,"content_index":0,"part":
 *                           {"type":"output_text","text":"","annotations":
 *                           []}}
 *     response.output_text.delta  {"item_id","output_index":o,
 *                           "content_index":0,"delta":"<token>"} per token
 *     response.output_text.done  {"item_id","output_index":o,
 *                           "content_index":0,"text":"<reply>"}
 *     response.content_part.done  {"item_id","output_index":o,
 *                           "content_index":0,"part":<the full part>}
 *     response.output_item.done  {"output_index":o,"item":<the full message
 *                           item>}
 *   (refusal=1: the part is {"type":"refusal","refusal":""} and the deltas
 *   are response.refusal.delta {"item_id","output_index","content_index":
 *   0,"delta"} one per word, then response.refusal.done {...,"refusal":
 *   "<refusal text>"}); or, with tools=N, for each call i (output_index o):
 *     response.output_item.added  {"output_index":o,"item":{"type":
 *                           "function_call","id":"fc_<i>","call_id":
 *                           "call_<i>","name":"get_weather","arguments":"",
 *                           "status":"in_progress"}}
 *     response.function_call_arguments.delta  {"item_id":"fc_<i>",
 *                           "output_index":o,"delta":"<~5 bytes>"} (each
 *                           counts as a token for the stream faults)
 *     response.function_call_arguments.done  {"item_id":"fc_<i>",
 *                           "output_index":o,"arguments":"<all>"}
 *     response.output_item.done  {"output_index":o,"item":<the full
 *                           function_call item>}
 *   and last
 *     response.completed    {"response":<the non-stream answer>}, or when
 *                           cut by max_output_tokens response.incomplete
 *                           {"response":<the answer with status
 *                           "incomplete" and incomplete_details>}.
 *   Stream faults (K counts output_text/refusal deltas or argument
 *   fragments; reasoning deltas do not count): error_after=K (and
 *   error_event_after=K) send "event: error" + data {"type":"error","code":
 *   "server_error" (or error_type=),"message":"mock stream error" (or the
 *   echo_key=event message),"param":null,"sequence_number":k} and end the
 *   body; fail_after=K sends "event: response.failed" + data {"type":
 *   "response.failed","sequence_number":k,"response":<the answer with
 *   "status":"failed","output":[],"usage":null,"error":{"code":
 *   "server_error","message":"mock response failed" (or the echo_key=event
 *   message)}>} and ends the body; k continues the numbering. stall_after,
 *   reset_after, pace, split, keepalive, eol, bom, delay work as for chat.
 *
 * AUDIO
 *   POST /v1/audio/speech: JSON {"model","input","voice"} (each a non-empty
 *   string, else 400 "mock: invalid request: <field> must be a non-empty
 *   string"), optional response_format (mp3 default, opus, aac, flac, wav,
 *   pcm; anything else 400), speed (a number in 0.25..4.0, else 400),
 *   instructions (a string, else 400). 401 for "Authorization: Bearer
 *   bad-key". Directives: X-Mock and the first [[...]] in input. Answer:
 *   200 with Content-Type audio/mpeg (mp3), audio/ogg (opus), audio/aac,
 *   audio/flac, audio/wav or audio/pcm, Transfer-Encoding: chunked, and N
 *   bytes: N = audio_bytes=N, default 1000 x the byte length of input, at
 *   most 100000000; byte i = (i * 7 + fnv1a32(input)) & 0xff where input
 *   is the (JSON-unescaped) input string as sent, directive included. Sent
 *   in HTTP chunks of chunk_bytes=K bytes (default 4096; the last may be
 *   shorter) with pace=MS between chunks (default 0), generated lazily (no
 *   buffer of N bytes). Errors use the OpenAI JSON error body; status=,
 *   fault=, redirect= etc. apply; fault=truncated ends the chunked body
 *   cleanly after N/2 bytes, fault=reset_body resets after N/2 bytes,
 *   fault=drip drips it (then pace= is the drip interval only). The stream
 *   faults (stall_after etc.) do not apply.
 *   POST /v1/audio/transcriptions and /v1/audio/translations: a
 *   multipart/form-data body (boundary from the Content-Type, quoted or
 *   not; parts "--<boundary>" CRLF, headers Content-Disposition: form-data;
 *   name="..."[; filename="..."] and an optional Content-Type, a blank
 *   line, the data, CRLF; closed by "--<boundary>--"; a preamble and an
 *   epilogue are ignored; bare LF line ends are accepted). Fields: file (a
 *   part with a filename; required), model (required, non-empty), language,
 *   prompt, response_format (json default, text, verbose_json, srt, vtt;
 *   else 400), temperature (ignored), stream ("true", case-insensitive;
 *   transcriptions only). 400 (OpenAI error body) when the Content-Type is
 *   not multipart/form-data ("mock: invalid request: the body must be
 *   multipart/form-data ..."), the body is not well-formed ("mock: invalid
 *   request: malformed multipart body: <what>"), file is missing ("mock:
 *   invalid request: file is required ...") or model is missing ("mock:
 *   invalid request: model is required"). 401 for "Bearer bad-key".
 *   Directives: X-Mock and the first [[...]] in the prompt field.
 *   T = "transcript of <N> bytes from <filename> (<fnv1a32 of the file
 *   bytes, 8 lowercase hex digits>)" ("translation of ..." for
 *   translations; filename bytes that are not valid UTF-8 become '?').
 *   D = N / 32000 printed exactly ("0.09375", "2.0").
 *     json          {"text":T,"usage":{"type":"tokens","input_tokens":
 *                   ceil(N/100),"output_tokens":<words in T>,
 *                   "total_tokens":<sum>}}; translations {"text":T}
 *     text          T, Content-Type text/plain; charset=utf-8
 *     verbose_json  {"task":"transcribe"|"translate","language":<language
 *                   field or "english">,"duration":D,"text":T,"segments":
 *                   [{"id":0,"start":0.0,"end":D,"text":T}]}
 *     srt           "1\n00:00:00,000 --> HH:MM:SS,mmm\nT\n\n" (text/plain)
 *     vtt           "WEBVTT\n\n00:00:00.000 --> HH:MM:SS.mmm\nT\n\n"
 *                   (text/plain); the end time is D rounded to the ms.
 *   stream=true (transcriptions): SSE, no event names, no [DONE]:
 *     data: {"type":"transcript.text.delta","delta":"<word>"} per word of T
 *     (cut before each space: "transcript", " of", ...), then
 *     data: {"type":"transcript.text.done","text":T,"usage":{...as json}};
 *   pace, split, stall_after, error_after (the chat error data), reset_after
 *   etc. apply as for chat streams. usage_max=1 applies to the usage.
 *
 * RERANK (POST /v1/rerank, /rerank, /v2/rerank)
 *   Body {"model":M,"query":Q,"documents":[...],"top_n":K,
 *   "return_documents":B}: Q a string with at least one word, documents a
 *   non-empty array of strings or of {"text":"..."} objects (mixed is
 *   fine), top_n absent, null or an integer >= 1, else 400 "mock: invalid
 *   request: ...". 401 for "Bearer bad-key". Directives: X-Mock and the
 *   first [[...]] anywhere in the raw body (the query is scored as sent).
 *   Answer {"id":"rerank-mock-<n>","model":M|null,"results":[{"index":i,
 *   "relevance_score":s(,"document":{"text":"..."} when return_documents
 *   is true)},...],"usage":{"total_tokens":T}} sorted by s descending (ties
 *   by index), at most top_n results. s = (query words that occur in the
 *   document as a whole word) / (query words) + (fnv1a32(document) % 1000)
 *   / 1e6, printed with %.6f; query words are whitespace-separated, "occur
 *   as a whole word" = ASCII case-insensitive match not preceded or followed
 *   by a letter, digit, '_' or byte >= 0x80. T = words in the query + in
 *   every document.
 *
 * DIRECTIVES
 *   Written as key=value pairs separated by whitespace or commas, in
 *   (a) the request header  X-Mock: key=value key=value ...
 *   (b) the first [[ ... ]] in the last user message's content (after JSON
 *       unescaping); for embeddings in the first input string; for
 *       /v1/responses in the string input or the last user message item;
 *       for /v1/audio/speech in input; for transcriptions/translations in
 *       the prompt field; for every other endpoint (rerank included)
 *       anywhere in the raw body.
 *   Header values override body values. Unknown keys and malformed values are
 *   ignored. Numbers are non-negative integers (capped at 1e9). Flags accept 1/0/true/false/yes/no. /mock/... ignores directives.
 *
 *   Reply content
 *     tokens=N         reply "tok0 tok1 ... tok{N-1}" (N tokens). For the
 *                      echo endpoint's stream: the number of echo events.
 *     unicode=1        reply "h\u00e9llo w\u00f6rld \u4f60\u597d \U0001F600 done"
 *                      (2-, 3- and 4-byte UTF-8; 5 tokens).
 *     json=1           the JSON reply described above.
 *     ratelimit=N      a budget of N requests per 1 s window (one window
 *                      for the whole server, started by the first such
 *                      request): every answer carries
 *                      x-ratelimit-limit-requests: N,
 *                      x-ratelimit-remaining-requests: R and
 *                      x-ratelimit-reset-requests: <ms left>ms; a request
 *                      beyond the budget gets 429 with retry-after-ms (the
 *                      window's rest), is not counted in the window, and
 *                      counts in /mock/stats "rate_limited";
 *                      "rate_max_window" is the most requests served in
 *                      one window.
 *     zeros=N          the reply is the JSON array [0,0,...] of N zeros
 *                      (N up to 1e7; wins over unicode=, npc=1 and json=1;
 *                      one token).
 *     npc=1            a game character's line as JSON (wins over json=1):
 *                      {"say": "Well met, traveller. You asked: \"<T>\"
 *                      \u2014 the road is long, but the inn is close.",
 *                      "emotion": E, "action": A}, T = the first 40 bytes
 *                      of <text> (cut at a character), E one of curious /
 *                      wary / cheerful and A one of "nods slowly" /
 *                      "points north" / "keeps sweeping", both picked by
 *                      fnv1a32(<text>); tokenised like every reply.
 *     tools=N          N tool calls instead of text (max 1000): name
 *                      get_weather, arguments {"city":"Paris","i":<i>}, ids
 *                      call_<i> (OpenAI) / toolu_<i> (Anthropic); streamed
 *                      in ~5-byte argument fragments; each fragment counts
 *                      as one token; finish_reason "tool_calls" / stop_reason
 *                      "tool_use". Ollama gets one tool_calls message.
 *                      /v1/responses: function_call items (see RESPONSES).
 *     thinking=1       Anthropic: a thinking block (two thinking_delta and a
 *                      signature_delta when streamed) before the text.
 *     refusal=1        the model refuses (see REPLIES, RESPONSES): OpenAI
 *                      chat "refusal", Responses refusal content part,
 *                      Anthropic stop_reason "refusal". Overrides tokens=,
 *                      unicode=, json=1 and tools=.
 *     audio_bytes=N    /v1/audio/speech: the body is N bytes (capped at
 *                      100000000) instead of 1000 x the input's length.
 *     chunk_bytes=K    /v1/audio/speech: HTTP chunks of K bytes (default
 *                      4096; 0 = the default).
 *     usage=0          never send OpenAI's streamed usage chunk (nor the
 *                      "usage":null fields), even when requested.
 *     usage_max=1      every usage number sent is the literal
 *                      9223372036854775807 (INT64_MAX) instead of the real
 *                      count: OpenAI usage.prompt_tokens/completion_tokens/
 *                      total_tokens (chat answer, streamed usage chunk,
 *                      embeddings answer); Anthropic usage.input_tokens/
 *                      output_tokens (message answer, message_start,
 *                      message_delta); Ollama prompt_eval_count and
 *                      eval_count (chat answer, final stream line) and
 *                      prompt_eval_count of /api/embed; Responses usage
 *                      input/output/total/reasoning tokens; transcription
 *                      usage; rerank usage.total_tokens.
 *     long_vector=N    embeddings endpoints (/v1/embeddings, /api/embed):
 *                      a valid answer holding ONE vector of N values 0.5
 *                      (N = 0: an empty vector), whatever the number of
 *                      inputs, dimensions and encoding_format, generated
 *                      lazily with Content-Length (N up to 1e9). OpenAI:
 *                      {"object":"list","data":[{"object":"embedding",
 *                      "index":0,"embedding":[0.5,...]}],"model":M,"usage":
 *                      {"prompt_tokens":P,"total_tokens":P}}; Ollama:
 *                      {"model":M,"embeddings":[[0.5,...]],"total_duration":
 *                      1000,"load_duration":0,"prompt_eval_count":P}.
 *                      Sent after the endpoint's auth and validation.
 *     fill=SHAPE       with huge_bytes=N (default 104857600): the body of
 *                      the answer is valid JSON of exactly N bytes,
 *                      generated lazily (Content-Length N), shaped to
 *                      amplify a naive DOM; SHAPE is one of
 *                        zeros    [0,0,0,...,0]
 *                        empties  [[],{},[],{},...] ([] and {} alternate)
 *                        nested   [E,E,...] with E = 100 "[" then 100 "]"
 *                                 (depth 101 at most; for N < 202 a single
 *                                 E of depth (N-2)/2)
 *                        keys     {"a0":0,"a1":0,...} (distinct keys)
 *                      As many elements as fit, then spaces before the
 *                      closing bracket make the size exactly N (the
 *                      smallest body is the 2-byte [] or {}, even for N <
 *                      2). Content-Type application/json. Status: status=
 *                      (or echo_key's 401) when the status/fault group
 *                      gives one (an error body is then this fill too; 204
 *                      and 304 keep their empty body), else 200. fill is part of the normal answer,
 *                      so it applies even when id/fail_first turn the group
 *                      off; it replaces the answer of every POST endpoint
 *                      (chat, embeddings, Anthropic, Ollama, Responses,
 *                      audio, rerank, echo) before
 *                      the endpoint's auth and validation; GET ignores it.
 *                      truncated/reset_body/drip apply to it.
 *   Timing and stream shape
 *     delay=MS         wait MS after the request is fully received before
 *                      sending anything. Exception: a stream with keepalive=
 *                      sends its headers at once and spends the delay sending
 *                      keep-alive comments (the "before the first event" case).
 *     pace=MS          gap between streamed events, every event (prelude and
 *                      final events included). Default 0: as fast as the
 *                      socket drains, many events per write(). For
 *                      /v1/audio/speech: the gap between HTTP chunks.
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
 *     fail_after=K     /v1/responses streams only (ignored elsewhere):
 *                      then event response.failed and a clean end of the
 *                      body (see RESPONSES). Responses' error_after shape is
 *                      described there too.
 *     error_type=T     overrides the error "type" in status= bodies (OpenAI,
 *                      Anthropic) and in mid-stream errors (the "code" of a
 *                      Responses stream's error event).
 *   API key echo (leak tests). KEY is the key the request carried: the value
 *   after "Authorization: Bearer " or the x-api-key value (for /v1/messages
 *   x-api-key is looked at first, elsewhere Authorization); the literal
 *   "nokey" when there is none or it is empty. All modes but reqid belong to
 *   the status/fault group (id/fail_first turn them off).
 *     echo_key=plain   the status= error body (in the endpoint's style, see
 *                      status=) has the message "Incorrect API key provided:
 *                      KEY. See the docs." (JSON-escaped as usual). Without
 *                      status= the status is 401.
 *     echo_key=json    the same, but every byte of KEY is written as a
 *                      \u00XX escape (lowercase hex) inside the JSON string:
 *                      the raw body never holds KEY, the decoded message
 *                      does.
 *     echo_key=url     the same with "key=" and every byte of KEY percent-
 *                      encoded as %XX (uppercase hex): "Incorrect API key
 *                      provided: key=%73%6B%2D.... See the docs."
 *     echo_key=split   the same with KEY in two halves (first = the first
 *                      len/2 bytes): "Incorrect API key provided: key starts
 *                      <first> ... and ends <second>. See the docs."
 *     echo_key=reqid   x-request-id (and request-id for /v1/messages) is KEY
 *                      instead of req_mock_<n>, on every response. Always
 *                      applies.
 *     echo_key=location  307, empty body, "Location: http://127.0.0.1/"
 *                      then 220 'x', then "?k=" and KEY (the value is 240 +
 *                      len(KEY) bytes: KEY starts at byte 240, so a client
 *                      that cuts the value at 256 bytes cuts through a key
 *                      of 16 or more). Takes precedence over redirect=.
 *     echo_key=event   the mid-stream error of error_after= / error_event_
 *                      after= carries the message "Incorrect API key
 *                      provided: KEY" (OpenAI "message", Anthropic "message",
 *                      Ollama "error", echo stream "message"; Responses:
 *                      the error event's "message" and fail_after's
 *                      response.failed error "message"); use with
 *                      error_after=K.
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
 *     body=1           with status=304: the 304 carries the body
 *                      {"error":{"message":"mock 304 with a body"}}
 *                      (application/json, with Content-Length) instead of
 *                      an empty one.
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
 *     fault=empty_stream  200 with the headers of a stream (Content-Type
 *                      text/event-stream, or application/x-ndjson for
 *                      /api/...; Transfer-Encoding: chunked) and an empty
 *                      body: only the terminating 0-chunk. The connection
 *                      stays usable (keep-alive).
 *     (truncated/reset_body apply to the non-streamed JSON answer even when
 *     the request asked for a stream; drip, truncated and reset_body also
 *     apply to a status= error response.)
 *     retry_after=S    header "Retry-After: S" (verbatim).
 *     retry_after_ms=MS  header "retry-after-ms: MS" (verbatim).
 *     retry_after_date=S  "Retry-After" as an IMF-fixdate S seconds from now.
 *     should_retry=V   header "x-should-retry: V" (true/false, verbatim).
 *     id=STR fail_first=K  a counter per id: the first K requests carrying
 *                      that id get the status/fault group (status, fault
 *                      (empty_stream included), redirect, retry_after*,
 *                      should_retry, stall_after, error_after,
 *                      error_event_after, reset_after, fail_after, echo_key
 *                      except reqid); later ones are answered normally. Without
 *                      fail_first the group applies to every request.
 *                      delay, pace, split, close, fill, long_vector,
 *                      usage_max, header_bytes, header_lines etc. always
 *                      apply.
 *     close=1          "Connection: close" and close after the response.
 *     header_bytes=N   one more response header line "x-mock-pad: " + N
 *                      bytes 'a' (N capped at 100000000).
 *     header_lines=K   K more response header lines "x-mock-pad-<i>: " (i =
 *                      0..K-1) + 1000 bytes 'a' each (K capped at 100000).
 *                      Both apply to every response (status= errors,
 *                      faults with headers, streams included); nothing on
 *                      the response side limits the head's size.
 *     shuffle=1        OpenAI embeddings: data items in reverse order.
 *   Order of checks: directives' status/fault group first (echo_key=location,
 *   redirect, fault, then status / echo_key error), then fill=, then the
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
    F_NOT_JSON,
    F_EMPTY_STREAM
};

static const char *const fault_names[] = {
    "none",   "reset_headers", "reset_body", "truncated",
    "garbage", "drip",         "never",      "huge",
    "wrong_ctype", "html",     "empty",      "not_json",
    "empty_stream"};

/* fill= shapes */
enum { FILL_NONE, FILL_ZEROS, FILL_EMPTIES, FILL_NESTED, FILL_KEYS };

static const char *const fill_names[] = {"none", "zeros", "empties", "nested",
                                         "keys"};

/* echo_key= modes */
enum { EK_NONE, EK_PLAIN, EK_JSON, EK_URL, EK_SPLIT, EK_REQID, EK_LOCATION,
       EK_EVENT };

static const char *const echo_key_names[] = {
    "none", "plain", "json", "url", "split", "reqid", "location", "event"};

/* Caps that keep a header directive from exhausting memory. */
#define MAX_HEADER_BYTES 100000000L
#define MAX_HEADER_LINES 100000L

typedef struct {
    long tokens, delay, pace, split, split_gap, keepalive;
    long stall_after, error_after, error_event_after, reset_after;
    long tools, fail_first, status, ratelimit;
    long long_vector, header_bytes, header_lines;
    long fail_after, audio_bytes, chunk_bytes, zeros;
    long long huge_bytes;
    int unicode, json, eol, bom, usage, thinking, fault, close, shuffle;
    int fill, usage_max, echo_key, body, refusal, npc;
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
    d->long_vector = -1;
    d->fail_after = -1;
    d->audio_bytes = -1;
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
        {"long_vector", offsetof(directives_t, long_vector)},
        {"header_bytes", offsetof(directives_t, header_bytes)},
        {"header_lines", offsetof(directives_t, header_lines)},
        {"fail_after", offsetof(directives_t, fail_after)},
        {"audio_bytes", offsetof(directives_t, audio_bytes)},
        {"chunk_bytes", offsetof(directives_t, chunk_bytes)},
        {"ratelimit", offsetof(directives_t, ratelimit)},
        {"zeros", offsetof(directives_t, zeros)},
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
        {"usage_max", offsetof(directives_t, usage_max)},
        {"body", offsetof(directives_t, body)},
        {"refusal", offsetof(directives_t, refusal)},
        {"npc", offsetof(directives_t, npc)},
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
    } else if (!strcmp(k, "fill")) {
        for (i = 1; i < sizeof fill_names / sizeof fill_names[0]; i++)
            if (!strcmp(v, fill_names[i]))
                d->fill = (int)i;
    } else if (!strcmp(k, "echo_key")) {
        for (i = 1; i < sizeof echo_key_names / sizeof echo_key_names[0]; i++)
            if (!strcmp(v, echo_key_names[i]))
                d->echo_key = (int)i;
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
    long tls_resumed; /* TLS connections whose handshake resumed a session */
    char *last_method, *last_path, *last_auth, *last_xapikey, *last_version;
    char *last_ua, *last_ctype, *last_xmock;
    char *last_proxy; /* absolute-form target of the last request, or NULL */
    long proxied;     /* requests that came with an absolute-form target */
    long rate_limited; /* ratelimit=: requests refused with 429 */
    long rl_count, rl_max; /* ratelimit=: requests in the current window, most in one */
    int64_t rl_end;   /* ratelimit=: when the current window ends (ms) */
    buf_t last_body;
    int have_last;
    int last_body_mp;  /* last_body is a multipart body: shown truncated */
    long last_images;  /* image inputs of the last request */
    buf_t last_mp;     /* "last_multipart" JSON, empty = null */
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
    char *target; /* origin form (path + query): into head or origin */
    char *proxy_target; /* absolute-form target as received, or NULL */
    char *origin; /* malloc'd origin form when it is not inside head */
    char *path;   /* malloc'd target up to '?' */
    char *query;  /* into path's allocation, or NULL */
    header_t h[MAX_HEADERS];
    int nh;
    int http10, keep_alive, conn_close, chunked, expect100, too_large;
    long long content_length;
    buf_t body;
} request_t;

/* A multipart/form-data body: its parts, data pointing into the body. */
typedef struct {
    char *name, *filename, *ctype; /* filename, ctype: NULL when absent */
    const char *data;
    size_t len;
} mpart_t;

typedef struct {
    mpart_t *p;
    size_t n, cap;
    char err[160]; /* why the body is not well-formed multipart */
} mform_t;

/* speech: a body of total bytes generated lazily, sent as HTTP chunks of
 * `piece` bytes with `pace` ms between them. */
typedef struct {
    uint32_t h;
    unsigned long long total, limit, pos, piece, piece_left;
    long pace;
    int64_t next_at;
    int ended;
} abytes_t;

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
enum { FK_NONE, FK_STALL, FK_ERROR, FK_ERROR_EVENT, FK_RESET, FK_FAIL };

/* In a fault event (err, errev, fail) this byte stands for the sequence
 * number of the event (= events sent so far); JSON text never holds it raw. */
#define SEQ_MARK '\x01'

/* One choice of a multi-choice (n > 1) stream: its reply, its read position
 * and the start of its token events. */
typedef struct {
    reply_t reply;
    size_t pos;
    buf_t pfx;
} schoice_t;

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
    /* seq: a lazy token event is tok_prefix + (seq_base + k) + tok_mid +
     * token + tok_suffix (Responses API sequence numbers) */
    int seq;
    long seq_base;
    buf_t tok_mid;
    /* nch > 1: the lazy tokens interleave the choices ch[0..nch-1], token
     * `round` of every choice in index order (cur = next choice) */
    schoice_t *ch;
    long nch, round, cur;
    int phase;
    size_t idx;
    long tokens_sent;
    long events_sent; /* events emitted (keep-alives and BOM excluded) */
    int fault_kind, fault_fired;
    long fault_at;
    buf_t err, errev, fail; /* fail: fail_after's event (Responses only) */
    long pace, keepalive, split, split_gap;
    int64_t next_event_at, last_send_at;
    buf_t pending; /* split mode: body bytes not yet framed */
    size_t pending_off;
} stream_t;

enum { RS_HEAD, RS_BODY_CL, RS_CHUNK_SIZE, RS_CHUNK_DATA, RS_CHUNK_CRLF,
       RS_TRAILER };
/* A JSON body generated lazily, in order: head, count elements separated
 * by commas, pad spaces, tail (fill= and long_vector=). */
enum { G_ZEROS = 1, G_EMPTIES, G_NESTED, G_KEYS, G_VECTOR };
enum { GP_HEAD, GP_ELEMS, GP_PAD, GP_TAIL, GP_DONE };

typedef struct {
    int shape;
    long depth; /* G_NESTED: brackets on each side of one element */
    buf_t head, tail;
    unsigned long long count, i, pad;
    int phase;
    unsigned long long total; /* body length */
    unsigned long long limit; /* bytes to produce (< total when truncated) */
    unsigned long long made;
} gen_t;

enum { K_STATIC, K_HUGE, K_STREAM, K_GEN, K_BYTES };
enum { END_DONE, END_CLOSE, END_RESET, END_HOLD };
enum { P_MORE, P_WAIT, P_FINISHED };
enum { STYLE_OPENAI, STYLE_ANTHROPIC, STYLE_OLLAMA };

typedef struct conn {
    int fd;
    int dead;
    int blocked; /* last write hit EAGAIN: wait for POLLOUT */
    int tls_write_wants_read, tls_read_wants_write;
    int tls_seen; /* its handshake is counted (tls_resumed) */
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
    gen_t *gen;
    abytes_t *ab;
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
    const char *apikey; /* the key the request carried, or "nokey" */
    const char *reqid;  /* echo_key=reqid: x-request-id value, else NULL */
    mform_t form;   /* the parsed multipart/form-data body */
    int form_state; /* 0 not multipart/form-data, 1 parsed, -1 malformed */
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
    buf_free(&st->tok_mid);
    buf_free(&st->scratch);
    buf_free(&st->err);
    buf_free(&st->errev);
    buf_free(&st->fail);
    buf_free(&st->pending);
    if (st->ch) {
        long i;
        for (i = 0; i < st->nch; i++) {
            free(st->ch[i].reply.text);
            buf_free(&st->ch[i].pfx);
        }
        free(st->ch);
    }
    free(st);
}

static void gen_free(gen_t *g)
{
    if (!g)
        return;
    buf_free(&g->head);
    buf_free(&g->tail);
    free(g);
}

static void req_free(request_t *r)
{
    free(r->head);
    free(r->origin);
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
        if (k > 0 && !c->tls_seen) { /* the handshake is over */
            c->tls_seen = 1;
            if (SSL_session_reused(c->ssl))
                S.tls_resumed++;
        }
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
    gen_free(c->gen);
    free(c->ab);
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
    if (x->reqid)
        buf_printf(o, "x-request-id: %s\r\n", x->reqid);
    else
        buf_printf(o, "x-request-id: req_mock_%llu\r\n", x->c->n);
    if (x->r->path && !strcmp(x->r->path, "/v1/messages")) {
        if (x->reqid)
            buf_printf(o, "request-id: %s\r\n", x->reqid);
        else
            buf_printf(o, "request-id: req_mock_%llu\r\n", x->c->n);
    }
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

/* An error in the endpoint's own style, its message given as a complete
 * JSON string (quotes included). type NULL: derived from status. */
static void send_error_j(ctx_t *x, long status, const char *msg_json,
                         const char *type)
{
    buf_t b = {0};
    if (x->style == STYLE_OLLAMA) {
        buf_adds(&b, "{\"error\":");
        buf_adds(&b, msg_json);
        buf_adds(&b, "}");
    } else if (x->style == STYLE_ANTHROPIC) {
        buf_adds(&b, "{\"type\":\"error\",\"error\":{\"type\":");
        buf_json_str_or_null(&b, type ? type : an_err_type(status));
        buf_adds(&b, ",\"message\":");
        buf_adds(&b, msg_json);
        buf_adds(&b, "}}");
    } else {
        buf_adds(&b, "{\"error\":{\"message\":");
        buf_adds(&b, msg_json);
        buf_adds(&b, ",\"type\":");
        buf_json_str_or_null(&b, type ? type : oa_err_type(status));
        buf_printf(&b, ",\"param\":null,\"code\":\"%s\"}}", oa_err_code(status));
    }
    send_json(x, status, &b);
    buf_free(&b);
}

/* An error in the endpoint's own style. type NULL: derived from status. */
static void send_error(ctx_t *x, long status, const char *msg,
                       const char *type)
{
    buf_t m = {0};
    buf_json_str(&m, msg, strlen(msg));
    send_error_j(x, status, m.p, type);
    buf_free(&m);
}

/* The API key the request carried: "Authorization: Bearer <key>" or
 * "x-api-key: <key>" (x-api-key first for /v1/messages); "nokey" when
 * there is none or it is empty. */
static const char *request_api_key(const request_t *r, int style)
{
    const char *a = hdr(r, "authorization"), *k = hdr(r, "x-api-key");
    const char *bearer = NULL;
    if (a && !strncasecmp(a, "Bearer ", 7)) {
        bearer = a + 7;
        while (*bearer == ' ')
            bearer++;
        if (!*bearer)
            bearer = NULL;
    }
    if (k && !*k)
        k = NULL;
    if (style == STYLE_ANTHROPIC)
        return k ? k : (bearer ? bearer : "nokey");
    return bearer ? bearer : (k ? k : "nokey");
}

static int echo_key_in_error(const directives_t *d)
{
    return d->echo_key == EK_PLAIN || d->echo_key == EK_JSON ||
           d->echo_key == EK_URL || d->echo_key == EK_SPLIT;
}

#define KEY_MSG_PRE "Incorrect API key provided: "
#define KEY_MSG_POST ". See the docs."

/* Appends the echo_key error message as a complete JSON string. */
static void key_message(const ctx_t *x, buf_t *b)
{
    const char *key = x->apikey ? x->apikey : "nokey";
    size_t n = strlen(key), i, h;
    buf_addc(b, '"');
    buf_adds(b, KEY_MSG_PRE);
    switch (x->d.echo_key) {
    case EK_JSON: /* every byte as \u00XX: never the key in the raw body */
        for (i = 0; i < n; i++)
            buf_printf(b, "\\u%04x", (unsigned)(unsigned char)key[i]);
        break;
    case EK_URL: /* every byte percent-encoded */
        buf_adds(b, "key=");
        for (i = 0; i < n; i++)
            buf_printf(b, "%%%02X", (unsigned)(unsigned char)key[i]);
        break;
    case EK_SPLIT:
        h = n / 2;
        buf_adds(b, "key starts ");
        buf_json_esc(b, key, h);
        buf_adds(b, " ... and ends ");
        buf_json_esc(b, key + h, n - h);
        break;
    default:
        buf_json_esc(b, key, n);
        break;
    }
    buf_adds(b, KEY_MSG_POST "\"");
}

/* A usage number as sent: the count, or LLONG_MAX with usage_max=1. */
static long long unum(const ctx_t *x, long v)
{
    return x->d.usage_max == 1 ? LLONG_MAX : (long long)v;
}

/* Appends a mid-stream error message as a JSON string: dflt, or with
 * echo_key=event the API key message. */
static void stream_err_msg(const ctx_t *x, buf_t *b, const char *dflt)
{
    if (x->d.echo_key == EK_EVENT) {
        const char *key = x->apikey ? x->apikey : "nokey";
        buf_adds(b, "\"" KEY_MSG_PRE);
        buf_json_esc(b, key, strlen(key));
        buf_addc(b, '"');
    } else {
        buf_json_str(b, dflt, strlen(dflt));
    }
}

static void send_status_error(ctx_t *x, long status)
{
    static const char body304[] = "{\"error\":{\"message\":\"mock 304 with "
                                  "a body\"}}";
    buf_t m = {0};
    if (status == 304 && x->d.body == 1) {
        send_static(x, 304, "application/json", body304, sizeof body304 - 1);
        return;
    }
    if (status == 204 || status == 304) {
        send_static(x, status, NULL, "", 0);
        return;
    }
    if (echo_key_in_error(&x->d))
        key_message(x, &m);
    else
        buf_printf(&m, "\"mock error %ld\"", status);
    send_error_j(x, status, m.p, x->d.error_type[0] ? x->d.error_type : NULL);
    buf_free(&m);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when the bytes there
 * are not one (bad lead, bad continuation, overlong, surrogate, > U+10FFFF,
 * cut short). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t k, i;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        k = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        k = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        k = 4;
    else
        return 0;
    if (n < k)
        return 0;
    for (i = 1; i < k; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) ||
        (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
        return 0;
    return k;
}

/* Like buf_json_esc, but every byte that is not part of a valid UTF-8
 * sequence becomes \u00XX: the result is valid UTF-8 JSON whatever the
 * input (multipart bodies carry binary files). */
static void buf_json_esc_bin(buf_t *b, const char *s, size_t n)
{
    size_t i = 0, start = 0;
    while (i < n) {
        size_t k = utf8_len((const unsigned char *)s + i, n - i);
        if (k) {
            i += k;
            continue;
        }
        buf_json_esc(b, s + start, i - start);
        buf_printf(b, "\\u%04x", (unsigned)(unsigned char)s[i]);
        start = ++i;
    }
    buf_json_esc(b, s + start, n - start);
}

/* ------------------------------------------------------------------------ */
/* multipart/form-data                                                      */
/* ------------------------------------------------------------------------ */

#define MP_MAX_PARTS 10000
#define MP_MAX_PART_HEAD (16 * 1024)
#define MP_SHOW_MAX (64 * 1024) /* bytes of a body/field shown in stats */

static int is_multipart(const char *ct)
{
    if (!ct)
        return 0;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return strncasecmp(ct, "multipart/form-data", 19) == 0;
}

/* The boundary parameter of a "multipart/form-data; boundary=..."
 * Content-Type (quoted or not), 1..200 bytes. 0 ok, -1 not multipart. */
static int mp_boundary(const char *ct, char *out, size_t cap)
{
    const char *p;
    size_t n = 0;
    if (!ct)
        return -1;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, "multipart/form-data", 19) != 0)
        return -1;
    p = ct + 19;
    while ((p = strchr(p, ';')) != NULL) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "boundary=", 9) != 0)
            continue;
        p += 9;
        if (*p == '"') {
            for (p++; *p && *p != '"' && n + 1 < cap; p++)
                out[n++] = *p;
            if (*p != '"')
                return -1;
        } else {
            for (; *p && *p != ';' && *p != ' ' && *p != '\t' && n + 1 < cap;
                 p++)
                out[n++] = *p;
        }
        out[n] = '\0';
        return n > 0 && n <= 200 ? 0 : -1;
    }
    return -1;
}

/* Parameter `key` of a header value like `form-data; name="a"; filename=b`
 * (quoted strings may use backslash escapes), malloc'd, or NULL. */
static char *mp_param(const char *v, const char *key)
{
    const char *p = strchr(v, ';');
    size_t kl = strlen(key);
    while (p && *p == ';') {
        const char *k, *ke;
        buf_t val = {0};
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        k = p;
        while (*p && *p != '=' && *p != ';')
            p++;
        ke = p;
        while (ke > k && (ke[-1] == ' ' || ke[-1] == '\t'))
            ke--;
        if (*p != '=')
            continue;
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        buf_reserve(&val, 0);
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1])
                    p++;
                buf_addc(&val, *p);
            }
            if (*p == '"')
                p++;
        } else {
            while (*p && *p != ';' && *p != ' ' && *p != '\t')
                buf_addc(&val, *p++);
        }
        while (*p && *p != ';')
            p++;
        if ((size_t)(ke - k) == kl && !strncasecmp(k, key, kl))
            return val.p;
        buf_free(&val);
    }
    return NULL;
}

static void mform_free(mform_t *f)
{
    size_t i;
    for (i = 0; i < f->n; i++) {
        free(f->p[i].name);
        free(f->p[i].filename);
        free(f->p[i].ctype);
    }
    free(f->p);
    memset(f, 0, sizeof *f);
}

/* Offset of the next "\n--boundary" at or after `from` (the offset of the
 * '\n'), or -1. */
static long long mp_next(const char *b, size_t n, size_t from, const char *d,
                         size_t dl)
{
    size_t i = from;
    while (i < n) {
        const char *nl = memchr(b + i, '\n', n - i);
        size_t k;
        if (!nl)
            return -1;
        k = (size_t)(nl - b);
        if (n - k - 1 >= dl && memcmp(nl + 1, d, dl) == 0)
            return (long long)k;
        i = k + 1;
    }
    return -1;
}

/* Parses a multipart/form-data body into f (data pointers point into b).
 * 0 ok; -1 with f->err set. */
static int mform_parse(mform_t *f, const char *ctype, const char *b, size_t n)
{
    char bnd[256], d[260];
    size_t dl, pos;
    memset(f, 0, sizeof *f);
    if (mp_boundary(ctype, bnd, sizeof bnd) != 0) {
        copy_str(f->err, sizeof f->err, "Content-Type is not multipart/"
                                        "form-data with a boundary");
        return -1;
    }
    snprintf(d, sizeof d, "--%s", bnd);
    dl = strlen(d);
    if (n >= dl && memcmp(b, d, dl) == 0) {
        pos = 0;
    } else {
        long long k = mp_next(b, n, 0, d, dl); /* after a preamble */
        if (k < 0) {
            copy_str(f->err, sizeof f->err, "no opening boundary line");
            return -1;
        }
        pos = (size_t)k + 1;
    }
    for (;;) {
        size_t q = pos + dl, hs, he;
        char *head, *line, *hp, *disp = NULL, *ctp = NULL;
        mpart_t part;
        long long next;
        if (q + 2 <= n && b[q] == '-' && b[q + 1] == '-')
            return 0; /* closing delimiter: the epilogue is ignored */
        while (q < n && (b[q] == ' ' || b[q] == '\t'))
            q++;
        if (q < n && b[q] == '\r')
            q++;
        if (q >= n || b[q] != '\n') {
            copy_str(f->err, sizeof f->err,
                     q >= n ? "missing closing boundary"
                            : "garbage after a boundary line");
            goto fail;
        }
        hs = ++q;
        /* the part's headers end at an empty line */
        for (he = hs;;) {
            const char *nl = memchr(b + he, '\n', n - he);
            size_t ll;
            if (!nl || (size_t)(nl - b) - hs > MP_MAX_PART_HEAD) {
                copy_str(f->err, sizeof f->err, "part headers without an "
                                                "end (no blank line)");
                goto fail;
            }
            ll = (size_t)(nl - (b + he));
            if (ll == 0 || (ll == 1 && b[he] == '\r')) {
                he = (size_t)(nl - b) + 1;
                break;
            }
            he = (size_t)(nl - b) + 1;
        }
        if (f->n >= MP_MAX_PARTS) {
            copy_str(f->err, sizeof f->err, "too many parts");
            goto fail;
        }
        head = xstrndup(b + hs, he - hs);
        hp = head;
        while ((line = hp) != NULL) {
            char *colon, *v, *nl = strchr(line, '\n');
            size_t ll;
            hp = nl ? nl + 1 : NULL;
            if (nl)
                *nl = '\0';
            ll = strlen(line);
            colon = strchr(line, ':');
            if (ll && line[ll - 1] == '\r')
                line[ll - 1] = '\0';
            if (!colon)
                continue;
            *colon = '\0';
            v = colon + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            if (!strcasecmp(line, "content-disposition"))
                disp = v;
            else if (!strcasecmp(line, "content-type"))
                ctp = v;
        }
        memset(&part, 0, sizeof part);
        if (disp && !strncasecmp(disp, "form-data", 9) &&
            (disp[9] == ';' || disp[9] == ' ' || disp[9] == '\t'))
            part.name = mp_param(disp, "name");
        if (!part.name) {
            free(head);
            copy_str(f->err, sizeof f->err, "a part without Content-"
                     "Disposition: form-data; name=\"...\"");
            goto fail;
        }
        part.filename = mp_param(disp, "filename");
        part.ctype = ctp ? xstrdup(ctp) : NULL;
        free(head);
        next = mp_next(b, n, he, d, dl);
        if (next < 0) {
            free(part.name);
            free(part.filename);
            free(part.ctype);
            copy_str(f->err, sizeof f->err, "a part without a closing "
                                            "boundary");
            goto fail;
        }
        part.data = b + he;
        part.len = (size_t)next - he;
        if (part.len && part.data[part.len - 1] == '\r')
            part.len--;
        if (f->n == f->cap) {
            f->cap = f->cap ? f->cap * 2 : 8;
            f->p = xrealloc(f->p, f->cap * sizeof *f->p);
        }
        f->p[f->n++] = part;
        pos = (size_t)next + 1;
    }
fail:
    {
        char err[sizeof f->err];
        memcpy(err, f->err, sizeof err);
        mform_free(f);
        memcpy(f->err, err, sizeof err);
    }
    return -1;
}

/* The file part: the first part named "file" with a filename (else the
 * first named "file"), or NULL. */
static const mpart_t *mform_file(const mform_t *f)
{
    size_t i;
    for (i = 0; i < f->n; i++)
        if (!strcmp(f->p[i].name, "file") && f->p[i].filename)
            return &f->p[i];
    for (i = 0; i < f->n; i++)
        if (!strcmp(f->p[i].name, "file"))
            return &f->p[i];
    return NULL;
}

/* The last part with that name (the file part excluded), or NULL. */
static const mpart_t *mform_field(const mform_t *f, const char *name)
{
    const mpart_t *file = mform_file(f), *r = NULL;
    size_t i;
    for (i = 0; i < f->n; i++)
        if (&f->p[i] != file && !strcmp(f->p[i].name, name))
            r = &f->p[i];
    return r;
}

static int mfield_is(const mpart_t *p, const char *v)
{
    return p && p->len == strlen(v) && !strncasecmp(p->data, v, p->len);
}

/* Renders /mock/stats "last_multipart". */
static void mform_stats(buf_t *b, const mform_t *f)
{
    const mpart_t *file = mform_file(f);
    size_t i;
    int first = 1;
    buf_clear(b);
    if (file) {
        buf_printf(b, "{\"file_bytes\":%zu,\"filename\":", file->len);
        if (file->filename) {
            buf_addc(b, '"');
            buf_json_esc_bin(b, file->filename, strlen(file->filename));
            buf_addc(b, '"');
        } else {
            buf_adds(b, "null");
        }
        buf_adds(b, ",\"file_content_type\":");
        if (file->ctype) {
            buf_addc(b, '"');
            buf_json_esc_bin(b, file->ctype, strlen(file->ctype));
            buf_addc(b, '"');
        } else {
            buf_adds(b, "null");
        }
        buf_printf(b, ",\"file_fnv\":\"%08x\"",
                   (unsigned)fnv1a(file->data, file->len));
    } else {
        buf_adds(b, "{\"file_bytes\":0,\"filename\":null,\"file_content_type\""
                    ":null,\"file_fnv\":null");
    }
    buf_adds(b, ",\"fields\":{");
    for (i = 0; i < f->n; i++) {
        const mpart_t *p = &f->p[i];
        if (p == file)
            continue;
        buf_adds(b, first ? "\"" : ",\"");
        buf_json_esc_bin(b, p->name, strlen(p->name));
        buf_adds(b, "\":\"");
        buf_json_esc_bin(b, p->data, p->len < MP_SHOW_MAX ? p->len
                                                          : MP_SHOW_MAX);
        buf_addc(b, '"');
        first = 0;
    }
    buf_adds(b, "}}");
}

/* ------------------------------------------------------------------------ */
/* Lazily generated JSON bodies (fill=, long_vector=)                       */
/* ------------------------------------------------------------------------ */

/* Bytes of elements [0, k): all of them, commas excluded. */
static unsigned long long gen_elem_bytes(const gen_t *g, unsigned long long k)
{
    unsigned long long sum = 0, lo = 0, hi = 10;
    unsigned d = 1;
    switch (g->shape) {
    case G_ZEROS: return k;
    case G_EMPTIES: return 2 * k;
    case G_NESTED: return 2 * (unsigned long long)g->depth * k;
    case G_VECTOR: return 3 * k;
    default: /* G_KEYS: "a<i>":0 is 5 + digits(i) bytes */
        while (lo < k) {
            unsigned long long top = hi < k ? hi : k;
            sum += (top - lo) * (5 + d);
            lo = hi;
            hi *= 10;
            d++;
        }
        return sum;
    }
}

static void gen_total(gen_t *g)
{
    g->total = g->head.len + gen_elem_bytes(g, g->count) +
               (g->count ? g->count - 1 : 0) + g->pad + g->tail.len;
    g->limit = g->total;
}

/* Plans a fill= body of exactly n bytes where the shape allows it: the
 * most elements that fit, then spaces before the closing bracket. The
 * smallest body is the 2-byte [] or {}. */
static gen_t *gen_fill(int fill, unsigned long long n)
{
    gen_t *g = xcalloc(1, sizeof *g);
    unsigned long long room = n > 1 ? n - 1 : 0; /* = 1 + count*(L+1) - 1 */
    buf_adds(&g->head, fill == FILL_KEYS ? "{" : "[");
    buf_adds(&g->tail, fill == FILL_KEYS ? "}" : "]");
    switch (fill) {
    case FILL_ZEROS:
        g->shape = G_ZEROS;
        g->count = room / 2;
        break;
    case FILL_EMPTIES:
        g->shape = G_EMPTIES;
        g->count = room / 3;
        break;
    case FILL_NESTED:
        g->shape = G_NESTED;
        if (n >= 202) {
            g->depth = 100; /* the outer array makes it 101 */
            g->count = room / 201;
        } else if (n >= 4) {
            g->depth = (long)((n - 2) / 2);
            g->count = 1;
        }
        break;
    default: { /* FILL_KEYS: each member costs 6 + digits(i) with its comma */
        unsigned long long lo = 0, hi = 10, left = room;
        unsigned d = 1;
        g->shape = G_KEYS;
        for (;;) {
            unsigned long long per = 6 + d, fit = left / per;
            if (fit < hi - lo) {
                g->count += fit;
                break;
            }
            g->count += hi - lo;
            left -= (hi - lo) * per;
            lo = hi;
            hi *= 10;
            d++;
        }
        break;
    }
    }
    g->pad = 0;
    gen_total(g);
    if (g->total < n)
        g->pad = n - g->total;
    gen_total(g);
    return g;
}

static void gen_elem(buf_t *o, const gen_t *g, unsigned long long i)
{
    switch (g->shape) {
    case G_ZEROS:
        buf_addc(o, '0');
        break;
    case G_EMPTIES:
        buf_add(o, i % 2 ? "{}" : "[]", 2);
        break;
    case G_NESTED:
        buf_reserve(o, 2 * (size_t)g->depth);
        memset(o->p + o->len, '[', (size_t)g->depth);
        memset(o->p + o->len + g->depth, ']', (size_t)g->depth);
        o->len += 2 * (size_t)g->depth;
        o->p[o->len] = '\0';
        break;
    case G_VECTOR:
        buf_add(o, "0.5", 3);
        break;
    default: {
        char tmp[32];
        size_t k = sizeof tmp;
        tmp[--k] = '0';
        tmp[--k] = ':';
        tmp[--k] = '"';
        do {
            tmp[--k] = (char)('0' + i % 10);
            i /= 10;
        } while (i);
        tmp[--k] = 'a';
        tmp[--k] = '"';
        buf_add(o, tmp + k, sizeof tmp - k);
        break;
    }
    }
}

/* Produces the next batch of a generated body into c->out. */
static int produce_gen(conn_t *c)
{
    gen_t *g = c->gen;
    size_t start = c->out.len, n;
    if (g->made >= g->limit)
        return P_FINISHED;
    while (c->out.len - start < OUT_BATCH && g->phase != GP_DONE) {
        switch (g->phase) {
        case GP_HEAD:
            buf_addb(&c->out, &g->head);
            g->phase = GP_ELEMS;
            break;
        case GP_ELEMS:
            if (g->i >= g->count) {
                g->phase = GP_PAD;
                break;
            }
            if (g->i)
                buf_addc(&c->out, ',');
            gen_elem(&c->out, g, g->i);
            g->i++;
            break;
        case GP_PAD: {
            size_t k = g->pad < OUT_BATCH ? (size_t)g->pad : OUT_BATCH;
            buf_reserve(&c->out, k);
            memset(c->out.p + c->out.len, ' ', k);
            c->out.len += k;
            c->out.p[c->out.len] = '\0';
            g->pad -= k;
            if (g->pad == 0)
                g->phase = GP_TAIL;
            break;
        }
        default:
            buf_addb(&c->out, &g->tail);
            g->phase = GP_DONE;
            break;
        }
    }
    n = c->out.len - start;
    if (g->made + n > g->limit) { /* truncated / reset_body */
        n = (size_t)(g->limit - g->made);
        c->out.len = start + n;
        c->out.p[c->out.len] = '\0';
    }
    if (n == 0)
        return P_FINISHED; /* cannot happen: total is exact */
    g->made += n;
    return P_MORE;
}

/* Sends a generated body (takes g). Applies truncated/reset_body like
 * send_static. */
static void send_gen(ctx_t *x, long status, gen_t *g)
{
    conn_t *c = x->c;
    long long clen = (long long)g->total;
    gen_free(c->gen);
    c->gen = g;
    c->kind = K_GEN;
    c->end_action = END_DONE;
    if (x->faulty && x->d.fault == F_TRUNCATED) {
        g->limit = g->total / 2;
        clen = (long long)g->limit;
    } else if (x->faulty && x->d.fault == F_RESET_BODY) {
        g->limit = g->total / 2;
        c->end_action = END_RESET;
    }
    write_head(x, status, "application/json", clen);
    if (x->head_only)
        g->made = g->limit;
    finish_setup(x, status, 0);
}

static void send_fill(ctx_t *x, long status)
{
    unsigned long long n =
        x->d.huge_bytes > 0 ? (unsigned long long)x->d.huge_bytes : 0;
    send_gen(x, status, gen_fill(x->d.fill, n));
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
        d->reset_after = d->fail_after = -1;
        if (d->echo_key != EK_REQID)
            d->echo_key = EK_NONE;
    }
    x->apikey = request_api_key(x->r, x->style);
    if (d->echo_key == EK_REQID)
        x->reqid = x->apikey;
    if (d->close == 1)
        x->c->close_after = 1;
    if (d->ratelimit > 0) { /* a budget of N requests per 1 s window */
        int64_t now = now_ms();
        long remaining;
        if (now >= S.rl_end) {
            S.rl_end = now + 1000;
            S.rl_count = 0;
        }
        if (S.rl_count >= d->ratelimit) { /* over: 429 until the window ends */
            S.rate_limited++;
            d->status = 429;
            d->fault = F_NONE;
            snprintf(d->retry_after_ms, sizeof d->retry_after_ms, "%ld", (long)(S.rl_end - now));
            remaining = 0;
        } else {
            S.rl_count++;
            if (S.rl_count > S.rl_max)
                S.rl_max = S.rl_count;
            remaining = d->ratelimit - S.rl_count;
        }
        buf_printf(&x->extra, "x-ratelimit-limit-requests: %ld\r\n", d->ratelimit);
        buf_printf(&x->extra, "x-ratelimit-remaining-requests: %ld\r\n", remaining);
        buf_printf(&x->extra, "x-ratelimit-reset-requests: %ldms\r\n", (long)(S.rl_end - now));
    }
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
    if (d->header_bytes > 0) {
        size_t n = (size_t)(d->header_bytes < MAX_HEADER_BYTES
                                ? d->header_bytes
                                : MAX_HEADER_BYTES);
        buf_adds(&x->extra, "x-mock-pad: ");
        buf_reserve(&x->extra, n + 2);
        memset(x->extra.p + x->extra.len, 'a', n);
        x->extra.len += n;
        buf_adds(&x->extra, "\r\n");
    }
    if (d->header_lines > 0) {
        long k, lines = d->header_lines < MAX_HEADER_LINES ? d->header_lines
                                                           : MAX_HEADER_LINES;
        char pad[1000];
        memset(pad, 'a', sizeof pad);
        for (k = 0; k < lines; k++) {
            buf_printf(&x->extra, "x-mock-pad-%ld: ", k);
            buf_add(&x->extra, pad, sizeof pad);
            buf_adds(&x->extra, "\r\n");
        }
    }
}

/* Applies redirect / fault / status, then fill= (which replaces the normal
 * answer of a POST). Returns 1 when the response is set up (the handler
 * stops), 0 when the normal answer follows (drip, truncated, reset_body and
 * stream faults act on the normal answer). */
static int apply_failure(ctx_t *x)
{
    static const char garbage[] = "\x01\x02\x03GARBAGE-NOT-HTTP\xff\xfe\r\n\r\n";
    static const char wrong_html[] =
        "<html><body><h1>mock: this is HTML, not JSON</h1></body></html>\n";
    directives_t *d = &x->d;
    conn_t *c = x->c;
    long status;
    if (!x->faulty)
        goto normal;
    if (d->echo_key == EK_LOCATION) {
        char xs[220];
        memset(xs, 'x', sizeof xs);
        buf_adds(&x->extra, "Location: http://127.0.0.1/");
        buf_add(&x->extra, xs, sizeof xs);
        buf_printf(&x->extra, "?k=%s\r\n", x->apikey);
        send_static(x, 307, NULL, "", 0);
        return 1;
    }
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
    case F_EMPTY_STREAM:
        c->kind = K_STATIC;
        c->end_action = END_DONE;
        write_head(x, 200, x->style == STYLE_OLLAMA ? "application/x-ndjson"
                                                    : "text/event-stream",
                   -1);
        if (!x->head_only)
            buf_adds(&c->out, "0\r\n\r\n");
        finish_setup(x, 200, 0);
        return 1;
    default:
        break;
    }
    status = d->status;
    if (!status && echo_key_in_error(d))
        status = 401;
    if (status && status != 200) {
        if (d->fill && status != 204 && status != 304)
            send_fill(x, status);
        else
            send_status_error(x, status);
        return 1;
    }
normal:
    if (d->fill && !strcmp(x->r->method, "POST")) {
        send_fill(x, 200);
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

/* Appends token k of rp (read position *pos) JSON-escaped. */
static void reply_token(buf_t *ev, const reply_t *rp, long k, size_t *pos)
{
    if (rp->gen) {
        buf_printf(ev, "%stok%ld", k ? " " : "", k);
    } else {
        size_t e = token_end(rp->text, rp->len, *pos);
        buf_json_esc(ev, rp->text + *pos, e - *pos);
        *pos = e;
    }
}

static void st_token_event(stream_t *st, buf_t *ev)
{
    buf_clear(ev);
    if (st->nch > 1) {
        schoice_t *ch;
        for (;;) { /* lazy_n is the sum of the choices' tokens: terminates */
            if (st->cur >= st->nch) {
                st->cur = 0;
                st->round++;
            }
            ch = &st->ch[st->cur];
            if (st->round < ch->reply.ntok)
                break;
            st->cur++;
        }
        buf_addb(ev, &ch->pfx);
        reply_token(ev, &ch->reply, st->round, &ch->pos);
        st->cur++;
        buf_addb(ev, &st->tok_suffix);
        return;
    }
    buf_addb(ev, &st->tok_prefix);
    if (st->seq) {
        buf_printf(ev, "%ld", st->seq_base + st->lazy_k);
        buf_addb(ev, &st->tok_mid);
    }
    if (st->echo_numbers)
        buf_printf(ev, "%ld", st->lazy_k);
    else
        reply_token(ev, &st->reply, st->lazy_k, &st->text_pos);
    buf_addb(ev, &st->tok_suffix);
}

/* Emits a fault event, its SEQ_MARK (if any) replaced by the number of
 * events sent so far. */
static void emit_marked(conn_t *c, stream_t *st, const buf_t *ev, int64_t now)
{
    const char *m = ev->len ? memchr(ev->p, SEQ_MARK, ev->len) : NULL;
    buf_t t = {0};
    if (!m) {
        emit(c, st, ev->p, ev->len, now);
        return;
    }
    buf_add(&t, ev->p, (size_t)(m - ev->p));
    buf_printf(&t, "%ld", st->events_sent);
    buf_add(&t, m + 1, ev->len - (size_t)(m - ev->p) - 1);
    emit(c, st, t.p, t.len, now);
    buf_free(&t);
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
        emit_marked(c, st, &st->err, now);
        st->phase = PH_END;
        break;
    case FK_ERROR_EVENT:
        emit_marked(c, st, &st->errev, now);
        st->phase = PH_END;
        break;
    case FK_FAIL:
        emit_marked(c, st, &st->fail, now);
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
                st->events_sent++;
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
                st->events_sent++;
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
                st->events_sent++;
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
    } f[5];
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
    f[4].kind = FK_FAIL; /* only streams that have a fail event */
    f[4].at = st->fail.len ? d->fail_after : -1;
    st->fault_kind = FK_NONE;
    for (i = 0; i < 5; i++)
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

/* Cuts a reply to max_tok tokens (max_tok < 0: no limit). */
static void reply_cut(reply_t *rp, long max_tok)
{
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
        if (d->zeros > 0) {
            long i;
            buf_addc(&b, '[');
            for (i = 0; i < d->zeros && i < 10000000; i++)
                buf_adds(&b, i ? ",0" : "0");
            buf_addc(&b, ']');
        } else if (d->unicode == 1) {
            buf_adds(&b, UNICODE_REPLY);
        } else if (d->npc == 1) {
            static const char *const emotions[] = {"curious", "wary", "cheerful"};
            static const char *const actions[] = {"nods slowly", "points north", "keeps sweeping"};
            unsigned h = (unsigned)fnv1a(user, ulen);
            size_t k = ulen < 40 ? ulen : 40;
            while (k > 0 && k < ulen && ((unsigned char)user[k] & 0xC0) == 0x80)
                k--;
            buf_adds(&b, "{\"say\": \"Well met, traveller. You asked: \\\"");
            buf_json_esc(&b, user, k);
            buf_printf(&b, "\\\" \\u2014 the road is long, but the inn is close.\", "
                           "\"emotion\": \"%s\", \"action\": \"%s\"}",
                       emotions[h % 3u], actions[(h / 3u) % 3u]);
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
    reply_cut(rp, max_tok);
}

/* A reply of the given text (cut like make_reply). */
static void make_reply_str(reply_t *rp, const char *s, size_t n, long max_tok)
{
    memset(rp, 0, sizeof *rp);
    rp->text = xstrndup(s, n);
    rp->len = n;
    rp->ntok = count_tokens(s, n);
    reply_cut(rp, max_tok);
}

/* Choice i > 0 of a chat answer with "n": "Echo <i>: <text>" for the
 * default echo reply, otherwise the same content as choice 0. */
static void make_reply_choice(reply_t *rp, const directives_t *d,
                              const char *user, size_t ulen, int json_mode,
                              long max_tok, long i)
{
    buf_t b = {0};
    if (i == 0 || d->tokens >= 0 || d->unicode == 1 || d->npc == 1 || json_mode) {
        make_reply(rp, d, user, ulen, json_mode, max_tok);
        return;
    }
    buf_printf(&b, "Echo %ld:", i);
    if (ulen) {
        buf_addc(&b, ' ');
        buf_add(&b, user, ulen);
    }
    make_reply_str(rp, b.p, b.len, max_tok);
    buf_free(&b);
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

#define MAX_CHOICES 8 /* OpenAI chat "n" */
#define REFUSAL_TEXT "I'm sorry, I cannot help with that."

/* Image inputs: an OpenAI image URL (chat image_url.url, Responses
 * input_image.image_url). */
static int image_url_ok(const jnode_t *u)
{
    const char *s = jstr(u);
    if (!s || !*s)
        return 0;
    return !strncasecmp(s, "http://", 7) || !strncasecmp(s, "https://", 8) ||
           !strncasecmp(s, "data:image/", 11);
}

/* Non-empty and only standard base64 characters. */
static int is_base64(const jnode_t *n)
{
    size_t i;
    if (!n || n->type != J_STR || n->len == 0)
        return 0;
    for (i = 0; i < n->len; i++) {
        unsigned char ch = (unsigned char)n->str[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
              is_digit(ch) || ch == '+' || ch == '/' || ch == '='))
            return 0;
    }
    return 1;
}

/* OpenAI chat: counts the image_url parts of every message; err receives
 * the first invalid one (err[0] stays '\0' when all are valid). */
static long oa_count_images(const jnode_t *root, char *err, size_t cap)
{
    const jnode_t *msgs = jget(root, "messages"), *m, *part;
    long n = 0;
    int mi, pi;
    if (!msgs || msgs->type != J_ARR)
        return 0;
    for (m = msgs->child, mi = 0; m; m = m->next, mi++) {
        const jnode_t *content = jget(m, "content");
        if (!content || content->type != J_ARR)
            continue;
        for (part = content->child, pi = 0; part; part = part->next, pi++) {
            const char *type = jstr(jget(part, "type"));
            if (!type || strcmp(type, "image_url"))
                continue;
            n++;
            if (!err[0] && !image_url_ok(jget(jget(part, "image_url"), "url")))
                snprintf(err, cap, "mock: invalid request: messages[%d]."
                                   "content[%d].image_url.url must be a "
                                   "non-empty string starting with http://, "
                                   "https:// or data:image/",
                         mi, pi);
        }
    }
    return n;
}

static int an_image_ok(const jnode_t *src)
{
    static const char *const types[] = {"image/png", "image/jpeg",
                                        "image/gif", "image/webp"};
    const char *t = jstr(jget(src, "type"));
    size_t i;
    if (t && !strcmp(t, "base64")) {
        const char *mt = jstr(jget(src, "media_type"));
        int ok = 0;
        for (i = 0; mt && i < sizeof types / sizeof types[0]; i++)
            ok |= !strcmp(mt, types[i]);
        return ok && is_base64(jget(src, "data"));
    }
    if (t && !strcmp(t, "url")) {
        const char *u = jstr(jget(src, "url"));
        return u && (!strncasecmp(u, "http://", 7) ||
                     !strncasecmp(u, "https://", 8));
    }
    return 0;
}

/* Anthropic: image blocks of a content array (and of the content of its
 * tool_result blocks). */
static void an_count_blocks(const jnode_t *content, long *n, char *err,
                            size_t cap, int mi)
{
    const jnode_t *b;
    if (!content || content->type != J_ARR)
        return;
    for (b = content->child; b; b = b->next) {
        const char *type = jstr(jget(b, "type"));
        if (!type)
            continue;
        if (!strcmp(type, "tool_result")) {
            an_count_blocks(jget(b, "content"), n, err, cap, mi);
            continue;
        }
        if (strcmp(type, "image"))
            continue;
        (*n)++;
        if (!err[0] && !an_image_ok(jget(b, "source")))
            snprintf(err, cap, "mock: invalid request: messages.%d.content: "
                               "an image source must be {\"type\":\"base64\","
                               "\"media_type\":\"image/png|jpeg|gif|webp\","
                               "\"data\":<non-empty base64>} or {\"type\":"
                               "\"url\",\"url\":\"http(s)://...\"}",
                     mi);
    }
}

static long an_count_images(const jnode_t *root, char *err, size_t cap)
{
    const jnode_t *msgs = jget(root, "messages"), *m;
    long n = 0;
    int mi;
    if (!msgs || msgs->type != J_ARR)
        return 0;
    for (m = msgs->child, mi = 0; m; m = m->next, mi++)
        an_count_blocks(jget(m, "content"), &n, err, cap, mi);
    return n;
}

/* Ollama: the "images" arrays of the messages. */
static long ol_count_images(const jnode_t *root, char *err, size_t cap)
{
    const jnode_t *msgs = jget(root, "messages"), *m, *im, *it;
    long n = 0;
    int mi;
    if (!msgs || msgs->type != J_ARR)
        return 0;
    for (m = msgs->child, mi = 0; m; m = m->next, mi++) {
        int ok = 1;
        im = jget(m, "images");
        if (!im || im->type == J_NULL)
            continue;
        if (im->type != J_ARR)
            ok = 0;
        else
            for (it = im->child; it; it = it->next) {
                n++;
                ok &= is_base64(it);
            }
        if (!ok && !err[0])
            snprintf(err, cap, "mock: invalid request: messages[%d].images "
                               "must be an array of non-empty base64 "
                               "strings", mi);
    }
    return n;
}

/* ------------------------------------------------------------------------ */
/* OpenAI chat                                                              */
/* ------------------------------------------------------------------------ */

static void oa_stream(ctx_t *x, const jnode_t *model, const chatinfo_t *ci,
                      reply_t *rps, long nch, int inc_usage)
{
    stream_t *st = stream_new(x, 1);
    buf_t head = {0}, j = {0}, a = {0};
    const char *unull = inc_usage ? ",\"usage\":null" : "";
    int refusal = x->d.refusal == 1;
    long ntools = refusal ? 0 : clamp_tools(x->d.tools), i, k, C = 0;
    const char *etype = x->d.error_type[0] ? x->d.error_type : "server_error";
    const char *dkey = refusal ? "refusal" : "content";

    /* Every chunk starts with the same id/object/created/model. */
    buf_printf(&head, "{\"id\":\"chatcmpl-mock-%llu\",\"object\":\"chat."
                      "completion.chunk\",\"created\":%d,\"model\":",
               x->c->n, CREATED);
    buf_json_str(&head, model->str, model->len);
    buf_adds(&head, ",\"system_fingerprint\":\"fp_mock\",\"choices\":");

    for (k = 0; k < nch; k++) {
        buf_clear(&j);
        buf_addb(&j, &head);
        buf_printf(&j, "[{\"index\":%ld,\"delta\":{\"role\":\"assistant\","
                       "\"content\":%s},\"logprobs\":null,\"finish_reason\":"
                       "null}]%s}",
                   k, refusal ? "null,\"refusal\":\"\""
                              : (ntools > 0 ? "null" : "\"\""),
                   unull);
        st_add(st, &st->pre, 0, NULL, &j);
    }

    if (ntools > 0) {
        for (i = 0; i < ntools; i++) {
            size_t off;
            for (k = 0; k < nch; k++) {
                buf_clear(&j);
                buf_addb(&j, &head);
                buf_printf(&j, "[{\"index\":%ld,\"delta\":{\"tool_calls\":[{"
                               "\"index\":%ld,\"id\":\"call_%ld\",\"type\":"
                               "\"function\",\"function\":{\"name\":"
                               "\"get_weather\",\"arguments\":\"\"}}]},"
                               "\"logprobs\":null,\"finish_reason\":null}]%s}",
                           k, i, i, unull);
                st_add(st, &st->pre, 0, NULL, &j);
            }
            buf_clear(&a);
            tool_args(&a, i);
            for (off = 0; off < a.len; off += TOOL_FRAG) {
                size_t n = a.len - off < TOOL_FRAG ? a.len - off : TOOL_FRAG;
                for (k = 0; k < nch; k++) {
                    buf_clear(&j);
                    buf_addb(&j, &head);
                    buf_printf(&j, "[{\"index\":%ld,\"delta\":{\"tool_calls\":"
                                   "[{\"index\":%ld,\"function\":{"
                                   "\"arguments\":",
                               k, i);
                    buf_json_str(&j, a.p + off, n);
                    buf_printf(&j, "}}]},\"logprobs\":null,\"finish_reason\":"
                                   "null}]%s}",
                               unull);
                    st_add(st, &st->pre, 1, NULL, &j);
                    C++;
                }
            }
        }
    } else if (nch == 1) {
        st_tok_prefix(st, NULL);
        buf_addb(&st->tok_prefix, &head);
        buf_printf(&st->tok_prefix, "[{\"index\":0,\"delta\":{\"%s\":\"", dkey);
        st->reply = rps[0];
        rps[0].text = NULL; /* the stream owns it now */
        st->lazy_n = st->reply.ntok;
        C = st->reply.ntok;
    } else {
        st->ch = xcalloc((size_t)nch, sizeof *st->ch);
        st->nch = nch;
        for (k = 0; k < nch; k++) {
            schoice_t *ch = &st->ch[k];
            buf_adds(&ch->pfx, "data: ");
            buf_addb(&ch->pfx, &head);
            buf_printf(&ch->pfx, "[{\"index\":%ld,\"delta\":{\"%s\":\"", k,
                       dkey);
            ch->reply = rps[k];
            rps[k].text = NULL;
            st->lazy_n += ch->reply.ntok;
        }
        C = st->lazy_n;
    }
    if (ntools == 0) {
        buf_printf(&st->tok_suffix, "\"},\"logprobs\":null,\"finish_reason\":"
                                    "null}]%s}",
                   unull);
        st_tok_suffix_end(st);
    }

    for (k = 0; k < nch; k++) {
        int cut = nch == 1 ? st->reply.cut : (ntools ? 0 : st->ch[k].reply.cut);
        buf_clear(&j);
        buf_addb(&j, &head);
        buf_printf(&j, "[{\"index\":%ld,\"delta\":{},\"logprobs\":null,"
                       "\"finish_reason\":\"%s\"}]%s}",
                   k, ntools > 0 ? "tool_calls" : (cut ? "length" : "stop"),
                   unull);
        st_add(st, &st->post, 0, NULL, &j);
    }
    if (inc_usage) {
        buf_clear(&j);
        buf_addb(&j, &head);
        buf_printf(&j, "[],\"usage\":{\"prompt_tokens\":%lld,\"completion_"
                       "tokens\":%lld,\"total_tokens\":%lld}}",
                   unum(x, ci->prompt_words), unum(x, C),
                   unum(x, ci->prompt_words + C));
        st_add(st, &st->post, 0, NULL, &j);
    }
    st_add_s(st, &st->post, NULL, "[DONE]");

    buf_clear(&j);
    buf_adds(&j, "{\"error\":{\"message\":");
    stream_err_msg(x, &j, "mock stream error");
    buf_adds(&j, ",\"type\":");
    buf_json_str(&j, etype, strlen(etype));
    buf_adds(&j, ",\"code\":\"mock_error\"}}");
    st_format(st, &st->err, NULL, j.p, j.len);
    buf_clear(&j);
    buf_adds(&j, "{\"error\":{\"message\":");
    stream_err_msg(x, &j, "mock error event");
    buf_adds(&j, ",\"type\":");
    buf_json_str(&j, etype, strlen(etype));
    buf_adds(&j, "}}");
    st_format(st, &st->errev, "error", j.p, j.len);

    buf_free(&head);
    buf_free(&j);
    buf_free(&a);
    stream_begin(x, st, "text/event-stream");
}

static void oa_full(ctx_t *x, const jnode_t *model, const chatinfo_t *ci,
                    const reply_t *rps, long nch)
{
    buf_t b = {0}, a = {0};
    int refusal = x->d.refusal == 1;
    long ntools = refusal ? 0 : clamp_tools(x->d.tools), i, k, C = 0;
    buf_printf(&b, "{\"id\":\"chatcmpl-mock-%llu\",\"object\":\"chat.completion"
                   "\",\"created\":%d,\"model\":",
               x->c->n, CREATED);
    buf_json_str(&b, model->str, model->len);
    buf_adds(&b, ",\"choices\":[");
    for (k = 0; k < nch; k++) {
        const reply_t *rp = &rps[k];
        const char *finish;
        buf_printf(&b, "%s{\"index\":%ld,\"message\":{\"role\":\"assistant\","
                       "\"content\":",
                   k ? "," : "", k);
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
            buf_adds(&b, "],\"refusal\":null");
            C += tool_frag_total(ntools);
            finish = "tool_calls";
        } else if (refusal) {
            buf_adds(&b, "null,\"refusal\":\"");
            reply_json_esc(&b, rp);
            buf_addc(&b, '"');
            C += rp->ntok;
            finish = rp->cut ? "length" : "stop";
        } else {
            buf_addc(&b, '"');
            reply_json_esc(&b, rp);
            buf_adds(&b, "\",\"refusal\":null");
            C += rp->ntok;
            finish = rp->cut ? "length" : "stop";
        }
        buf_printf(&b, "},\"logprobs\":null,\"finish_reason\":\"%s\"}", finish);
    }
    buf_printf(&b, "],\"usage\":{\"prompt_tokens\":%lld,"
                   "\"completion_tokens\":%lld,\"total_tokens\":%lld},"
                   "\"system_fingerprint\":\"fp_mock\"}",
               unum(x, ci->prompt_words), unum(x, C),
               unum(x, ci->prompt_words + C));
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
    const jnode_t *model, *msgs, *m, *nn;
    chatinfo_t ci;
    reply_t rps[MAX_CHOICES];
    char *clean = NULL, imgerr[300];
    size_t clean_len = 0;
    long max_tok = -1, nch = 1, k;
    int idx, stream, inc_usage, json_mode;

    memset(rps, 0, sizeof rps);
    imgerr[0] = '\0';
    chat_extract(root, &ci);
    S.last_images = oa_count_images(root, imgerr, sizeof imgerr);
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
        size_t q;
        int ok = 0;
        for (q = 0; role && q < sizeof roles / sizeof roles[0]; q++)
            ok |= !strcmp(role, roles[q]);
        if (!ok) {
            char msg[200];
            snprintf(msg, sizeof msg, "mock: invalid request: messages[%d]."
                                      "role must be one of system, developer, "
                                      "user, assistant, tool", idx);
            send_error(x, 400, msg, NULL);
            goto out;
        }
    }
    if (imgerr[0]) {
        send_error(x, 400, imgerr, NULL);
        goto out;
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
    nn = jget(root, "n");
    if (nn && nn->type != J_NULL) {
        if (nn->type != J_NUM || nn->num < 1 || nn->num > MAX_CHOICES ||
            nn->num != (double)(long)nn->num) {
            send_error(x, 400, "mock: invalid request: n must be an integer "
                               "in 1..8", NULL);
            goto out;
        }
        nch = (long)nn->num;
    }
    stream = jtrue(jget(root, "stream")) && !x->force_nonstream;
    inc_usage = stream && x->d.usage != 0 &&
                jtrue(jget(jget(root, "stream_options"), "include_usage"));
    {
        const jnode_t *rf = jget(root, "response_format");
        json_mode = x->d.json == 1 || (rf && rf->type != J_NULL);
    }
    clean = strip_directive(ci.user, ci.user_len, &clean_len);
    for (k = 0; k < nch; k++) {
        if (x->d.refusal == 1)
            make_reply_str(&rps[k], REFUSAL_TEXT, strlen(REFUSAL_TEXT),
                           max_tok);
        else
            make_reply_choice(&rps[k], &x->d, clean, clean_len, json_mode,
                              max_tok, k);
    }
    if (stream)
        oa_stream(x, model, &ci, rps, nch, inc_usage);
    else
        oa_full(x, model, &ci, rps, nch);
out:
    for (k = 0; k < MAX_CHOICES; k++)
        free(rps[k].text);
    free(clean);
    free(ci.user);
    json_free(root);
}

/* ------------------------------------------------------------------------ */
/* OpenAI Responses API                                                     */
/* ------------------------------------------------------------------------ */

#define REASONING_SUMMARY "mock reasoning summary"
#define REASONING_TOKENS 5

typedef struct {
    char *user; /* string input or last user message text, or NULL */
    size_t user_len;
    long prompt_words, images;
    char err[300]; /* first problem found in "input", or "" */
} rinfo_t;

static void resp_extract(const jnode_t *root, rinfo_t *ri)
{
    static const char *const roles[] = {"user", "assistant", "system",
                                        "developer"};
    const jnode_t *input = jget(root, "input"), *it, *part;
    const char *ins = jstr(jget(root, "instructions"));
    buf_t t = {0};
    int ii, pi;
    memset(ri, 0, sizeof *ri);
    buf_reserve(&t, 0);
    if (ins)
        ri->prompt_words += count_words(ins, strlen(ins));
    if (input && input->type == J_STR) {
        ri->user = xstrndup(input->str, input->len);
        ri->user_len = input->len;
        ri->prompt_words += count_words(input->str, input->len);
    }
    for (it = input && input->type == J_ARR ? input->child : NULL, ii = 0; it;
         it = it->next, ii++) {
        const char *type = jstr(jget(it, "type")), *role;
        const jnode_t *content;
        size_t k;
        int ok = 0;
        if (it->type != J_OBJ) {
            if (!ri->err[0])
                snprintf(ri->err, sizeof ri->err, "mock: invalid request: "
                         "input[%d] must be an object", ii);
            continue;
        }
        if (type && !strcmp(type, "function_call_output")) {
            const jnode_t *out = jget(it, "output");
            if (!jstr(jget(it, "call_id")) || !out || out->type != J_STR) {
                if (!ri->err[0])
                    snprintf(ri->err, sizeof ri->err, "mock: invalid request: "
                             "input[%d]: a function_call_output needs the "
                             "strings call_id and output", ii);
            } else {
                ri->prompt_words += count_words(out->str, out->len);
            }
            continue;
        }
        if (type && strcmp(type, "message"))
            continue; /* function_call, reasoning, item_reference, ... */
        role = jstr(jget(it, "role"));
        for (k = 0; role && k < sizeof roles / sizeof roles[0]; k++)
            ok |= !strcmp(role, roles[k]);
        content = jget(it, "content");
        if (!ok || !content ||
            (content->type != J_STR && content->type != J_ARR)) {
            if (!ri->err[0])
                snprintf(ri->err, sizeof ri->err, "mock: invalid request: "
                         "input[%d] must have a role (user, assistant, system,"
                         " developer) and a content string or array", ii);
            continue;
        }
        if (content->type == J_ARR)
            for (part = content->child, pi = 0; part;
                 part = part->next, pi++) {
                const char *pt = jstr(jget(part, "type"));
                const char *fid = jstr(jget(part, "file_id"));
                if (!pt || strcmp(pt, "input_image"))
                    continue;
                ri->images++;
                if (!ri->err[0] && !image_url_ok(jget(part, "image_url")) &&
                    !(fid && *fid))
                    snprintf(ri->err, sizeof ri->err, "mock: invalid request:"
                             " input[%d].content[%d].image_url must be a "
                             "non-empty string starting with http://, "
                             "https:// or data:image/", ii, pi);
            }
        buf_clear(&t);
        content_text(content, &t);
        ri->prompt_words += count_words(t.p, t.len);
        if (!strcmp(role, "user")) {
            free(ri->user);
            ri->user = xstrndup(t.p, t.len);
            ri->user_len = t.len;
        }
    }
    buf_free(&t);
}

/* Everything needed to render one Responses answer. */
typedef struct {
    ctx_t *x;
    const jnode_t *root, *model;
    const reply_t *rp;
    long ntools, I;
    int reasoning, refusal;
} rctx_t;

enum { RST_PROGRESS, RST_DONE, RST_FAILED };

static int resp_incomplete(const rctx_t *q)
{
    return q->ntools == 0 && q->rp->cut;
}

static long resp_out_tokens(const rctx_t *q)
{
    return (q->ntools > 0 ? tool_frag_total(q->ntools) : q->rp->ntok) +
           (q->reasoning ? REASONING_TOKENS : 0);
}

static void resp_reasoning_item(buf_t *b, const rctx_t *q, int full)
{
    buf_printf(b, "{\"type\":\"reasoning\",\"id\":\"rs_mock_%llu\","
                  "\"summary\":[%s]}",
               q->x->c->n, full ? "{\"type\":\"summary_text\",\"text\":\""
                                  REASONING_SUMMARY "\"}" : "");
}

/* The content part of the message: output_text or refusal. */
static void resp_part(buf_t *b, const rctx_t *q, int full)
{
    if (q->refusal) {
        buf_adds(b, "{\"type\":\"refusal\",\"refusal\":\"");
        if (full)
            reply_json_esc(b, q->rp);
        buf_adds(b, "\"}");
    } else {
        buf_adds(b, "{\"type\":\"output_text\",\"text\":\"");
        if (full)
            reply_json_esc(b, q->rp);
        buf_adds(b, "\",\"annotations\":[]}");
    }
}

static void resp_msg_item(buf_t *b, const rctx_t *q, int full)
{
    buf_printf(b, "{\"type\":\"message\",\"id\":\"msg_mock_%llu\",\"role\":"
                  "\"assistant\",\"status\":\"%s\",\"content\":[",
               q->x->c->n, !full ? "in_progress"
                                 : (q->rp->cut ? "incomplete" : "completed"));
    if (full)
        resp_part(b, q, 1);
    buf_adds(b, "]}");
}

static void resp_fc_item(buf_t *b, long i, int full)
{
    buf_printf(b, "{\"type\":\"function_call\",\"id\":\"fc_%ld\",\"call_id\":"
                  "\"call_%ld\",\"name\":\"get_weather\",\"arguments\":",
               i, i);
    if (full) {
        buf_t a = {0};
        tool_args(&a, i);
        buf_json_str(b, a.p, a.len);
        buf_free(&a);
    } else {
        buf_adds(b, "\"\"");
    }
    buf_printf(b, ",\"status\":\"%s\"}", full ? "completed" : "in_progress");
}

/* The response object: in progress (no output, usage null), done
 * (completed or incomplete) or failed. */
static void resp_obj(buf_t *b, const rctx_t *q, int mode)
{
    ctx_t *x = q->x;
    const jnode_t *prev = jget(q->root, "previous_response_id");
    const jnode_t *store = jget(q->root, "store");
    const jnode_t *ins = jget(q->root, "instructions");
    int incomplete = mode == RST_DONE && resp_incomplete(q);
    long i;
    buf_printf(b, "{\"id\":\"resp_mock_%llu\",\"object\":\"response\","
                  "\"created_at\":%d,\"status\":\"%s\",\"model\":",
               x->c->n, CREATED,
               mode == RST_PROGRESS ? "in_progress"
               : mode == RST_FAILED ? "failed"
               : incomplete         ? "incomplete"
                                    : "completed");
    buf_json_str(b, q->model->str, q->model->len);
    buf_adds(b, ",\"output\":[");
    if (mode == RST_DONE) {
        if (q->reasoning) {
            resp_reasoning_item(b, q, 1);
            buf_addc(b, ','); /* a message or function calls follow */
        }
        if (q->ntools > 0)
            for (i = 0; i < q->ntools; i++) {
                if (i)
                    buf_addc(b, ',');
                resp_fc_item(b, i, 1);
            }
        else
            resp_msg_item(b, q, 1);
    }
    buf_adds(b, "],\"usage\":");
    if (mode == RST_DONE) {
        long O = resp_out_tokens(q);
        buf_printf(b, "{\"input_tokens\":%lld,\"output_tokens\":%lld,"
                      "\"total_tokens\":%lld,\"input_tokens_details\":{"
                      "\"cached_tokens\":0},\"output_tokens_details\":{"
                      "\"reasoning_tokens\":%lld}}",
                   unum(x, q->I), unum(x, O), unum(x, q->I + O),
                   unum(x, q->reasoning ? REASONING_TOKENS : 0));
    } else {
        buf_adds(b, "null");
    }
    buf_adds(b, ",\"incomplete_details\":");
    buf_adds(b, incomplete ? "{\"reason\":\"max_output_tokens\"}" : "null");
    buf_adds(b, ",\"error\":");
    if (mode == RST_FAILED) {
        buf_adds(b, "{\"code\":\"server_error\",\"message\":");
        stream_err_msg(x, b, "mock response failed");
        buf_addc(b, '}');
    } else {
        buf_adds(b, "null");
    }
    buf_adds(b, ",\"previous_response_id\":");
    if (prev && prev->type == J_STR)
        buf_json_str(b, prev->str, prev->len);
    else
        buf_adds(b, "null");
    buf_printf(b, ",\"store\":%s", store && store->type == J_FALSE ? "false"
                                                                   : "true");
    buf_adds(b, ",\"instructions\":");
    if (ins && ins->type == J_STR)
        buf_json_str(b, ins->str, ins->len);
    else
        buf_adds(b, "null");
    buf_addc(b, '}');
}

/* One Responses stream event: "event: T" + data {"type":T,
 * "sequence_number":seq<rest>}; rest starts with a comma. */
static void rs_ev(stream_t *st, evlist_t *l, int is_token, long *seq,
                  const char *type, const buf_t *rest)
{
    buf_t j = {0};
    buf_printf(&j, "{\"type\":\"%s\",\"sequence_number\":%ld", type, *seq);
    if (rest)
        buf_addb(&j, rest);
    buf_addc(&j, '}');
    st_add(st, l, is_token, type, &j);
    buf_free(&j);
    (*seq)++;
}

static void resp_stream(const rctx_t *q, reply_t *rp)
{
    ctx_t *x = q->x;
    stream_t *st = stream_new(x, 1);
    buf_t j = {0}, a = {0};
    unsigned long long n = x->c->n;
    long seq = 0, oi = 0, i;
    const char *etype = x->d.error_type[0] ? x->d.error_type : "server_error";

    buf_adds(&j, ",\"response\":");
    resp_obj(&j, q, RST_PROGRESS);
    rs_ev(st, &st->pre, 0, &seq, "response.created", &j);
    rs_ev(st, &st->pre, 0, &seq, "response.in_progress", &j);

    if (q->reasoning) {
        static const char *const words[] = {"mock", " reasoning", " summary"};
        size_t w;
        buf_clear(&j);
        buf_adds(&j, ",\"output_index\":0,\"item\":");
        resp_reasoning_item(&j, q, 0);
        rs_ev(st, &st->pre, 0, &seq, "response.output_item.added", &j);
        for (w = 0; w < sizeof words / sizeof words[0]; w++) {
            buf_clear(&j);
            buf_printf(&j, ",\"item_id\":\"rs_mock_%llu\",\"output_index\":0,"
                           "\"summary_index\":0,\"delta\":\"%s\"",
                       n, words[w]);
            rs_ev(st, &st->pre, 0, &seq,
                  "response.reasoning_summary_text.delta", &j);
        }
        buf_clear(&j);
        buf_printf(&j, ",\"item_id\":\"rs_mock_%llu\",\"output_index\":0,"
                       "\"summary_index\":0,\"text\":\"" REASONING_SUMMARY
                       "\"",
                   n);
        rs_ev(st, &st->pre, 0, &seq, "response.reasoning_summary_text.done",
              &j);
        buf_clear(&j);
        buf_adds(&j, ",\"output_index\":0,\"item\":");
        resp_reasoning_item(&j, q, 1);
        rs_ev(st, &st->pre, 0, &seq, "response.output_item.done", &j);
        oi = 1;
    }

    if (q->ntools > 0) {
        for (i = 0; i < q->ntools; i++, oi++) {
            size_t off;
            buf_clear(&j);
            buf_printf(&j, ",\"output_index\":%ld,\"item\":", oi);
            resp_fc_item(&j, i, 0);
            rs_ev(st, &st->pre, 0, &seq, "response.output_item.added", &j);
            buf_clear(&a);
            tool_args(&a, i);
            for (off = 0; off < a.len; off += TOOL_FRAG) {
                size_t k = a.len - off < TOOL_FRAG ? a.len - off : TOOL_FRAG;
                buf_clear(&j);
                buf_printf(&j, ",\"item_id\":\"fc_%ld\",\"output_index\":%ld,"
                               "\"delta\":",
                           i, oi);
                buf_json_str(&j, a.p + off, k);
                rs_ev(st, &st->pre, 1, &seq,
                      "response.function_call_arguments.delta", &j);
            }
            buf_clear(&j);
            buf_printf(&j, ",\"item_id\":\"fc_%ld\",\"output_index\":%ld,"
                           "\"arguments\":",
                       i, oi);
            buf_json_str(&j, a.p, a.len);
            rs_ev(st, &st->pre, 0, &seq,
                  "response.function_call_arguments.done", &j);
            buf_clear(&j);
            buf_printf(&j, ",\"output_index\":%ld,\"item\":", oi);
            resp_fc_item(&j, i, 1);
            rs_ev(st, &st->pre, 0, &seq, "response.output_item.done", &j);
        }
    } else {
        const char *kind = q->refusal ? "refusal" : "output_text";
        char dtype[64], ttype[64];
        snprintf(dtype, sizeof dtype, "response.%s.delta", kind);
        snprintf(ttype, sizeof ttype, "response.%s.done", kind);
        buf_clear(&j);
        buf_printf(&j, ",\"output_index\":%ld,\"item\":", oi);
        resp_msg_item(&j, q, 0);
        rs_ev(st, &st->pre, 0, &seq, "response.output_item.added", &j);
        buf_clear(&j);
        buf_printf(&j, ",\"item_id\":\"msg_mock_%llu\",\"output_index\":%ld,"
                       "\"content_index\":0,\"part\":",
                   n, oi);
        resp_part(&j, q, 0);
        rs_ev(st, &st->pre, 0, &seq, "response.content_part.added", &j);
        /* the deltas: lazy, numbered from seq_base */
        st->seq = 1;
        st->seq_base = seq;
        st_tok_prefix(st, dtype);
        buf_printf(&st->tok_prefix, "{\"type\":\"%s\",\"sequence_number\":",
                   dtype);
        buf_printf(&st->tok_mid, ",\"item_id\":\"msg_mock_%llu\","
                                 "\"output_index\":%ld,\"content_index\":0,"
                                 "\"delta\":\"",
                   n, oi);
        buf_adds(&st->tok_suffix, "\"}");
        st_tok_suffix_end(st);
        seq += rp->ntok;
        buf_clear(&j);
        buf_printf(&j, ",\"item_id\":\"msg_mock_%llu\",\"output_index\":%ld,"
                       "\"content_index\":0,\"%s\":\"",
                   n, oi, q->refusal ? "refusal" : "text");
        reply_json_esc(&j, rp);
        buf_addc(&j, '"');
        rs_ev(st, &st->post, 0, &seq, ttype, &j);
        buf_clear(&j);
        buf_printf(&j, ",\"item_id\":\"msg_mock_%llu\",\"output_index\":%ld,"
                       "\"content_index\":0,\"part\":",
                   n, oi);
        resp_part(&j, q, 1);
        rs_ev(st, &st->post, 0, &seq, "response.content_part.done", &j);
        buf_clear(&j);
        buf_printf(&j, ",\"output_index\":%ld,\"item\":", oi);
        resp_msg_item(&j, q, 1);
        rs_ev(st, &st->post, 0, &seq, "response.output_item.done", &j);
    }
    buf_clear(&j);
    buf_adds(&j, ",\"response\":");
    resp_obj(&j, q, RST_DONE);
    rs_ev(st, &st->post, 0, &seq,
          resp_incomplete(q) ? "response.incomplete" : "response.completed",
          &j);
    if (q->ntools == 0) {
        st->reply = *rp; /* the stream owns the text now */
        rp->text = NULL;
        st->lazy_n = st->reply.ntok;
    }

    /* Faults: SEQ_MARK becomes the event's sequence number. */
    buf_clear(&j);
    buf_adds(&j, "{\"type\":\"error\",\"code\":");
    buf_json_str(&j, etype, strlen(etype));
    buf_adds(&j, ",\"message\":");
    stream_err_msg(x, &j, "mock stream error");
    buf_adds(&j, ",\"param\":null,\"sequence_number\":");
    buf_addc(&j, SEQ_MARK);
    buf_addc(&j, '}');
    st_format(st, &st->err, "error", j.p, j.len);
    st_format(st, &st->errev, "error", j.p, j.len);
    buf_clear(&j);
    buf_adds(&j, "{\"type\":\"response.failed\",\"sequence_number\":");
    buf_addc(&j, SEQ_MARK);
    buf_adds(&j, ",\"response\":");
    resp_obj(&j, q, RST_FAILED);
    buf_addc(&j, '}');
    st_format(st, &st->fail, "response.failed", j.p, j.len);

    buf_free(&j);
    buf_free(&a);
    stream_begin(x, st, "text/event-stream");
}

static void h_responses(ctx_t *x)
{
    request_t *r = x->r;
    jnode_t *root = json_parse(r->body.p, r->body.len);
    const char *auth = hdr(r, "authorization");
    const jnode_t *input, *tools, *fmt;
    rinfo_t ri;
    rctx_t q;
    reply_t rp;
    char *clean = NULL;
    size_t clean_len = 0;
    long max_tok = -1;
    int json_mode;

    memset(&rp, 0, sizeof rp);
    memset(&q, 0, sizeof q);
    resp_extract(root, &ri);
    S.last_images = ri.images;
    ctx_directives(x, ri.user, ri.user_len);
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
    q.model = jget(root, "model");
    if (!q.model || q.model->type != J_STR || q.model->len == 0) {
        send_error(x, 400, "mock: invalid request: model must be a non-empty "
                           "string", NULL);
        goto out;
    }
    input = jget(root, "input");
    if (!input || (input->type != J_STR && input->type != J_ARR)) {
        send_error(x, 400, "mock: invalid request: input must be a string or "
                           "an array of input items", NULL);
        goto out;
    }
    if (input->type == J_ARR && !input->child) {
        send_error(x, 400, "mock: invalid request: input must not be empty",
                   NULL);
        goto out;
    }
    if (ri.err[0]) {
        send_error(x, 400, ri.err, NULL);
        goto out;
    }
    tools = jget(root, "tools");
    if (tools && tools->type != J_ARR && tools->type != J_NULL) {
        send_error(x, 400, "mock: invalid request: tools must be an array",
                   NULL);
        goto out;
    }
    if (jget_posint(root, "max_output_tokens", &max_tok) < 0) {
        send_error(x, 400, "mock: invalid request: max_output_tokens must be "
                           "an integer >= 1", NULL);
        goto out;
    }
    fmt = jget(jget(jget(root, "text"), "format"), "type");
    json_mode = x->d.json == 1 ||
                (jstr(fmt) && (!strcmp(fmt->str, "json_schema") ||
                               !strcmp(fmt->str, "json_object")));
    clean = strip_directive(ri.user, ri.user_len, &clean_len);
    q.x = x;
    q.root = root;
    q.refusal = x->d.refusal == 1;
    q.ntools = q.refusal ? 0 : clamp_tools(x->d.tools);
    q.reasoning = jget(root, "reasoning") &&
                  jget(root, "reasoning")->type != J_NULL;
    q.I = ri.prompt_words;
    if (q.refusal)
        make_reply_str(&rp, REFUSAL_TEXT, strlen(REFUSAL_TEXT), max_tok);
    else
        make_reply(&rp, &x->d, clean, clean_len, json_mode, max_tok);
    q.rp = &rp;
    if (jtrue(jget(root, "stream")) && !x->force_nonstream) {
        resp_stream(&q, &rp);
    } else {
        buf_t b = {0};
        resp_obj(&b, &q, RST_DONE);
        send_json(x, 200, &b);
        buf_free(&b);
    }
out:
    free(rp.text);
    free(clean);
    free(ri.user);
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
    int refusal = x->d.refusal == 1;
    long ntools = refusal ? 0 : clamp_tools(x->d.tools), i, C = 0;
    int ti = x->d.thinking == 1 ? 1 : 0; /* index of the first text/tool block */
    const char *stop;
    const char *etype = x->d.error_type[0] ? x->d.error_type : "overloaded_error";

    buf_printf(&j, "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_mock_"
                   "%llu\",\"type\":\"message\",\"role\":\"assistant\","
                   "\"model\":",
               x->c->n);
    buf_json_str(&j, model->str, model->len);
    buf_printf(&j, ",\"content\":[],\"stop_reason\":null,\"stop_sequence\":"
                   "null,\"usage\":{\"input_tokens\":%lld,\"output_tokens\":"
                   "%lld}}}",
               unum(x, ci->prompt_words), unum(x, 1));
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
        stop = st->reply.cut ? "max_tokens"
                             : (refusal ? "refusal" : "end_turn");
        buf_clear(&j);
        buf_printf(&j, "{\"type\":\"content_block_stop\",\"index\":%d}", ti);
        st_add(st, &st->post, 0, "content_block_stop", &j);
    }
    buf_clear(&j);
    buf_printf(&j, "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
                   "\"%s\",\"stop_sequence\":null},\"usage\":{"
                   "\"output_tokens\":%lld}}",
               stop, unum(x, C));
    st_add(st, &st->post, 0, "message_delta", &j);
    st_add_s(st, &st->post, "message_stop", "{\"type\":\"message_stop\"}");

    buf_clear(&j);
    buf_adds(&j, "{\"type\":\"error\",\"error\":{\"type\":");
    buf_json_str(&j, etype, strlen(etype));
    buf_adds(&j, ",\"message\":");
    stream_err_msg(x, &j, "Overloaded");
    buf_adds(&j, "}}");
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
    int refusal = x->d.refusal == 1;
    long ntools = refusal ? 0 : clamp_tools(x->d.tools), i, C;
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
        stop = rp->cut ? "max_tokens" : (refusal ? "refusal" : "end_turn");
    }
    buf_printf(&b, "],\"stop_reason\":\"%s\",\"stop_sequence\":null,\"usage\":"
                   "{\"input_tokens\":%lld,\"output_tokens\":%lld}}",
               stop, unum(x, ci->prompt_words), unum(x, C));
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
    char *clean = NULL, imgerr[300];
    size_t clean_len = 0;
    long max_tok = -1;
    int idx, json_mode;

    memset(&rp, 0, sizeof rp);
    imgerr[0] = '\0';
    chat_extract(root, &ci);
    S.last_images = an_count_images(root, imgerr, sizeof imgerr);
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
    if (imgerr[0]) {
        send_error(x, 400, imgerr, NULL);
        goto out;
    }
    if (jget(root, "tools") && jget(root, "tools")->type != J_ARR) {
        send_error(x, 400, "mock: invalid request: tools must be an array",
                   NULL);
        goto out;
    }
    json_mode = x->d.json == 1;
    clean = strip_directive(ci.user, ci.user_len, &clean_len);
    if (x->d.refusal == 1)
        make_reply_str(&rp, REFUSAL_TEXT, strlen(REFUSAL_TEXT), max_tok);
    else
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
                     long long P, long long C)
{
    buf_adds(b, "{\"model\":");
    buf_json_str(b, model, mlen);
    buf_adds(b, ",\"created_at\":\"" OLLAMA_TS "\",\"message\":{\"role\":"
                "\"assistant\",\"content\":");
    buf_adds(b, content_json);
    if (ntools > 0)
        ol_tool_calls(b, ntools);
    buf_printf(b, "},\"done\":true,\"done_reason\":\"%s\",\"total_duration\":"
                  "1000,\"load_duration\":0,\"prompt_eval_count\":%lld,"
                  "\"eval_count\":%lld}",
               reason_s, P, C);
}

static void h_ollama_chat(ctx_t *x)
{
    request_t *r = x->r;
    jnode_t *root = json_parse(r->body.p, r->body.len);
    const jnode_t *model, *msgs, *sn;
    chatinfo_t ci;
    reply_t rp;
    char *clean = NULL, imgerr[300];
    size_t clean_len = 0;
    long max_tok = -1, ntools;
    int stream;
    buf_t b = {0}, j = {0};

    memset(&rp, 0, sizeof rp);
    imgerr[0] = '\0';
    chat_extract(root, &ci);
    S.last_images = ol_count_images(root, imgerr, sizeof imgerr);
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
    if (imgerr[0]) {
        send_error(x, 400, imgerr, NULL);
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
                 st->reply.cut ? "length" : "stop", unum(x, ci.prompt_words),
                 unum(x, C));
        st_add(st, &st->post, 0, NULL, &j);
        buf_clear(&j);
        buf_adds(&j, "{\"error\":");
        stream_err_msg(x, &j, "mock ollama error");
        buf_adds(&j, "}");
        st_format(st, &st->err, NULL, j.p, j.len);
        st_format(st, &st->errev, NULL, j.p, j.len);
        stream_begin(x, st, "application/x-ndjson");
    } else {
        buf_addc(&j, '"');
        reply_json_esc(&j, &rp);
        buf_addc(&j, '"');
        ol_final(&b, model->str, model->len, j.p, ntools,
                 rp.cut ? "length" : "stop", unum(x, ci.prompt_words),
                 unum(x, ntools > 0 ? 1 : rp.ntok));
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
    if (x->d.long_vector >= 0) {
        /* One vector of long_vector values 0.5, generated lazily. */
        gen_t *g = xcalloc(1, sizeof *g);
        g->shape = G_VECTOR;
        g->count = (unsigned long long)x->d.long_vector;
        if (ollama) {
            buf_adds(&g->head, "{\"model\":");
            buf_json_str(&g->head, model->str, model->len);
            buf_adds(&g->head, ",\"embeddings\":[[");
            buf_printf(&g->tail, "]],\"total_duration\":1000,\"load_duration"
                                 "\":0,\"prompt_eval_count\":%lld}",
                       unum(x, P));
        } else {
            buf_adds(&g->head, "{\"object\":\"list\",\"data\":[{\"object\":"
                               "\"embedding\",\"index\":0,\"embedding\":[");
            buf_adds(&g->tail, "]}],\"model\":");
            buf_json_str(&g->tail, model->str, model->len);
            buf_printf(&g->tail, ",\"usage\":{\"prompt_tokens\":%lld,"
                                 "\"total_tokens\":%lld}}",
                       unum(x, P), unum(x, P));
        }
        gen_total(g);
        send_gen(x, 200, g);
        goto out;
    }
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
                       "\"prompt_eval_count\":%lld}",
                   unum(x, P));
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
        buf_printf(&b, ",\"usage\":{\"prompt_tokens\":%lld,\"total_tokens\":"
                       "%lld}}",
                   unum(x, P), unum(x, P));
    }
    send_json(x, 200, &b);
out:
    buf_free(&b);
    free(items);
    json_free(root);
}

/* ------------------------------------------------------------------------ */
/* Audio: speech, transcriptions, translations                              */
/* ------------------------------------------------------------------------ */

#define MAX_AUDIO_BYTES 100000000LL

/* Produces the next pieces of a speech body (chunked). */
static int produce_bytes(conn_t *c, int64_t now)
{
    abytes_t *a = c->ab;
    size_t start = c->out.len;
    while (c->out.len - start < OUT_BATCH) {
        size_t k, i;
        char *dst;
        if (a->piece_left == 0) {
            unsigned long long n;
            if (a->pos >= a->limit)
                break;
            if (now < a->next_at) {
                if (c->out.len > start)
                    break; /* send what is there, then wait */
                c->wake_at = a->next_at;
                return P_WAIT;
            }
            n = a->limit - a->pos < a->piece ? a->limit - a->pos : a->piece;
            buf_printf(&c->out, "%llx\r\n", n);
            a->piece_left = n;
        }
        k = a->piece_left < OUT_BATCH ? (size_t)a->piece_left : OUT_BATCH;
        buf_reserve(&c->out, k);
        dst = c->out.p + c->out.len;
        for (i = 0; i < k; i++)
            dst[i] = (char)(unsigned char)(((a->pos + i) * 7u + a->h) & 0xffu);
        c->out.len += k;
        c->out.p[c->out.len] = '\0';
        a->pos += k;
        a->piece_left -= k;
        if (a->piece_left == 0) {
            buf_adds(&c->out, "\r\n");
            if (a->pace > 0)
                a->next_at = now + a->pace;
        }
    }
    if (c->out.len > start)
        return P_MORE;
    if (!a->ended) {
        a->ended = 1;
        if (c->end_action != END_RESET) {
            buf_adds(&c->out, "0\r\n\r\n");
            return P_MORE;
        }
    }
    return P_FINISHED;
}

static void h_speech(ctx_t *x)
{
    static const struct {
        const char *fmt, *ctype;
    } fmts[] = {{"mp3", "audio/mpeg"}, {"opus", "audio/ogg"},
                {"aac", "audio/aac"},  {"flac", "audio/flac"},
                {"wav", "audio/wav"},  {"pcm", "audio/pcm"}};
    static const char *const required[] = {"model", "input", "voice"};
    request_t *r = x->r;
    jnode_t *root = json_parse(r->body.p, r->body.len);
    const jnode_t *input = jget(root, "input"), *rf, *speed, *ins;
    const char *auth = hdr(r, "authorization"), *ctype = NULL;
    conn_t *c = x->c;
    abytes_t *a;
    size_t i;
    long long n;

    ctx_directives(x, jstr(input), input && input->type == J_STR ? input->len
                                                                 : 0);
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
    for (i = 0; i < sizeof required / sizeof required[0]; i++) {
        const jnode_t *f = jget(root, required[i]);
        if (!f || f->type != J_STR || f->len == 0) {
            char msg[100];
            snprintf(msg, sizeof msg, "mock: invalid request: %s must be a "
                                      "non-empty string", required[i]);
            send_error(x, 400, msg, NULL);
            goto out;
        }
    }
    rf = jget(root, "response_format");
    if (!rf || rf->type == J_NULL)
        ctype = fmts[0].ctype;
    for (i = 0; !ctype && jstr(rf) && i < sizeof fmts / sizeof fmts[0]; i++)
        if (!strcmp(rf->str, fmts[i].fmt))
            ctype = fmts[i].ctype;
    if (!ctype) {
        send_error(x, 400, "mock: invalid request: response_format must be "
                           "one of mp3, opus, aac, flac, wav, pcm", NULL);
        goto out;
    }
    speed = jget(root, "speed");
    if (speed && speed->type != J_NULL &&
        (speed->type != J_NUM || speed->num < 0.25 || speed->num > 4.0)) {
        send_error(x, 400, "mock: invalid request: speed must be a number in "
                           "0.25..4.0", NULL);
        goto out;
    }
    ins = jget(root, "instructions");
    if (ins && ins->type != J_NULL && ins->type != J_STR) {
        send_error(x, 400, "mock: invalid request: instructions must be a "
                           "string", NULL);
        goto out;
    }
    n = x->d.audio_bytes >= 0 ? (long long)x->d.audio_bytes
                              : 1000LL * (long long)input->len;
    if (n > MAX_AUDIO_BYTES)
        n = MAX_AUDIO_BYTES;
    a = xcalloc(1, sizeof *a);
    a->h = fnv1a(input->str, input->len);
    a->total = a->limit = (unsigned long long)n;
    a->piece = x->d.chunk_bytes > 0 ? (unsigned long long)x->d.chunk_bytes
                                     : 4096;
    a->pace = x->faulty && x->d.fault == F_DRIP ? 0 : x->d.pace;
    free(c->ab);
    c->ab = a;
    c->kind = K_BYTES;
    c->end_action = END_DONE;
    if (x->faulty && x->d.fault == F_TRUNCATED) {
        a->limit = a->total / 2;
    } else if (x->faulty && x->d.fault == F_RESET_BODY) {
        a->limit = a->total / 2;
        c->end_action = END_RESET;
    }
    write_head(x, 200, ctype, -1);
    finish_setup(x, 200, 0);
out:
    json_free(root);
}

/* "hh:mm:ss<sep>mmm" of a millisecond count. */
static void fmt_ts(buf_t *b, unsigned long long ms, char sep)
{
    buf_printf(b, "%02llu:%02llu:%02llu%c%03llu", ms / 3600000,
               ms / 60000 % 60, ms / 1000 % 60, sep, ms % 1000);
}

/* n / 32000.0 printed exactly (1/32000 = 0.00003125): "0.03125", "2.0". */
static void fmt_duration(buf_t *b, unsigned long long n)
{
    char frac[16];
    size_t k;
    snprintf(frac, sizeof frac, "%08llu", n % 32000 * 3125);
    k = strlen(frac);
    while (k > 1 && frac[k - 1] == '0')
        k--;
    frac[k] = '\0';
    buf_printf(b, "%llu.%s", n / 32000, frac);
}

static void h_audio_text(ctx_t *x, int translate)
{
    static const char *const formats[] = {"json", "text", "verbose_json",
                                          "srt", "vtt"};
    request_t *r = x->r;
    const mform_t *f = &x->form;
    const mpart_t *file = NULL, *model = NULL, *prompt = NULL, *rf = NULL;
    const mpart_t *lang = NULL;
    const char *auth = hdr(r, "authorization");
    const char *fmt = "json";
    buf_t t = {0}, b = {0};
    size_t i;
    long words;
    unsigned long long nbytes, ms;

    if (x->form_state > 0) {
        file = mform_file(f);
        model = mform_field(f, "model");
        prompt = mform_field(f, "prompt");
        rf = mform_field(f, "response_format");
        lang = mform_field(f, "language");
    }
    ctx_directives(x, prompt ? prompt->data : NULL, prompt ? prompt->len : 0);
    if (apply_failure(x))
        goto out;
    if (auth && !strcmp(auth, "Bearer bad-key")) {
        send_error(x, 401, "mock: incorrect API key provided", NULL);
        goto out;
    }
    if (x->form_state == 0) {
        send_error(x, 400, "mock: invalid request: the body must be "
                           "multipart/form-data (Content-Type with a "
                           "boundary)", NULL);
        goto out;
    }
    if (x->form_state < 0) {
        buf_printf(&t, "mock: invalid request: malformed multipart body: %s",
                   f->err);
        send_error(x, 400, t.p, NULL);
        goto out;
    }
    if (!file || !file->filename) {
        send_error(x, 400, "mock: invalid request: file is required (a form "
                           "part named \"file\" with a filename)", NULL);
        goto out;
    }
    if (!model || model->len == 0) {
        send_error(x, 400, "mock: invalid request: model is required", NULL);
        goto out;
    }
    if (rf) {
        fmt = NULL;
        for (i = 0; i < sizeof formats / sizeof formats[0]; i++)
            if (rf->len == strlen(formats[i]) &&
                !memcmp(rf->data, formats[i], rf->len))
                fmt = formats[i];
        if (!fmt) {
            send_error(x, 400, "mock: invalid request: response_format must "
                               "be one of json, text, verbose_json, srt, vtt",
                       NULL);
            goto out;
        }
    }
    /* T; filename bytes that are not valid UTF-8 become '?' */
    nbytes = file->len;
    buf_printf(&t, "%s of %llu bytes from ",
               translate ? "translation" : "transcript", nbytes);
    {
        const char *fn = file->filename;
        size_t fl = strlen(fn), k;
        for (i = 0; i < fl; i += k) {
            k = utf8_len((const unsigned char *)fn + i, fl - i);
            if (k)
                buf_add(&t, fn + i, k);
            else
                buf_addc(&t, '?');
            if (!k)
                k = 1;
        }
    }
    buf_printf(&t, " (%08x)", (unsigned)fnv1a(file->data, file->len));
    words = count_words(t.p, t.len);
    ms = (nbytes + 16) / 32; /* n / 32000 s, rounded to the millisecond */

    if (!translate && mfield_is(mform_field(f, "stream"), "true") &&
        !x->force_nonstream) {
        stream_t *st = stream_new(x, 1);
        buf_t j = {0};
        st_tok_prefix(st, NULL);
        buf_adds(&st->tok_prefix, "{\"type\":\"transcript.text.delta\","
                                  "\"delta\":\"");
        buf_adds(&st->tok_suffix, "\"}");
        st_tok_suffix_end(st);
        make_reply_str(&st->reply, t.p, t.len, -1);
        st->lazy_n = st->reply.ntok;
        buf_adds(&j, "{\"type\":\"transcript.text.done\",\"text\":");
        buf_json_str(&j, t.p, t.len);
        buf_printf(&j, ",\"usage\":{\"type\":\"tokens\",\"input_tokens\":%lld,"
                       "\"output_tokens\":%lld,\"total_tokens\":%lld}}",
                   unum(x, (long)((nbytes + 99) / 100)), unum(x, words),
                   unum(x, (long)((nbytes + 99) / 100) + words));
        st_add(st, &st->post, 0, NULL, &j);
        buf_clear(&j);
        buf_adds(&j, "{\"error\":{\"message\":");
        stream_err_msg(x, &j, "mock stream error");
        buf_adds(&j, ",\"type\":");
        buf_json_str_or_null(&j, x->d.error_type[0] ? x->d.error_type
                                                    : "server_error");
        buf_adds(&j, ",\"code\":\"mock_error\"}}");
        st_format(st, &st->err, NULL, j.p, j.len);
        st_format(st, &st->errev, "error", j.p, j.len);
        buf_free(&j);
        stream_begin(x, st, "text/event-stream");
        goto out;
    }
    if (!strcmp(fmt, "text")) {
        send_static(x, 200, "text/plain; charset=utf-8", t.p, t.len);
    } else if (!strcmp(fmt, "srt") || !strcmp(fmt, "vtt")) {
        int vtt = fmt[0] == 'v';
        buf_adds(&b, vtt ? "WEBVTT\n\n" : "1\n");
        fmt_ts(&b, 0, vtt ? '.' : ',');
        buf_adds(&b, " --> ");
        fmt_ts(&b, ms, vtt ? '.' : ',');
        buf_addc(&b, '\n');
        buf_addb(&b, &t);
        buf_adds(&b, "\n\n");
        send_static(x, 200, "text/plain; charset=utf-8", b.p, b.len);
    } else if (!strcmp(fmt, "verbose_json")) {
        buf_printf(&b, "{\"task\":\"%s\",\"language\":",
                   translate ? "translate" : "transcribe");
        if (lang && lang->len) {
            buf_addc(&b, '"');
            buf_json_esc_bin(&b, lang->data, lang->len);
            buf_addc(&b, '"');
        } else {
            buf_adds(&b, "\"english\"");
        }
        buf_adds(&b, ",\"duration\":");
        fmt_duration(&b, nbytes);
        buf_adds(&b, ",\"text\":");
        buf_json_str(&b, t.p, t.len);
        buf_adds(&b, ",\"segments\":[{\"id\":0,\"start\":0.0,\"end\":");
        fmt_duration(&b, nbytes);
        buf_adds(&b, ",\"text\":");
        buf_json_str(&b, t.p, t.len);
        buf_adds(&b, "}]}");
        send_json(x, 200, &b);
    } else {
        buf_adds(&b, "{\"text\":");
        buf_json_str(&b, t.p, t.len);
        if (!translate)
            buf_printf(&b, ",\"usage\":{\"type\":\"tokens\",\"input_tokens\":"
                           "%lld,\"output_tokens\":%lld,\"total_tokens\":"
                           "%lld}",
                       unum(x, (long)((nbytes + 99) / 100)), unum(x, words),
                       unum(x, (long)((nbytes + 99) / 100) + words));
        buf_addc(&b, '}');
        send_json(x, 200, &b);
    }
out:
    buf_free(&t);
    buf_free(&b);
}

/* ------------------------------------------------------------------------ */
/* Rerank (Cohere / Jina / OpenAI-compatible servers)                       */
/* ------------------------------------------------------------------------ */

typedef struct {
    long index;
    double score;
    const char *text;
    size_t len;
} rrdoc_t;

static int rr_cmp(const void *pa, const void *pb)
{
    const rrdoc_t *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a->index < b->index ? -1 : (a->index > b->index);
}

static int is_wordch(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
           c == '_' || c >= 0x80;
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Whether w occurs in d (ASCII case-insensitive) with no word character
 * right before or after it. */
static int word_in(const char *w, size_t wl, const char *d, size_t dl)
{
    size_t i, k;
    if (wl == 0 || wl > dl)
        return 0;
    for (i = 0; i + wl <= dl; i++) {
        for (k = 0; k < wl; k++)
            if (lower((unsigned char)d[i + k]) != lower((unsigned char)w[k]))
                break;
        if (k < wl)
            continue;
        if ((i == 0 || !is_wordch((unsigned char)d[i - 1])) &&
            (i + wl == dl || !is_wordch((unsigned char)d[i + wl])))
            return 1;
    }
    return 0;
}

static double rr_score(const char *q, size_t ql, const char *d, size_t dl)
{
    long words = 0, hits = 0;
    size_t i = 0;
    while (i < ql) {
        size_t s;
        while (i < ql && is_ws((unsigned char)q[i]))
            i++;
        if (i >= ql)
            break;
        s = i;
        while (i < ql && !is_ws((unsigned char)q[i]))
            i++;
        words++;
        hits += word_in(q + s, i - s, d, dl);
    }
    return (words ? (double)hits / (double)words : 0.0) +
           (double)(fnv1a(d, dl) % 1000u) / 1e6;
}

static void h_rerank(ctx_t *x)
{
    request_t *r = x->r;
    jnode_t *root = json_parse(r->body.p, r->body.len);
    const jnode_t *query, *docs, *it, *model;
    const char *auth = hdr(r, "authorization");
    rrdoc_t *v = NULL;
    size_t nd = 0, k;
    long top_n = -1, T;
    int bad = 0, ret;
    buf_t b = {0};

    ctx_directives(x, r->body.p, r->body.len);
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
    query = jget(root, "query");
    if (!query || query->type != J_STR ||
        count_words(query->str, query->len) == 0) {
        send_error(x, 400, "mock: invalid request: query must be a non-empty "
                           "string", NULL);
        goto out;
    }
    docs = jget(root, "documents");
    if (docs && docs->type == J_ARR)
        for (it = docs->child; it; it = it->next) {
            const jnode_t *t = it->type == J_STR ? it : jget(it, "text");
            if (!t || t->type != J_STR)
                bad = 1;
            nd++;
        }
    if (!docs || docs->type != J_ARR || nd == 0 || bad) {
        send_error(x, 400, "mock: invalid request: documents must be a "
                           "non-empty array of strings or of {\"text\":...} "
                           "objects", NULL);
        goto out;
    }
    if (jget_posint(root, "top_n", &top_n) < 0) {
        send_error(x, 400, "mock: invalid request: top_n must be an integer "
                           ">= 1", NULL);
        goto out;
    }
    ret = jtrue(jget(root, "return_documents"));
    v = xcalloc(nd, sizeof *v);
    T = count_words(query->str, query->len);
    for (it = docs->child, k = 0; it; it = it->next, k++) {
        const jnode_t *t = it->type == J_STR ? it : jget(it, "text");
        v[k].index = (long)k;
        v[k].text = t->str;
        v[k].len = t->len;
        v[k].score = rr_score(query->str, query->len, t->str, t->len);
        T += count_words(t->str, t->len);
    }
    qsort(v, nd, sizeof *v, rr_cmp);
    if (top_n > 0 && (size_t)top_n < nd)
        nd = (size_t)top_n;
    model = jget(root, "model");
    buf_printf(&b, "{\"id\":\"rerank-mock-%llu\",\"model\":", x->c->n);
    if (model && model->type == J_STR)
        buf_json_str(&b, model->str, model->len);
    else
        buf_adds(&b, "null");
    buf_adds(&b, ",\"results\":[");
    for (k = 0; k < nd; k++) {
        buf_printf(&b, "%s{\"index\":%ld,\"relevance_score\":%.6f",
                   k ? "," : "", v[k].index, v[k].score);
        if (ret) {
            buf_adds(&b, ",\"document\":{\"text\":");
            buf_json_str(&b, v[k].text, v[k].len);
            buf_addc(&b, '}');
        }
        buf_addc(&b, '}');
    }
    buf_printf(&b, "],\"usage\":{\"total_tokens\":%lld}}", unum(x, T));
    send_json(x, 200, &b);
out:
    free(v);
    buf_free(&b);
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
        buf_adds(&j, "{\"error\":{\"message\":");
        stream_err_msg(x, &j, "mock stream error");
        buf_adds(&j, ",\"type\":\"server_error\",\"code\":\"mock_error\"}}");
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
                   "%ld,\"inflight\":%ld,\"max_inflight\":%ld,\"tls_resumed\":%ld",
               S.requests, S.connections, S.open_conns, S.inflight,
               S.max_inflight, S.tls_resumed);
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
    buf_adds(&b, ",\"last_proxy_target\":");
    buf_json_str_or_null(&b, S.last_proxy);
    buf_printf(&b, ",\"proxied\":%ld", S.proxied);
    buf_printf(&b, ",\"rate_limited\":%ld,\"rate_max_window\":%ld", S.rate_limited, S.rl_max);
    buf_adds(&b, ",\"last_body\":");
    if (S.have_last && S.last_body_mp) {
        /* multipart: at most 64 KiB, bytes that are not UTF-8 as \u00XX */
        buf_addc(&b, '"');
        buf_json_esc_bin(&b, S.last_body.p, S.last_body.len < MP_SHOW_MAX
                                                ? S.last_body.len
                                                : MP_SHOW_MAX);
        buf_addc(&b, '"');
    } else if (S.have_last) {
        buf_json_str(&b, S.last_body.p ? S.last_body.p : "", S.last_body.len);
    } else {
        buf_adds(&b, "null");
    }
    buf_printf(&b, ",\"last_images\":%ld,\"last_multipart\":", S.last_images);
    if (S.last_mp.len)
        buf_addb(&b, &S.last_mp);
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
    S.tls_resumed = 0;
    S.proxied = 0;
    S.rate_limited = S.rl_count = S.rl_max = 0;
    S.rl_end = 0;
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
    else if (post && !strcmp(p, "/v1/responses"))
        h_responses(x);
    else if (post && !strcmp(p, "/v1/audio/speech"))
        h_speech(x);
    else if (post && !strcmp(p, "/v1/audio/transcriptions"))
        h_audio_text(x, 0);
    else if (post && !strcmp(p, "/v1/audio/translations"))
        h_audio_text(x, 1);
    else if (post && (!strcmp(p, "/v1/rerank") || !strcmp(p, "/rerank") ||
                      !strcmp(p, "/v2/rerank")))
        h_rerank(x);
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
        set_str(&S.last_proxy, r->proxy_target);
        if (r->proxy_target)
            S.proxied++;
        buf_clear(&S.last_body);
        buf_add(&S.last_body, r->body.p, r->body.len);
        S.have_last = 1;
        S.last_images = 0;
        buf_clear(&S.last_mp);
        S.last_body_mp = 0;
        if (is_multipart(hdr(r, "content-type"))) {
            S.last_body_mp = 1;
            if (mform_parse(&x.form, hdr(r, "content-type"), r->body.p,
                            r->body.len) == 0) {
                x.form_state = 1;
                mform_stats(&S.last_mp, &x.form);
            } else {
                x.form_state = -1;
            }
        }
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
    mform_free(&x.form);
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
    /* Absolute form (what a client sends to a plain HTTP proxy): route by
     * its path + query, remember the whole target. */
    if (!strncasecmp(r->target, "http://", 7) ||
        !strncasecmp(r->target, "https://", 8)) {
        char *host = strstr(r->target, "://") + 3;
        char *rest = host + strcspn(host, "/?");
        r->proxy_target = r->target;
        if (*rest == '/') {
            r->target = rest;
        } else { /* no path: "http://host" or "http://host?q" */
            size_t n = strlen(rest);
            r->origin = xmalloc(n + 2);
            r->origin[0] = '/';
            memcpy(r->origin + 1, rest, n + 1);
            r->target = r->origin;
        }
    }
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
    if (c->kind == K_GEN)
        return produce_gen(c);
    if (c->kind == K_BYTES)
        return produce_bytes(c, now);
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
    gen_free(c->gen);
    c->gen = NULL;
    free(c->ab);
    c->ab = NULL;
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
    free(S.last_proxy);
    buf_free(&S.last_body);
    buf_free(&S.last_mp);
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
