#!/bin/bash
# Ctrl-C on backup-vm.sh after disk 0 was saved, while disk 1 is read: the
# script says it was interrupted, exits 130 and removes the unfinished
# backup: no stream file (not even disk 0's), no work directory, no DIR, no
# clone LUN and no VM snapshot.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_two_disk_sim busy

P=$T/backups
arm_disk_reader 1
backup_job busy "$P/b"
disk_reader "$BACKUP_PID" 1 >/dev/null
signal_backup_job INT
[ $BACKUP_RC -eq 130 ] || die "expected exit 130 after Ctrl-C, got $BACKUP_RC"
grep -q 'interrupted' "$T/backup.err" || die "the script does not say it was interrupted"
[ -z "$(find "$P" -name '*.zst*')" ] || die "stream files of the unfinished backup left: $(find "$P" -name '*.zst*')"
[ -z "$(ls -A "$P")" ] || die "files left in $P: $(ls -A "$P")"
[ "$(backup_target_luns)" -eq 0 ] || die "clone LUN(s) left"
[ "$(vm_snapshots)" -eq 0 ] || die "VM snapshot left"
echo "ok: Ctrl-C while reading disk 1: exit 130, said so, nothing left (not even disk 0's stream)"
