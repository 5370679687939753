#!/bin/bash
# Ctrl-C on backup-vm.sh storing into a repository, after disk 0 was stored,
# while disk 1 is read: exit 130, the unfinished backup is removed from the
# repository (no manifest, no image of it is left), no clone LUN and no
# snapshot remain, and the night before stays intact.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
require_tools zadp-repo
start_two_disk_sim busy
zadp-repo init >/dev/null
id=$(vm_ids busy)
backup_vm --time 2026-11-27T020000Z busy

arm_disk_reader 1
backup_job --time 2026-11-28T020000Z busy
disk_reader "$BACKUP_PID" 1 >/dev/null
[ -n "$(zadp-repo ls "$id/2026-11-28T020000Z")" ] || die "nothing stored before the interrupt; the test proves nothing"
signal_backup_job INT
[ "$BACKUP_RC" -eq 130 ] || die "expected exit 130 after Ctrl-C, got $BACKUP_RC"

[ "$(backups_of "$id")" = "$id/2026-11-27T020000Z" ] || die "the group holds: $(backups_of "$id")"
[ "$(backup_target_luns)" -eq 0 ] || die "clone LUNs left"
[ "$(vm_snapshots)" -eq 0 ] || die "VM snapshot left"
zadp-repo check "$id" --read-data >/dev/null || die "night 1 is damaged"
echo "ok: Ctrl-C removed the unfinished backup; night 1 intact"
