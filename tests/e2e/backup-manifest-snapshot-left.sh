#!/bin/bash
# When backup-vm.sh cannot delete its VM snapshot at all (every
# delete-vm-snapshot connection dropped), the data is still saved (exit 0 with
# a warning), the manifest says snapshot_kept: true because the delete
# failed, and `backup-vm.sh --sweep` removes the leftover later by its name
# prefix.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_pipeline
start_sim --scenario "$HCI_SOURCE_DIR/examples/demo-scenario.json" --task-duration 50
sim_require_tgtd

sim_admin faults '{"op":"delete-vm-snapshot","count":-1,"drop":true}' >/dev/null
"$HCI_SOURCE_DIR/examples/backup-vm.sh" demo-vm "$T/b" 2>"$T/backup.err" || { cat "$T/backup.err" >&2; die "backup failed"; }
cat "$T/backup.err" >&2
grep -q 'WARNING: could not delete the VM snapshot' "$T/backup.err" || die "no warning about the snapshot"
m=$T/b/demo-vm.backup.json
id=$(jq -r .vm_snapshot.id "$m")
left=$(sim_api get-vm-snapshots "$(jq -nc --arg id "$id" '{where: {id: $id}}')" | jq length)
[ "$left" -eq 1 ] || die "the snapshot is gone; the fault proves nothing"
jq -e '.snapshot_kept == true and .snapshot_kept_reason == "delete failed" and .complete' "$m" >/dev/null ||
    die "the manifest does not say the snapshot is left: $(jq -c '{snapshot_kept, snapshot_kept_reason}' "$m")"

# A VM snapshot a user keeps is not the sweep's business.
sim_admin faults/clear '{}' >/dev/null
kept=$(jq -c '.[0]' <(hci-vm-get --name demo-vm | hci-snap-create --name 'users-own-{vm}' | hci-task-wait | jq -s .))
"$HCI_SOURCE_DIR/examples/backup-vm.sh" --sweep "$T" 2>"$T/sweep.err" || { cat "$T/sweep.err" >&2; die "sweep failed"; }
cat "$T/sweep.err" >&2
left=$(sim_api get-vm-snapshots "$(jq -nc --arg id "$id" '{where: {id: $id}}')" | jq length)
[ "$left" -eq 0 ] || die "the sweep did not remove the leftover snapshot"
[ "$(sim_api get-vm-snapshots '{}' | jq length)" -eq 1 ] || die "the sweep removed the user's own snapshot ($kept)"
echo "ok: snapshot deletion failed -> exit 0, warning, manifest snapshot_kept: true; the sweep removed it"
