#!/bin/bash
# prune with unfinished backups (unfinished.json and no backup.json, as
# backup-vm.sh leaves them while it runs or after kill -9): they never count
# toward --keep-last and never make prune remove a complete backup; the
# newest one stays (it may still be running), an older one goes, and the dry
# run says why ("unfinished"). A plain zadp-write backup (neither blob) and
# one holding both blobs count as complete.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

zadp-repo init --chunk-size 64K >/dev/null
randimg "$T/disk.img" $((256 << 10))
marker() { echo '{"format":"hci-backup-unfinished"}' | zadp-repo put-blob "$1/unfinished.json" - >/dev/null; }
manifest() { echo '{"format":"hci-backup-manifest"}' | zadp-repo put-blob "$1/backup.json" - >/dev/null; }
b1=web01/2026-11-01T020000Z b2=web01/2026-11-02T020000Z b3=web01/2026-11-03T020000Z
b4=web01/2026-11-04T020000Z b5=web01/2026-11-05T020000Z
store "$T/disk.img" "$b1/disk0" && manifest "$b1"              # complete
store "$T/disk.img" "$b2/disk0" && marker "$b2"                # unfinished (killed run)
store "$T/disk.img" "$b3/disk0"                                # plain zadp-write: complete
store "$T/disk.img" "$b4/disk0" && manifest "$b4" && marker "$b4"  # complete, marker left over
marker "$b5" && store "$T/disk.img" "$b5/disk0"                # unfinished, newest: may be running

# keep-last 2 keeps the two newest complete backups (b4, b3); counting
# unfinished ones as before would have kept b5 and b4 and removed b3.
zadp-repo prune --keep-last 2 --dry-run >"$T/dry"
[ "$(zadp-repo ls | wc -l)" = 10 ] || die "the dry run removed something"
line() { jq -c --arg b "$2" 'select(.backup == $b) | {action, reasons, unfinished}' "$1"; }
[ "$(line "$T/dry" "$b5")" = '{"action":"keep","reasons":["unfinished","newest"],"unfinished":true}' ] ||
    die "b5: $(line "$T/dry" "$b5")"
[ "$(line "$T/dry" "$b2")" = '{"action":"would remove","reasons":["unfinished"],"unfinished":true}' ] ||
    die "b2: $(line "$T/dry" "$b2")"
[ "$(line "$T/dry" "$b4")" = '{"action":"keep","reasons":["last"],"unfinished":null}' ] || die "b4: $(line "$T/dry" "$b4")"
[ "$(line "$T/dry" "$b3")" = '{"action":"keep","reasons":["last"],"unfinished":null}' ] || die "b3: $(line "$T/dry" "$b3")"
[ "$(line "$T/dry" "$b1")" = '{"action":"would remove","reasons":[],"unfinished":null}' ] || die "b1: $(line "$T/dry" "$b1")"

zadp-repo prune web01 --keep-last 2 >"$T/prune"
cmp <(jq -c 'del(.action)' "$T/dry") <(jq -c 'del(.action)' "$T/prune") || die "dry run and prune disagree"
[ "$(backups_of web01 | tr '\n' ' ')" = "$b3 $b4 $b5 " ] || die "left: $(backups_of web01)"
for b in "$b3" "$b4" "$b5"; do restores_to "$T/disk.img" "$b/disk0"; done
echo "ok: prune leaves unfinished backups out of the count, keeps the newest, removes older ones"
