#!/bin/bash
# hci-task-wait reads input while it polls: a line whose task is done comes
# out before the upstream tool has even written the next line, and with
# --unordered a quick task overtakes a slow one.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd --task-duration 300

hci-vm-get --name web01 | hci-snap-create 2>/dev/null > "$T/first.jsonl"
hci-vm-get --name db01 | hci-snap-create 2>/dev/null > "$T/second.jsonl"
# The second line arrives 4 s after the first; the first task takes 0.3 s.
{ cat "$T/first.jsonl"; sleep 4; cat "$T/second.jsonl"; } \
    | hci-task-wait --interval 0.2 | while read -r line; do echo "$(date +%s.%N) $line"; done > "$T/out"
start=$(head -1 "$T/out" | cut -d' ' -f1)
end=$(tail -1 "$T/out" | cut -d' ' -f1)
[ "$(wc -l < "$T/out")" -eq 2 ] || die "expected 2 lines"
gap=$(echo "$end - $start" | bc)
[ "$(echo "$gap > 2.5" | bc)" -eq 1 ] || die "the first line waited for the second (gap $gap s): not streaming"
[ "$(head -1 "$T/out" | cut -d' ' -f2- | jq -r .vm.name)" = web01 ] || die "wrong order"
echo "ok: streaming (first line $gap s before the last)"
