#!/bin/bash
# hci-sim copies a snapshot's volumes off its event loop: while a 1 GiB dense
# disk is being copied for create-vm-snapshot, other calls (get-vms, the admin
# state) are answered, and a disk-write to that disk waits for the copy, so
# the snapshot still holds the data from before it.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd --task-duration 50

vol=$(sim_admin volume-path '{"vm":"web01","disk":0}' | jq -r .path)
dd if=/dev/zero of="$vol" bs=1M count=1024 conv=notrunc status=none   # dense: every block allocated
sim_admin disk-write '{"vm":"web01","disk":0,"offset":0,"random":{"seed":7,"length":65536}}' >/dev/null
before=$(sim_admin digest '{"vm":"web01","disk":0}' | jq -r .sha256)
vm_id=$(sim_api get-vms '{"where":{"name":"web01"}}' | jq -r '.[0].id')

sim_api create-vm-snapshot "{\"data\":[{\"vm_id\":\"$vm_id\",\"name\":\"big\",\"consistent_type\":\"CRASH_CONSISTENT\"}]}" \
    >"$T/snap.json" &
snap_pid=$!
seen=0
while kill -0 "$snap_pid" 2>/dev/null; do
    n=$(sim_admin state | jq -r '.snapshot_copies_in_flight // 0')
    if [ "$n" -gt 0 ]; then seen=1; break; fi
done
[ "$seen" -eq 1 ] || die "no API call was answered while the snapshot copy ran"
sim_api get-vms '{"where":{"name":"db01"}}' | jq -e 'length == 1' >/dev/null || die "get-vms failed during the copy"
# A write to the disk being copied lands after the copy.
sim_admin disk-write '{"vm":"web01","disk":0,"offset":0,"random":{"seed":8,"length":65536}}' >/dev/null
wait "$snap_pid" || die "create-vm-snapshot failed"
lun_snap=$(jq -r '.[0].data.vm_disks[0].snapshot_local_id' "$T/snap.json")
[ "$(sim_admin digest "{\"lun_snapshot\":\"$lun_snap\"}" | jq -r .sha256)" = "$before" ] ||
    die "the snapshot holds data written after it was taken"
[ "$(sim_admin digest '{"vm":"web01","disk":0}' | jq -r .sha256)" != "$before" ] || die "the later write was lost"
echo ok
