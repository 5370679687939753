#!/bin/bash
# Ctrl-C on backup-vm.sh storing into a repository, after disk 0 was stored,
# while disk 1 is read: exit 130, the unfinished backup is removed from the
# repository (no manifest, no image of it is left), no clone LUN and no
# snapshot remain, and the night before stays intact.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
require_pipeline
require_tools zadp-repo

vm_scenario "$T/scenario.json" busy:8388608,167772160
start_sim --scenario "$T/scenario.json" --task-duration 50
sim_require_tgtd
sim_admin disk-write '{"vm":"busy","disk":0,"offset":0,"random":{"seed":1,"length":1048576}}' >/dev/null
sim_admin disk-write '{"vm":"busy","disk":1,"offset":0,"random":{"seed":2,"length":167772160}}' >/dev/null
zadp-repo init >/dev/null
id=$(vm_ids busy)
backup_vm --time 2026-11-27T020000Z busy || die "night 1 failed"

set -m
"$HCI_SOURCE_DIR/examples/backup-vm.sh" --time 2026-11-28T020000Z busy 2>"$T/backup.err" &
bpid=$!
set +m
on_exit "kill -KILL -$bpid 2>/dev/null"
for _ in $(seq 3000); do
    grep -q 'disk 0 saved' "$T/backup.err" && pgrep -P "$bpid" -x zadp-read >/dev/null && break
    kill -0 "$bpid" 2>/dev/null || { cat "$T/backup.err" >&2; die "the backup ended before disk 1 was read"; }
    sleep 0.01
done
pgrep -P "$bpid" -x zadp-read >/dev/null || die "never saw disk 1 being read"
[ -n "$(zadp-repo ls "$id/2026-11-28T020000Z")" ] || die "nothing stored before the interrupt; the test proves nothing"
kill -INT -- "-$bpid"
rc=0
wait "$bpid" || rc=$?
cat "$T/backup.err" >&2
[ $rc -eq 130 ] || die "expected exit 130 after Ctrl-C, got $rc"

[ "$(backups_of "$id")" = "$id/2026-11-27T020000Z" ] || die "the group holds: $(backups_of "$id")"
[ "$(sim_api get-iscsi-luns '{"where":{"name_starts_with":"hci-backup-tmp-"}}' | jq length)" -eq 0 ] || die "clone LUNs left"
[ "$(sim_api get-vm-snapshots '{}' | jq length)" -eq 0 ] || die "VM snapshot left"
zadp-repo check "$id" --read-data >/dev/null || die "night 1 is damaged"
echo "ok: Ctrl-C removed the unfinished backup; night 1 intact"
