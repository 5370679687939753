#!/bin/bash
# A restore point removed by prune while it is served keeps serving,
# byte-exact, from the index nbdkit holds open; gc waits for the server (it
# holds the repository lock shared, as every read does) and removes the
# pruned backup's chunks only once the server stopped.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/nbd.sh"
require_nbd nbdcopy

zadp-repo init --chunk-size 64K >/dev/null
store_new "$T/old.img" 2000000 vm1/2026-11-27T020000Z/disk0
store_new "$T/new.img" 2000000 vm1/2026-11-28T020000Z/disk0
serve vm1/2026-11-27T020000Z/disk0
nbdcopy "$NBD_URL" "$T/before" && cmp "$T/old.img" "$T/before" || die "the served backup does not read before prune"

zadp-repo prune vm1 --keep-last 1 > "$T/prune"
has_line "$T/prune" '.backup == "vm1/2026-11-27T020000Z" and .action == "removed"' || die "prune kept it: $(cat "$T/prune")"
[ "$(backups_of vm1)" = vm1/2026-11-28T020000Z ] || die "still listed: $(backups_of vm1)"
zadp-repo gc > "$T/gc" 2>&1 & gc=$!
# gc waits for the lock the server holds: every chunk is still there.
nbdcopy "$NBD_URL" "$T/after" || die "the pruned backup no longer reads while served"
cmp "$T/old.img" "$T/after" || die "the pruned backup reads other bytes"
kill -0 $gc 2>/dev/null || die "gc ran while the image was served: $(cat "$T/gc")"

kill -TERM "$NBD_PID"; wait "$NBD_PID" 2>/dev/null || true
wait $gc || die "gc failed: $(cat "$T/gc")"
[ "$(jq -r .chunks_removed "$T/gc")" -gt 0 ] || die "gc removed nothing after the server stopped: $(cat "$T/gc")"
restores_to "$T/new.img" vm1/2026-11-28T020000Z/disk0
echo "ok: a pruned restore point keeps serving; gc waits for the server"
