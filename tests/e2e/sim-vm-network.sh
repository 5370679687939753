#!/bin/bash
# hci-sim: the configuration a VM rebuild needs. get-vm-disks gives bus, boot,
# type and, for a CD-ROM, the image it mounts; get-vm-nics gives order, VLAN,
# MAC, model and enabled; get-vlans lists each cluster's own VLANs with their
# VDS, so a where on vds.cluster tells what a target cluster offers.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd

web=$(sim_api get-vms '{"where":{"name":"web01"}}' | jq -r '.[0].id')
disks=$(sim_api get-vm-disks "{\"where\":{\"vm\":{\"id\":\"$web\"}},\"orderBy\":\"boot_ASC\"}")
jq -e '[.[] | [.type, .bus, .boot]] == [["DISK","VIRTIO",0],["DISK","VIRTIO",1],["CD_ROM","IDE",2]]' <<<"$disks" >/dev/null ||
    die "web01 disks: $disks"
jq -e '.[2].elf_image.name == "centos-7.iso" and .[2].vm_volume == null' <<<"$disks" >/dev/null || die "CD-ROM mount: $disks"
vol0=$(jq -r '.[0].vm_volume.id' <<<"$disks")
sim_api get-vm-volumes "{\"where\":{\"id\":\"$vol0\"}}" |
    jq -e '.[0].size == 1073741824 and .[0].elf_storage_policy == "REPLICA_2_THIN_PROVISION" and .[0].sharing == false' \
        >/dev/null || die "web01 disk 0 volume"

db=$(sim_api get-vms '{"where":{"name":"db01"}}')
jq -e '.[0].cpu == {"cores":2,"sockets":2} and .[0].vcpu == 4 and .[0].firmware == "UEFI" and (.[0].vm_nics | length) == 2' \
    <<<"$db" >/dev/null || die "db01: $db"
nics=$(sim_api get-vm-nics "{\"where\":{\"vm\":{\"name\":\"db01\"}},\"orderBy\":\"order_ASC\"}")
jq -e '[.[] | [.order, .vlan.name, .mac_address, .model, .enabled]] ==
       [[0,"db-net","52:54:00:00:02:01","VIRTIO",true],[1,"default","52:54:00:00:02:02","E1000",false]]' \
    <<<"$nics" >/dev/null || die "db01 NICs: $nics"
policy=$(sim_api get-vm-volumes '{"where":{"vm_disks_some":{"vm":{"name":"db01"}}}}' | jq -r '.[0].elf_storage_policy')
[ "$policy" = REPLICA_3_THICK_PROVISION ] || die "db01 storage policy: $policy"

# Each cluster has its own VLANs (c1: three on two VDSes; c2: two); names may repeat across clusters.
c1=$(sim_api get-clusters '{"where":{"name":"c1"}}' | jq -r '.[0].id')
c2=$(sim_api get-clusters '{"where":{"name":"c2"}}' | jq -r '.[0].id')
sim_api get-vlans "{\"where\":{\"vds\":{\"cluster\":{\"id\":\"$c1\"}}},\"orderBy\":\"vlan_id_ASC\"}" |
    jq -e '[.[] | [.name, .vlan_id, .type]] == [["default",0,"VM"],["vm-net",10,"VM"],["db-net",20,"VM"]]' >/dev/null ||
    die "c1 VLANs"
c2vlans=$(sim_api get-vlans "{\"where\":{\"vds\":{\"cluster\":{\"id\":\"$c2\"}}},\"orderBy\":\"vlan_id_ASC\"}")
jq -e '[.[] | .name] == ["default","dr-net"] and (.[1].vm_nics == [])' <<<"$c2vlans" >/dev/null || die "c2 VLANs: $c2vlans"
[ "$(sim_api get-vlans '{"where":{"name":"db-net"}}' | jq -r '.[0].vds.name')" = vds-storage ] || die "db-net VDS"
# A VLAN knows its NICs; the NIC's VLAN is the cluster's own.
sim_api get-vlans '{"where":{"vm_nics_some":{"vm":{"name":"web01"}}}}' | jq -e 'length == 1 and .[0].name == "vm-net"' \
    >/dev/null || die "vm_nics_some on VLANs"
sim_api get-vm-nics '{"where":{"mac_address":"52:54:00:00:01:01"}}' | jq -e '.[0].vm.name == "web01"' >/dev/null ||
    die "NIC by MAC"
echo ok
