#!/bin/bash
# hci-sim: a VM snapshot freezes each DISK point-in-time into a LUN snapshot
# named by the frozen disk's snapshot_local_id; CD-ROMs are not frozen; a
# FILE_SYSTEM_CONSISTENT snapshot of a VM without running tools FAILS.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd --task-duration 1500

wait_task() {  # wait_task ID STATUS
    local s
    for _ in $(seq 100); do
        s=$(sim_api get-tasks "{\"where\":{\"id_in\":[\"$1\"]}}" | jq -r '.[0].status')
        [ "$s" = SUCCESSED ] || [ "$s" = FAILED ] && break
        sleep 0.1
    done
    [ "$s" = "$2" ] || die "task $1 ended $s, wanted $2"
}

sim_admin disk-write '{"vm":"web01","disk":0,"offset":0,"random":{"seed":1,"length":1048576}}' >/dev/null
sim_admin disk-write '{"vm":"web01","disk":1,"extents":[[0,4096],[100000256,8192]],"random":{"seed":2}}' |
    jq -e '.written == 12288' >/dev/null || die "extent write did not report 12288 bytes"
d0_before=$(sim_admin digest '{"vm":"web01","disk":0}')
d1_before=$(sim_admin digest '{"vm":"web01","disk":1}' | jq -r .sha256)

vm_id=$(sim_api get-vms '{"where":{"name":"web01"}}' | jq -r '.[0].id')
out=$(sim_api create-vm-snapshot "{\"data\":[{\"vm_id\":\"$vm_id\",\"name\":\"s1\",\"consistent_type\":\"FILE_SYSTEM_CONSISTENT\"}]}")
task=$(jq -r '.[0].task_id' <<<"$out")
status=$(sim_api get-tasks "{\"where\":{\"id\":\"$task\"}}" | jq -r '.[0].status')
case $status in PENDING|EXECUTING) ;; *) die "a fresh task is $status, not PENDING/EXECUTING" ;; esac

# Data written after the snapshot must not reach it.
sim_admin disk-write '{"vm":"web01","disk":0,"offset":0,"random":{"seed":99,"length":4096}}' >/dev/null
wait_task "$task" SUCCESSED

snap_id=$(jq -r '.[0].data.id' <<<"$out")
sim_api get-vm-snapshots "{\"where\":{\"id\":\"$snap_id\"}}" > "$T/snap.json"
jq -e '.[0].consistent_type == "FILE_SYSTEM_CONSISTENT" and (.[0].vm_disks | length) == 3' "$T/snap.json" >/dev/null ||
    die "snapshot shape: $(cat "$T/snap.json")"
jq -e '[.[0].vm_disks[] | select(.type == "CD_ROM") | .snapshot_local_id] == [null]' "$T/snap.json" >/dev/null ||
    die "the CD-ROM has a snapshot_local_id"
names=$(jq -c '[.[0].vm_disks[] | select(.type == "DISK") | .snapshot_local_id]' "$T/snap.json")
lun_snaps=$(sim_api get-iscsi-lun-snapshots "{\"where\":{\"name_in\":$names}}")
[ "$(jq length <<<"$lun_snaps")" = 2 ] || die "expected 2 LUN snapshots for $names, got $lun_snaps"

n0=$(jq -r '.[0]' <<<"$names")
n1=$(jq -r '.[1]' <<<"$names")
s0=$(sim_admin digest "{\"lun_snapshot\":\"$n0\"}")
[ "$(jq -r .sha256 <<<"$s0")" = "$(jq -r .sha256 <<<"$d0_before")" ] || die "disk 0 snapshot is not the pre-snapshot data"
[ "$(jq -r .allocated <<<"$s0")" = 1048576 ] || die "snapshot copy is not sparse: $s0"
[ "$(sim_admin digest "{\"lun_snapshot\":\"$n1\"}" | jq -r .sha256)" = "$d1_before" ] || die "disk 1 snapshot differs"
[ "$(sim_admin digest '{"vm":"web01","disk":0}' | jq -r .sha256)" != "$(jq -r .sha256 <<<"$s0")" ] ||
    die "the live disk did not change after the second write"

# The digest is sha256sum of the raw image (on db01's 64 MiB disk: sha256sum is slow).
sim_admin disk-write '{"vm":"db01","disk":0,"extents":[[512,1000000],[50000000,4096]],"random":{"seed":3}}' >/dev/null
path=$(sim_admin volume-path '{"vm":"db01","disk":0}' | jq -r .path)
[ "$(sha256sum < "$path" | cut -d' ' -f1)" = "$(sim_admin digest '{"vm":"db01","disk":0}' | jq -r .sha256)" ] ||
    die "digest differs from sha256sum"

# FILE_SYSTEM_CONSISTENT without VM tools: FAILED, and no snapshot is kept.
db_id=$(sim_api get-vms '{"where":{"name":"db01"}}' | jq -r '.[0].id')
out=$(sim_api create-vm-snapshot "{\"data\":[{\"vm_id\":\"$db_id\",\"name\":\"fs\",\"consistent_type\":\"FILE_SYSTEM_CONSISTENT\"}]}")
wait_task "$(jq -r '.[0].task_id' <<<"$out")" FAILED
sim_api get-tasks "{\"where\":{\"id\":$(jq '.[0].task_id' <<<"$out")}}" |
    jq -e '.[0].error_code != null and (.[0].error_message | test("VMTools|tools"))' >/dev/null || die "no error on the FAILED task"
sim_api get-vm-snapshots '{"where":{"name":"fs"}}' | jq -e 'length == 0' >/dev/null || die "failed snapshot was kept"

# Deleting the VM snapshot removes its LUN snapshots too.
del=$(sim_api delete-vm-snapshot "{\"where\":{\"id\":\"$snap_id\"}}")
jq -e --arg id "$snap_id" '.[0].data.id == $id and (.[0].task_id | type == "string")' <<<"$del" >/dev/null || die "delete: $del"
sim_api get-iscsi-lun-snapshots "{\"where\":{\"name_in\":$names}}" | jq -e 'length == 0' >/dev/null ||
    die "LUN snapshots survived the VM snapshot"
echo "ok"
