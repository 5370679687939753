#!/bin/bash
# Two runs of examples/Makefile into one repository at once: the second
# (started while the first is held in the middle of a disk read) refuses at
# once, naming the run that holds the lock, backs up and prunes nothing, and
# its refusal is in the run log; with WAIT it waits for the first and then
# runs. prune and gc started by hand while a run goes are refused the same
# way, so no prune removes a backup of a run that is still going.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
require_tools zadp-repo
vm_scenario lap-1:4194304 lap-2:4194304
start_backup_sim "$T/scenario.json"
id1=$(vm_ids lap-1); id2=$(vm_ids lap-2)
unset MAKEFLAGS MFLAGS MAKELEVEL ZADP_REPO
R=$T/repo S=$T/repo.state
zadp-repo --repo "$R" init >/dev/null
mk() { make -f "$HCI_SOURCE_DIR/examples/Makefile" REPO="$R" WHERE='{"name_starts_with":"lap-"}' KEEP_LAST=1 "$@"; }
snaps_before=$(vm_snapshots)
# wait_until CMD...: a generous bound only ends a hang.
wait_until() { for _ in $(seq 3000); do "$@" && return 0; sleep 0.1; done; die "timed out waiting for: $*"; }

# The first run stops itself at its first disk read and stays there.
arm_disk_reader 0
mk BACKUP_TIME=2026-11-01T020000Z >"$T/first.log" 2>&1 &
first=$!
on_exit "kill $first 2>/dev/null"
reader=$(disk_reader "$first" 0)

rc=0
mk BACKUP_TIME=2026-11-01T030000Z >"$T/second.log" 2>&1 || rc=$?
cat "$T/second.log"
[ $rc -ne 0 ] || die "a second run started while the first was going"
grep -q 'another run into repo:.* is still going (pid [0-9]*, started .*WHERE={"name_starts_with":"lap-"})' "$T/second.log" ||
    die "the refusal does not name the run that holds the lock"
# It did nothing: one snapshot (the first run's), no backup of its time.
[ "$(vm_snapshots)" -eq $((snaps_before + 1)) ] || die "the refused run took snapshots: $(vm_snapshots) (from $snaps_before)"
export ZADP_REPO=$R
for id in "$id1" "$id2"; do
    ! backups_of "$id" | grep -q 2026-11-01T030000Z || die "the refused run stored a backup of $id"
done
jq -se 'any(.[]; .vm == null and .result == "failed" and (.reason | test("still going")))' "$S/runs.jsonl" >/dev/null ||
    die "the run log does not record the refused run: $(cat "$S/runs.jsonl")"
mk report >"$T/report" 2>&1
grep -q 'FAILED: another run into .* is still going' "$T/report" || die "make report does not show the refused run: $(cat "$T/report")"

# Maintenance by hand is refused too while the run goes.
for goal in prune gc; do
    rc=0
    mk "$goal" >"$T/$goal.log" 2>&1 || rc=$?
    [ $rc -ne 0 ] && grep -q 'is still going' "$T/$goal.log" || die "make $goal ran beside a run: $(cat "$T/$goal.log")"
done

# WAIT: a third run waits for the first, then backs up.
mk WAIT=-1 BACKUP_TIME=2026-11-02T020000Z >"$T/third.log" 2>&1 &
third=$!
on_exit "kill $third 2>/dev/null"
wait_until grep -q 'waiting for the run that is still going' "$T/third.log"
kill -0 "$third" || die "the waiting run did not wait"
kill -CONT "$reader"
wait "$first" || { cat "$T/first.log"; die "the first run failed"; }
wait "$third" || { cat "$T/third.log"; die "the run that waited failed"; }
for id in "$id1" "$id2"; do
    backups_of "$id" | grep -q 2026-11-02T020000Z || die "the run that waited did not back up $id"
done
# A timed WAIT that ends refuses like no WAIT (the lock is free now: it runs).
mk WAIT=5 gc >"$T/gc.log" 2>&1 || die "make gc with WAIT and no other run: $(cat "$T/gc.log")"
echo OK
