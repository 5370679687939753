#!/bin/bash
# hci-sim's data plane: a LUN snapshot cloned into backup-tgt is served by the
# simulator's own tgtd at the cluster's iscsi_vip, thin, with the snapshot's
# exact bytes; delete removes it; the target whitelist refuses other initiators.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_root_and_tgt
command -v iscsi-ls >/dev/null || skip "iscsi-ls not installed (Debian package libiscsi-bin)"
command -v qemu-img >/dev/null || skip "qemu-img not installed (Debian package qemu-utils)"
cat > "$T/scenario.json" <<'JSON'
{"users":[{"username":"admin","password":"admin-password"}],
 "clusters":[{"name":"c1"}],
 "vms":[{"name":"web01","cluster":"c1","vm_tools_status":"RUNNING",
         "disks":[{"type":"DISK","size":67108864},{"type":"CD_ROM"}]}],
 "iscsi_targets":[{"name":"backup-tgt","cluster":"c1","iqn_whitelist":"*"},
                  {"name":"locked-tgt","cluster":"c1","iqn_whitelist":"iqn.2026-01.test:allowed"}]}
JSON
start_sim --task-duration 50 --scenario "$T/scenario.json"

portal=$(sim_api get-clusters '{}' | jq -r '.[0].iscsi_vip')
[ "$portal" = "$(sed -n 2p "$T/sim.out")" ] || die "iscsi_vip $portal differs from the portal hci-sim printed"
[ "$(sim_admin state | jq -r .portal)" = "$portal" ] || die "/_sim/state has another portal"
tgtd_pid=$(sim_admin state | jq -r .tgtd_pid)
kill -0 "$tgtd_pid" || die "no tgtd running"

sim_admin disk-write '{"vm":"web01","disk":0,"extents":[[0,65536],[10485760,1048576],[67043328,65536]],"random":{"seed":5}}' >/dev/null
vm_id=$(sim_api get-vms '{"where":{"name":"web01"}}' | jq -r '.[0].id')
name=$(sim_api create-vm-snapshot "{\"data\":[{\"vm_id\":\"$vm_id\",\"name\":\"exp\"}]}" | jq -r '.[0].data.vm_disks[0].snapshot_local_id')
sim_admin disk-write '{"vm":"web01","disk":0,"offset":0,"random":{"seed":6,"length":4096}}' >/dev/null  # after the snapshot
lun_snap=$(sim_api get-iscsi-lun-snapshots "{\"where\":{\"name\":\"$name\"}}" | jq -r '.[0].id')
want=$(sim_admin digest "{\"lun_snapshot\":\"$lun_snap\"}" | jq -r .sha256)

tgt=$(sim_api get-iscsi-targets '{"where":{"name":"backup-tgt"}}')
tgt_id=$(jq -r '.[0].id' <<<"$tgt")
iqn=$(jq -r '.[0].iqn_name' <<<"$tgt")
clone=$(sim_api clone-iscsi-lun-from-snapshot "[{\"iscsi_target_id\":\"$tgt_id\",\"name\":\"exp-clone\",\"snapshot_id\":\"$lun_snap\"}]")
lun=$(jq -r '.[0].data.lun_id' <<<"$clone")
[ "$(jq -r '.[0].data.assigned_size' <<<"$clone")" = 67108864 ] || die "clone size: $clone"

iscsi-ls -s "iscsi://$portal" > "$T/ls.txt" 2>&1 || die "iscsi-ls failed: $(cat "$T/ls.txt")"
grep -q "Lun:$lun .*DIRECT_ACCESS" "$T/ls.txt" || die "LUN $lun not listed: $(cat "$T/ls.txt")"
iscsi-readcapacity16 "iscsi://$portal/$iqn/$lun" > "$T/cap.txt" || die "readcapacity16 failed"
grep -q 'RETURNED LOGICAL BLOCK ADDRESS:131071' "$T/cap.txt" || die "wrong capacity: $(cat "$T/cap.txt")"
grep -q 'LBPME:1' "$T/cap.txt" || die "LUN is not thin-provisioned: $(cat "$T/cap.txt")"

qemu-img convert -O raw "iscsi://$portal/$iqn/$lun" "$T/out.raw" || die "qemu-img convert failed"
got=$(sha256sum < "$T/out.raw" | cut -d' ' -f1)
[ "$got" = "$want" ] || die "data read over iSCSI ($got) differs from the LUN snapshot ($want)"

# delete-iscsi-lun removes it from tgtd.
sim_api delete-iscsi-lun '{"where":{"name":"exp-clone"},"data":{"remove_snapshot":false}}' | jq -e 'length == 1' >/dev/null ||
    die "delete-iscsi-lun matched nothing"
iscsi-ls -s "iscsi://$portal" > "$T/ls2.txt" 2>&1 || true
if grep -q "Lun:$lun " "$T/ls2.txt"; then die "LUN $lun still served after delete"; fi
sim_api get-iscsi-luns '{"where":{"name":"exp-clone"}}' | jq -e 'length == 0' >/dev/null || die "LUN still listed"

# Whitelist: locked-tgt admits only iqn.2026-01.test:allowed.
ltgt=$(sim_api get-iscsi-targets '{"where":{"name":"locked-tgt"}}')
sim_api create-iscsi-lun "[{\"iscsi_target_id\":$(jq '.[0].id' <<<"$ltgt"),\"name\":\"l1\",\"assigned_size\":1,\"assigned_size_unit\":\"MB\",\"replica_num\":2}]" >/dev/null
liqn=$(jq -r '.[0].iqn_name' <<<"$ltgt")
iscsi-readcapacity16 -i iqn.2026-01.test:allowed "iscsi://$portal/$liqn/1" >/dev/null 2>&1 ||
    die "the whitelisted initiator was refused"
if iscsi-readcapacity16 -i iqn.2026-01.test:intruder "iscsi://$portal/$liqn/1" >/dev/null 2>&1; then
    die "an initiator outside the whitelist logged in"
fi

# /_sim/tgtd/kill takes the data plane away; the API stays up.
sim_admin tgtd/kill '{}' | jq -e --argjson p "$tgtd_pid" '.killed == $p' >/dev/null || die "tgtd/kill"
for _ in $(seq 20); do kill -0 "$tgtd_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$tgtd_pid" 2>/dev/null && die "tgtd survived /_sim/tgtd/kill"
if iscsi-ls "iscsi://$portal" >/dev/null 2>&1; then die "portal still answers after tgtd/kill"; fi
sim_api get-vms '{}' | jq -e 'length == 1' >/dev/null || die "API down after tgtd/kill"
echo "ok"
