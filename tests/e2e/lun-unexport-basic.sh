#!/bin/bash
# hci-lun-unexport deletes the clones named in export (one call), waits,
# passes the lines on unchanged (on to hci-snap-delete), leaves the LUN
# snapshots alone, and a second run only warns.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd

hci-vm-get --name web01 | hci-snap-create 2>/dev/null | hci-task-wait | hci-snap-luns \
    | hci-lun-export --target backup-tgt --portal 192.0.2.1 > "$T/exported.jsonl"
[ "$(wc -l < "$T/exported.jsonl")" -eq 2 ] || die "export failed"
sim_admin counters/reset '{}' >/dev/null
hci-lun-unexport < "$T/exported.jsonl" > "$T/out.jsonl" 2> "$T/err" || die "unexport failed: $(cat "$T/err")"
cmp -s "$T/exported.jsonl" "$T/out.jsonl" || die "lines not passed through unchanged"
[ "$(sim_admin counters | jq '.["delete-iscsi-lun"]')" -eq 1 ] || die "expected one delete-iscsi-lun call"
ids=$(jq -c -s '[.[].export.lun.id]' "$T/exported.jsonl")
[ "$(sim_api get-iscsi-luns "{\"where\":{\"id_in\":$ids}}" | jq length)" -eq 0 ] || die "clones still there"
names=$(jq -c -s '[.[].lun_snapshot.name]' "$T/exported.jsonl")
[ "$(sim_api get-iscsi-lun-snapshots "{\"where\":{\"name_in\":$names}}" | jq length)" -eq 2 ] || die "LUN snapshots were removed"
hci-lun-unexport < "$T/exported.jsonl" 2> "$T/err2" | hci-snap-delete > "$T/deleted.jsonl"
grep -q 'does not exist (already removed?)' "$T/err2" || die "no warning on the second run"
[ "$(wc -l < "$T/deleted.jsonl")" -eq 2 ] || die "lines did not reach hci-snap-delete"
echo "ok: unexport"
