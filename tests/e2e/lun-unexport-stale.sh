#!/bin/bash
# Leftover clones of an interrupted run are found by prefix (--stale) and
# removed (--delete); LUNs with other names are left alone.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd

hci-vm-get --name web01 --name db01 | hci-snap-create 2>/dev/null | hci-task-wait | hci-snap-luns > "$T/disks.jsonl"
hci-lun-export --target backup-tgt --portal 192.0.2.1 --prefix stale-test- < "$T/disks.jsonl" > /dev/null
hci-lun-export --target backup-tgt --portal 192.0.2.1 --prefix keep-me- < "$T/disks.jsonl" > /dev/null
[ "$(hci-lun-unexport --stale stale-test- | wc -l)" -eq 3 ] || die "expected 3 stale LUNs"
hci-lun-unexport --stale stale-test- --delete > "$T/deleted.jsonl"
[ "$(jq -r .name "$T/deleted.jsonl" | grep -c '^stale-test-')" -eq 3 ] || die "--delete did not print the 3 LUNs"
[ "$(hci-lun-unexport --stale stale-test- | wc -l)" -eq 0 ] || die "stale LUNs remain"
[ "$(hci-lun-unexport --stale keep-me- | wc -l)" -eq 3 ] || die "other LUNs were touched"
expect_exit 2 hci-lun-unexport --delete 2>/dev/null
echo "ok: stale cleanup"
