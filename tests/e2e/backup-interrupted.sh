#!/bin/bash
# Ctrl-C on backup-vm.sh while hci-lun-export waits for its clone tasks: the
# script exits 130 and leaves nothing behind: no clone LUN (not even the ones
# hci-lun-export had not printed yet), no VM snapshot, no file in DIR.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
# Slow tasks, so that the interrupt surely lands while the clones are made.
start_backup_sim "" 3000

backup_job demo-vm "$T/b"
for _ in $(seq 300); do
    [ -n "$(descendants "$BACKUP_PID" hci-lun-export)" ] && break
    kill -0 "$BACKUP_PID" 2>/dev/null || { cat "$T/backup.err" >&2; die "the backup ended before exporting"; }
    sleep 0.05
done
[ -n "$(descendants "$BACKUP_PID" hci-lun-export)" ] || die "never saw hci-lun-export running"
# The clones exist as soon as the clone call is made; their tasks run 3 s.
clones=0
for _ in $(seq 600); do
    clones=$(backup_target_luns)
    [ "$clones" -eq 0 ] || break
    kill -0 "$BACKUP_PID" 2>/dev/null || break
    sleep 0.1
done
signal_backup_job INT
[ $BACKUP_RC -eq 130 ] || die "expected exit 130 after Ctrl-C, got $BACKUP_RC"
[ "$clones" -gt 0 ] || die "no clone existed at the interrupt; the test proves nothing"
left=$(backup_target_luns)
[ "$left" -eq 0 ] || die "$left clone LUN(s) left behind"
snaps=$(vm_snapshots)
[ "$snaps" -eq 0 ] || die "$snaps VM snapshot(s) left behind"
[ -z "$(ls -A "$T/b")" ] || die "files left in the backup directory: $(ls -A "$T/b")"
echo "ok: interrupted during export ($clones clone(s) existed): exit 130, nothing left behind"
