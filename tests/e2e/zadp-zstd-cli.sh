#!/bin/bash
# Streams compressed by the zstd CLI are detected and decoded by zadp-write.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

mkimg "$T/src.img"
zadp-read --source "$T/src.img" | zstd -q -T0 > "$T/s.zst"
zadp-write --target "$T/out.img" < "$T/s.zst"
cmp "$T/src.img" "$T/out.img" || die "restored image differs"
zadp-write --check < "$T/s.zst" | jq -e '.compression == "zstd" and .size == 8388608' >/dev/null || die "--check report"
# two concatenated frames are one stream too
head -c 1000 < <(zadp-read --source "$T/src.img") > /dev/null || true
zstd -dc "$T/s.zst" | zadp-write --check >/dev/null || die "zstd -d output not a valid stream"
echo ok
