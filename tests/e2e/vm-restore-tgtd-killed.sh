#!/bin/bash
# tgtd dies in the middle of a restore (after the first disk is written):
# restore-vm.sh exits non-zero, prints no summary and deletes the half-made
# VM; with --keep-failed the VM stays, and its LUNs' allowed_initiators are
# put back to what they were before the restore.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/restore.sh"
start_restore_sim
backup_web01 "$T/backup"

# A zadp-write that has tgtd killed before the second disk it writes.
shim_zadp_write "n=\$(cat '$T/writes' 2>/dev/null || echo 0); echo \$((n + 1)) >'$T/writes'
[ \"\$n\" -ne 1 ] || curl -fsS -X POST '$SIM_URL/_sim/tgtd/kill' >/dev/null"

rc=0
PATH="$T/shim:$PATH" "$RESTORE_VM" "$T/backup" >"$T/out" 2>"$T/err" || rc=$?
[ $rc -ne 0 ] || die "the restore succeeded although tgtd was killed"
[ "$(cat "$T/writes")" -eq 2 ] || die "expected the second write to fail, saw $(cat "$T/writes") writes"
[ ! -s "$T/out" ] || die "a summary was printed: $(cat "$T/out")"
grep -q "disk 0 restored and verified" "$T/err" || die "the first disk was not written: $(cat "$T/err")"
grep -q "deleted the half-made VM web01-restored" "$T/err" || die "no clean-up reported: $(cat "$T/err")"
[ "$(vms_named web01-restored)" -eq 0 ] || die "the half-made VM is still there"
[ "$(sim_api get-vm-volumes '{"where":{"name_starts_with":"web01-restored"}}' | jq length)" -eq 0 ] ||
    die "its volumes are still there"

# tgtd is gone now, so the first write fails; --keep-failed keeps the VM.
rc=0
"$RESTORE_VM" --keep-failed "$T/backup" >"$T/out" 2>"$T/err" || rc=$?
[ $rc -ne 0 ] || die "the restore succeeded without tgtd"
grep -q "is kept (--keep-failed)" "$T/err" || die "message: $(cat "$T/err")"
[ "$(vms_named web01-restored)" -eq 1 ] || die "--keep-failed did not keep the VM"
allowed=$(sim_api get-iscsi-luns '{"where":{"name_starts_with":"web01-restored"}}' | jq -c '[.[].allowed_initiators] | unique')
[ "$allowed" = '[""]' ] || die "allowed_initiators not put back: $allowed"
echo "ok: a failed restore leaves no VM (or, kept, no admission) behind"
