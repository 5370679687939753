#!/bin/bash
# Two backup hosts (two processes with their own ZADP_HOST_ID and initiator
# IQN) back up the same VM into one S3 repository at the same time: exactly
# one goes on; the other says the VM is being backed up by another run (the
# winner's host id and pid) and exits 75 before it writes anything (no
# backup, no snapshot, no clone).
# While the winner runs, its leases (the repository's, shared, and the VM
# group's, exclusive, holding its host id) keep zadp-repo sweep away from
# its unfinished backup; once it ended, the other host's next try works.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/s3.sh"
require_tools zadp-repo
vm_scenario db01:4194304,2097152
start_backup_sim "$T/scenario.json"
sim_admin disk-write '{"vm":"db01","disk":0,"offset":0,"random":{"seed":5,"length":1048576}}' >/dev/null
zadp-repo init >/dev/null
id=$(vm_ids db01)

# host NAME TIME: backup-vm.sh of db01 as backup host NAME, in the
# background; its pid in PID_NAME, its stderr in $T/NAME.err.
host() {
    ZADP_HOST_ID=$1 ZADP_INITIATOR_IQN=iqn.2026-12.test.hci-backup:$1 \
        "$HCI_SOURCE_DIR/examples/backup-vm.sh" --consistency crash --time "$2" db01 2>"$T/$1.err" &
    printf -v "PID_${1//-/_}" %s $!
}
# first_to_end PID...: waits until one of the processes has ended; prints it.
first_to_end() {
    for _ in $(seq 6000); do
        for p in "$@"; do kill -0 "$p" 2>/dev/null || { echo "$p"; return; }; done
        sleep 0.1
    done
    die "neither backup ended"
}

# Both at once. The first zadp-read of disk 0 stops itself (arm_disk_reader),
# so whichever host wins is still running when the other one ends.
arm_disk_reader 0
host host-a 2026-12-01T020000Z
host host-b 2026-12-01T020001Z
on_exit "kill -KILL $PID_host_a $PID_host_b 2>/dev/null; [ ! -s '$T/shim/pid' ] || kill -CONT \$(cat '$T/shim/pid') 2>/dev/null"
loser_pid=$(first_to_end "$PID_host_a" "$PID_host_b")
if [ "$loser_pid" = "$PID_host_a" ]; then loser=host-a winner=host-b winner_pid=$PID_host_b
else loser=host-b winner=host-a winner_pid=$PID_host_a; fi
rc=0; wait "$loser_pid" || rc=$?
[ $rc -eq 75 ] || { cat "$T/$loser.err" >&2; die "$loser: exit $rc, expected 75 (the VM is being backed up)"; }
grep -q "is being backed up by another run.*nothing was done" "$T/$loser.err" || die "$loser does not say why: $(cat "$T/$loser.err")"
grep -q "held by another run (host $winner, pid [0-9]*)" "$T/$loser.err" || die "$loser does not name the holder: $(cat "$T/$loser.err")"
[ "$(grep -c 'error:' "$T/$loser.err")" -le 1 ] || die "$loser: more than one error: $(cat "$T/$loser.err")"
reader=$(disk_reader "$winner_pid" 0)

# The loser wrote nothing: one backup (the winner's, unfinished), one
# snapshot, and the clones of one run.
[ "$(backups_of "$id" | wc -l)" -eq 1 ] || die "two backups in the group: $(backups_of "$id")"
[ "$(vm_snapshots)" -eq 1 ] || die "$(vm_snapshots) VM snapshots, expected the winner's one"
[ "$(backup_target_luns)" -eq 2 ] || die "$(backup_target_luns) clone LUNs exported, expected the winner's 2"
# The group's lease names the winner's host; sweep leaves the backup alone.
mkdir "$T/objects"
s3_objects "$T/objects" >/dev/null
lease=$(ls "$T/objects" | grep "%locks%group%$id%" | head -1)
[ -n "$lease" ] || die "no lease of the group $id: $(ls "$T/objects")"
[ "$(jq -r .host "$T/objects/$lease")" = "$winner" ] || die "the group's lease: $(cat "$T/objects/$lease")"
zadp-repo sweep >"$T/sweep"
jq -se 'any(.[]; .sweep == "skipped")' "$T/sweep" >/dev/null || die "sweep ran beside a backup: $(cat "$T/sweep")"
backups_of "$id" | grep -q . || die "the running backup was swept"

kill -CONT "$reader"
rc=0; wait "$winner_pid" || rc=$?
[ $rc -eq 0 ] || { cat "$T/$winner.err" >&2; die "$winner: exit $rc"; }
! s3_keys | grep -q '^locks/' || die "a lease outlived the backup: $(s3_keys | grep ^locks/)"

# Now the other host's try goes through.
host "$loser" 2026-12-01T030000Z
rc=0; wait "$(eval echo "\$PID_${loser//-/_}")" || rc=$?
[ $rc -eq 0 ] || { cat "$T/$loser.err" >&2; die "$loser after the winner ended: exit $rc"; }
[ "$(backups_of "$id" | wc -l)" -eq 2 ] || die "backups: $(backups_of "$id")"
for b in $(backups_of "$id"); do
    zadp-repo cat "$b/backup.json" | jq -e .complete >/dev/null || die "$b is not complete"
done
echo "ok: of two hosts backing up db01 at once, $winner went on and $loser stopped (exit 75) having written nothing"
