#!/bin/bash
# restore-vm.sh from a repository: web01 (3 data disks of odd sizes, 2
# CD-ROMs, 2 NICs) backed up on two nights comes back as a new VM from
# repo:GROUP/TIME (the older night) and from repo:GROUP (the newest complete
# backup), every disk verified against the backup before anything is created
# and equal to that night's data afterwards; the configuration comes from the
# backup's vm.json blob.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/restore.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
start_restore_sim
require_tools zadp-repo
zadp-repo init >/dev/null
id=$(vm_ids web01)

backup_vm --consistency crash --time 2026-11-27T020000Z web01
night1=$(for i in 0 2 4; do disk_digest web01 $i; done)
sim_admin disk-write '{"vm":"web01","disk":2,"offset":8192,"random":{"seed":77,"length":4096}}' >/dev/null
backup_vm --consistency crash --time 2026-11-28T020000Z web01
night2=$(for i in 0 2 4; do disk_digest web01 $i; done)
[ "$night1" != "$night2" ] || die "disk 2 did not change; the test proves nothing"

"$RESTORE_VM" --name web01-night1 "repo:$id/2026-11-27T020000Z" >"$T/s1.json" 2>"$T/r1.err" ||
    { cat "$T/r1.err" >&2; die "restore-vm.sh repo:$id/2026-11-27T020000Z failed"; }
"$RESTORE_VM" --name web01-night2 "repo:$id" >"$T/s2.json" 2>"$T/r2.err" ||
    { cat "$T/r2.err" >&2; die "restore-vm.sh repo:$id failed"; }
jq -e --arg b "repo:$id/2026-11-27T020000Z" '.verified and .backup == $b and (.disks | map(.original_index)) == [0, 2, 4]' \
    "$T/s1.json" >/dev/null || die "summary of night 1: $(cat "$T/s1.json")"
jq -e --arg b "repo:$id/2026-11-28T020000Z" '.verified and .backup == $b' "$T/s2.json" >/dev/null ||
    die "repo:GROUP did not restore the newest backup: $(cat "$T/s2.json")"
[ "$(for i in 0 2 4; do disk_digest web01-night1 $i; done)" = "$night1" ] || die "web01-night1's disks differ from night 1"
[ "$(for i in 0 2 4; do disk_digest web01-night2 $i; done)" = "$night2" ] || die "web01-night2's disks differ from night 2"

shape='{vcpu, memory, firmware, disks: [.vm_disks[] | {index, type, bus, boot, size: .vm_volume.size}],
        nics: [.vm_nics[] | {vlan: .vlan.name, model}]}'
[ "$(hci-vm-get --name web01 --full | jq -S "$shape")" = "$(hci-vm-get --name web01-night1 --full | jq -S "$shape")" ] ||
    die "web01-night1's configuration differs from web01's"

# A backup that is not there: nothing is created.
vms=$(sim_api get-vms '{}' | jq length)
expect_exit 4 "$RESTORE_VM" --name nope "repo:$id/2020-01-01T000000Z"
[ "$(sim_api get-vms '{}' | jq length)" -eq "$vms" ] || die "a failed restore created a VM"
echo "ok: web01 restored from repo:GROUP/TIME (night 1) and repo:GROUP (night 2), every disk equal"
