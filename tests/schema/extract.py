#!/usr/bin/env python3
"""Extracts what tests/schema/validate.py needs from the vendor's OpenAPI
description: the request and response schemas of the operations hci-sim
serves, and every component schema they reference, verbatim.

    python3 tests/schema/extract.py openapi-4.0.0.json > tests/fixtures/openapi/cloudtower-backup-ops.json

(the vendor's whole description: the backup subset lacks create-iscsi-target,
which the "Before the first backup" steps use; both give the same schemas).

Run by hand when the vendor description or the list of operations changes;
the tests read only the extracted file under tests/fixtures/openapi/.
"""
import json
import os
import sys

OPS = [
    "login", "get-vms", "get-vm-disks", "get-vm-volumes", "get-tasks", "get-vm-snapshots",
    "get-iscsi-lun-snapshots", "get-clusters", "get-iscsi-targets", "get-iscsi-luns",
    "create-vm-snapshot", "delete-vm-snapshot", "clone-iscsi-lun-from-snapshot",
    "create-iscsi-lun", "delete-iscsi-lun", "update-iscsi-lun", "get-vm-nics", "get-vlans",
    "create-vm", "delete-vm", "start-vm", "shutdown-vm", "poweroff-vm", "create-iscsi-target",
]


def refs(node, out):
    if isinstance(node, dict):
        r = node.get("$ref")
        if isinstance(r, str) and r.startswith("#/components/schemas/"):
            out.add(r.rsplit("/", 1)[1])
        for v in node.values():
            refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)


def main():
    src = json.load(open(sys.argv[1]))
    schemas = src["components"]["schemas"]
    ops = {}
    for op in OPS:
        post = src["paths"]["/" + op]["post"]
        ops[op] = {
            "request": post["requestBody"]["content"]["application/json"]["schema"],
            "responses": {code: r["content"]["application/json"]["schema"]
                          for code, r in post["responses"].items() if "content" in r},
        }
    needed, todo = set(), set()
    refs(ops, todo)
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        refs(schemas[name], todo)
    out = {
        "info": {"source": os.path.basename(sys.argv[1]) + " (CloudTower API 4.0.0)",
                 "extracted_by": "tests/schema/extract.py"},
        "operations": ops,
        "components": {"schemas": {n: schemas[n] for n in sorted(needed)}},
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
