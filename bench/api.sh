#!/bin/bash
# bench/api.sh BINDIR: the control plane at scale against hci-sim with 10,000
# generated VMs: paging them with first/after (1000 a page, what the e2e
# scenario sim-scale-10k-vms checks for correctness) and hci-vm-get --all
# (vm-get-10000). Median of RUNS (default 3); prints a table and appends it
# to bench/RESULTS.md. The tests assert counts; the seconds live here.
set -euo pipefail
BINDIR=$(cd "${1:?usage: bench/api.sh BINDIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
export HCI_SOURCE_DIR=${HCI_SOURCE_DIR:-$(dirname "$HERE")}
export PATH="$BINDIR:$PATH"
RUNS=${RUNS:-3}
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
for tool in hci-sim hci-vm-get curl jq; do
    command -v $tool >/dev/null || skip "$tool not found"
done
t0=$(date +%s.%N)
SIM_WAIT_SECONDS=300 start_sim --no-tgtd --generate-vms 10000
start_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')

page_all() {  # pages every VM, 1000 a page, with first/after
    local after="" req n
    while :; do
        if [ -n "$after" ]; then req="{\"first\":1000,\"after\":\"$after\"}"; else req='{"first":1000}'; fi
        sim_api get-vms "$req" >"$T/page.json"
        n=$(jq length "$T/page.json")
        [ "$n" -eq 0 ] && break
        after=$(jq -r '.[-1].id' "$T/page.json")
    done
}
vm_get_all() { hci-vm-get --all >"$T/all.jsonl"; }
median_time() {
    local i t0 t1 times=()
    for i in $(seq "$RUNS"); do
        t0=$(date +%s.%N)
        "$@"
        t1=$(date +%s.%N)
        times+=("$(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }")")
    done
    printf '%s\n' "${times[@]}" | sort -g | sed -n "$(((RUNS + 1) / 2))p"
}
paging=$(median_time page_all)
vm_get=$(median_time vm_get_all)
rows=("| hci-sim --generate-vms 10000: start until it answers (once) | $start_s |"
    "| get-vms, 1000 a page with first/after, every VM (curl + jq) | $paging |"
    "| hci-vm-get --all, every VM ($(wc -l <"$T/all.jsonl") lines) | $vm_get |")
printf '%s\n' "${rows[@]}"
{
    echo
    echo "## Control plane at scale ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg), bench/api.sh)"
    echo
    echo "hci-sim with 10,000 generated VMs on 127.0.0.1; median of $RUNS runs."
    echo
    echo "| run | time s |"
    echo "|---|---:|"
    printf '%s\n' "${rows[@]}"
} >>"$HERE/RESULTS.md"
echo "appended to $HERE/RESULTS.md" >&2
