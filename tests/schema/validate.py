#!/usr/bin/env python3
"""Validates CloudTower request or response bodies against the vendor schema.

Usage:
    python3 tests/schema/validate.py request  OP FILE           # FILE: JSON, or - for stdin
    python3 tests/schema/validate.py response OP FILE [STATUS]  # STATUS defaults to 200
    python3 tests/schema/validate.py batch LIST    # LIST lines: request|response OP FILE [STATUS]

OP is an operation name such as get-vms or create-vm-snapshot. FILE holds
one JSON document, or JSON lines (each line is validated on its own).
Exit status: 0 valid, 1 invalid (each error printed on stderr), 2 usage.

The schemas come only from tests/fixtures/openapi/cloudtower-backup-ops.json
(extracted verbatim from the vendor's OpenAPI 3.0 description by
tests/schema/extract.py). OpenAPI's "nullable: true" is turned into JSON
Schema's "or null" here; "additionalProperties: false" is kept, so an extra
field is an error.
"""
import json
import os
import sys

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "fixtures", "openapi", "cloudtower-backup-ops.json")


def openapi_to_jsonschema(node):
    """Rewrites OpenAPI 3.0 'nullable' into JSON Schema, recursively."""
    if isinstance(node, list):
        return [openapi_to_jsonschema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: openapi_to_jsonschema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def load():
    with open(FIXTURE) as f:
        return json.load(f)


def validator_for(doc, schema):
    root = {"allOf": [openapi_to_jsonschema(schema)],
            "components": openapi_to_jsonschema(doc["components"])}
    return jsonschema.Draft7Validator(root)


def documents(path):
    text = sys.stdin.read() if path == "-" else open(path).read()
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


_DOC = None


def validate(kind, op, path, status="200"):
    global _DOC
    if _DOC is None:
        _DOC = load()
    doc = _DOC
    ops = doc["operations"]
    if op not in ops:
        print(f"validate.py: unknown operation {op}; known: {' '.join(sorted(ops))}", file=sys.stderr)
        return 2
    if kind == "request":
        schema = ops[op]["request"]
    else:
        schema = ops[op]["responses"].get(status)
        if schema is None:
            print(f"validate.py: {op} has no response schema for status {status}", file=sys.stderr)
            return 2
    v = validator_for(doc, schema)
    bad = 0
    for n, instance in enumerate(documents(path), 1):
        for err in sorted(v.iter_errors(instance), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in err.absolute_path) or "(root)"
            print(f"{path}: document {n}: {kind} {op}: at {where}: {err.message[:300]}", file=sys.stderr)
            bad += 1
    return 1 if bad else 0


def batch(list_path):
    """Validates many files in one run (loading the schema once)."""
    worst = 0
    for line in open(list_path):
        words = line.split()
        if words:
            worst = max(worst, validate(*words))
    return worst


def main(argv):
    if len(argv) == 3 and argv[1] == "batch":
        return batch(argv[2])
    if len(argv) not in (4, 5) or argv[1] not in ("request", "response"):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    return validate(*argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
