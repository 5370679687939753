#!/bin/bash
# Ctrl-C in the middle of a restore (while the first disk is being written):
# restore-vm.sh exits 130, prints no summary, and deletes the half-made VM.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/restore.sh"
start_restore_sim
backup_web01 "$T/backup"

# A zadp-write that interrupts the script running it, as Ctrl-C would, and writes on.
shim_zadp_write "touch '$T/interrupted'; kill -INT \$PPID"

rc=0
PATH="$T/shim:$PATH" "$RESTORE_VM" "$T/backup" >"$T/out" 2>"$T/err" || rc=$?
[ -e "$T/interrupted" ] || die "the shim never ran: $(cat "$T/err")"
[ $rc -eq 130 ] || die "expected exit 130, got $rc: $(cat "$T/err")"
[ ! -s "$T/out" ] || die "a summary was printed: $(cat "$T/out")"
grep -q "deleted the half-made VM web01-restored" "$T/err" || die "no clean-up reported: $(cat "$T/err")"
[ "$(vms_named web01-restored)" -eq 0 ] || die "the half-made VM is still there"
echo "ok: an interrupted restore leaves no VM behind"
