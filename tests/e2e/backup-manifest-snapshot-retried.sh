#!/bin/bash
# The manifest records what is true after the last clean-up step: when
# backup-vm.sh's first delete-vm-snapshot task fails and its retry succeeds,
# the manifest says snapshot_kept: false, and the snapshot is really gone.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_pipeline
start_sim --scenario "$HCI_SOURCE_DIR/examples/demo-scenario.json" --task-duration 50
sim_require_tgtd

sim_admin faults '{"op":"delete-vm-snapshot","count":1,"fail_task":true}' >/dev/null
"$HCI_SOURCE_DIR/examples/backup-vm.sh" demo-vm "$T/b" 2>"$T/backup.err" || { cat "$T/backup.err" >&2; die "backup failed"; }
cat "$T/backup.err" >&2
[ "$(sim_admin counters | jq '."delete-vm-snapshot"')" -ge 2 ] || die "the fault was not hit; the test proves nothing"
m=$T/b/demo-vm.backup.json
id=$(jq -r .vm_snapshot.id "$m")
left=$(sim_api get-vm-snapshots "$(jq -nc --arg id "$id" '{where: {id: $id}}')" | jq length)
[ "$left" -eq 0 ] || die "the snapshot still exists"
jq -e '.snapshot_kept == false and .snapshot_kept_reason == null and .clones_left == 0 and .complete' "$m" >/dev/null ||
    die "the manifest does not say what is true: $(jq -c '{snapshot_kept, snapshot_kept_reason, clones_left}' "$m")"
echo "ok: first snapshot deletion failed, the retry succeeded, the manifest says snapshot_kept: false"
