#!/bin/bash
# Ctrl-C while hci-snap-delete waits for its deletions: it still waits for
# the deletion tasks it started and writes the lines of the snapshots they
# removed, so nothing is left half-known; it starts no further batch and
# exits 130.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_tools hci-snap-create hci-task-wait hci-snap-delete hci-vm-get
start_sim --no-tgtd --task-duration 3000

snapshots() { sim_api get-vm-snapshots '{"where":{"name_starts_with":"del-"}}' | jq -r '.[].name' | sort | xargs; }
printf 'web01\ndb01\n' | hci-vm-get | hci-snap-create --name 'del-{vm}' 2>/dev/null | hci-task-wait > "$T/snaps.jsonl"
[ "$(snapshots)" = "del-db01 del-web01" ] || die "setup: $(snapshots)"
sim_admin counters/reset '{}' > /dev/null
# Started as a foreground tool is: a background job of a script starts with
# SIGINT ignored, and the tools keep a signal ignored at start ignored.
env --default-signal=INT hci-snap-delete --batch-size 1 "$T/snaps.jsonl" > "$T/out.jsonl" 2> "$T/err" &
pid=$!
for _ in $(seq 200); do
    [ "$(sim_admin counters | jq '."delete-vm-snapshot" // 0')" -ge 1 ] && break
    sleep 0.05
done
[ "$(sim_admin counters | jq '."delete-vm-snapshot" // 0')" -eq 1 ] || die "the first deletion was not started"
kill -INT "$pid"
got=0
wait "$pid" || got=$?
[ "$got" -eq 130 ] || die "expected exit 130, got $got: $(cat "$T/err")"
grep -q 'interrupted: waiting for the 1 task(s) already started' "$T/err" || die "no message: $(cat "$T/err")"
# The deletion it started is finished and its line written; the second batch never started.
[ "$(jq -r .vm.name "$T/out.jsonl" | xargs)" = web01 ] || die "lines written: $(cat "$T/out.jsonl")"
status=$(sim_api get-tasks '{"where":{"description":"Delete VM snapshot del-web01"}}' | jq -r '.[].status')
[ "$status" = SUCCESSED ] || die "exited before its deletion task ended: $status"
[ "$(sim_admin counters | jq '."delete-vm-snapshot"')" -eq 1 ] || die "a second batch was started after the interrupt"
[ "$(snapshots)" = del-db01 ] || die "snapshots after the interrupt: $(snapshots)"
echo "ok: Ctrl-C lets the started deletions finish, reports them, starts no more"
