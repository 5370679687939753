#!/bin/bash
# hci-sim: every response of every operation validates against the vendor's
# schema (tests/fixtures/openapi, checked by tests/schema/validate.py),
# error bodies included; the request bodies used here validate too.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
python3 -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema not installed"
start_sim --task-duration 50
V="python3 $HCI_SOURCE_DIR/tests/schema/validate.py"

# Bodies are collected and validated in one python run at the end (fast).
n=0
: > "$T/list"
call() {  # call OP JSON: records the request and the 200 response for validation
    local op=$1 req=$2
    n=$((n + 1))
    printf '%s' "$req" > "$T/req-$n.json"
    sim_api "$op" "$req" > "$T/resp-$op.json" || die "$op failed"
    cp "$T/resp-$op.json" "$T/resp-$n.json"
    echo "request $op $T/req-$n.json" >> "$T/list"
    echo "response $op $T/resp-$n.json" >> "$T/list"
}

call get-clusters '{}'
call get-vms '{"where":{"cluster":{"name":"c1"}},"orderBy":"name_ASC","first":10}'
call get-vm-disks '{"where":{"vm":{"name":"web01"}}}'
call get-vm-volumes '{}'
call get-iscsi-targets '{}'
call get-iscsi-luns '{}'
vm_id=$(sim_api get-vms '{"where":{"name":"web01"}}' | jq -r '.[0].id')
db_id=$(sim_api get-vms '{"where":{"name":"db01"}}' | jq -r '.[0].id')
call create-vm-snapshot "{\"data\":[{\"vm_id\":\"$vm_id\",\"name\":\"sch\",\"consistent_type\":\"CRASH_CONSISTENT\"},{\"vm_id\":\"$db_id\",\"name\":\"sch-fs\",\"consistent_type\":\"FILE_SYSTEM_CONSISTENT\"}]}"
ids=$(jq -c 'map(.task_id)' "$T/resp-create-vm-snapshot.json")
call get-tasks "{\"where\":{\"id_in\":$ids}}"   # fresh: PENDING/EXECUTING
sleep 0.3
call get-tasks "{\"where\":{\"id_in\":$ids}}"   # done: SUCCESSED and FAILED
jq -e 'map(.status) | sort == ["FAILED","SUCCESSED"]' "$T/resp-get-tasks.json" >/dev/null || die "task states"
snap_id=$(jq -r '.[0].data.id' "$T/resp-create-vm-snapshot.json")
call get-vm-snapshots "{\"where\":{\"id\":\"$snap_id\"}}"
names=$(jq -c '[.[0].vm_disks[] | .snapshot_local_id | select(. != null)]' "$T/resp-get-vm-snapshots.json")
call get-iscsi-lun-snapshots "{\"where\":{\"name_in\":$names}}"
lun_snap=$(jq -r '.[0].id' "$T/resp-get-iscsi-lun-snapshots.json")
tgt=$(sim_api get-iscsi-targets '{"where":{"name":"backup-tgt"}}' | jq -r '.[0].id')
call clone-iscsi-lun-from-snapshot "[{\"iscsi_target_id\":\"$tgt\",\"name\":\"sch-clone\",\"snapshot_id\":\"$lun_snap\"}]"
call create-iscsi-lun "[{\"iscsi_target_id\":\"$tgt\",\"name\":\"sch-new\",\"assigned_size\":16,\"assigned_size_unit\":\"MB\",\"replica_num\":2}]"
call get-iscsi-luns '{"where":{"name_starts_with":"sch-"}}'
jq -e 'length == 2' "$T/resp-get-iscsi-luns.json" >/dev/null || die "clone and new LUN not listed"
call delete-iscsi-lun '{"where":{"name_in":["sch-clone","sch-new"]},"data":{"remove_snapshot":false}}'
call delete-vm-snapshot "{\"where\":{\"id\":\"$snap_id\"}}"

