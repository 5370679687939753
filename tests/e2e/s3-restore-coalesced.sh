#!/bin/bash
# Restores from S3 fetch neighbouring chunks of a pack with one ranged GET
# (zadp-repo(5), "Object storage"): an image of 88 stored chunks (and a
# hole) reads back byte-exact through zadp-read and in one process
# (zadp-write --source repo:), each with far fewer object GETs than chunks
# (ZADP_S3_STATS=1); and a second backup with one chunk changed, whose
# chunks lie in two packs, restores byte-exact too.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/s3.sh"

zadp-repo init > /dev/null || die "init on $ZADP_REPO failed"  # 256 KiB chunks
randimg "$T/a.img" $((24 << 20))
dd if=/dev/zero of="$T/a.img" bs=1M seek=8 count=2 conv=notrunc status=none  # 8 zero chunks: never read
store "$T/a.img" vm1/2026-12-01T020000Z/disk0 || die "store failed"
chunks=$(last new_chunks)
[ "$chunks" = 88 ] || die "stored $chunks chunks, expected 88"

ZADP_S3_STATS=1 zadp-read --source repo:vm1/2026-12-01T020000Z/disk0 --format raw > "$T/r.raw" 2> "$T/read.err" ||
    die "zadp-read failed: $(cat "$T/read.err")"
cmp "$T/a.img" "$T/r.raw" || die "the raw read differs from the image"
gets=$(s3_stat "$T/read.err" get)
echo "zadp-read: $gets GETs for $chunks chunks"
# 2 MiB runs of about 7 chunks: 13 or so, with the index and tables.
[ "$gets" -gt 0 ] && [ $((gets * 3)) -lt "$chunks" ] || die "zadp-read sent $gets GETs for $chunks chunks"

rm -f "$T/r.img"
ZADP_S3_STATS=1 zadp-write --source repo:vm1/2026-12-01T020000Z/disk0 --target "$T/r.img" 2> "$T/write.err" ||
    die "one-process restore failed: $(cat "$T/write.err")"
cmp "$T/a.img" "$T/r.img" || die "the one-process restore differs from the image"
gets=$(s3_stat "$T/write.err" get)
[ $((gets * 3)) -lt "$chunks" ] || die "zadp-write --source repo: sent $gets GETs for $chunks chunks"

# One chunk changed: the next backup's chunks are in two packs, the new
# one alone in its run.
head -c 262144 /dev/urandom | dd of="$T/a.img" bs=262144 seek=40 conv=notrunc status=none
store "$T/a.img" vm1/2026-12-02T020000Z/disk0 || die "second store failed"
[ "$(last new_chunks)" = 1 ] || die "the second backup stored $(last new_chunks) chunks, expected 1"
restores_to "$T/a.img" vm1/2026-12-02T020000Z/disk0
echo "ok: restores from S3 read coalesced ranges, byte-exact"
