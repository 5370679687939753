#!/bin/bash
# What snap-create-interrupt and snap-delete-interrupt check for Ctrl-C, for
# the other two signals and at the two other moments: SIGHUP while
# hci-snap-create waits for its next input line (it exits 130 at once and
# makes no snapshot for a line that comes later), and SIGTERM while
# hci-snap-delete's call is in flight (it waits for the deletion that call
# started, writes its line, starts no other batch, exits 130).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_tools hci-snap-create hci-task-wait hci-snap-delete hci-vm-get
start_sim --no-tgtd --task-duration 200
snapshots() { sim_api get-vm-snapshots "{\"where\":{\"name_starts_with\":\"$1\"}}" | jq -r '.[].name' | sort | xargs; }
printf 'web01\ndb01\n' | hci-vm-get >"$T/vms.jsonl"

# SIGHUP between batches: the input comes through a FIFO we hold open.
mkfifo "$T/fifo"
hci-snap-create --name 'hup-{vm}' --batch-size 1 "$T/fifo" >"$T/create.out" 2>"$T/create.err" &
pid=$!
exec 9>"$T/fifo"
head -n 1 "$T/vms.jsonl" >&9
for _ in $(seq 200); do [ -s "$T/create.out" ] && break; sleep 0.05; done
[ "$(jq -r .vm.name "$T/create.out")" = web01 ] || die "the first batch was not written: $(cat "$T/create.out" "$T/create.err")"
kill -HUP "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$pid" 2>/dev/null && die "hci-snap-create did not stop on SIGHUP while waiting for input"
tail -n 1 "$T/vms.jsonl" >&9 2>/dev/null || true  # nobody reads it any more
exec 9>&-
rc=0
wait "$pid" || rc=$?
[ $rc -eq 130 ] || die "hci-snap-create: expected exit 130 on SIGHUP, got $rc: $(cat "$T/create.err")"
[ "$(snapshots hup-)" = hup-web01 ] || die "snapshots after SIGHUP: $(snapshots hup-)"

# SIGTERM while a delete call is in flight (it answers 2 s after its work).
printf 'web01\ndb01\n' | hci-vm-get | hci-snap-create --name 'term-{vm}' 2>/dev/null | hci-task-wait >"$T/snaps.jsonl"
sim_admin faults '{"op":"delete-vm-snapshot","latency_ms":2000,"count":-1}' >/dev/null
sim_admin counters/reset '{}' >/dev/null
hci-snap-delete --batch-size 1 "$T/snaps.jsonl" >"$T/delete.out" 2>"$T/delete.err" &
pid=$!
for _ in $(seq 200); do
    [ "$(sim_admin counters | jq '."delete-vm-snapshot" // 0')" -ge 1 ] && break
    sleep 0.05
done
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ $rc -eq 130 ] || die "hci-snap-delete: expected exit 130 on SIGTERM, got $rc: $(cat "$T/delete.err")"
[ "$(jq -r .vm.name "$T/delete.out" | xargs)" = web01 ] || die "lines written: $(cat "$T/delete.out")"
[ "$(sim_admin counters | jq '."delete-vm-snapshot"')" -eq 1 ] || die "a second batch was started after SIGTERM"
[ "$(snapshots term-)" = term-db01 ] || die "snapshots after SIGTERM: $(snapshots term-)"
echo "ok: SIGHUP and SIGTERM end hci-snap-create and hci-snap-delete as Ctrl-C does"
