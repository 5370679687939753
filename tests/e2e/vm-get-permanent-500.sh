#!/bin/bash
# A server that keeps answering 500: bounded retries, then one clear error
# line with the error body's message and exit 3.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd

sim_admin counters/reset '{}' >/dev/null
sim_admin faults '{"op":"get-vms","count":-1,"status":500}' >/dev/null
got=0
hci-vm-get --retries 3 --name web01 > "$T/out" 2> "$T/err" || got=$?
[ "$got" -eq 3 ] || die "expected exit 3, got $got"
grep -q '^hci-vm-get: error: get-vms: HTTP 500: .*(path /v2/api/get-vms.*gave up after 3 attempts' "$T/err" \
    || die "unclear error: $(cat "$T/err")"
[ "$(grep -c 'error:' "$T/err")" -eq 1 ] || die "expected one error line"
[ "$(sim_admin counters | jq '.["get-vms"]')" -eq 3 ] || die "expected exactly 3 attempts"
echo "ok: permanent 500"
