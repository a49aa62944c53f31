#!/usr/bin/env python3
"""Writes the hand-made seed corpora under fuzz/corpus/<harness>/.

The files are committed; run this only to regenerate them after changing a
seed here (python3 fuzz/seeds.py, from the repository root or anywhere).
Every seed is written by hand for this project in the shapes the APIs use;
none is copied from another project. Each harness reads one or two selector
bytes first (see the comment at the top of its .c file); they are prepended
here.
"""
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")

OPENAI, ANTHROPIC, OLLAMA = 0, 1, 2
OP_CHAT, OP_EMBED, OP_ERROR, OP_STREAM, OP_HTTP = 0, 1, 2, 3, 4
K_CHAT, K_EMBED, K_RAW = 0, 1, 2


def b(s):
    return s.encode("utf-8") if isinstance(s, str) else s


def write(harness, name, data):
    d = os.path.join(OUT, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ------------------------------------------------------------------ JSON --
# Byte 0: bit 0 trailing commas, bit 1 comments, bits 2..7 max_depth (0: default).
def jopt(trailing=False, comments=False, depth=0):
    return bytes([(1 if trailing else 0) | (2 if comments else 0) | (depth << 2)])


OPENAI_CHAT = (
    '{"id":"chatcmpl-9x1","object":"chat.completion","created":1730000000,"model":"gpt-4o-mini-2024-07-18",'
    '"choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help?","refusal":null},'
    '"logprobs":null,"finish_reason":"stop"}],'
    '"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19,'
    '"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}},'
    '"system_fingerprint":"fp_0ba0d124f1"}'
)
OPENAI_TOOLS = (
    '{"id":"chatcmpl-9x2","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,'
    '"message":{"role":"assistant","content":null,"tool_calls":['
    '{"id":"call_a1","type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\",\\"unit\\":\\"c\\"}"}},'
    '{"id":"call_b2","type":"function","function":{"name":"get_time","arguments":"{\\"tz\\":\\"Europe/Paris\\"}"}}]},'
    '"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":80,"completion_tokens":40,"total_tokens":120}}'
)
OPENAI_JSON_CONTENT = (
    '{"id":"chatcmpl-9x3","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant",'
    '"content":"```json\\n{\\"score\\": 4, \\"reasons\\": [\\"clear\\", \\"short\\"]}\\n```"},"finish_reason":"stop"}]}'
)
OPENAI_N2 = (
    '{"id":"chatcmpl-9x4","model":"m","choices":[{"index":1,"message":{"content":"second"},"finish_reason":"stop"},'
    '{"index":0,"message":{"content":"first","reasoning_content":"thinking..."},"finish_reason":"length"}]}'
)
ANTHROPIC_MSG = (
    '{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5",'
    '"content":[{"type":"thinking","thinking":"The user wants a greeting.","signature":"EqQBCgIYAhIM"},'
    '{"type":"text","text":"Hi there!"},'
    '{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather","input":{"location":"San Francisco, CA","days":[1,2]}}],'
    '"stop_reason":"tool_use","stop_sequence":null,'
    '"usage":{"input_tokens":2095,"output_tokens":503,"cache_read_input_tokens":1024,"cache_creation_input_tokens":0}}'
)
OLLAMA_CHAT = (
    '{"model":"llama3.2","created_at":"2024-11-21T15:00:00.000000Z","message":{"role":"assistant",'
    '"content":"The sky is blue because of Rayleigh scattering.","thinking":"short answer"},'
    '"done_reason":"stop","done":true,"total_duration":4883583458,"load_duration":1334875,'
    '"prompt_eval_count":26,"prompt_eval_duration":342546000,"eval_count":12,"eval_duration":4535599000}'
)
OLLAMA_TOOLS = (
    '{"model":"qwen3","message":{"role":"assistant","content":"","tool_calls":[{"function":'
    '{"name":"get_current_weather","arguments":{"format":"celsius","location":"Paris, FR"}}}]},"done":true,"done_reason":"stop"}'
)
OPENAI_EMBED = (
    '{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.0023064255,-0.009327292,0.015797347]},'
    '{"object":"embedding","index":1,"embedding":[-0.0012,0.25,1e-3]}],"model":"text-embedding-3-small",'
    '"usage":{"prompt_tokens":8,"total_tokens":8}}'
)
OPENAI_EMBED_B64 = (
    '{"object":"list","data":[{"object":"embedding","index":0,"embedding":"AAAAPwAAgL8="}],'
    '"model":"text-embedding-3-small","usage":{"prompt_tokens":2,"total_tokens":2}}'
)
OPENAI_EMBED_SWAPPED = (
    '{"object":"list","data":[{"index":1,"embedding":[1,2]},{"index":0,"embedding":[3,4]}],"model":"e"}'
)
OLLAMA_EMBED = (
    '{"model":"all-minilm","embeddings":[[0.010071029,-0.0017594862,0.05007221],[-0.0098131,0.0154,0.2]],'
    '"total_duration":14143917,"load_duration":1019500,"prompt_eval_count":8}'
)

ERR_OPENAI = ('{"error":{"message":"Rate limit reached for gpt-4o in organization org-x on tokens per min.",'
              '"type":"tokens","param":null,"code":"rate_limit_exceeded"}}')
ERR_OPENAI_KEY = ('{"error":{"message":"Incorrect API key provided: sk-fuzz-0123456789abcdef. You can find your API key '
                  'at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,'
                  '"code":"invalid_api_key"}}')
ERR_OPENAI_NUMCODE = '{"error":{"message":"Bad gateway.","type":"cf_bad_gateway","param":null,"code":502}}'
ERR_ANTHROPIC = ('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},'
                 '"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}')
ERR_ANTHROPIC_KEY = ('{"type":"error","error":{"type":"authentication_error",'
                     '"message":"invalid x-api-key ak-fuzz-fedcba9876543210"}}')
ERR_OLLAMA = '{"error":"model \\"llama9\\" not found, try pulling it first"}'
ERR_FASTAPI_STR = '{"detail":"Not Found"}'
ERR_FASTAPI_LIST = ('{"detail":[{"type":"missing","loc":["body","messages"],"msg":"Field required",'
                    '"input":{"model":"x"}}]}')
ERR_MESSAGE = '{"message":"Internal server error","statusCode":500}'
ERR_OTHER_JSON = '{"status":"error","reason":"' + "\u00e9t\u00e9 " * 10 + '"}'
ERR_HTML = ('<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n'
            '<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n')
ERR_HTML_NOTITLE = '<!DOCTYPE html><html><body><h1>Service Unavailable</h1>\n<p>The server is  busy.</p></body></html>'
ERR_TEXT = 'upstream connect error or disconnect/reset before headers. reset reason: overflow'

OPENAI_STREAM = (
    'data: {"id":"chatcmpl-s1","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o-mini",'
    '"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}\n\n'
    'data: {"id":"chatcmpl-s1","object":"chat.completion.chunk","model":"gpt-4o-mini",'
    '"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}],"usage":null}\n\n'
    'data: {"id":"chatcmpl-s1","object":"chat.completion.chunk","model":"gpt-4o-mini",'
    '"choices":[{"index":0,"delta":{"content":"lo \\u00e9\\ud83d\\ude00"},"finish_reason":null}],"usage":null}\n\n'
    'data: {"id":"chatcmpl-s1","object":"chat.completion.chunk","model":"gpt-4o-mini",'
    '"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}\n\n'
    'data: {"id":"chatcmpl-s1","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[],'
    '"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":0},'
    '"completion_tokens_details":{"reasoning_tokens":0}}}\n\n'
    'data: [DONE]\n\n'
)
OPENAI_STREAM_TOOLS = (
    'data: {"id":"c2","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,'
    '"id":"call_x","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}\n\n'
    'data: {"id":"c2","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"ci"}}]}}]}\n\n'
    'data: {"id":"c2","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\\": \\"Oslo\\"}"}}]}}]}\n\n'
    'data: {"id":"c2","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_y","type":"function",'
    '"function":{"name":"get_time","arguments":"{}"}}]}}]}\n\n'
    'data: {"id":"c2","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}\n\n'
    'data: [DONE]\n\n'
)
OPENAI_STREAM_REASONING = (
    ': OPENROUTER PROCESSING\r\n\r\n'
    'data: {"id":"c3","model":"deepseek-r1","choices":[{"index":0,"delta":{"reasoning_content":"Let me think"}}]}\r\n\r\n'
    'data: {"id":"c3","choices":[{"index":0,"delta":{"reasoning":" more."}}]}\r\n\r\n'
    'data: {"id":"c3","choices":[{"index":0,"delta":{"content":"42"},"finish_reason":"stop"}]}\r\n\r\n'
    'data: [DONE]\r\n\r\n'
)
OPENAI_STREAM_ERROR = (
    'data: {"choices":[{"index":0,"delta":{"content":"par"}}]}\n\n'
    'data: {"error":{"message":"The server had an error while processing your request.","type":"server_error","code":null}}\n\n'
)
OPENAI_STREAM_ERROR_EVENT = 'event: error\ndata: {"message":"upstream timeout","type":"rate_limit_exceeded"}\n\n'

ANTHROPIC_STREAM = (
    'event: message_start\n'
    'data: {"type":"message_start","message":{"id":"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY","type":"message","role":"assistant",'
    '"content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}\n\n'
    'event: content_block_start\n'
    'data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}\n\n'
    'event: content_block_delta\n'
    'data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Weather tool needed."}}\n\n'
    'event: content_block_delta\n'
    'data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3h"}}\n\n'
    'event: content_block_stop\n'
    'data: {"type":"content_block_stop","index":0}\n\n'
    'event: ping\n'
    'data: {"type": "ping"}\n\n'
    'event: content_block_start\n'
    'data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}\n\n'
    'event: content_block_delta\n'
    'data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Let me check"}}\n\n'
    'event: content_block_delta\n'
    'data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":" the weather."}}\n\n'
    'event: content_block_stop\n'
    'data: {"type":"content_block_stop","index":1}\n\n'
    'event: content_block_start\n'
    'data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}\n\n'
    'event: content_block_delta\n'
    'data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}}\n\n'
    'event: content_block_delta\n'
    'data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\\"location\\": \\"San Fra"}}\n\n'
    'event: content_block_delta\n'
    'data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"ncisco, CA\\"}"}}\n\n'
    'event: content_block_stop\n'
    'data: {"type":"content_block_stop","index":2}\n\n'
    'event: message_delta\n'
    'data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}\n\n'
    'event: message_stop\n'
    'data: {"type":"message_stop"}\n\n'
)
ANTHROPIC_STREAM_ERROR = (
    'event: message_start\n'
    'data: {"type":"message_start","message":{"id":"msg_2","model":"claude-haiku-4-5","usage":{"input_tokens":3,"output_tokens":0}}}\n\n'
    'event: ping\ndata: {"type":"ping"}\n\n'
    'event: error\n'
    'data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
)
ANTHROPIC_STREAM_SERVER_TOOL = (
    'event: message_start\n'
    'data: {"type":"message_start","message":{"id":"msg_3","model":"claude-sonnet-4-5","usage":{"input_tokens":9,"output_tokens":1}}}\n\n'
    'event: content_block_start\n'
    'data: {"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"srvtoolu_014hJH82Qum7Td6UV8gDXThB","name":"web_search","input":{}}}\n\n'
    'event: content_block_delta\n'
    'data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\\"query\\": \\"weather NYC\\"}"}}\n\n'
    'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
    'event: content_block_start\n'
    'data: {"type":"content_block_start","index":1,"content_block":{"type":"web_search_tool_result","tool_use_id":"srvtoolu_014hJH82Qum7Td6UV8gDXThB","content":[{"type":"web_search_result","title":"Weather","url":"https://example.com/nyc"}]}}\n\n'
    'event: content_block_stop\ndata: {"type":"content_block_stop","index":1}\n\n'
    'event: content_block_start\n'
    'data: {"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}}\n\n'
    'event: content_block_delta\n'
    'data: {"type":"content_block_delta","index":2,"delta":{"type":"citations_delta","citation":{"type":"web_search_result_location","url":"https://example.com/nyc"}}}\n\n'
    'event: content_block_delta\n'
    'data: {"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"Sunny, 21\u00b0C."}}\n\n'
    'event: message_delta\n'
    'data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":40,"server_tool_use":{"web_search_requests":1}}}\n\n'
    'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)
OPENAI_EMPTY_ARGS = (
    '{"id":"chatcmpl-9x5","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":null,'
    '"tool_calls":[{"id":"call_e","type":"function","function":{"name":"list_files","arguments":""}}]},'
    '"finish_reason":"tool_calls"}]}'
)
OLLAMA_STREAM = (
    '{"model":"llama3.2","created_at":"2024-11-21T15:00:00.1Z","message":{"role":"assistant","content":"The"},"done":false}\n'
    '{"model":"llama3.2","created_at":"2024-11-21T15:00:00.2Z","message":{"role":"assistant","content":" sky"},"done":false}\n'
    '\n'
    '{"model":"llama3.2","created_at":"2024-11-21T15:00:00.3Z","message":{"role":"assistant","content":" is blue."},"done":false}\r\n'
    '{"model":"llama3.2","created_at":"2024-11-21T15:00:00.4Z","message":{"role":"assistant","content":""},"done":true,'
    '"done_reason":"stop","total_duration":3129000000,"prompt_eval_count":26,"eval_count":290,"eval_duration":2920000000}\n'
)
OLLAMA_STREAM_TOOLS = (
    '{"model":"qwen3","message":{"role":"assistant","content":"","thinking":"need weather"},"done":false}\n'
    '{"model":"qwen3","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather",'
    '"arguments":{"city":"Toronto"}}}]},"done":false}\n'
    '{"model":"qwen3","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"}'
)
OLLAMA_STREAM_ERROR = (
    '{"model":"llama3.2","message":{"role":"assistant","content":"Hi"},"done":false}\n'
    '{"error":"an error was encountered while running the model: unexpected EOF"}\n'
)


def json_seeds(h):
    docs = {
        "openai_chat": OPENAI_CHAT,
        "openai_tools": OPENAI_TOOLS,
        "openai_json_content": OPENAI_JSON_CONTENT,
        "anthropic_message": ANTHROPIC_MSG,
        "ollama_chat": OLLAMA_CHAT,
        "ollama_tools": OLLAMA_TOOLS,
        "openai_embed": OPENAI_EMBED,
        "ollama_embed": OLLAMA_EMBED,
        "error_openai": ERR_OPENAI,
        "error_anthropic": ERR_ANTHROPIC,
        "error_fastapi": ERR_FASTAPI_LIST,
        "numbers": '[0,-0,1,-1,0.5,-0.0,1e2,1E+2,1e-2,2.5e-308,1.7976931348623157e308,1e309,-1e400,'
                   '9007199254740993,123456789012345678901234567890,-9223372036854775808,9223372036854775807,'
                   '9223372036854775808,-9223372036854775809,1.0e1,100e-2,0.000001,4.9e-324,12.5e1]',
        "strings": '["", "a\\"b\\\\c\\/d\\b\\f\\n\\r\\t", "\\u0041\\u00e9\\u4f60\\ud83d\\ude00", "nul\\u0000in", '
                   '"\u00e9\u4f60\U0001F600", "\\uDBFF\\uDFFF", "\\u007f\\u0080\\u07ff\\u0800\\uffff"]',
        "keys": '{"a":1,"a":2,"":3,"a.b":4,"x":{"y":[10,{"z":true}]},"\\u0000k":5,"0":6,"01":[null,false]}',
        "literals": ' \t\r\n[true , false , null ] \n',
        "empty_containers": '{"a":[],"b":{},"c":[[]],"d":[{}]}',
        "scalar_string": '"just a string"',
        "scalar_number": '-12.5e-3',
    }
    for name, d in docs.items():
        write(h, name, jopt() + b(d))
    write(h, "lax_comments_trailing", jopt(True, True) + b(
        '// a comment\n{ /* block */ "a": [1, 2, 3,], "b": {"c": "d",}, // end\n}\n'))
    write(h, "lax_trailing_only", jopt(True) + b('[[1,],{"k":[],},]'))
    write(h, "lax_comment_only", jopt(False, True) + b('/**/ [ /* x */ 1 // y\n ] /* z */'))
    write(h, "deep_ok", jopt(depth=10) + b("[" * 10 + "]" * 10))
    write(h, "deep_over", jopt(depth=10) + b("[" * 11 + "]" * 11))
    write(h, "deep_objects", jopt(depth=61) + b('{"a":' * 40 + "0" + "}" * 40))
    write(h, "deep_limit", bytes([63 << 2]) + b("[" * 300 + "]" * 300))
    write(h, "bad_trailing_comma", jopt() + b("[1,]"))
    write(h, "bad_lone_surrogate", jopt() + b('["\\ud800"]'))
    write(h, "bad_utf8", jopt() + b'["\xc3\x28", "\xed\xa0\x80"]')
    write(h, "bad_number", jopt() + b("[01, 1., .5, -, 1e]"))
    write(h, "bad_unterminated", jopt(True, True) + b('{"a": "b'))
    write(h, "bad_comment_unterminated", jopt(False, True) + b('[1] /* open'))
    write(h, "bad_garbage", jopt() + b('{"a":1} x'))
    write(h, "bad_control_char", jopt() + b'["a\x01b"]')
    if h == "fuzz_json_partial":  # structured output as it streams
        write(h, "npc_line", jopt() + b('{"say": "Well met, \\"traveller\\" \\u2014 caf\u00e9 \\ud83d\\ude00", '
                                      '"emotion": "wary", "action": "points north", "hp": 12, "tags": ["a", 1.5e3, null]}'))
        write(h, "tool_args", jopt() + b('{"city":"Paris","days":[1,2,3],"units":{"temp":"C","wind":false}}'))
        write(h, "fenced_comments", jopt(True, True) + b('{ // who\n "say": "hi", /* how */ "mood": [1,], }'))


# ------------------------------------------------------------- SSE / NDJSON --
# Byte 0 seeds the read cutter (style = b & 3); byte 1: bits 0..5 small limit - 1, bits 6..7 stop after.
def sopt(seed, limit=64, stop=0):
    return bytes([seed & 255, ((limit - 1) & 63) | (stop << 6)])


def sse_seeds():
    h = "fuzz_sse"
    streams = {
        "openai_stream": OPENAI_STREAM,
        "openai_tools": OPENAI_STREAM_TOOLS,
        "openai_reasoning_crlf": OPENAI_STREAM_REASONING,
        "anthropic_stream": ANTHROPIC_STREAM,
        "anthropic_error": ANTHROPIC_STREAM_ERROR,
        "fields": 'id: 42\nretry: 1500\nevent: update\ndata: first\ndata: second\n\n'
                  'id\nretry: 12a\nfoo: bar\ndata:no-space\ndata:  two spaces\n\n: comment\n\ndata\n\n',
        "cr_only": 'data: a\rdata: b\r\revent: x\rdata: c\r\r',
        "mixed_endings": 'data: a\r\n\r\ndata: b\n\r\ndata: c\r\r\n',
        "bom": '\ufeffdata: after bom\n\n',
        "half_bom": b'\xef\xbbdata: x\n\n',
        "bom_twice": '\ufeff\ufeffdata: y\n\n',
        "unterminated": 'data: never dispatched\n',
        "event_without_data": 'event: only\n\nevent: ping\ndata: {}\n\n',
        "id_with_nul": b'id: ok\n\nid: bad\x00id\ndata: z\n\n',
        "keepalives": ': ping\n\n: ping\n\ndata: [DONE]\n\n',
    }
    for i, (name, d) in enumerate(streams.items()):
        write(h, name, sopt(i * 37 + 1) + b(d))
    write(h, "over_limit_line", sopt(2, limit=8) + b("data: 0123456789\n\n"))
    write(h, "over_limit_data", sopt(3, limit=16) + b("data: 0123456\ndata: 789abcd\n\n"))
    write(h, "over_limit_event", sopt(5, limit=4) + b("event: message_start\ndata: 1\n\n"))
    write(h, "stop_after_one", sopt(6, stop=1) + b("data: 1\n\ndata: 2\n\n"))
    write(h, "bytewise", sopt(4) + b(OPENAI_STREAM[:300]))


def nd_seeds():
    h = "fuzz_ndjson"
    streams = {
        "ollama_stream": OLLAMA_STREAM,
        "ollama_tools_no_final_newline": OLLAMA_STREAM_TOOLS,
        "ollama_error": OLLAMA_STREAM_ERROR,
        "blank_lines": '\n \n\t\n{"a":1}\n  \r\n{"b":2}',
        "crlf": '{"a":1}\r\n{"b":2}\r\n',
        "cr_inside": '{"a":"x\ry"}\r\r\n\r\n',
    }
    for i, (name, d) in enumerate(streams.items()):
        write(h, name, sopt(i * 53 + 2) + b(d))
    write(h, "over_limit", sopt(1, limit=10) + b('{"content":"0123456789"}\n'))
    write(h, "over_limit_last", sopt(2, limit=10) + b('{"a":1}\n{"content":"0123456789"}'))
    write(h, "stop_after_two", sopt(3, stop=2) + b('1\n2\n3\n'))


# -------------------------------------------------------------- provider --
def popt(api, op, tight=0, kind=0, n_inputs=1, stream=0, seed=0, ep=0):
    return bytes([api + 3 * op + 15 * tight + 30 * kind + 90 * ep, (n_inputs - 1) | (stream << 2) | ((seed & 31) << 3)])


# The Responses API, rerank, transcripts (ep 1 and 2 of byte 0)
RESP_ANSWER = ('{"id":"resp_1","object":"response","status":"completed","model":"gpt-4.1",'
               '"output":[{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"thinking"}]},'
               '{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hi there","annotations":[]},'
               '{"type":"refusal","refusal":"no"}]},'
               '{"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":"{\\"a\\":1}"}],'
               '"usage":{"input_tokens":3,"output_tokens":4,"total_tokens":7,"output_tokens_details":{"reasoning_tokens":2}}}')
RESP_INCOMPLETE = ('{"id":"resp_2","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},'
                   '"output":[{"type":"message","content":[{"type":"output_text","text":"Hi"}]}]}')
RESP_FAILED = '{"id":"resp_3","status":"failed","error":{"code":"server_error","message":"boom"},"output":[]}'
RESP_STREAM = ('event: response.created\ndata: {"type":"response.created","response":{"id":"resp_4","model":"m"}}\n\n'
               'event: response.output_item.added\ndata: {"type":"response.output_item.added","output_index":0,'
               '"item":{"type":"function_call","id":"fc_0","call_id":"call_0","name":"f","arguments":""}}\n\n'
               'event: response.function_call_arguments.delta\ndata: {"type":"response.function_call_arguments.delta",'
               '"output_index":0,"delta":"{\\"a\\""}\n\n'
               'event: response.function_call_arguments.done\ndata: {"type":"response.function_call_arguments.done",'
               '"output_index":0,"arguments":"{\\"a\\":1}"}\n\n'
               'event: response.reasoning_summary_text.delta\ndata: {"type":"response.reasoning_summary_text.delta","delta":"th"}\n\n'
               'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","output_index":1,"delta":"Hi"}\n\n'
               'event: response.refusal.delta\ndata: {"type":"response.refusal.delta","delta":"no"}\n\n'
               'event: response.completed\ndata: {"type":"response.completed","response":{"id":"resp_4","status":"completed",'
               '"usage":{"input_tokens":1,"output_tokens":2,"total_tokens":3}}}\n\n')
RESP_STREAM_ERROR = 'event: error\ndata: {"type":"error","code":"rate_limit_exceeded","message":"slow down"}\n\n'
RESP_STREAM_FAILED = ('event: response.failed\ndata: {"type":"response.failed","response":{"status":"failed",'
                      '"error":{"code":"server_error","message":"boom"}}}\n\n')
RERANK = '{"id":"r","results":[{"index":2,"relevance_score":0.9},{"index":0,"relevance_score":0.1}],"usage":{"total_tokens":9}}'
RERANK_TEI = '[{"index":1,"score":0.5},{"index":0,"score":0.25}]'
TRANSCRIPT_STREAM = ('data: {"type":"transcript.text.delta","delta":"Hello"}\n\n'
                     'data: {"type":"transcript.text.delta","delta":" world"}\n\n'
                     'data: {"type":"transcript.text.done","text":"Hello world","usage":{"input_tokens":3,"output_tokens":2}}\n\n')


def status_seed(status):
    table = [200, 200, 200, 201, 400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503,
             529, 301, 302, 418, 0, 99, 204, 299, 300, 399, 450, 499, 504, 599, 600, 999]
    return table.index(status)


def http(status_line, headers, body):
    return b(status_line + "\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n") + b(body)


def provider_seeds():
    h = "fuzz_provider"
    w = lambda name, sel, payload: write(h, name, sel + b(payload))
    # op 0: whole chat answers
    w("chat_openai", popt(OPENAI, OP_CHAT), OPENAI_CHAT)
    w("chat_openai_tools", popt(OPENAI, OP_CHAT), OPENAI_TOOLS)
    w("chat_openai_json_content", popt(OPENAI, OP_CHAT), OPENAI_JSON_CONTENT)
    w("chat_openai_n2", popt(OPENAI, OP_CHAT), OPENAI_N2)
    w("chat_openai_empty_args", popt(OPENAI, OP_CHAT), OPENAI_EMPTY_ARGS)
    w("chat_openai_tight_tools", popt(OPENAI, OP_CHAT, tight=1), OPENAI_TOOLS)
    w("chat_anthropic", popt(ANTHROPIC, OP_CHAT), ANTHROPIC_MSG)
    w("chat_ollama", popt(OLLAMA, OP_CHAT), OLLAMA_CHAT)
    w("chat_ollama_tools", popt(OLLAMA, OP_CHAT), OLLAMA_TOOLS)
    w("chat_ollama_error_2xx", popt(OLLAMA, OP_CHAT), ERR_OLLAMA)
    # op 1: embeddings
    w("embed_openai_2", popt(OPENAI, OP_EMBED, n_inputs=2), OPENAI_EMBED)
    w("embed_openai_b64", popt(OPENAI, OP_EMBED, n_inputs=1), OPENAI_EMBED_B64)
    w("embed_openai_swapped", popt(OPENAI, OP_EMBED, n_inputs=2), OPENAI_EMBED_SWAPPED)
    w("embed_ollama_2", popt(OLLAMA, OP_EMBED, n_inputs=2), OLLAMA_EMBED)
    w("embed_openai_short", popt(OPENAI, OP_EMBED, n_inputs=3), OPENAI_EMBED)
    # op 2: error bodies of every shape
    for i, (name, body) in enumerate([("openai", ERR_OPENAI), ("openai_key", ERR_OPENAI_KEY),
                                      ("openai_numcode", ERR_OPENAI_NUMCODE), ("anthropic", ERR_ANTHROPIC),
                                      ("anthropic_key", ERR_ANTHROPIC_KEY), ("ollama", ERR_OLLAMA),
                                      ("fastapi_str", ERR_FASTAPI_STR), ("fastapi_list", ERR_FASTAPI_LIST),
                                      ("message", ERR_MESSAGE), ("other_json", ERR_OTHER_JSON),
                                      ("html", ERR_HTML), ("html_notitle", ERR_HTML_NOTITLE),
                                      ("text", ERR_TEXT), ("empty", "")]):
        w("error_" + name, popt(i % 3, OP_ERROR, seed=i * 3), body)
    # op 3: streams
    w("stream_openai", popt(OPENAI, OP_STREAM, seed=1), OPENAI_STREAM)
    w("stream_openai_tools", popt(OPENAI, OP_STREAM, seed=2), OPENAI_STREAM_TOOLS)
    w("stream_openai_reasoning", popt(OPENAI, OP_STREAM, seed=3), OPENAI_STREAM_REASONING)
    w("stream_openai_error", popt(OPENAI, OP_STREAM, seed=4), OPENAI_STREAM_ERROR)
    w("stream_openai_error_event", popt(OPENAI, OP_STREAM, seed=5), OPENAI_STREAM_ERROR_EVENT)
    w("stream_openai_no_done", popt(OPENAI, OP_STREAM, seed=6), OPENAI_STREAM.replace("data: [DONE]\n\n", ""))
    w("stream_openai_tight", popt(OPENAI, OP_STREAM, tight=1, seed=7), OPENAI_STREAM)
    w("stream_anthropic", popt(ANTHROPIC, OP_STREAM, seed=8), ANTHROPIC_STREAM)
    w("stream_anthropic_error", popt(ANTHROPIC, OP_STREAM, seed=9), ANTHROPIC_STREAM_ERROR)
    w("stream_anthropic_tight", popt(ANTHROPIC, OP_STREAM, tight=1, seed=10), ANTHROPIC_STREAM)
    w("stream_anthropic_server_tool", popt(ANTHROPIC, OP_STREAM, seed=14), ANTHROPIC_STREAM_SERVER_TOOL)
    w("stream_ollama", popt(OLLAMA, OP_STREAM, seed=11), OLLAMA_STREAM)
    w("stream_ollama_tools", popt(OLLAMA, OP_STREAM, seed=12), OLLAMA_STREAM_TOOLS)
    w("stream_ollama_error", popt(OLLAMA, OP_STREAM, seed=13), OLLAMA_STREAM_ERROR)
    # op 4: whole HTTP exchanges
    sse = ["Content-Type: text/event-stream; charset=utf-8", "x-request-id: req_7f3a9c", "Cache-Control: no-cache"]
    w("http_openai_stream", popt(OPENAI, OP_HTTP, stream=1, seed=1, n_inputs=2),
      http("HTTP/1.1 200 OK", sse, OPENAI_STREAM_TOOLS))
    w("http_openai_stream_delta_cb", popt(OPENAI, OP_HTTP, stream=1, seed=2, n_inputs=2),
      http("HTTP/2 200", sse, OPENAI_STREAM))
    w("http_anthropic_stream", popt(ANTHROPIC, OP_HTTP, stream=1, seed=3),
      http("HTTP/1.1 200 OK", ["content-type: text/event-stream", "request-id: req_011CSHoEeqs5C35K2UUqR7Fy"], ANTHROPIC_STREAM))
    w("http_ollama_stream", popt(OLLAMA, OP_HTTP, stream=1, seed=4),
      http("HTTP/1.1 200 OK", ["Content-Type: application/x-ndjson"], OLLAMA_STREAM))
    w("http_openai_json", popt(OPENAI, OP_HTTP, seed=5),
      http("HTTP/1.1 200 OK", ["Content-Type: application/json", "openai-processing-ms: 512"], OPENAI_TOOLS))
    w("http_stream_json_answer", popt(OPENAI, OP_HTTP, stream=1, seed=6),
      http("HTTP/1.1 200 OK", ["Content-Type: application/json"], OPENAI_CHAT))
    w("http_429_retry_ms", popt(OPENAI, OP_HTTP, seed=7),
      http("HTTP/1.1 429 Too Many Requests", ["retry-after-ms: 20", "x-should-retry: true", "Content-Type: application/json"], ERR_OPENAI))
    w("http_529_date", popt(ANTHROPIC, OP_HTTP, stream=1, seed=8),
      http("HTTP/1.1 529 Site Overloaded", ["retry-after: Sun, 06 Nov 1994 08:49:37 GMT", "content-type: application/json"], ERR_ANTHROPIC))
    w("http_503_retry_after", popt(OPENAI, OP_HTTP, seed=9),
      http("HTTP/1.1 503 Service Unavailable", ["Retry-After: 0.5", "Content-Type: text/html"], ERR_HTML))
    w("http_500_no_retry", popt(OPENAI, OP_HTTP, seed=10),
      http("HTTP/1.1 500 Internal Server Error", ["x-should-retry: false"], ERR_MESSAGE))
    w("http_401_key", popt(OPENAI, OP_HTTP, seed=11),
      http("HTTP/1.1 401 Unauthorized", ["Content-Type: application/json"], ERR_OPENAI_KEY))
    w("http_302", popt(OPENAI, OP_HTTP, seed=12),
      http("HTTP/1.1 302 Found", ["Location: https://example.com/login"], ""))
    w("http_404_ollama", popt(OLLAMA, OP_HTTP, seed=13),
      http("HTTP/1.1 404 Not Found", ["Content-Type: application/json; charset=utf-8"], ERR_OLLAMA))
    w("http_embed_openai", popt(OPENAI, OP_HTTP, kind=K_EMBED, n_inputs=2, seed=14),
      http("HTTP/1.1 200 OK", ["Content-Type: application/json"], OPENAI_EMBED))
    w("http_embed_ollama", popt(OLLAMA, OP_HTTP, kind=K_EMBED, n_inputs=2, seed=15),
      http("HTTP/1.1 200 OK", ["Content-Type: application/json"], OLLAMA_EMBED))
    w("http_raw_stream", popt(OPENAI, OP_HTTP, kind=K_RAW, stream=1, seed=16),
      http("HTTP/1.1 200 OK", sse, 'event: response.created\ndata: {"type":"response.created"}\n\n'
           'event: response.output_text.delta\ndata: {"delta":"Hi"}\n\ndata: [DONE]\n\n'))
    w("http_raw_json", popt(ANTHROPIC, OP_HTTP, kind=K_RAW, seed=17),
      http("HTTP/1.1 200 OK", ["Content-Type: application/json"], '{"data":[{"id":"claude-sonnet-4-5"}]}'))
    w("http_tight_too_large", popt(OPENAI, OP_HTTP, tight=1, seed=18),
      http("HTTP/1.1 200 OK", ["Content-Type: application/json"], OPENAI_TOOLS * 20))
    w("http_stream_cut", popt(OPENAI, OP_HTTP, stream=1, seed=19),
      http("HTTP/1.1 200 OK", sse, OPENAI_STREAM[:400]))
    w("http_anthropic_server_tool", popt(ANTHROPIC, OP_HTTP, stream=1, seed=20),
      http("HTTP/1.1 200 OK", ["content-type: text/event-stream"], ANTHROPIC_STREAM_SERVER_TOOL))
    w("http_raw_ndjson", popt(OLLAMA, OP_HTTP, kind=K_RAW, stream=1, seed=21),
      http("HTTP/1.1 200 OK", ["Content-Type: application/x-ndjson"], OLLAMA_STREAM))
    w("http_openai_jsonl", popt(OPENAI, OP_HTTP, stream=1, seed=22),
      http("HTTP/1.1 200 OK", ["Content-Type: application/jsonl"],
           '{"choices":[{"index":0,"delta":{"content":"a"}}]}\n{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n'))
    w("http_ollama_sse", popt(OLLAMA, OP_HTTP, stream=1, seed=23),
      http("HTTP/1.1 200 OK", ["Content-Type: text/event-stream"],
           'data: {"message":{"role":"assistant","content":"x"},"done":false}\n\n'
           'data: {"message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"}\n\n'))
    # the Responses API, rerank, transcripts, speech
    w("responses_answer", popt(OPENAI, OP_CHAT, ep=1), RESP_ANSWER)
    w("responses_incomplete", popt(OPENAI, OP_CHAT, ep=1), RESP_INCOMPLETE)
    w("responses_failed", popt(OPENAI, OP_CHAT, ep=1), RESP_FAILED)
    w("responses_stream", popt(OPENAI, OP_STREAM, seed=3, ep=1), RESP_STREAM)
    w("responses_stream_error", popt(OPENAI, OP_STREAM, seed=4, ep=1), RESP_STREAM_ERROR)
    w("responses_stream_failed", popt(OPENAI, OP_STREAM, seed=5, ep=1), RESP_STREAM_FAILED)
    w("http_responses_stream", popt(OPENAI, OP_HTTP, stream=1, seed=6, ep=1), http("HTTP/1.1 200 OK", sse, RESP_STREAM))
    w("rerank", popt(OPENAI, OP_CHAT, n_inputs=3, ep=2), RERANK)
    w("rerank_tei", popt(OPENAI, OP_CHAT, n_inputs=2, ep=2), RERANK_TEI)
    w("transcript_stream", popt(OPENAI, OP_STREAM, seed=7, ep=2), TRANSCRIPT_STREAM)
    w("http_speech", popt(OPENAI, OP_HTTP, seed=8, ep=2),
      http("HTTP/1.1 200 OK", ["Content-Type: audio/mpeg"], "ID3\x04\x00 fake mp3 bytes"))
    w("http_speech_error", popt(OPENAI, OP_HTTP, seed=9, ep=2),
      http("HTTP/1.1 400 Bad Request", ["Content-Type: application/json"], ERR_OPENAI))
    # op 4 without a status line: the status comes from byte 1
    w("bare_500", popt(OPENAI, OP_HTTP, seed=status_seed(500)), ERR_OPENAI)
    w("bare_200_chat", popt(ANTHROPIC, OP_HTTP, seed=status_seed(200)), ANTHROPIC_MSG)


def replay_seeds():
    """fuzz_replay: replay files (JSON Lines of exchanges, >>record in
    llmasync.h). Selector: bit 0 stream, bits 1-2 chat / embeddings /
    Anthropic / raw, bit 3 tight, bit 4 on_delta."""
    import base64
    import json
    h = "fuzz_replay"

    def ex(status_line, headers, chunks, curl=0, timeout=None, path="/v1/chat/completions"):
        events = [[0, "h", status_line + "\r\n"]] + [[10, "h", x + "\r\n"] for x in headers] + [[11, "h", "\r\n"]]
        for i, c in enumerate(chunks):
            data = c if isinstance(c, str) else {"b64": base64.b64encode(c).decode()}
            events.append([100 + i * 50, "b", data])
        o = {"llmasync_exchange": 1, "provider": "openai", "method": "POST", "path": path, "body_len": 2,
             "body_hash": "0000000000000000", "events": events, "curl": curl, "curl_error": ""}
        if timeout:
            o["timeout"] = timeout
        return json.dumps(o, ensure_ascii=False, separators=(",", ":"))

    def sel(stream=0, what=0, tight=0, delta=0):
        return bytes([stream | (what << 1) | (tight << 3) | (delta << 4)])

    def pieces(text, n):
        return [text[i:i + n] for i in range(0, len(text), n)]

    w = lambda name, s, lines: write(h, name, s + b("\n".join(lines) + "\n"))
    sse = ["Content-Type: text/event-stream"]
    js = ["Content-Type: application/json", "x-request-id: req_1"]
    w("chat", sel(), [ex("HTTP/1.1 200 OK", js, pieces(OPENAI_CHAT, 40))])
    w("chat_stream", sel(stream=1, delta=1), [ex("HTTP/1.1 200 OK", sse, pieces(OPENAI_STREAM, 33))])
    w("chat_stream_tools", sel(stream=1), [ex("HTTP/1.1 200 OK", sse, pieces(OPENAI_STREAM_TOOLS, 17))])
    w("chat_stream_b64", sel(stream=1, delta=1),
      [ex("HTTP/1.1 200 OK", sse, [c.encode() for c in pieces(OPENAI_STREAM, 29)])])
    w("anthropic_stream", sel(stream=1, what=2),
      [ex("HTTP/1.1 200 OK", sse, pieces(ANTHROPIC_STREAM, 64), path="/v1/messages")])
    w("embeddings", sel(what=1), [ex("HTTP/1.1 200 OK", js, [OPENAI_EMBED], path="/v1/embeddings")])
    w("retry_then_ok", sel(), [ex("HTTP/1.1 503 Service Unavailable", js, [ERR_OPENAI]),
                               ex("HTTP/1.1 200 OK", js, [OPENAI_CHAT])])
    w("key_echo_401", sel(), [ex("HTTP/1.1 401 Unauthorized", js,
                                 ['{"error":{"message":"Incorrect API key provided: sk-replay-fuzz-0123456789.",'
                                  '"type":"invalid_request_error","code":"invalid_api_key"}}'])])
    w("idle_timeout", sel(stream=1), [ex("HTTP/1.1 200 OK", sse, pieces(OPENAI_STREAM, 50)[:2], timeout="idle"),
                                      ex("HTTP/1.1 200 OK", sse, pieces(OPENAI_STREAM, 50))])
    w("connection_reset", sel(), [ex("HTTP/1.1 200 OK", js, [OPENAI_CHAT[:20]], curl=56)])
    w("tight_stream", sel(stream=1, tight=1), [ex("HTTP/1.1 200 OK", sse, pieces(OPENAI_STREAM, 80))])
    w("raw_stream", sel(stream=1, what=3), [ex("HTTP/1.1 200 OK", sse, ['event: x\ndata: {"i":1}\n\n'],
                                               path="/v1/anything")])
    w("blank_lines_and_cr", sel(), ["", "  \r", ex("HTTP/1.1 200 OK", js, [OPENAI_CHAT]), ""])
    w("not_an_exchange", sel(), ['{"llmasync_exchange":2}'])


def main():
    for h in ("fuzz_json", "fuzz_json_roundtrip", "fuzz_json_partial", "fuzz_sse", "fuzz_ndjson", "fuzz_provider"):
        shutil.rmtree(os.path.join(OUT, h), ignore_errors=True)
    json_seeds("fuzz_json")
    json_seeds("fuzz_json_roundtrip")
    json_seeds("fuzz_json_partial")
    sse_seeds()
    nd_seeds()
    provider_seeds()
    shutil.rmtree(os.path.join(OUT, "fuzz_replay"), ignore_errors=True)
    replay_seeds()


if __name__ == "__main__":
    main()
