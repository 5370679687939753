#!/bin/bash
# Rewriting 1% of an image in 64 KiB pieces at random 4 KiB-aligned offsets
# makes the next backup store about 1% new data (64 KiB chunks: a piece
# touches at most two chunks), and both backups restore byte-exact.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

zadp-repo init --chunk-size 64K >/dev/null
size=$((64 << 20))
randimg "$T/disk.img" $size
cp "$T/disk.img" "$T/day1.img"
store "$T/disk.img" web01/2026-11-27T020000Z/disk0
python3 - "$T/disk.img" <<'PY'
import os, random, sys
f = open(sys.argv[1], "r+b")
size = os.fstat(f.fileno()).st_size
random.seed(7)
for _ in range(size // 100 // 65536):        # 1% in 64 KiB pieces
    off = random.randrange(0, size - 65536) // 4096 * 4096
    f.seek(off)
    f.write(os.urandom(65536))
PY
store "$T/disk.img" web01/2026-11-28T020000Z/disk0
new=$(last new_bytes)
echo "1% changed ($((size / 100)) bytes): $new new bytes"
[ "$new" -ge $((size / 200)) ] || die "only $new new bytes for a 1% change"
[ "$new" -le $((size * 25 / 1000)) ] || die "$new new bytes for a 1% change (more than 2.5%)"
restores_to "$T/day1.img" web01/2026-11-27T020000Z/disk0
restores_to "$T/disk.img" web01/2026-11-28T020000Z/disk0
echo "ok: a 1% change adds about 1%"
