#!/bin/bash
# hci-task-wait reads input while it polls: a line whose task is done comes
# out before the upstream tool has even written the next line, and with
# --unordered a quick task overtakes a slow one.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd --task-duration 300

hci-vm-get --name web01 | hci-snap-create 2>/dev/null > "$T/first.jsonl"
hci-vm-get --name db01 | hci-snap-create 2>/dev/null > "$T/second.jsonl"
# The upstream writes the second line only once the first has come out of
# hci-task-wait (or, if it never does, after a generous wait that only ends
# the hang): the order of events proves streaming, not a clock.
: > "$T/out"
{
    cat "$T/first.jsonl"
    for _ in $(seq 600); do [ -s "$T/out" ] && break; sleep 0.1; done
    if [ -s "$T/out" ]; then echo "first line out" >"$T/seen"; else echo "gave up" >"$T/seen"; fi
    cat "$T/second.jsonl"
} | hci-task-wait --interval 0.2 | while read -r line; do echo "$line" >> "$T/out"; done
[ "$(cat "$T/seen")" = "first line out" ] || die "the first line waited for the second: not streaming"
[ "$(wc -l < "$T/out")" -eq 2 ] || die "expected 2 lines"
[ "$(head -1 "$T/out" | jq -r .vm.name)" = web01 ] || die "wrong order"
echo "ok: streaming (the first line came out before the second went in)"
