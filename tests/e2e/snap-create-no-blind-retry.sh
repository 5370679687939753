#!/bin/bash
# A create is a change: a 500 (which may have done the work) is not retried,
# a 503 or ResourceLocked (which mean "not executed") is.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd
hci-vm-get --name web01 > "$T/vm.json"

sim_admin counters/reset '{}' >/dev/null
sim_admin faults '{"op":"create-vm-snapshot","count":1,"status":500}' >/dev/null
expect_exit 3 hci-snap-create < "$T/vm.json" > /dev/null 2> "$T/err"
[ "$(sim_admin counters | jq '.["create-vm-snapshot"]')" -eq 1 ] || die "a 500 on create was retried"

sim_admin counters/reset '{}' >/dev/null
sim_admin faults '{"op":"create-vm-snapshot","count":1,"status":503}' >/dev/null
sim_admin faults '{"op":"create-vm-snapshot","count":1,"code":"ResourceLocked"}' >/dev/null
hci-snap-create < "$T/vm.json" > "$T/out.jsonl" 2> "$T/err" || die "retryable create failed: $(cat "$T/err")"
[ "$(wc -l < "$T/out.jsonl")" -eq 1 ] || die "expected one snapshot line"
[ "$(sim_admin counters | jq '.["create-vm-snapshot"]')" -eq 3 ] || die "expected 3 create calls"
[ "$(sim_api get-vm-snapshots '{"where":{"vm":{"name":"web01"}}}' | jq length)" -eq 1 ] || die "expected exactly one snapshot"
echo "ok: mutations retried only when not executed"
