#!/bin/bash
# A repository backup whose disks fail (their clone tasks FAIL) keeps its
# manifest with complete false and failed_disks, no image and no
# unfinished.json; restore-vm.sh refuses it (exit 6) and creates nothing; the
# Makefile exits non-zero, and its rerun of the same RUN backs the VM up
# whole and removes that incomplete backup.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
require_tools zadp-repo hci-vm-create hci-lun-admit
vm_scenario partial:4194304,4194304
start_backup_sim "$T/scenario.json"
sim_admin disk-write '{"vm":"partial","disk":0,"offset":0,"random":{"seed":1,"length":1048576}}' >/dev/null
zadp-repo init >/dev/null
id=$(vm_ids partial)
unset MAKEFLAGS MFLAGS MAKELEVEL
run_make() { make -f "$HCI_SOURCE_DIR/examples/Makefile" WHERE='{"name":"partial"}' RUN=2026-11-28 "$@" >"$T/make.log" 2>&1; }

sim_admin faults '{"op":"clone-iscsi-lun-from-snapshot","count":1,"fail_task":true}' >/dev/null
rc=0
run_make BACKUP_TIME=2026-11-28T020000Z || rc=$?
[ $rc -ne 0 ] || { cat "$T/make.log"; die "make succeeded although no disk could be exported"; }
b=$id/2026-11-28T020000Z
[ "$(files_of "$b")" = "backup.json vm.json " ] || { cat "$T/make.log"; die "the failed backup holds: $(files_of "$b")"; }
zadp-repo cat "$b/backup.json" | jq -e '(.complete | not) and (.disks | length == 0)
    and ([.failed_disks[].index] == [0, 1])' >/dev/null || die "its manifest: $(zadp-repo cat "$b/backup.json")"

vms=$(sim_api get-vms '{}' | jq length)
rc=0
ZADP_INITIATOR_IQN=iqn.2026-11.test:restore "$HCI_SOURCE_DIR/examples/restore-vm.sh" "repo:$b" 2>"$T/restore.err" || rc=$?
[ $rc -eq 6 ] && grep -q incomplete "$T/restore.err" || die "restore-vm.sh of an incomplete backup: exit $rc, $(cat "$T/restore.err")"
[ "$(sim_api get-vms '{}' | jq length)" -eq "$vms" ] || die "a VM was created from an incomplete backup"

run_make BACKUP_TIME=2026-11-28T030000Z || { cat "$T/make.log"; die "the rerun failed"; }
grep -q "removed incomplete backup $b" "$T/make.log" || { cat "$T/make.log"; die "the rerun did not remove the incomplete backup"; }
[ "$(backups_of "$id")" = "$id/2026-11-28T030000Z" ] || die "after the rerun the group holds: $(backups_of "$id")"
zadp-repo cat "$id/2026-11-28T030000Z/backup.json" | jq -e '.complete and (.disks | length == 2)' >/dev/null ||
    die "the rerun's backup is not complete"
echo "ok: an incomplete backup keeps its manifest, is refused by restore-vm.sh and removed by the successful rerun"
