#!/bin/bash
# kill -9 of backup-vm.sh (its whole process group) storing into a repository,
# after disk 0 was stored, while disk 1 is read: the backup has no manifest
# (backup.json) and its unfinished.json says so; restore-vm.sh refuses it
# (exit 6, nothing created); the night before stays intact. `backup-vm.sh
# --sweep` then removes the unfinished backup, the clone LUNs and the
# snapshot, leaves the earlier backup alone, and gc reclaims the orphans.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
require_tools zadp-repo hci-vm-create hci-lun-admit
start_two_disk_sim victim
zadp-repo init >/dev/null
id=$(vm_ids victim)
n1=$id/2026-11-27T020000Z n2=$id/2026-11-28T020000Z
backup_vm --time 2026-11-27T020000Z victim
sim_admin disk-write '{"vm":"victim","disk":0,"offset":0,"random":{"seed":4,"length":1048576}}' >/dev/null

arm_disk_reader 1
backup_job --time 2026-11-28T020000Z victim
disk_reader "$BACKUP_PID" 1 >/dev/null
grep -q 'disk 0 saved' "$T/backup.err" || die "disk 0 was not stored before disk 1 was read"
signal_backup_job KILL

[ "$(files_of "$n2")" = "disk0 unfinished.json " ] || die "the killed backup holds: $(files_of "$n2")"
zadp-repo cat "$n2/unfinished.json" | jq -e --arg id "$id" '.vm.id == $id and .format == "hci-backup-unfinished"' >/dev/null ||
    die "unfinished.json does not name the run"
[ "$(backup_target_luns)" -gt 0 ] && [ "$(vm_snapshots)" -eq 1 ] || die "no clone or snapshot left by the kill; the test proves nothing"

# Unfinished: restore-vm.sh refuses it before creating anything.
vms=$(sim_api get-vms '{}' | jq length)
rc=0
ZADP_INITIATOR_IQN=iqn.2026-11.test:restore "$HCI_SOURCE_DIR/examples/restore-vm.sh" "repo:$n2" 2>"$T/restore.err" || rc=$?
[ $rc -eq 6 ] || { cat "$T/restore.err" >&2; die "restore-vm.sh of the unfinished backup exited $rc, expected 6"; }
grep -q 'unfinished' "$T/restore.err" || die "the refusal does not say the backup is unfinished: $(cat "$T/restore.err")"
[ "$(sim_api get-vms '{}' | jq length)" -eq "$vms" ] || die "a VM was created from an unfinished backup"

"$HCI_SOURCE_DIR/examples/backup-vm.sh" --sweep 2>"$T/sweep.err" || { cat "$T/sweep.err" >&2; die "sweep failed"; }
cat "$T/sweep.err" >&2
grep -q 'removed 1 unfinished backup' "$T/sweep.err" || die "the sweep did not report the unfinished backup"
[ "$(backups_of "$id")" = "$n1" ] || die "after the sweep the group holds: $(backups_of "$id")"
[ "$(files_of "$n1")" = "backup.json disk0 disk1 vm.json " ] || die "night 1 holds: $(files_of "$n1")"
[ "$(backup_target_luns)" -eq 0 ] || die "the sweep left $(backup_target_luns) clone LUN(s)"
[ "$(vm_snapshots)" -eq 0 ] || die "the sweep left the VM snapshot"
gc=$(zadp-repo gc)
# The killed night's disk 0 (changed since night 1) is garbage now.
jq -e '.chunks_removed >= 1 and .missing_chunks == 0' <<<"$gc" >/dev/null || die "gc did not reclaim the orphans: $gc"
zadp-repo check "$n1" --read-data >/dev/null || die "night 1 is damaged after the sweep and gc"
rm -f "$T/r.img"
"$HCI_SOURCE_DIR/examples/restore-disk.sh" "repo:$n1/disk1" "$T/r.img" >/dev/null || die "night 1's disk 1 does not restore"
echo "ok: kill -9 left an unfinished backup (no manifest), refused by restore-vm.sh; the sweep removed it, night 1 intact"
