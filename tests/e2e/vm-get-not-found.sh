#!/bin/bash
# A requested name that matches nothing: reported, the others still printed, exit 4.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd

got=0
hci-vm-get --name web01 --name no-such-vm > "$T/out.jsonl" 2> "$T/err" || got=$?
[ "$got" -eq 4 ] || die "expected exit 4, got $got"
[ "$(jq -r .name "$T/out.jsonl")" = web01 ] || die "web01 not printed"
grep -q 'no VM named no-such-vm' "$T/err" || die "no message: $(cat "$T/err")"
# The same from stdin, bare names and JSON lines mixed, in one query.
sim_admin counters/reset '{}' >/dev/null
got=0
printf '%s\n' web01 '{"name":"db01"}' ghost | hci-vm-get > "$T/out2.jsonl" 2> "$T/err2" || got=$?
[ "$got" -eq 4 ] || die "stdin: expected exit 4, got $got"
[ "$(jq -r .name "$T/out2.jsonl" | sort | tr '\n' ' ')" = "db01 web01 " ] || die "stdin: wrong VMs"
grep -q ghost "$T/err2" || die "stdin: ghost not reported"
[ "$(sim_admin counters | jq '.["get-vms"]')" -eq 1 ] || die "stdin names should take one get-vms call"
echo "ok: not found"
