#!/bin/bash
# A clone task that FAILS: reported with the disk, its line not written, exit 5;
# with one disk per call, the other disk is still exported.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd

hci-vm-get --name web01 | hci-snap-create 2>/dev/null | hci-task-wait | hci-snap-luns > "$T/disks.jsonl"
sim_admin faults '{"op":"clone-iscsi-lun-from-snapshot","count":1,"fail_task":true}' >/dev/null
got=0
hci-lun-export --batch-size 1 --target backup-tgt --portal 192.0.2.1 < "$T/disks.jsonl" > "$T/out.jsonl" 2> "$T/err" || got=$?
[ "$got" -eq 5 ] || die "expected exit 5, got $got: $(cat "$T/err")"
grep -q 'exporting vm web01, disk .*FAILED' "$T/err" || die "unclear report: $(cat "$T/err")"
[ "$(wc -l < "$T/out.jsonl")" -eq 1 ] || die "expected the other disk's line only"
echo "ok: failed clone task"
