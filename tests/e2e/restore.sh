# Sourced after lib.sh by the vm-restore-* and vm-create-* scenarios: a VM
# worth restoring, its data and its backup (examples/backup-vm.sh).

export ZADP_INITIATOR_IQN=iqn.2026-11.test.hci-backup:restore-host
RESTORE_VM=$HCI_SOURCE_DIR/examples/restore-vm.sh

# restore_scenario FILE: clusters c1 (VLANs default, prod, backup-net) and c2
# (default, dr-net), the backup target on c1, and VM web01 on c1 with three
# data disks of odd sizes on two buses and two storage policies, two CD-ROMs
# (one with an image), a boot order that is not the disk order, and two NICs.
restore_scenario() {
    jq -n '{users: [{username: "admin", password: "admin-password"}],
        clusters: [{name: "c1", vlans: [{name: "default", vlan_id: 0}, {name: "prod", vlan_id: 10},
                                        {name: "backup-net", vlan_id: 20}]},
                   {name: "c2", vlans: [{name: "default", vlan_id: 0}, {name: "dr-net", vlan_id: 110}]}],
        iscsi_targets: [{name: "backup-tgt", cluster: "c1", iqn_whitelist: "*"}],
        vms: [{name: "web01", cluster: "c1", vcpu: 4, cpu_sockets: 2, memory: 3221225472, firmware: "UEFI",
               guest_os_type: "LINUX", description: "restore me", status: "RUNNING", vm_tools_status: "NOT_RUNNING",
               disks: [{type: "DISK", bus: "VIRTIO", boot: 2, size: 5243392, elf_storage_policy: "REPLICA_3_THIN_PROVISION"},
                       {type: "CD_ROM", bus: "IDE", boot: 0, elf_image: "debian-12.iso"},
                       {type: "DISK", bus: "SCSI", boot: 3, size: 3158016},
                       {type: "CD_ROM", bus: "IDE", boot: 4},
                       {type: "DISK", bus: "VIRTIO", boot: 1, size: 1050112, elf_storage_policy: "REPLICA_2_THICK_PROVISION"}],
               nics: [{vlan: "prod", mac_address: "52:54:00:aa:00:01", model: "VIRTIO"},
                      {vlan: "backup-net", mac_address: "52:54:00:aa:00:02", model: "E1000", enabled: false}]}]}' >"$1"
}

# start_restore_sim: the simulator on that scenario, with data in every disk
# (the last block of each odd-sized disk too), or skip without tgtd.
start_restore_sim() {
    require_pipeline
    require_tools hci-vm-create hci-lun-admit
    restore_scenario "$T/scenario.json"
    start_sim --scenario "$T/scenario.json" --task-duration 50
    sim_require_tgtd
    local disk size seed=1
    for disk in 0 2 4; do
        size=$(sim_admin volume-path "{\"vm\":\"web01\",\"disk\":$disk}" | jq .size)
        sim_admin disk-write "{\"vm\":\"web01\",\"disk\":$disk,\"random\":{\"seed\":$seed},
            \"extents\":[[0,65536],[$((size / 2 / 4096 * 4096)),8192],[$((size - 4096)),4096]]}" >/dev/null
        seed=$((seed + 1))
    done
}

# backup_web01 DIR: a crash-consistent backup of web01 into DIR.
backup_web01() {
    "$HCI_SOURCE_DIR/examples/backup-vm.sh" --consistency crash web01 "$1" 2>"$T/backup.err" ||
        { cat "$T/backup.err" >&2; die "backup-vm.sh failed"; }
}

# disk_digest VM INDEX: the SHA-256 of that disk's volume, from the simulator.
disk_digest() { sim_admin digest "{\"vm\":\"$1\",\"disk\":$2}" | jq -r .sha256; }

# vms_named NAME: how many VMs have that name.
vms_named() { sim_api get-vms "{\"where\":{\"name\":\"$1\"}}" | jq length; }

# shim_zadp_write SCRIPT: $T/shim/zadp-write runs the bash SCRIPT when it is
# called with --line (as restore-vm.sh calls it per disk), then the real
# zadp-write; put $T/shim first in PATH to use it.
shim_zadp_write() {
    mkdir -p "$T/shim"
    printf '#!/bin/bash\nif [ "${1:-}" = --line ]; then\n%s\nfi\nexec "%s" "$@"\n' "$1" "$HCI_BUILD_DIR/bin/zadp-write" \
        >"$T/shim/zadp-write"
    chmod +x "$T/shim/zadp-write"
}
