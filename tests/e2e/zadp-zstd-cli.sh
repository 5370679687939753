#!/bin/bash
# Streams compressed by the zstd CLI are detected and decoded by zadp-write.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"

# An 8 MiB sparse image: three random extents (one ends the image) and an
# all-zero allocated block.
mkimg() {
    truncate -s 8M "$1"
    dd if=/dev/urandom of="$1" bs=64K count=3 seek=5 conv=notrunc status=none
    dd if=/dev/urandom of="$1" bs=4K count=5 seek=700 conv=notrunc status=none
    dd if=/dev/zero of="$1" bs=4K count=4 seek=900 conv=notrunc status=none
    dd if=/dev/urandom of="$1" bs=4K count=1 seek=2047 conv=notrunc status=none
}

mkimg "$T/src.img"
zadp-read --source "$T/src.img" | zstd -q -T0 > "$T/s.zst"
zadp-write --target "$T/out.img" < "$T/s.zst"
cmp "$T/src.img" "$T/out.img" || die "restored image differs"
zadp-write --check < "$T/s.zst" | jq -e '.compression == "zstd" and .size == 8388608' >/dev/null || die "--check report"
# two concatenated frames are one stream too
head -c 1000 < <(zadp-read --source "$T/src.img") > /dev/null || true
zstd -dc "$T/s.zst" | zadp-write --check >/dev/null || die "zstd -d output not a valid stream"
echo ok
