#!/usr/bin/python3
"""Validates request bodies (lines "<schema>\t<json>" on stdin) against the
official OpenAI OpenAPI description (schema names from its components) or,
for "anthropic.Messages", against tests/anthropic_messages.schema.json (the
documented shape of Anthropic's Messages request). Prints
"openapi: N passed, N failed". With an empty spec path (the OpenAPI
description was not found) only the Anthropic bodies are checked and the
OpenAI ones are one skipped test, named with $OPENAPI_MISSING."""
import base64
import os
import json
import re
import sys

import jsonschema
import yaml

spec_path = sys.argv[1] if len(sys.argv) > 1 else ""
spec = None
resolver = None
if spec_path:
    with open(spec_path, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    resolver = jsonschema.RefResolver.from_schema(spec)
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "anthropic_messages.schema.json"), encoding="utf-8") as f:
    anthropic = json.load(f)


def validator_for(name):
    if name == "anthropic.Messages":
        return jsonschema.Draft202012Validator(anthropic)
    return jsonschema.Draft202012Validator({"$ref": "#/components/schemas/" + name}, resolver=resolver)


def multipart(boundary, data):
    """A multipart/form-data body as the object the schema describes: file
    parts become a placeholder string, numbers and booleans are read."""
    obj = {}
    delim = b"--" + boundary.encode()
    parts = data.split(delim)
    if parts[0] != b"" or not parts[-1].startswith(b"--"):
        raise ValueError("multipart body does not start and end with its boundary")
    for part in parts[1:-1]:
        if not part.startswith(b"\r\n") or not part.endswith(b"\r\n"):
            raise ValueError("multipart part not framed by CRLF")
        head, sep, value = part[2:-2].partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("multipart part without a blank line")
        disp = [h for h in head.split(b"\r\n") if h.lower().startswith(b"content-disposition:")]
        if not disp:
            raise ValueError("multipart part without Content-Disposition")
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', disp[0].decode()))
        name = attrs["name"]
        if "filename" in attrs:
            obj[name] = "<binary %d bytes>" % len(value)
        elif name.endswith("[]"):  # a repeated field: an array
            obj.setdefault(name[:-2], []).append(value.decode("utf-8"))
        else:
            v = value.decode("utf-8")
            if name == "temperature":
                obj[name] = float(v)
            elif name == "stream":
                obj[name] = v == "true"
            else:
                obj[name] = v
    return obj


passed = failed = skipped = 0
for n, line in enumerate(sys.stdin, 1):
    line = line.rstrip("\n")
    if not line:
        continue
    schema_name, _, body = line.partition("\t")
    if schema_name.startswith("multipart:"):
        schema_name = schema_name[len("multipart:"):]
        boundary, _, b64 = body.partition("\t")
        try:
            body = json.dumps(multipart(boundary, base64.b64decode(b64)))
        except (ValueError, KeyError) as ex:
            print(f"  body {n} ({schema_name}): {ex}", file=sys.stderr)
            failed += 1
            continue
    if schema_name != "anthropic.Messages" and spec is None:
        skipped += 1
        continue
    if schema_name != "anthropic.Messages" and schema_name not in spec["components"]["schemas"]:
        print(f"  body {n}: unknown schema {schema_name}", file=sys.stderr)
        failed += 1
        continue
    validator = validator_for(schema_name)
    errors = sorted(validator.iter_errors(json.loads(body)), key=lambda e: list(e.path))
    if errors:
        failed += 1
        for e in errors[:5]:
            print(f"  body {n} ({schema_name}): {list(e.path)}: {e.message[:300]}", file=sys.stderr)
    else:
        passed += 1
# The check must be able to fail: bodies that break the schema are refused.
bad = [
    ("CreateChatCompletionRequest", {"model": "m"}),
    ("CreateChatCompletionRequest", {"model": "m", "messages": []}),
    ("CreateChatCompletionRequest", {"model": "m", "messages": [{"role": "bot", "content": "x"}]}),
    ("CreateChatCompletionRequest", {"model": "m", "messages": [{"role": "user", "content": "x"}], "max_completion_tokens": "9"}),
    ("CreateChatCompletionRequest", {"model": "m", "messages": [{"role": "tool", "content": "x"}]}),
    ("CreateEmbeddingRequest", {"model": "m", "input": "x", "encoding_format": "int8"}),
    ("CreateResponse", {"model": "m", "input": 5}),
    ("CreateResponse", {"model": "m", "input": "x", "max_output_tokens": "9"}),
    ("CreateSpeechRequest", {"model": "tts-1", "input": "x"}),
    ("CreateSpeechRequest", {"model": "tts-1", "input": "x", "voice": "alloy", "response_format": "ogg"}),
    ("CreateTranscriptionRequest", {"model": "whisper-1"}),
    ("CreateTranscriptionRequest", {"file": "<binary>", "model": "whisper-1", "response_format": "xml"}),
    ("CreateTranscriptionRequest", {"file": "<binary>", "model": "whisper-1", "timestamp_granularities": ["letter"]}),
    ("CreateTranscriptionRequest", {"file": "<binary>", "model": "whisper-1", "timestamp_granularities": "word"}),
    ("anthropic.Messages", {"model": "c", "messages": [{"role": "user", "content": "x"}]}),
    ("anthropic.Messages", {"model": "c", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}),
    ("anthropic.Messages", {"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "tool_result"}]}]}),
    ("anthropic.Messages", {"model": "c", "max_tokens": 5, "temperature": 1.5, "messages": [{"role": "user", "content": "x"}]}),
]
for schema_name, body in bad:
    if schema_name != "anthropic.Messages" and spec is None:
        continue
    validator = validator_for(schema_name)
    if any(True for _ in validator.iter_errors(body)):
        passed += 1
    else:
        failed += 1
        print(f"  a non-conforming body was accepted: {json.dumps(body)}", file=sys.stderr)
if skipped:
    print(f"  SKIPPED {skipped} OpenAI request bodies: {os.environ.get('OPENAPI_MISSING', 'no OpenAPI description')}")
    print(f"openapi: {passed} passed, {failed} failed, 1 skipped")
else:
    print(f"openapi: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
