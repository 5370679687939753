#!/bin/bash
# hci-vm-get --full resolves every VM's disks (with index, bus, boot, type,
# volume size and policy, CD-ROM image) and NICs (order, VLAN with name and
# VDS, MAC, model, enabled) in one line, with one get-vm-disks, get-vm-nics,
# get-vm-volumes and get-vlans call for the whole batch, not one per VM.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/restore.sh"
require_tools hci-vm-get
restore_scenario "$T/base.json"
# Five more VMs beside web01, each with a disk and a NIC.
jq '.vms += [range(5) | {name: "db\(.)", cluster: "c2", disks: [{type: "DISK", size: 1048576}],
                         nics: [{vlan: "dr-net", mac_address: "52:54:00:bb:00:0\(.)"}]}]' "$T/base.json" >"$T/scenario.json"
start_sim --scenario "$T/scenario.json"

sim_admin counters/reset '{}' >/dev/null
hci-vm-get --all --full >"$T/all.jsonl"
[ "$(wc -l <"$T/all.jsonl")" -eq 6 ] || die "expected 6 lines, got $(wc -l <"$T/all.jsonl")"
counters=$(sim_admin counters)
for op in get-vms get-vm-disks get-vm-nics get-vm-volumes get-vlans; do
    [ "$(jq --arg op "$op" '.[$op] // 0' <<<"$counters")" -eq 1 ] || die "$op was called other than once: $counters"
done

jq -e -s '.[] | select(.name == "web01")
  | .hci_config == 1
    and ([.vm_disks[] | [.index, .type, .bus, .boot]] == [[0, "DISK", "VIRTIO", 2], [1, "CD_ROM", "IDE", 0],
                                                          [2, "DISK", "SCSI", 3], [3, "CD_ROM", "IDE", 4],
                                                          [4, "DISK", "VIRTIO", 1]])
    and ([.vm_disks[] | .vm_volume.size // null] == [5243392, null, 3158016, null, 1050112])
    and (.vm_disks[0].vm_volume.elf_storage_policy == "REPLICA_3_THIN_PROVISION")
    and (.vm_disks[1].elf_image.name == "debian-12.iso")
    and ([.vm_nics[] | [.vlan.name, .vlan.vlan_id, .mac_address, .model, .enabled]]
         == [["prod", 10, "52:54:00:aa:00:01", "VIRTIO", true], ["backup-net", 20, "52:54:00:aa:00:02", "E1000", false]])
    and (.vm_nics[0].vlan.vds.name | type == "string")' "$T/all.jsonl" >/dev/null ||
    die "web01 not resolved as expected: $(grep '"web01"' "$T/all.jsonl" | head -c 2000)"
jq -e -s 'map(select(.name | startswith("db"))) | length == 5 and all(.vm_nics[0].vlan.name == "dr-net")' "$T/all.jsonl" >/dev/null ||
    die "the db VMs are not resolved"

# By name from stdin, in batches of 2: one call per operation per batch.
sim_admin counters/reset '{}' >/dev/null
printf 'db%s\n' 0 1 2 3 4 | hci-vm-get --full --batch-size 2 >"$T/some.jsonl"
[ "$(wc -l <"$T/some.jsonl")" -eq 5 ] || die "expected 5 lines"
[ "$(sim_admin counters | jq '."get-vm-nics"')" -eq 3 ] || die "get-vm-nics per batch: $(sim_admin counters)"
echo "ok: --full lines resolved, one call per operation per batch"
