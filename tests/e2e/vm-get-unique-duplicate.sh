#!/bin/bash
# CloudTower names are not unique: two VMs named dup come out as two lines,
# and with --unique as an error (exit 4) naming both ids, with no line.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd

[ "$(hci-vm-get --name dup | wc -l)" -eq 2 ] || die "expected 2 VMs named dup"
got=0
hci-vm-get --unique --name dup --name web01 > "$T/out.jsonl" 2> "$T/err" || got=$?
[ "$got" -eq 4 ] || die "expected exit 4, got $got"
[ "$(jq -r .name "$T/out.jsonl")" = web01 ] || die "only web01 should be printed: $(cat "$T/out.jsonl")"
grep -q '2 VMs are named dup' "$T/err" || die "no clear message: $(cat "$T/err")"
hci-vm-get --unique --name web01 >/dev/null || die "--unique with a unique name failed"
echo "ok: duplicate names"
