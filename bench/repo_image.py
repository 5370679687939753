#!/usr/bin/env python3
"""The test image of bench/repo.sh and its nightly changes, both seeded so
every run of the benchmark sees the same bytes at the same offsets.

  repo_image.py make IMAGE SIZE_BYTES      sparse image, 10% allocated with
                                           incompressible data in scattered
                                           1-64 MiB extents; writes IMAGE.extents
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


def make(path, size):
    rng = random.Random(SEED)
    target, used, extents = size // 10, 0, []
    # Extents up to 64 MiB, but at most a tenth of the image so small images
    # still get several of them.
    longest = max(1, min(64, size // 10 // MiB))
    while used < target:
        length = min(rng.randint(1, longest) * MiB, target - used)
        length = max(ALIGN, length // ALIGN * ALIGN)
        start = rng.randrange(0, (size - length) // MiB + 1) * MiB
        if any(start < s + l and s < start + length for s, l in extents):
            continue
        extents.append((start, length))
        used += length
    extents.sort()
    with open(path, "wb") as f:
        f.truncate(size)
        for start, length in extents:
            f.seek(start)
            for done in range(0, length, MiB):
                f.write(os.urandom(min(MiB, length - done)))
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
    if len(sys.argv) == 4 and sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "churn":
        churn(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)
