#!/bin/bash
# When backup-vm.sh cannot delete its VM snapshot at all (every
# delete-vm-snapshot connection dropped), the data is still saved (exit 0 with
# a warning), the manifest says snapshot_kept: true because the delete
# failed, and `backup-vm.sh --sweep` removes the leftover later by its name
# prefix.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_backup_sim

sim_admin faults '{"op":"delete-vm-snapshot","count":-1,"drop":true}' >/dev/null
backup_vm demo-vm "$T/b"
grep -q 'WARNING: could not delete the VM snapshot' "$T/backup.err" || die "no warning about the snapshot"
id=$(jq -r .vm_snapshot.id "$T/b/demo-vm.backup.json")
[ "$(vm_snapshots "$id")" -eq 1 ] || die "the snapshot is gone; the fault proves nothing"
manifest_is "$T/b/demo-vm.backup.json" '.snapshot_kept == true and .snapshot_kept_reason == "delete failed" and .complete'

# A VM snapshot a user keeps is not the sweep's business.
sim_admin faults/clear '{}' >/dev/null
kept=$(jq -c '.[0]' <(hci-vm-get --name demo-vm | hci-snap-create --name 'users-own-{vm}' | hci-task-wait | jq -s .))
"$HCI_SOURCE_DIR/examples/backup-vm.sh" --sweep "$T" 2>"$T/sweep.err" || { cat "$T/sweep.err" >&2; die "sweep failed"; }
cat "$T/sweep.err" >&2
[ "$(vm_snapshots "$id")" -eq 0 ] || die "the sweep did not remove the leftover snapshot"
[ "$(vm_snapshots)" -eq 1 ] || die "the sweep removed the user's own snapshot ($kept)"
echo "ok: snapshot deletion failed -> exit 0, warning, manifest snapshot_kept: true; the sweep removed it"
