#!/bin/bash
# hci-sim: 10,000 generated VMs page quickly with first/after and with skip.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd --generate-vms 10000

start=$(date +%s%N)
after=""
: > "$T/names"
pages=0
while :; do
    if [ -n "$after" ]; then req="{\"first\":1000,\"after\":\"$after\"}"; else req='{"first":1000}'; fi
    sim_api get-vms "$req" > "$T/page.json"
    n=$(jq length "$T/page.json")
    [ "$n" -eq 0 ] && break
    jq -r '.[].name' "$T/page.json" >> "$T/names"
    after=$(jq -r '.[-1].id' "$T/page.json")
    pages=$((pages + 1))
    [ "$pages" -le 20 ] || die "paging does not end"
done
ms=$(( ($(date +%s%N) - start) / 1000000 ))
total=$(wc -l < "$T/names")
unique=$(sort -u "$T/names" | wc -l)
# 10,000 generated + 4 scenario VMs (two are both named "dup").
[ "$total" -eq 10004 ] || die "paged $total VMs, wanted 10004"
[ "$unique" -eq 10003 ] || die "$unique distinct names, wanted 10003"
echo "paged $total VMs in $pages pages in ${ms} ms"
[ "$ms" -lt 30000 ] || die "paging 10,000 VMs took ${ms} ms"

# skip/first and a where that selects by prefix.
sim_api get-vms '{"skip":9990,"first":100,"orderBy":"name_ASC"}' | jq -e 'length == 14' >/dev/null || die "skip paging"
sim_api get-vms '{"where":{"name_starts_with":"vm0999"}}' | jq -e 'length == 10' >/dev/null || die "prefix where"
sim_api get-vms '{"where":{"name_in":["vm00000","vm09999","nope"]}}' | jq -e 'length == 2' >/dev/null || die "name_in"
echo "ok"
