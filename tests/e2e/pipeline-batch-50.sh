#!/bin/bash
# 50 VMs through the pipeline: one get-vms, one create-vm-snapshot, one
# get-tasks per poll round, one get-vm-snapshots and one
# get-iscsi-lun-snapshots call in all (the sim counts calls per operation).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd --generate-vms 50 --task-duration 1500

hci-vm-get --all | jq -c 'select(.name | test("^(web01|db01|dup)$") | not)' > "$T/vms.jsonl"
n=$(wc -l < "$T/vms.jsonl")
[ "$n" -eq 50 ] || die "expected 50 generated VMs, got $n (names: $(jq -r .name "$T/vms.jsonl" | head -3))"
sim_admin counters/reset '{}' >/dev/null
hci-snap-create --consistency crash < "$T/vms.jsonl" | hci-task-wait -v 2> "$T/wait.err" | hci-snap-luns > "$T/disks.jsonl"
lines=$(wc -l < "$T/disks.jsonl")
[ "$lines" -ge 50 ] || die "expected at least 50 disk lines, got $lines"
rounds=$(grep -c 'poll round' "$T/wait.err")
sim_admin counters > "$T/counters.json"
c() { jq -r --arg op "$1" '.[$op] // 0' "$T/counters.json"; }
[ "$(c create-vm-snapshot)" -eq 1 ] || die "create-vm-snapshot calls: $(c create-vm-snapshot), want 1"
[ "$(c get-tasks)" -eq "$rounds" ] || die "get-tasks calls: $(c get-tasks), poll rounds: $rounds"
[ "$rounds" -ge 2 ] && [ "$rounds" -le 10 ] || die "poll rounds: $rounds, want 2..10"
[ "$(c get-vm-snapshots)" -eq 1 ] || die "get-vm-snapshots calls: $(c get-vm-snapshots), want 1"
[ "$(c get-iscsi-lun-snapshots)" -eq 1 ] || die "get-iscsi-lun-snapshots calls: $(c get-iscsi-lun-snapshots), want 1"
echo "ok: 50 VMs, $lines disks, 1 create call, $rounds get-tasks calls"
