#!/usr/bin/python3
"""Validates request bodies (lines "<schema>\t<json>" on stdin) against the
official OpenAI OpenAPI description. Prints "openapi: N passed, N failed"."""
import json
import sys

import jsonschema
import yaml

spec_path = sys.argv[1]
with open(spec_path, encoding="utf-8") as f:
    spec = yaml.safe_load(f)
resolver = jsonschema.RefResolver.from_schema(spec)
passed = failed = 0
for n, line in enumerate(sys.stdin, 1):
    line = line.rstrip("\n")
    if not line:
        continue
    schema_name, _, body = line.partition("\t")
    if schema_name not in spec["components"]["schemas"]:
        print(f"  body {n}: unknown schema {schema_name}", file=sys.stderr)
        failed += 1
        continue
    validator = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/" + schema_name}, resolver=resolver)
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
]
for schema_name, body in bad:
    validator = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/" + schema_name}, resolver=resolver)
    if any(True for _ in validator.iter_errors(body)):
        passed += 1
    else:
        failed += 1
        print(f"  a non-conforming body was accepted: {json.dumps(body)}", file=sys.stderr)
print(f"openapi: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
