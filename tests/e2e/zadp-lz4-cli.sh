#!/bin/bash
# Streams compressed by the lz4 CLI are detected and decoded by zadp-write.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

mkimg "$T/src.img"
zadp-read --source "$T/src.img" | lz4 -q > "$T/s.lz4"
zadp-write --target "$T/out.img" < "$T/s.lz4"
cmp "$T/src.img" "$T/out.img" || die "restored image differs"
zadp-write --check < "$T/s.lz4" | jq -e '.compression == "lz4"' >/dev/null || die "--check report"
echo ok
