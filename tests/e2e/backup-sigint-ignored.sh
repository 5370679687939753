#!/bin/bash
# backup-vm.sh started as a background job of a non-interactive shell, where
# SIGINT is ignored, and then the group gets SIGINT (Ctrl-C on the terminal
# of the script that started it): the backup ends as it does on SIGTERM,
# exit 130, and publishes nothing (no incomplete backup with a disk missing),
# leaving no clone LUN and no VM snapshot. SIGHUP does the same (exit 129).
# Before, the tools died of the signal alone and the script published a
# backup without the disk they were reading.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_two_disk_sim busy

arm_disk_reader 1
for sig in INT HUP; do
    P=$T/backups-$sig
    rm -f "$T/shim/pid" "$T/shim/fired"; touch "$T/shim/armed"  # armed again, for this backup
    # `trap '' INT` is what a non-interactive shell does to its `&` jobs.
    set -m
    bash -c 'trap "" INT; exec "$@"' backup "$HCI_SOURCE_DIR/examples/backup-vm.sh" busy "$P/b" 2>"$T/backup.err" &
    BACKUP_PID=$!
    set +m
    on_exit "kill -KILL -$BACKUP_PID 2>/dev/null"
    disk_reader "$BACKUP_PID" 1 >/dev/null
    signal_backup_job "$sig"
    want=$([ "$sig" = INT ] && echo 130 || echo 129)
    [ $BACKUP_RC -eq "$want" ] || die "SIG$sig with SIGINT ignored at start: exit $BACKUP_RC, expected $want"
    grep -q 'interrupted' "$T/backup.err" || die "SIG$sig: the script does not say it was interrupted"
    [ -z "$(ls -A "$P" 2>/dev/null)" ] || die "SIG$sig: a backup was published: $(find "$P")"
    [ "$(backup_target_luns)" -eq 0 ] || die "SIG$sig: clone LUN(s) left"
    [ "$(vm_snapshots)" -eq 0 ] || die "SIG$sig: VM snapshot left"
done
echo OK
