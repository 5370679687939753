#!/bin/bash
# Restoring web01 onto cluster c2, which has neither of its VLANs: without a
# mapping it is refused before anything is created, naming the --map-vlan to
# give; with --map-vlan the VM is made on c2 with its NICs on the mapped
# VLANs and new MAC addresses, every disk verified, and started (--start).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/restore.sh"
start_restore_sim
backup_web01 "$T/backup"

rc=0
"$RESTORE_VM" --cluster c2 "$T/backup" >"$T/out" 2>"$T/err" || rc=$?
[ $rc -ne 0 ] || die "restore onto c2 without a VLAN mapping succeeded"
grep -q "VLAN prod (id .*) is not on the target cluster; map it with --map-vlan prod=" "$T/err" ||
    die "no clear message: $(cat "$T/err")"
[ ! -s "$T/out" ] || die "a summary was printed for a failed restore"
[ "$(sim_api get-vms '{"where":{"cluster":{"name":"c2"}}}' | jq length)" -eq 0 ] || die "a VM was created on c2"

# A mapping to a VLAN c2 does not have is just as clear.
rc=0
"$RESTORE_VM" --cluster c2 --map-vlan prod=dr-net --map-vlan backup-net=nowhere "$T/backup" >"$T/out" 2>"$T/err" || rc=$?
[ $rc -ne 0 ] && grep -q "map-vlan backup-net=nowhere: the target cluster has no VLAN named (or with id) nowhere" "$T/err" ||
    die "exit $rc, message: $(cat "$T/err")"
[ "$(sim_api get-vms '{"where":{"cluster":{"name":"c2"}}}' | jq length)" -eq 0 ] || die "a VM was created on c2"

"$RESTORE_VM" --cluster c2 --name 'dr-{name}' --map-vlan prod=dr-net --map-vlan backup-net=default --start \
    "$T/backup" >"$T/summary.json" 2>"$T/err" || { cat "$T/err" >&2; die "mapped restore onto c2 failed"; }
jq -e '.verified and .started and .vm.name == "dr-web01" and .vm.cluster.name == "c2"' "$T/summary.json" >/dev/null ||
    die "summary: $(cat "$T/summary.json")"
hci-vm-get --name dr-web01 --full >"$T/new.json"
jq -e '.cluster.name == "c2" and .status == "RUNNING"
       and [.vm_nics[] | .vlan.name] == ["dr-net", "default"]
       and ([.vm_nics[] | .mac_address] | index("52:54:00:aa:00:01") == null and index("52:54:00:aa:00:02") == null)
       and [.vm_nics[] | .model] == ["VIRTIO", "E1000"]' "$T/new.json" >/dev/null ||
    die "new VM on c2: $(jq -c '{cluster, status, vm_nics}' "$T/new.json")"
for i in 0 2 4; do
    [ "$(disk_digest web01 $i)" = "$(disk_digest dr-web01 $i)" ] || die "disk $i differs from the original"
done
echo "ok: restored onto c2 with VLANs mapped, refused without"
