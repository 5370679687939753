#!/bin/bash
# restore-vm.sh brings web01 (3 data disks of odd sizes, 2 CD-ROMs, 2 NICs)
# back from a backup-vm.sh directory as a new VM, exactly: same vCPUs,
# memory, firmware, disk sizes, buses, boot order, storage policies, CD-ROM
# drives (empty), NIC VLANs, models and (--keep-mac) MACs, every disk's data;
# the new VM is stopped, holes stay holes, and the LUNs' allowed_initiators
# are put back.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/restore.sh"
start_restore_sim
backup_web01 "$T/backup"
jq -e '.hci_config == 1 and (.vm_disks | length) == 5 and (.vm_nics | length) == 2' "$T/backup/web01.vm.json" >/dev/null ||
    die "the backup's configuration is not a full one: $(head -c 300 "$T/backup/web01.vm.json")"

"$RESTORE_VM" --keep-mac "$T/backup" >"$T/summary.json" 2>"$T/restore.err" ||
    { cat "$T/restore.err" >&2; die "restore-vm.sh failed"; }
jq -e '.verified == true and .started == false and .vm.name == "web01-restored" and .source_vm.name == "web01"
       and (.disks | map(.original_index)) == [0, 2, 4] and all(.disks[]; .verified and (.digest | length) > 0)' \
    "$T/summary.json" >/dev/null || die "summary: $(cat "$T/summary.json")"

for i in 0 2 4; do
    [ "$(disk_digest web01 $i)" = "$(disk_digest web01-restored $i)" ] || die "disk $i differs from the original"
    # Holes stay holes: the new thin volume holds no more than the original.
    old_alloc=$(sim_admin digest "{\"vm\":\"web01\",\"disk\":$i}" | jq .allocated)
    new_alloc=$(sim_admin digest "{\"vm\":\"web01-restored\",\"disk\":$i}" | jq .allocated)
    [ "$new_alloc" -le "$old_alloc" ] || die "disk $i: $new_alloc bytes allocated after the restore, $old_alloc before"
done

# The shape, compared field by field with the original's full configuration.
hci-vm-get --name web01 --full >"$T/old.json"
hci-vm-get --name web01-restored --full >"$T/new.json"
shape='{vcpu, cpu, memory, firmware, ha, guest_os_type, description,
        disks: [.vm_disks[] | {index, type, bus, boot, size: .vm_volume.size, policy: .vm_volume.elf_storage_policy}],
        nics: [.vm_nics[] | {vlan: .vlan.name, mac_address, model, enabled}]}'
old=$(jq -S "$shape" "$T/old.json")
new=$(jq -S "$shape" "$T/new.json")
[ "$old" = "$new" ] || die "the shape differs:
$(diff <(echo "$old") <(echo "$new"))"
jq -e '.status == "STOPPED" and ([.vm_disks[] | select(.type == "CD_ROM") | .elf_image] == [null, null])' "$T/new.json" >/dev/null ||
    die "new VM not stopped, or its CD-ROMs not empty: $(jq -c '{status, vm_disks}' "$T/new.json")"

# The new VM's LUNs admit nobody again, as before the restore.
luns=$(jq -c '[.vm_disks[] | .vm_volume.lun.id // empty]' "$T/new.json")
allowed=$(sim_api get-iscsi-luns "{\"where\":{\"id_in\":$luns}}" | jq -c '[.[].allowed_initiators] | unique')
[ "$allowed" = '[""]' ] || die "allowed_initiators not put back: $allowed"
echo "ok: web01 restored exactly as web01-restored"
