#!/bin/bash
# Ctrl-C while hci-snap-create's batch is in flight: the snapshots that batch
# made are deleted (after their create tasks end) and no line is written for
# them; the batches written before belong to the reader and stay. Exit 130.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_tools hci-snap-create hci-vm-get
start_sim --no-tgtd --task-duration 4000

snapshots() { sim_api get-vm-snapshots '{"where":{"name_starts_with":"intr-"}}' | jq -r '.[].name' | sort | xargs; }
printf 'web01\ndb01\n' | hci-vm-get > "$T/vms.jsonl"
# Every create call answers 3 s after it did its work, so the signal lands
# while the second batch (db01) waits for its answer.
sim_admin faults '{"op":"create-vm-snapshot","latency_ms":3000,"count":-1}' > /dev/null
# Started as a foreground tool is: a background job of a script starts with
# SIGINT ignored, and the tools keep a signal ignored at start ignored.
env --default-signal=INT hci-snap-create --name 'intr-{vm}' --batch-size 1 "$T/vms.jsonl" > "$T/out.jsonl" 2> "$T/err" &
pid=$!
for _ in $(seq 200); do
    [ "$(snapshots)" = "intr-db01 intr-web01" ] && break
    sleep 0.05
done
[ "$(snapshots)" = "intr-db01 intr-web01" ] || die "the second batch never made its snapshot: $(snapshots)"
kill -INT "$pid"
got=0
wait "$pid" || got=$?
[ "$got" -eq 130 ] || die "expected exit 130, got $got: $(cat "$T/err")"
grep -q 'interrupted: removing the 1 VM snapshot(s) of this batch' "$T/err" || die "no cleanup message: $(cat "$T/err")"
[ "$(snapshots)" = intr-web01 ] || die "snapshots left after the interrupt: $(snapshots) (want intr-web01 only)"
[ "$(jq -r .vm.name "$T/out.jsonl" | xargs)" = web01 ] || die "lines written: $(cat "$T/out.jsonl")"
# The removed snapshot's create task had ended before it was deleted.
created=$(sim_api get-tasks '{"where":{"description":"Create snapshot intr-db01 of VM db01"}}' | jq -r '.[].status')
[ "$created" = SUCCESSED ] || die "db01's create task: $created"
echo "ok: Ctrl-C removes the snapshots of the batch in flight"
