#!/usr/bin/env python3
"""Seed corpora for the libFuzzer targets (make fuzz): small valid zadp
streams built from zadp-stream(5) with libxxhash (plain, and prefixed with
each fuzzer mode byte), JSON-lines inputs, query bodies and scenarios.
Usage: make_seeds.py SOURCE_DIR CORPUS_DIR"""
import ctypes, json, os, shutil, struct, subprocess, sys

xxh = ctypes.CDLL("libxxhash.so.0")
xxh.XXH3_64bits.restype = ctypes.c_uint64
xxh.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
xxh.XXH3_64bits_withSeed.restype = ctypes.c_uint64
xxh.XXH3_64bits_withSeed.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint64]


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


def seal(data, aad):
    """A plain repository's seal (zadp-repo(5)): XXH3-64 seeded by the XXH3-64 of aad."""
    return data + struct.pack("<Q", xxh.XXH3_64bits_withSeed(data, len(data), h64(aad)))


def repo_index_seeds(corpus):
    """Inputs of fuzz-repo_index: an index file (mode 0), its parts to seal
    (mode 1) and object headers with payloads (mode 2)."""
    name = b"fz/2026-11-28T020000Z/disk0"
    header = json.dumps({"name": name.decode(), "size": 3 << 20, "chunk_size": 1 << 20, "block_size": 4096,
                         "identity": {"vm": {"id": "v1"}}, "vm_id": "v1"}, separators=(",", ":")).encode()
    trailer = json.dumps({"digest": "00" * 16, "chunks": 2, "zero_chunks": 1, "data_bytes": 2 << 20,
                          "new_chunks": 2, "new_bytes": 2 << 20, "reused_chunks": 0, "reused_bytes": 0,
                          "stored_bytes": 4096, "created": "2026-11-28T02:00:00Z"}, separators=(",", ":")).encode()
    entries = bytes(range(32)) + bytes(32) + bytes(range(32, 64))
    sealed_header = seal(header, b"index " + name + b" header")
    sealed_trailer = seal(trailer, b"index " + name + b" trailer")
    index = (b"ZADPFIDX" + struct.pack("<IIII", 1, 0, len(sealed_header), 0) + sealed_header +
             seal(entries, b"index " + name + b" segment 0") + sealed_trailer + struct.pack("<I", len(sealed_trailer)))
    write(f"{corpus}/repo_index/index", b"\x00" + index)
    write(f"{corpus}/repo_index/parts", b"\x01" + header + b"\n" + trailer + b"\n" + entries)
    text = b"a chunk of text, " * 64
    packed = subprocess.run(["zstd", "-q", "-c"], input=text, stdout=subprocess.PIPE, check=True).stdout
    write(f"{corpus}/repo_index/object-zstd", b"\x02" + b"ZOBJ" + bytes([1, 1, 1, 0]) + struct.pack("<I", len(text)) + packed)
    write(f"{corpus}/repo_index/object-stored", b"\x02" + b"ZOBJ" + bytes([1, 2, 0, 0]) + struct.pack("<I", 5) + b"hello")


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
    repo_index_seeds(corpus)
    fixtures = os.path.join(source, "tests", "fixtures")
    os.makedirs(f"{corpus}/sim_scenario", exist_ok=True)
    for name in os.listdir(fixtures):
        if name.startswith("scenario") and name.endswith(".json"):
            shutil.copy(os.path.join(fixtures, name), f"{corpus}/sim_scenario/{name}")


main()
