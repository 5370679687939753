#!/bin/bash
# A burst of 503 answers is retried with backoff and then succeeds.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd

sim_admin counters/reset '{}' >/dev/null
sim_admin faults '{"op":"get-vms","count":3,"status":503}' >/dev/null
hci-vm-get --name web01 > "$T/out.jsonl" 2> "$T/err" || die "hci-vm-get failed: $(cat "$T/err")"
[ "$(jq -r .name "$T/out.jsonl")" = web01 ] || die "web01 not printed"
calls=$(sim_admin counters | jq '.["get-vms"]')
[ "$calls" -eq 4 ] || die "expected 4 get-vms calls (3 refused + 1), got $calls"
[ "$(grep -c 'HTTP 503.*retrying' "$T/err")" -eq 3 ] || die "retries not reported: $(cat "$T/err")"
echo "ok: 503 burst retried"
