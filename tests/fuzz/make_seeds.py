#!/usr/bin/env python3
"""Seed corpora for the libFuzzer targets (make fuzz): small valid zadp
streams built from zadp-stream(5) with libxxhash (plain, and prefixed with
each fuzzer mode byte), JSON-lines inputs, query bodies and scenarios.
Usage: make_seeds.py SOURCE_DIR CORPUS_DIR"""
import ctypes, json, os, shutil, struct, subprocess, sys

xxh = ctypes.CDLL("libxxhash.so.0")
xxh.XXH3_64bits.restype = ctypes.c_uint64
xxh.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]


class H128(ctypes.Structure):
    _fields_ = [("low64", ctypes.c_uint64), ("high64", ctypes.c_uint64)]


xxh.XXH3_128bits.restype = H128
xxh.XXH3_128bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]


def h64(b):
    return xxh.XXH3_64bits(b, len(b))


def record(tag, offset, length, payload=b""):
    head = tag + struct.pack("<IQQ", 0, offset, length)
    return head + struct.pack("<Q", h64(head + payload)) + payload


def stream(image, block, runs, identity=b"{}"):
    """runs: (kind, length) pairs covering the image in order."""
    header = b"ZADPSTRM" + struct.pack("<IIQII", 1, 0, len(image), block, len(identity)) + identity
    out = header + struct.pack("<Q", h64(header))
    pos, counts = 0, [0, 0, 0, 0]
    for kind, length in runs:
        if kind == "DATA":
            out += record(b"DATA", pos, length, image[pos:pos + length])
            counts[0] += 1
            counts[2] += length
        else:
            out += record(b"ZERO", pos, length)
            counts[1] += 1
            counts[3] += length
        pos += length
    pieces = b"".join(struct.pack("<Q", h64(image[i:i + (1 << 20)])) for i in range(0, len(image), 1 << 20))
    d = xxh.XXH3_128bits(pieces, len(pieces))
    digest = struct.pack(">QQ", d.high64, d.low64)
    return out + record(b"TRLR", len(image), 48, struct.pack("<QQQQ", *counts) + digest)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main():
    source, corpus = sys.argv[1], sys.argv[2]
    a = bytes(range(256)) * 16
    streams = {
        "small": stream(a + bytes(4096) + a, 4096, [("DATA", 4096), ("ZERO", 4096), ("DATA", 4096)]),
        "tail": stream(a[:1000] + bytes(600), 512, [("DATA", 1024), ("ZERO", 576)], b'{"vm":{"id":"v1"}}'),
        "empty": stream(b"", 4096, []),
    }
    for name, s in streams.items():
        for mode in range(4):
            write(f"{corpus}/stream_decoder/{name}-{mode}", bytes([mode]) + s)
        for tool in ("zstd", "lz4"):
            packed = subprocess.run([tool, "-q", "-c"], input=s, stdout=subprocess.PIPE, check=True).stdout
            write(f"{corpus}/stream_decoder/{name}-{tool}", b"\x02" + packed)
    lines = [b'{"vm":{"id":"v1","name":"web01"}}\n', b'{"task_id":"t1"}\n{"task_id":"t2"}\n', b"\n\n{}\n",
             b'{"a":[1,2,{"b":null}]}', b'{"name":"w\xc3\xa9b"}\n']
    for i, text in enumerate(lines):
        write(f"{corpus}/json_lines/seed-{i}", text)
    queries = [{}, {"where": {"name": "web01"}}, {"where": {"name_in": ["a", "dup"]}, "orderBy": "name_DESC"},
               {"where": {"AND": [{"vcpu_gt": 1}, {"OR": [{"name_contains": "db"}, {"cluster": {"name": "c1"}}]}]}},
               {"where": {"vm": {"name_starts_with": "w"}}, "first": 1, "skip": 1},
               {"where": {"id_not_in": []}, "after": "x", "last": 2}]
    for i, q in enumerate(queries):
        for op in range(4):
            write(f"{corpus}/sim_query/seed-{i}-{op}", bytes([op]) + json.dumps(q).encode())
    fixtures = os.path.join(source, "tests", "fixtures")
    os.makedirs(f"{corpus}/sim_scenario", exist_ok=True)
    for name in os.listdir(fixtures):
        if name.startswith("scenario") and name.endswith(".json"):
            shutil.copy(os.path.join(fixtures, name), f"{corpus}/sim_scenario/{name}")


main()
