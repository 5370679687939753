#!/bin/bash
# Storing the same image a second time adds no chunk: the report says 0 new
# chunks and bytes, and the chunk directory holds the same files.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

zadp-repo init >/dev/null
mkimg "$T/a.img"
randimg "$T/b.img" 3000000
cat "$T/b.img" >> "$T/a.img"
store "$T/a.img" web01/2026-11-27T020000Z/disk0
first_new=$(last new_chunks)
[ "$first_new" -gt 0 ] || die "the first store stored nothing"
find "$ZADP_REPO/packs" -type f | sort | xargs md5sum > "$T/before"

store "$T/a.img" web01/2026-11-28T020000Z/disk0
[ "$(last new_chunks)" = 0 ] || die "second store added $(last new_chunks) chunks"
[ "$(last new_bytes)" = 0 ] || die "second store added $(last new_bytes) bytes"
[ "$(last stored_bytes)" = 0 ] || die "second store wrote $(last stored_bytes) bytes"
[ "$(last reused_chunks)" = "$first_new" ] || die "reused $(last reused_chunks) chunks, expected $first_new"
find "$ZADP_REPO/packs" -type f | sort | xargs md5sum > "$T/after"
cmp "$T/before" "$T/after" || die "the packs changed"
restores_to "$T/a.img" web01/2026-11-28T020000Z/disk0
echo "ok: a second store of the same image adds no chunk"
