#!/bin/bash
# Pagination to the end: 10,000 generated VMs (plus the scenario's) come out
# as one line each, no duplicates, in about one get-vms call per 500 VMs.
# How fast is measured by make bench (bench/api.sh), not here.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"

# Generating 10,000 VMs takes hci-sim a while on a loaded machine.
SIM_WAIT_SECONDS=300 start_sim --no-tgtd --generate-vms 10000

total=$(sim_api get-vms '{"where":{}}' | jq length)
sim_admin counters/reset '{}' >/dev/null
hci-vm-get --all > "$T/all.jsonl"
n=$(wc -l < "$T/all.jsonl")
[ "$n" -ge 10000 ] || die "expected at least 10000 lines, got $n"
[ "$n" -eq "$total" ] || die "got $n lines, the server has $total VMs"
[ "$(jq -r .id "$T/all.jsonl" | sort -u | wc -l)" -eq "$n" ] || die "duplicate VMs in the output"
calls=$(sim_admin counters | jq '.["get-vms"]')
[ "$calls" -le $((n / 500 + 1)) ] || die "$calls get-vms calls for $n VMs"
echo "ok: $n VMs with $calls get-vms calls"
