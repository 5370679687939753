#!/bin/bash
# hci-sim create-vm: a VM with three new volumes of odd sizes (each with a LUN
# on the cluster's datastore target), two empty CD-ROMs and two NICs (one MAC
# given, one generated) on another cluster; a bad request creates nothing;
# start-vm/shutdown-vm change the status; delete-vm removes volumes, LUNs,
# NICs and the data files; a failed create task leaves no VM behind.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_tools hci-task-wait
start_sim --no-tgtd --task-duration 50

c2=$(sim_api get-clusters '{"where":{"name":"c2"}}' | jq -r '.[0].id')
vlans=$(sim_api get-vlans "{\"where\":{\"vds\":{\"cluster\":{\"id\":\"$c2\"}}}}")
dr=$(jq -r '.[] | select(.name == "dr-net") | .id' <<<"$vlans")
def=$(jq -r '.[] | select(.name == "default") | .id' <<<"$vlans")
c1net=$(sim_api get-vlans '{"where":{"name":"vm-net"}}' | jq -r '.[0].id')   # a VLAN of c1
[ -n "$dr" ] && [ -n "$def" ] && [ -n "$c1net" ] || die "VLANs missing: $vlans"

# request NAME C2-VLAN: a VmCreationParams for cluster c2
request() {
    jq -n --arg name "$1" --arg c2 "$c2" --arg dr "$2" --arg dflt "$def" '{
      name: $name, cluster_id: $c2, status: "STOPPED", firmware: "UEFI", ha: true,
      memory: 2, memory_unit: "GB", cpu_cores: 2, cpu_sockets: 2, vcpu: 4,
      guest_os_type: "LINUX", description: "restored by a test",
      vm_disks: {
        mount_new_create_disks: [
          {index: 0, boot: 0, bus: "VIRTIO", vm_volume: {name: ($name + "-d0"), size: 5243392, elf_storage_policy: "REPLICA_2_THIN_PROVISION"}},
          {index: 2, boot: 2, bus: "SCSI", vm_volume: {name: ($name + "-d2"), size: 3, size_unit: "MB", elf_storage_policy: "REPLICA_3_THIN_PROVISION"}},
          {index: 4, boot: 4, bus: "IDE", vm_volume: {name: ($name + "-d4"), size: 1049088, elf_storage_policy: "REPLICA_1_THICK_PROVISION"}}],
        mount_cd_roms: [{index: 1, boot: 1}, {index: 3, boot: 3}]},
      vm_nics: [{connect_vlan_id: $dr, mac_address: "52:54:00:aa:bb:cc", model: "VIRTIO", enabled: true},
                {connect_vlan_id: $dflt, model: "E1000", enabled: false}]}'
}
count() { sim_admin state | jq "[.vms, .vm_volumes, .iscsi_luns, .vm_nics, .files] | map(length)"; }
before=$(count)

# Refused before anything is made: a VLAN of another cluster, a bad policy, an
# odd size, a bad MAC; in a batch, one bad entry stops the good one too.
code() { curl -sS -o "$T/err.json" -w '%{http_code}' -X POST -H "Authorization: $CLOUDTOWER_TOKEN" -d "$1" "$SIM_URL/v2/api/create-vm"; }
[ "$(code "[$(request bad "$c1net")]")" = 404 ] || die "VLAN of c1 accepted on c2: $(cat "$T/err.json")"
grep -q "VLAN $c1net not found on cluster c2" "$T/err.json" || die "error does not name the VLAN: $(cat "$T/err.json")"
[ "$(code "[$(request good "$dr"),$(request bad "$c1net")]")" = 404 ] || die "batch with a bad entry accepted"
[ "$(code "[$(request bad "$dr" | jq '.vm_disks.mount_new_create_disks[0].vm_volume.elf_storage_policy = "GOLD"')]")" = 400 ] ||
    die "unknown storage policy accepted"
[ "$(code "[$(request bad "$dr" | jq '.vm_disks.mount_new_create_disks[0].vm_volume.size = 1000')]")" = 400 ] ||
    die "size 1000 accepted"
[ "$(code "[$(request bad "$dr" | jq '.vm_nics[0].mac_address = "52:54:00:zz"')]")" = 400 ] || die "bad MAC accepted"
[ "$(code "[$(request bad "$dr" | jq 'del(.vm_nics)')]")" = 400 ] || die "missing vm_nics accepted"
[ "$(count)" = "$before" ] || die "a refused create-vm left objects behind: $before -> $(count)"

resp=$(sim_api create-vm "[$(request restored "$dr")]")
jq -e 'length == 1 and (.[0].task_id | type) == "string" and .[0].data.name == "restored" and .[0].data.status == "STOPPED"' \
    <<<"$resp" >/dev/null || die "create-vm answer: $resp"
vm=$(jq -r '.[0].data.id' <<<"$resp")
echo "$resp" | jq -c '.[0]' | hci-task-wait >/dev/null || die "create-vm task did not succeed"
v=$(sim_api get-vms "{\"where\":{\"id\":\"$vm\"}}")
jq -e '.[0] | .cluster.name == "c2" and .vcpu == 4 and .cpu == {"cores":2,"sockets":2} and .memory == 2147483648 and
       .firmware == "UEFI" and .ha == true and .guest_os_type == "LINUX" and .description == "restored by a test" and
       .size == 9438208' <<<"$v" >/dev/null || die "created VM: $v"

