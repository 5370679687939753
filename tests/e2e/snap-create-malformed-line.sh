#!/bin/bash
# A malformed input line is reported with its line number and skipped; the
# other lines are handled and the exit status is 1. --fail-fast stops at it.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd

{ hci-vm-get --name web01; echo '{"id": broken'; hci-vm-get --name db01; } > "$T/in.jsonl"
got=0
hci-snap-create < "$T/in.jsonl" > "$T/out.jsonl" 2> "$T/err" || got=$?
[ "$got" -eq 1 ] || die "expected exit 1, got $got"
grep -q 'line 2: not valid JSON' "$T/err" || die "no line number in: $(cat "$T/err")"
[ "$(jq -r .vm.name "$T/out.jsonl" | tr '\n' ' ')" = "web01 db01 " ] || die "other lines not handled"
got=0
hci-snap-create --fail-fast < "$T/in.jsonl" > "$T/out2.jsonl" 2> "$T/err2" || got=$?
[ "$got" -eq 1 ] || die "--fail-fast: expected exit 1, got $got"
[ ! -s "$T/out2.jsonl" ] || die "--fail-fast: nothing should be created"
echo "ok: malformed line"
