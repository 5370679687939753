#!/bin/bash
# Failed disks in a repository backup, through examples/Makefile:
#  - every disk fails (their clone tasks FAIL): nothing is published (no
#    backup.json, no unfinished.json left: the backup would restore nothing),
#    make exits non-zero and its log says why each disk failed;
#  - one disk fails (the repository's disk is full while it is stored): the
#    backup is published with complete false, failed_disks names the disk
#    with the real reason ("No space left on device"); restore-vm.sh refuses
#    it (exit 6) and creates nothing;
#  - a rerun of the same RUN (with room again) backs the VM up whole and
#    removes that incomplete backup.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
require_tools zadp-repo hci-vm-create hci-lun-admit
[ "$(id -u)" -eq 0 ] || skip "needs root to mount a tmpfs"
mkdir "$T/small"
mount -t tmpfs -o size=12m tmpfs "$T/small" 2>/dev/null || skip "cannot mount a tmpfs here"
on_exit "umount '$T/small'"
export ZADP_REPO="$T/small/repo"
vm_scenario partial:4194304,25165824
start_backup_sim "$T/scenario.json"
sim_admin disk-write '{"vm":"partial","disk":0,"offset":0,"random":{"seed":1,"length":1048576}}' >/dev/null
zadp-repo init >/dev/null
id=$(vm_ids partial)
unset MAKEFLAGS MFLAGS MAKELEVEL
run_make() { make -f "$HCI_SOURCE_DIR/examples/Makefile" WHERE='{"name":"partial"}' RUN=2026-11-28 "$@" >"$T/make.log" 2>&1; }

sim_admin faults '{"op":"clone-iscsi-lun-from-snapshot","count":1,"fail_task":true}' >/dev/null
rc=0
run_make BACKUP_TIME=2026-11-28T010000Z || rc=$?
[ $rc -ne 0 ] || { cat "$T/make.log"; die "make succeeded although no disk could be exported"; }
[ -z "$(zadp-repo ls "$id")" ] || { cat "$T/make.log"; die "a backup without a single disk is in the repository: $(zadp-repo ls "$id")"; }
grep -q "disk 0 failed: export failed: hci-lun-export: error: .*disk 0: .*FAILED" "$T/make.log" &&
    grep -q "disk 1 failed: export failed: hci-lun-export: error: .*disk 1: .*FAILED" "$T/make.log" &&
    grep -q "nothing is published" "$T/make.log" || { cat "$T/make.log"; die "the log does not say why each disk failed"; }

# Disk 1 (20 MiB of new data) does not fit into the 12 MiB file system; disk 0 does.
sim_admin disk-write '{"vm":"partial","disk":1,"offset":0,"random":{"seed":2,"length":20971520}}' >/dev/null
rc=0
run_make BACKUP_TIME=2026-11-28T020000Z || rc=$?
[ $rc -ne 0 ] || { cat "$T/make.log"; die "make succeeded although disk 1 did not fit"; }
b=$id/2026-11-28T020000Z
[ "$(files_of "$b")" = "backup.json disk0 vm.json " ] || { cat "$T/make.log"; die "the partial backup holds: $(files_of "$b")"; }
zadp-repo cat "$b/backup.json" | jq -e '(.complete | not) and ([.disks[].index] == [0])
    and ([.failed_disks[].index] == [1]) and (.failed_disks[0].error | test("No space left on device"))
    and .failed_disks[0].exit_status == 7' >/dev/null || die "its manifest: $(zadp-repo cat "$b/backup.json")"
zadp-repo ls "$id" | jq -e -s 'all(.[]; .state == "partial")' >/dev/null || die "ls: $(zadp-repo ls "$id")"

vms=$(sim_api get-vms '{}' | jq length)
rc=0
ZADP_INITIATOR_IQN=iqn.2026-11.test:restore "$HCI_SOURCE_DIR/examples/restore-vm.sh" "repo:$b" 2>"$T/restore.err" || rc=$?
[ $rc -eq 6 ] && grep -q incomplete "$T/restore.err" || die "restore-vm.sh of an incomplete backup: exit $rc, $(cat "$T/restore.err")"
[ "$(sim_api get-vms '{}' | jq length)" -eq "$vms" ] || die "a VM was created from an incomplete backup"

mount -o remount,size=96m "$T/small" || die "cannot grow the tmpfs"
run_make BACKUP_TIME=2026-11-28T030000Z || { cat "$T/make.log"; die "the rerun failed"; }
grep -q "removed incomplete backup $b" "$T/make.log" || { cat "$T/make.log"; die "the rerun did not remove the incomplete backup"; }
[ "$(backups_of "$id")" = "$id/2026-11-28T030000Z" ] || die "after the rerun the group holds: $(backups_of "$id")"
zadp-repo cat "$id/2026-11-28T030000Z/backup.json" | jq -e '.complete and (.disks | length == 2)' >/dev/null ||
    die "the rerun's backup is not complete"
echo "ok: no backup without a disk; a partial one names the real reason, is refused by restore-vm.sh and removed by the rerun"
