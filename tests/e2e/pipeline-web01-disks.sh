#!/bin/bash
# The pipeline up to hci-snap-luns for a VM with 2 data disks and a CD-ROM
# gives exactly 2 lines, each LUN snapshot named after its frozen disk.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd

hci-vm-get --name web01 | hci-snap-create | hci-task-wait | hci-snap-luns > "$T/disks.jsonl"
[ "$(wc -l < "$T/disks.jsonl")" -eq 2 ] || die "expected 2 disk lines, got: $(cat "$T/disks.jsonl")"
jq -e -s 'all(.[]; .lun_snapshot.name == .disk.snapshot_local_id and (.disk.snapshot_local_id | length) > 0)' \
    "$T/disks.jsonl" >/dev/null || die "lun_snapshot.name differs from disk.snapshot_local_id"
jq -e -s 'all(.[]; .vm.name == "web01" and .vm_snapshot.consistent_type == "FILE_SYSTEM_CONSISTENT")' \
    "$T/disks.jsonl" >/dev/null || die "wrong vm or consistency"
[ "$(jq -r .disk.index "$T/disks.jsonl" | sort -u | wc -l)" -eq 2 ] || die "disk indexes are not distinct"
[ "$(jq -r .disk.size "$T/disks.jsonl" | sort -n | tr '\n' ' ')" = "268435456 1073741824 " ] || die "wrong disk sizes"
# The LUN snapshots really exist on the server under those names.
names=$(jq -c -s '[.[].disk.snapshot_local_id]' "$T/disks.jsonl")
[ "$(sim_api get-iscsi-lun-snapshots "{\"where\":{\"name_in\":$names}}" | jq length)" -eq 2 ] || die "LUN snapshots missing"
echo "ok: 2 disk lines for web01"