disks=$(sim_api get-vm-disks "{\"where\":{\"vm\":{\"id\":\"$vm\"}},\"orderBy\":\"key_ASC\"}")
jq -e '[.[] | [.key, .type, .bus, .boot, (.vm_volume != null), .elf_image]] ==
       [[0,"DISK","VIRTIO",0,true,null],[1,"CD_ROM","IDE",1,false,null],[2,"DISK","SCSI",2,true,null],
        [3,"CD_ROM","IDE",3,false,null],[4,"DISK","IDE",4,true,null]]' <<<"$disks" >/dev/null || die "disks: $disks"
vols=$(sim_api get-vm-volumes "{\"where\":{\"vm_disks_some\":{\"vm\":{\"id\":\"$vm\"}}},\"orderBy\":\"name_ASC\"}")
jq -e '[.[] | [.name, .size, .elf_storage_policy, .mounting, .cluster.name]] ==
       [["restored-d0",5243392,"REPLICA_2_THIN_PROVISION",true,"c2"],["restored-d2",3145728,"REPLICA_3_THIN_PROVISION",true,"c2"],
        ["restored-d4",1049088,"REPLICA_1_THICK_PROVISION",true,"c2"]]' <<<"$vols" >/dev/null || die "volumes: $vols"
# VmVolume.lun -> IscsiLun on c2's datastore target, with a lun_id and the volume's size.
lun_ids=$(jq -c 'map(.lun.id)' <<<"$vols")
luns=$(sim_api get-iscsi-luns "{\"where\":{\"id_in\":$lun_ids},\"orderBy\":\"name_ASC\"}")
jq -e '[.[] | [.assigned_size, .replica_num, .thin_provision, .allowed_initiators]] ==
       [[5243392,2,true,""],[3145728,3,true,""],[1049088,1,false,""]] and ([.[].lun_id] | unique | length) == 3' \
    <<<"$luns" >/dev/null || die "LUNs: $luns"
target=$(jq -r '.[0].iscsi_target.id' <<<"$luns")
sim_api get-iscsi-targets "{\"where\":{\"id\":\"$target\"}}" |
    jq -e '.[0].internal == true and .[0].cluster.name == "c2" and (.[0].iqn_name | startswith("iqn."))' >/dev/null ||
    die "LUNs are not on c2's datastore target"

nics=$(sim_api get-vm-nics "{\"where\":{\"vm\":{\"id\":\"$vm\"}},\"orderBy\":\"order_ASC\"}")
jq -e '[.[] | [.order, .vlan.name, .model, .enabled]] == [[0,"dr-net","VIRTIO",true],[1,"default","E1000",false]] and
       .[0].mac_address == "52:54:00:aa:bb:cc" and (.[1].mac_address | test("^52:54:00(:[0-9a-f]{2}){3}$")) and
       .[1].mac_address != .[0].mac_address' <<<"$nics" >/dev/null || die "NICs: $nics"

# start-vm / shutdown-vm / poweroff-vm change the status and answer with the VM.
sim_api start-vm "{\"where\":{\"id\":\"$vm\"}}" | jq -e '.[0].data.status == "RUNNING" and (.[0].task_id | length) > 0' >/dev/null ||
    die "start-vm"
sim_api shutdown-vm "{\"where\":{\"id\":\"$vm\"}}" | jq -e '.[0].data.status == "STOPPED"' >/dev/null || die "shutdown-vm"
sim_api start-vm "{\"where\":{\"id\":\"$vm\"}}" >/dev/null
sim_api poweroff-vm "{\"where\":{\"id\":\"$vm\"}}" | jq -e '.[0].data.status == "STOPPED"' >/dev/null || die "poweroff-vm"

# delete-vm removes the VM, its disks, volumes, LUNs, NICs and the data files.
path=$(sim_admin volume-path "{\"lun\":$(jq '.[0].id' <<<"$luns")}" | jq -r .path)
[ -f "$path" ] || die "no data file for the new LUN"
sim_api delete-vm "{\"where\":{\"id\":\"$vm\"}}" | jq -e --arg id "$vm" '.[0].data.id == $id' >/dev/null || die "delete-vm"
[ "$(count)" = "$before" ] || die "delete-vm left objects behind: $before -> $(count)"
[ ! -e "$path" ] || die "delete-vm left the data file $path"
sim_api get-vlans "{\"where\":{\"id\":\"$dr\"}}" | jq -e '.[0].vm_nics == []' >/dev/null || die "VLAN still lists the NIC"

# A create task that fails (injected) leaves no VM.
sim_admin faults '{"op":"create-vm","fail_task":true}' >/dev/null
resp=$(sim_api create-vm "[$(request doomed "$dr")]")
rc=0; echo "$resp" | jq -c '.[0]' | hci-task-wait >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 5 ] || die "failed create task: hci-task-wait exit $rc"
[ "$(count)" = "$before" ] || die "failed create-vm left objects behind"
echo ok
