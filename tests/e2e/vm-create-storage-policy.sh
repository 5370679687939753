#!/bin/bash
# hci-vm-create on a cluster that cannot take the recorded storage policy:
# CloudTower's refusal of create-vm is a clear error (exit 3) and nothing is
# created; --storage-policy gives every new volume a policy it takes. Also:
# an unmapped VLAN is refused before create-vm is called, and a second run
# into the same name is refused.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/restore.sh"
require_tools hci-vm-get hci-vm-create
restore_scenario "$T/scenario.json"
start_sim --scenario "$T/scenario.json" --task-duration 20
hci-vm-get --name web01 --full >"$T/web01.json"
on_c2() { sim_api get-vms '{"where":{"cluster":{"name":"c2"}}}' | jq length; }
maps=(--map-vlan prod=dr-net --map-vlan backup-net=default)

# An unmapped VLAN: refused before any create-vm.
sim_admin counters/reset '{}' >/dev/null
rc=0; hci-vm-create --cluster c2 <"$T/web01.json" >"$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] && grep -q "VLAN prod (id .*) is not on the target cluster; map it with --map-vlan prod=" "$T/err" ||
    die "unmapped VLAN: exit $rc, $(cat "$T/err")"
[ "$(sim_admin counters | jq '."create-vm" // 0')" -eq 0 ] && [ "$(on_c2)" -eq 0 ] || die "something was created"

# A policy the cluster refuses (here one CloudTower does not know).
rc=0; hci-vm-create --cluster c2 "${maps[@]}" --storage-policy REPLICA_9_THIN_PROVISION <"$T/web01.json" \
    >"$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 3 ] && grep -q "create-vm for 1 VM(s) refused; nothing was created: .*HTTP 400" "$T/err" ||
    die "refused policy: exit $rc, $(cat "$T/err")"
[ "$(on_c2)" -eq 0 ] && [ ! -s "$T/out" ] || die "a VM was created or a line printed"

hci-vm-create --cluster c2 "${maps[@]}" --storage-policy REPLICA_2_THIN_PROVISION <"$T/web01.json" >"$T/new.jsonl"
[ "$(wc -l <"$T/new.jsonl")" -eq 3 ] || die "expected one line per data disk: $(cat "$T/new.jsonl")"
jq -e -s 'map(.volume.elf_storage_policy) == ["REPLICA_2_THIN_PROVISION", "REPLICA_2_THIN_PROVISION", "REPLICA_2_THIN_PROVISION"]
          and map(.disk.original_index) == [0, 2, 4] and map(.disk.size) == [5243392, 3158016, 1050112]
          and all(.url | test("^iscsi://[^/]+/iqn[^/]+/[0-9]+$"))
          and all(.vm.name == "web01-restored" and .vm.cluster.name == "c2" and .source_vm.name == "web01")' \
    "$T/new.jsonl" >/dev/null || die "lines: $(cat "$T/new.jsonl")"

# The same name again: refused, unless --allow-duplicate-name.
rc=0; hci-vm-create --cluster c2 "${maps[@]}" <"$T/web01.json" >"$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] && grep -q "a VM named web01-restored exists" "$T/err" || die "same name: exit $rc, $(cat "$T/err")"
hci-vm-create --cluster c2 "${maps[@]}" --allow-duplicate-name <"$T/web01.json" >/dev/null
[ "$(vms_named web01-restored)" -eq 2 ] || die "--allow-duplicate-name did not create a second VM"

# --delete-created removes exactly the VMs it is given.
hci-vm-create --delete-created <"$T/new.jsonl" >/dev/null
[ "$(vms_named web01-restored)" -eq 1 ] && [ "$(vms_named web01)" -eq 1 ] || die "--delete-created removed the wrong VMs"
echo "ok: refusals are clear and create nothing; --storage-policy applies"
