#!/bin/bash
# hci-sim: 10,000 generated VMs page with first/after and with skip: every
# VM exactly once, in 11 pages of at most 1000 (one get-vms call each, and
# one more that finds the end), and paging takes hci-sim little memory.
# How fast is measured by make bench (bench/api.sh), not asserted here.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
SIM_WAIT_SECONDS=300 start_sim --no-tgtd --generate-vms 10000

sim_admin counters/reset '{}' >/dev/null
# The memory paging takes: the peak resident size from here on (clear_refs 5
# resets it) over what hci-sim holds now, with its 10,000 VMs.
status() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$SIM_PID/status"; }
echo 5 >"/proc/$SIM_PID/clear_refs"
rss0_kib=$(status VmRSS)
after=""
: > "$T/names"
pages=0
while :; do
    if [ -n "$after" ]; then req="{\"first\":1000,\"after\":\"$after\"}"; else req='{"first":1000}'; fi
    sim_api get-vms "$req" > "$T/page.json"
    n=$(jq length "$T/page.json")
    [ "$n" -eq 0 ] && break
    [ "$n" -le 1000 ] || die "a page of $n VMs, asked for 1000"
    jq -r '.[].name' "$T/page.json" >> "$T/names"
    after=$(jq -r '.[-1].id' "$T/page.json")
    pages=$((pages + 1))
    [ "$pages" -le 20 ] || die "paging does not end"
done
total=$(wc -l < "$T/names")
unique=$(sort -u "$T/names" | wc -l)
# 10,000 generated + 4 scenario VMs (two are both named "dup").
[ "$total" -eq 10004 ] || die "paged $total VMs, wanted 10004"
[ "$unique" -eq 10003 ] || die "$unique distinct names, wanted 10003"
[ "$pages" -eq 11 ] || die "$pages pages of up to 1000 for 10004 VMs, wanted 11"
calls=$(sim_admin counters | jq '.["get-vms"]')
[ "$calls" -eq 12 ] || die "$calls get-vms calls for 11 pages and the empty one that ends them"
# Answering 1000 VMs at a time takes hci-sim a few MiB beyond what it holds
# (one answer of all 10,000 takes about 31), never memory in proportion to
# them all. (Under ASan or TSan freed memory stays in quarantine, so
# resident sizes say nothing there.)
grow_mib=$((($(status VmHWM) - rss0_kib) >> 10))
echo "paged $total VMs in $pages pages ($calls calls); hci-sim grew by up to $grow_mib MiB (from $((rss0_kib >> 10)) MiB)"
# (ldd's output goes to a file: grep -q quitting early would make ldd die of
# SIGPIPE, and under pipefail the test would take a sanitizer build for a
# plain one.)
ldd "$(command -v hci-sim)" >"$T/ldd"
if ! grep -Eq 'lib(asan|tsan)' "$T/ldd"; then
    [ "$grow_mib" -lt 16 ] || die "paging made hci-sim grow by $grow_mib MiB"
fi

# skip/first and a where that selects by prefix.
sim_api get-vms '{"skip":9990,"first":100,"orderBy":"name_ASC"}' | jq -e 'length == 14' >/dev/null || die "skip paging"
sim_api get-vms '{"where":{"name_starts_with":"vm0999"}}' | jq -e 'length == 10' >/dev/null || die "prefix where"
sim_api get-vms '{"where":{"name_in":["vm00000","vm09999","nope"]}}' | jq -e 'length == 2' >/dev/null || die "name_in"
echo "ok"
