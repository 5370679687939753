#!/bin/bash
# Pagination to the end: 10,000 generated VMs (plus the scenario's) come out
# as one line each, no duplicates, in about one get-vms call per 500 VMs.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
command -v hci-sim >/dev/null || die "hci-sim is not built (run make)"

# Generating 10,000 VMs takes hci-sim longer than start_sim waits, so start
# it here with a longer limit (same steps as start_sim otherwise).
mkdir -p "$T/sim"
hci-sim --state "$T/sim" --listen 127.0.0.1:0 --no-tgtd --generate-vms 10000 \
    --scenario "$HCI_SOURCE_DIR/tests/fixtures/scenario-basic.json" >"$T/sim.out" 2>"$T/sim.err" &
SIM_PID=$!
SIM_URL=""
for _ in $(seq 600); do
    SIM_URL=$(head -n 1 "$T/sim.out" 2>/dev/null || true)
    [ -n "$SIM_URL" ] && break
    kill -0 "$SIM_PID" 2>/dev/null || die "hci-sim exited early: $(cat "$T/sim.err")"
    sleep 0.1
done
[ -n "$SIM_URL" ] || skip "hci-sim did not generate 10000 VMs within 60 s (simulator start-up is too slow for this scale test)"
export SIM_URL CLOUDTOWER_ENDPOINT="$SIM_URL"
CLOUDTOWER_TOKEN=$(sim_login admin admin-password)
export CLOUDTOWER_TOKEN

total=$(sim_api get-vms '{"where":{}}' | jq length)
sim_admin counters/reset '{}' >/dev/null
start=$(date +%s.%N)
hci-vm-get --all > "$T/all.jsonl"
end=$(date +%s.%N)
n=$(wc -l < "$T/all.jsonl")
[ "$n" -ge 10000 ] || die "expected at least 10000 lines, got $n"
[ "$n" -eq "$total" ] || die "got $n lines, the server has $total VMs"
[ "$(jq -r .id "$T/all.jsonl" | sort -u | wc -l)" -eq "$n" ] || die "duplicate VMs in the output"
calls=$(sim_admin counters | jq '.["get-vms"]')
[ "$calls" -le $((n / 500 + 1)) ] || die "$calls get-vms calls for $n VMs"
echo "ok: $n VMs in $(echo "$end - $start" | bc) s with $calls get-vms calls"
