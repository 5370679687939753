#!/usr/bin/env python3
"""The test image of bench/repo.sh and its nightly changes, both seeded so
every run of the benchmark sees the same bytes at the same offsets.

  repo_image.py make IMAGE SIZE_BYTES [ALLOCATED_FRACTION TEXT_FRACTION]
                                           sparse image, 10% (or the fraction
                                           given) allocated in scattered 1-64 MiB
                                           extents of incompressible data, or of
                                           text-like data (about 2:1 under zstd)
                                           for TEXT_FRACTION of the allocated
                                           bytes; writes IMAGE.extents
  repo_image.py churn IMAGE NIGHT          rewrites 1% of the allocated bytes in
                                           64 KiB pieces at random 4 KiB-aligned
                                           offsets inside the extents; prints
                                           the number of bytes rewritten
"""
import json
import os
import random
import sys

MiB = 1 << 20
PIECE = 64 << 10
ALIGN = 4 << 10
SEED = 20261128


# Letters, spaces and newlines roughly as often as in English prose: one
# byte of os.urandom picks one character, so text extents never repeat (no
# dedup between them) yet compress like text.
_FREQ = {" ": 42, "e": 26, "t": 19, "a": 16, "o": 15, "i": 14, "n": 14, "s": 13, "r": 12, "h": 12,
         "l": 8, "d": 8, "c": 6, "u": 6, "m": 5, "f": 5, "p": 4, "g": 4, "w": 4, "y": 4, "b": 3,
         "v": 2, "k": 1, "\n": 3, ",": 2, ".": 2, "T": 1, "A": 1, "x": 1, "j": 1, "q": 1, "z": 1}
TEXT_TABLE = "".join(c * n for c, n in _FREQ.items()).ljust(256).encode()


def text_like(n):
    return os.urandom(n).translate(TEXT_TABLE)


def make(path, size, allocated=0.1, text=0.0):
    rng = random.Random(SEED)
    target, used, extents = int(size * allocated), 0, []
    # Extents up to 64 MiB, but at most a tenth of the image so small images
    # still get several of them.
    longest = max(1, min(64, target // MiB))
    while used < target:
        length = min(rng.randint(1, longest) * MiB, target - used)
        length = max(ALIGN, length // ALIGN * ALIGN)
        start = rng.randrange(0, (size - length) // MiB + 1) * MiB
        if any(start < s + l and s < start + length for s, l in extents):
            continue
        extents.append((start, length))
        used += length
    extents.sort()
    # Which extents hold text: the first ones in random order until
    # TEXT_FRACTION of the allocated bytes is reached.
    order, texts, text_bytes = list(range(len(extents))), set(), 0
    rng.shuffle(order)
    for i in order:
        if text_bytes + extents[i][1] / 2 > text * used:
            break
        texts.add(i)
        text_bytes += extents[i][1]
    with open(path, "wb") as f:
        f.truncate(size)
        for i, (start, length) in enumerate(extents):
            f.seek(start)
            fill = text_like if i in texts else os.urandom
            for done in range(0, length, MiB):
                f.write(fill(min(MiB, length - done)))
    with open(path + ".extents", "w") as f:
        json.dump(extents, f)


def churn(path, night):
    with open(path + ".extents") as f:
        extents = [tuple(e) for e in json.load(f)]
    allocated = sum(length for _, length in extents)
    pieces = max(1, round(allocated / 100 / PIECE))
    rng = random.Random(SEED * 1000 + night)
    # A piece lands at a uniformly random aligned offset of the allocated
    # data (extents weighted by length) and never overlaps another piece, so
    # the bytes changed are exactly pieces * 64 KiB.
    usable = [(s, l) for s, l in extents if l >= PIECE]
    weights = [l - PIECE + ALIGN for _, l in usable]
    chosen = []
    while len(chosen) < pieces:
        start, length = rng.choices(usable, weights)[0]
        offset = start + rng.randrange(0, (length - PIECE) // ALIGN + 1) * ALIGN
        if any(offset < c + PIECE and c < offset + PIECE for c in chosen):
            continue
        chosen.append(offset)
    fd = os.open(path, os.O_WRONLY)
    try:
        for offset in sorted(chosen):
            os.pwrite(fd, os.urandom(PIECE), offset)
        os.fsync(fd)
    finally:
        os.close(fd)
    print(pieces * PIECE)


if __name__ == "__main__":
    if len(sys.argv) in (4, 6) and sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]), *map(float, sys.argv[4:]))
    elif len(sys.argv) == 4 and sys.argv[1] == "churn":
        churn(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)
