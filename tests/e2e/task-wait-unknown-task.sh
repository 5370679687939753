#!/bin/bash
# A task id the server does not know ends the wait with an error (exit 4),
# never an endless wait; a null task_id passes straight through, in order.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd

printf '%s\n' '{"task_id":null,"n":1}' '{"task_id":"no-such-task","n":2}' '{"task_id":null,"n":3}' > "$T/in.jsonl"
got=0
timeout 30 hci-task-wait --interval 0.1 < "$T/in.jsonl" > "$T/out.jsonl" 2> "$T/err" || got=$?
[ "$got" -eq 4 ] || die "expected exit 4, got $got: $(cat "$T/err")"
[ "$(jq -r .n "$T/out.jsonl" | tr '\n' ' ')" = "1 3 " ] || die "null task_id lines not passed through: $(cat "$T/out.jsonl")"
grep -q 'no-such-task is unknown' "$T/err" || die "no clear message: $(cat "$T/err")"
echo "ok: unknown task"
