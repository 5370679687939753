#!/bin/bash
# A task that ends FAILED is reported with its error code and message; the
# other lines still come out, and the exit status is 5 (task failed).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd

sim_admin faults '{"op":"create-vm-snapshot","count":1,"fail_task":true}' >/dev/null
hci-vm-get --name web01 | hci-snap-create > "$T/first.jsonl"
hci-vm-get --name db01 | hci-snap-create >> "$T/first.jsonl"
got=0
hci-task-wait < "$T/first.jsonl" > "$T/out.jsonl" 2> "$T/err" || got=$?
[ "$got" -eq 5 ] || die "expected exit 5, got $got"
[ "$(wc -l < "$T/out.jsonl")" -eq 1 ] || die "expected the db01 line only, got: $(cat "$T/out.jsonl")"
[ "$(jq -r .vm.name "$T/out.jsonl")" = db01 ] || die "wrong line passed"
grep -q 'task .* FAILED' "$T/err" || die "no FAILED report: $(cat "$T/err")"
grep -q 'vm web01' "$T/err" || die "the report does not name the VM: $(cat "$T/err")"
code=$(sim_api get-tasks "{\"where\":{\"id\":\"$(jq -r .task_id "$T/first.jsonl" | head -1)\"}}" | jq -r '.[0].error_code // empty')
[ -z "$code" ] || grep -qF "$code" "$T/err" || die "error_code $code not in the report"
# --fail-fast stops at the failure: exit 5 without waiting for the rest.
got=0
hci-task-wait --fail-fast < "$T/first.jsonl" > /dev/null 2> "$T/err2" || got=$?
[ "$got" -eq 5 ] || die "--fail-fast: expected exit 5, got $got"
[ "$(grep -c FAILED "$T/err2")" -eq 1 ] || die "--fail-fast: one report expected: $(cat "$T/err2")"
echo "ok: FAILED task reported"
