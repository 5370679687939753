#!/bin/bash
# The manifest records what is true after the last clean-up step: when
# backup-vm.sh's first delete-vm-snapshot task fails and its retry succeeds,
# the manifest says snapshot_kept: false, and the snapshot is really gone.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_backup_sim

sim_admin faults '{"op":"delete-vm-snapshot","count":1,"fail_task":true}' >/dev/null
backup_vm demo-vm "$T/b"
[ "$(sim_admin counters | jq '."delete-vm-snapshot"')" -ge 2 ] || die "the fault was not hit; the test proves nothing"
[ "$(vm_snapshots "$(jq -r .vm_snapshot.id "$T/b/demo-vm.backup.json")")" -eq 0 ] || die "the snapshot still exists"
manifest_is "$T/b/demo-vm.backup.json" '.snapshot_kept == false and .snapshot_kept_reason == null and .clones_left == 0 and .complete'
echo "ok: first snapshot deletion failed, the retry succeeded, the manifest says snapshot_kept: false"