# The VM configuration and life cycle: NICs, VLANs, create, start, stop, LUN ACL, delete.
call get-vm-nics '{"where":{"vm":{"name":"db01"}},"orderBy":"order_ASC"}'
call get-vlans '{"orderBy":"vlan_id_ASC"}'
c2=$(sim_api get-clusters '{"where":{"name":"c2"}}' | jq -r '.[0].id')
vlan=$(sim_api get-vlans "{\"where\":{\"name\":\"dr-net\",\"vds\":{\"cluster\":{\"id\":\"$c2\"}}}}" | jq -r '.[0].id')
call create-vm "$(jq -nc --arg c "$c2" --arg v "$vlan" '[{name: "sch-vm", cluster_id: $c, status: "STOPPED", firmware: "BIOS",
  ha: true, memory: 1, memory_unit: "GB", cpu_cores: 1, cpu_sockets: 2, vcpu: 2, guest_os_type: "LINUX",
  vm_nics: [{connect_vlan_id: $v, mac_address: "52:54:00:12:34:56", model: "VIRTIO", enabled: true}, {connect_vlan_id: $v}],
  vm_disks: {mount_new_create_disks: [{index: 0, boot: 0, bus: "SCSI",
      vm_volume: {name: "sch-vm-d0", size: 16, size_unit: "MB", elf_storage_policy: "REPLICA_2_THIN_PROVISION"}}],
    mount_cd_roms: [{index: 1, boot: 1}]}}]')"
new_vm=$(jq -r '.[0].data.id' "$T/resp-create-vm.json")
call get-vm-disks "{\"where\":{\"vm\":{\"id\":\"$new_vm\"}}}"
call get-vm-volumes "{\"where\":{\"name\":\"sch-vm-d0\"}}"
call start-vm "{\"where\":{\"id\":\"$new_vm\"}}"
call shutdown-vm "{\"where\":{\"id\":\"$new_vm\"}}"
call poweroff-vm "{\"where\":{\"id\":\"$new_vm\"}}"
lun=$(jq -r '.[0].lun.id' "$T/resp-get-vm-volumes.json")
call update-iscsi-lun "{\"where\":{\"id\":\"$lun\"},\"data\":{\"allowed_initiators\":\"iqn.2026-11.test:sch\"}}"
jq -e '.[0].data.allowed_initiators == "iqn.2026-11.test:sch"' "$T/resp-update-iscsi-lun.json" >/dev/null || die "update-iscsi-lun"
call delete-vm "{\"where\":{\"id\":\"$new_vm\"},\"effect\":{\"include_snapshots\":true}}"

# login's response, and the error bodies (401 has no schema of its own; it is an ErrorBody).
printf '{"username":"admin","password":"admin-password"}' > "$T/login.json"
curl -fsS -X POST -d @"$T/login.json" "$SIM_URL/v2/api/login" > "$T/resp-login.json"
curl -sS -X POST -H 'Authorization: nope' -d '{}' "$SIM_URL/v2/api/get-vms" > "$T/err401.json"
curl -sS -X POST -H "Authorization: $CLOUDTOWER_TOKEN" -d '{"where":{"name_in":"x"}}' "$SIM_URL/v2/api/get-vms" > "$T/err400.json"
sim_admin faults '{"op":"get-vms","count":1,"code":"ResourceLocked"}' >/dev/null
curl -sS -X POST -H "Authorization: $CLOUDTOWER_TOKEN" -d '{}' "$SIM_URL/v2/api/get-vms" > "$T/locked.json"
cat >> "$T/list" <<LIST
request login $T/login.json
response login $T/resp-login.json
response get-vms $T/err401.json 400
response get-vms $T/err400.json 400
response get-vms $T/locked.json 400
LIST
jq -e '.status == 401' "$T/err401.json" >/dev/null || die "no 401"
jq -e '.code == "ResourceLocked"' "$T/locked.json" >/dev/null || die "no ResourceLocked"
$V batch "$T/list" || die "some bodies do not validate (see above)"

# The validator itself must catch a wrong shape.
jq '.[0].status = "DONE"' "$T/resp-get-tasks.json" > "$T/bad.json"
if $V response get-tasks "$T/bad.json" 2>/dev/null; then die "validator accepted a bad task status"; fi
jq '.[0].model = "RTL8139"' "$T/resp-get-vm-nics.json" > "$T/bad.json"
if $V response get-vm-nics "$T/bad.json" 2>/dev/null; then die "validator accepted a bad NIC model"; fi
jq '.[0].extra_field = 1' "$T/resp-get-vms.json" > "$T/bad.json"
if $V response get-vms "$T/bad.json" 2>/dev/null; then die "validator accepted an extra field"; fi
echo "ok"
