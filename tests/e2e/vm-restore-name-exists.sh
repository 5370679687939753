#!/bin/bash
# restore-vm.sh never overwrites or duplicates a VM: a second restore into a
# name that exists (the default web01-restored, or the original's) is
# refused before anything is created, and the existing VM is untouched.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/restore.sh"
start_restore_sim
backup_web01 "$T/backup"
"$RESTORE_VM" "$T/backup" >/dev/null 2>"$T/err" || { cat "$T/err" >&2; die "first restore failed"; }
before=$(disk_digest web01-restored 0)
sim_admin disk-write '{"vm":"web01-restored","disk":0,"offset":0,"data_base64":"bWFyaw=="}' >/dev/null
marked=$(disk_digest web01-restored 0)

for name in '{name}-restored' web01; do
    sim_admin counters/reset '{}' >/dev/null
    rc=0
    "$RESTORE_VM" --name "$name" "$T/backup" >"$T/out" 2>"$T/err" || rc=$?
    [ $rc -ne 0 ] || die "--name $name: a restore into an existing name succeeded"
    grep -q "a VM named .* exists" "$T/err" || die "--name $name: message: $(cat "$T/err")"
    [ "$(sim_admin counters | jq '."create-vm" // 0')" -eq 0 ] || die "--name $name: create-vm was called"
done
[ "$(vms_named web01-restored)" -eq 1 ] && [ "$(vms_named web01)" -eq 1 ] || die "a VM was added or removed"
[ "$(disk_digest web01-restored 0)" = "$marked" ] && [ "$marked" != "$before" ] || die "the existing VM's disk was touched"
echo "ok: existing names refused, nothing created or touched"
