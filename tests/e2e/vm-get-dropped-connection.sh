#!/bin/bash
# Network trouble: a dropped connection and a request slower than --request-timeout
# are retried for queries; a create whose connection drops after sending is
# not (it may have been executed) and fails with exit 3.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd

sim_admin counters/reset '{}' >/dev/null
sim_admin faults '{"op":"get-vms","count":1,"drop":true}' >/dev/null
hci-vm-get --name web01 > "$T/a.jsonl" 2> "$T/a.err" || die "dropped connection not retried: $(cat "$T/a.err")"
[ "$(jq -r .name "$T/a.jsonl")" = web01 ] || die "web01 not printed"
[ "$(sim_admin counters | jq '.["get-vms"]')" -eq 2 ] || die "expected 2 get-vms calls"

# An answer 10 minutes late: only a request cut short by --request-timeout
# and retried gets web01 (the generous `timeout` just ends a hang). Counted,
# not timed: one slow call, then one retry.
sim_admin counters/reset '{}' >/dev/null
sim_admin faults '{"op":"get-vms","count":1,"latency_ms":600000}' >/dev/null
rc=0
timeout 120 hci-vm-get --request-timeout 1 --name web01 > "$T/b.jsonl" 2> "$T/b.err" || rc=$?
[ $rc -eq 0 ] || die "slow request not cut short and retried (exit $rc): $(cat "$T/b.err")"
[ "$(jq -r .name "$T/b.jsonl")" = web01 ] || die "web01 not printed after the retry"
grep -q 'retrying' "$T/b.err" || die "the timeout was not reported: $(cat "$T/b.err")"
[ "$(sim_admin counters | jq '.["get-vms"]')" -eq 2 ] || die "expected 2 get-vms calls (the slow one, its retry)"

hci-vm-get --name web01 > "$T/vm.json"
sim_admin counters/reset '{}' >/dev/null
sim_admin faults '{"op":"create-vm-snapshot","count":1,"drop":true}' >/dev/null
got=0
hci-snap-create < "$T/vm.json" > /dev/null 2> "$T/c.err" || got=$?
[ "$got" -eq 3 ] || die "expected exit 3, got $got"
grep -q 'not retried: the request may have been executed' "$T/c.err" || die "unclear: $(cat "$T/c.err")"
[ "$(sim_admin counters | jq '.["create-vm-snapshot"]')" -eq 1 ] || die "the create was retried"
echo "ok: network errors"
