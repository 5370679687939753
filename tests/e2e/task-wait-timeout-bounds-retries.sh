#!/bin/bash
# hci-task-wait --task-timeout bounds the whole wait, retries included: against a
# get-tasks that never answers, the first request is cut off when the time is
# up and no retry follows (exit 3, says why), instead of five attempts that
# each get the whole timeout.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
command -v hci-sim >/dev/null || die "hci-sim is not built (run make)"
start_sim --no-tgtd

hci-vm-get --name web01 | hci-snap-create > "$T/created.jsonl"
sim_admin faults '{"op":"get-tasks","count":-1,"latency_ms":600000}' >/dev/null
sim_admin counters/reset '{}' >/dev/null
got=0
HCI_RETRIES=5 timeout 120 hci-task-wait --task-timeout 3 --interval 0.2 < "$T/created.jsonl" > "$T/out.jsonl" 2> "$T/err" || got=$?
cat "$T/err" >&2
[ "$got" -eq 3 ] || die "expected exit 3, got $got"
grep -q "time limit is up" "$T/err" || die "the message does not say the time limit ended the wait"
calls=$(sim_admin counters | jq '.["get-tasks"] // 0')
[ "$calls" -le 2 ] || die "get-tasks was tried $calls times past the time limit"
[ ! -s "$T/out.jsonl" ] || die "a line was passed although its task never ended"
echo "ok: timeout bounds the retries ($calls get-tasks call(s))"
