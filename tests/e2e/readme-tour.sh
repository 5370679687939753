#!/bin/bash
# The README's one-minute tour runs as written against hci-sim with the demo
# scenario: web01 exists, its disks hold data (the streams carry it, not just
# headers), every step succeeds, and the restored disk equals the VM's disk.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_root_and_tgt
start_sim --scenario "$HCI_SOURCE_DIR/examples/demo-scenario.json"
sim_require_tgtd
export CLOUDTOWER_USERNAME=admin CLOUDTOWER_PASSWORD=admin-password
sim_token=$CLOUDTOWER_TOKEN
unset CLOUDTOWER_TOKEN   # the tour logs in with the user name and password

# The first sh block after "## A one-minute tour", exactly as printed.
awk '/^## A one-minute tour/ { on = 1 } on && /^```sh$/ { code = 1; next } code && /^```$/ { exit } code' \
    "$HCI_SOURCE_DIR/README.md" >"$T/tour.sh"
grep -q 'hci-vm-get --name web01' "$T/tour.sh" || die "no tour found in README.md"
mkdir "$T/tour" && cd "$T/tour"
bash -euo pipefail "$T/tour.sh" >"$T/tour.out" 2>"$T/tour.err" || { cat "$T/tour.err"; die "the tour failed"; }

[ "$(wc -l <web01.disks.jsonl)" -eq 2 ] || die "expected 2 disk lines: $(cat web01.disks.jsonl)"
for i in 0 1; do
    data=$(zadp-write --check <"web01.disk$i.zst" | jq .data_bytes)
    [ "$data" -gt 1000000 ] || die "web01.disk$i.zst carries $data data bytes: the demo disks are empty"
done
[ "$(sha256sum <restored-disk0.img | cut -d' ' -f1)" = "$(sim_admin digest '{"vm":"web01","disk":0}' | jq -r .sha256)" ] ||
    die "restored-disk0.img differs from web01's disk 0"
[ "$(CLOUDTOWER_TOKEN=$sim_token sim_api get-vm-snapshots '{}' | jq length)" -eq 0 ] || die "the tour left a snapshot"
echo ok
