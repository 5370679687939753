#!/bin/bash
# hci-sim's datastore target across a restart: a scenario disk with
# allowed_initiators is served from the start, one allowed later through
# update-iscsi-lun is served again after a restart, and one nobody is allowed
# on stays closed.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_root_and_tgt
command -v iscsi-readcapacity16 >/dev/null || skip "iscsi-readcapacity16 not installed (Debian package libiscsi-bin)"
HOST=iqn.2026-11.test:restart-host
jq -n --arg h "$HOST" '{users: [{username: "admin", password: "admin-password"}], clusters: [{name: "c1"}],
  vms: [{name: "v1", cluster: "c1", disks: [{size: 1048576, allowed_initiators: $h}, {size: 2097152}, {size: 4194304}]}]}' \
    > "$T/scenario.json"
start_sim --scenario "$T/scenario.json" --task-duration 50

url() {  # url DISK-INDEX: the iSCSI URL of v1's disk
    local lun
    lun=$(sim_api get-iscsi-luns "{\"where\":{\"name\":\"v1-disk$1\"}}")
    echo "iscsi://$(sim_api get-clusters '{}' | jq -r '.[0].iscsi_vip')/$(sim_api get-iscsi-targets \
        "{\"where\":{\"id\":$(jq '.[0].iscsi_target.id' <<<"$lun")}}" | jq -r '.[0].iqn_name')/$(jq -r '.[0].lun_id' <<<"$lun")"
}
readable() { iscsi-readcapacity16 -i "$HOST" "$(url "$1")" >/dev/null 2>&1; }
check() {
    readable 0 || die "disk 0 (allowed in the scenario) is not served $1"
    readable 2 && die "disk 2 (nobody allowed) is served $1"
    true
}
sim_api get-iscsi-luns '{"where":{"name":"v1-disk0"}}' | jq -e --arg h "$HOST" '.[0].allowed_initiators == $h' >/dev/null ||
    die "scenario allowed_initiators not in the LUN"
check "at start"
readable 1 && die "disk 1 served before it was allowed"
sim_api update-iscsi-lun "{\"where\":{\"name\":\"v1-disk1\"},\"data\":{\"allowed_initiators\":\"$HOST\"}}" >/dev/null
readable 1 || die "disk 1 not served once allowed"

kill -TERM "$SIM_PID"
for _ in $(seq 100); do kill -0 "$SIM_PID" 2>/dev/null || break; sleep 0.1; done
wait "$SIM_PID" 2>/dev/null || true
start_sim --scenario "$T/scenario.json" --task-duration 50
check "after a restart"
readable 1 || die "disk 1 (allowed through update-iscsi-lun) not served after a restart"
echo ok
