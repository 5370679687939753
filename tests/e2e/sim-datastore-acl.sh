#!/bin/bash
# hci-sim's datastore target: the LUN of a created VM's volume is served by
# tgtd only to the initiators in its allowed_initiators (update-iscsi-lun):
# nobody at first; then the allowed initiator reads the VM's bytes and writes
# into the volume over iSCSI while another initiator is refused; emptying the
# list shuts it out again; delete-vm takes the LUN out of tgtd.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_root_and_tgt
require_tools zadp-read zadp-write hci-task-wait
command -v iscsi-ls >/dev/null || skip "iscsi-ls not installed (Debian package libiscsi-bin)"
start_sim --task-duration 50
HOST=iqn.2026-11.test:backup-host
STRANGER=iqn.2026-11.test:stranger

c1=$(sim_api get-clusters '{"where":{"name":"c1"}}')
portal=$(jq -r '.[0].iscsi_vip' <<<"$c1")
vlan=$(sim_api get-vlans '{"where":{"name":"vm-net"}}' | jq -r '.[0].id')
req=$(jq -n --arg c "$(jq -r '.[0].id' <<<"$c1")" --arg vlan "$vlan" '[{name: "acl-vm", cluster_id: $c, status: "STOPPED",
  firmware: "BIOS", ha: false, memory: 1073741824, cpu_cores: 1, cpu_sockets: 1, vm_nics: [{connect_vlan_id: $vlan}],
  vm_disks: {mount_new_create_disks: [
    {boot: 0, bus: "VIRTIO", vm_volume: {name: "acl-d0", size: 8389120, elf_storage_policy: "REPLICA_2_THIN_PROVISION"}},
    {boot: 1, bus: "VIRTIO", vm_volume: {name: "acl-d1", size: 2097152, elf_storage_policy: "REPLICA_2_THIN_PROVISION"}}]}}]')
vm=$(sim_api create-vm "$req" | jq -r '.[0].data.id')
luns=$(sim_api get-iscsi-luns '{"where":{"name_in":["acl-d0","acl-d1"]},"orderBy":"name_ASC"}')
lun0=$(jq -r '.[0].lun_id' <<<"$luns")
lun1=$(jq -r '.[1].lun_id' <<<"$luns")
iqn=$(sim_api get-iscsi-targets "{\"where\":{\"id\":$(jq '.[0].iscsi_target.id' <<<"$luns")}}" | jq -r '.[0].iqn_name')
url0="iscsi://$portal/$iqn/$lun0"
url1="iscsi://$portal/$iqn/$lun1"
sim_admin disk-write '{"vm":"acl-vm","disk":0,"extents":[[0,65536],[4194304,1048576],[8323584,65536]],"random":{"seed":7}}' >/dev/null
want=$(sim_admin digest '{"vm":"acl-vm","disk":0}' | jq -r .sha256)

read_as() {  # read_as INITIATOR URL: the LUN's image into $T/out.img
    rm -f "$T/out.img"
    zadp-read --initiator-iqn "$1" --source "$2" 2>"$T/read.err" | zadp-write --target "$T/out.img" 2>>"$T/read.err"
}
allow() {  # allow LUN-NAME INITIATORS: update-iscsi-lun and wait for its task
    sim_api update-iscsi-lun "{\"where\":{\"name\":\"$1\"},\"data\":{\"allowed_initiators\":\"$2\"}}" >"$T/upd.json"
    jq -e --arg a "$2" '.[0].data.allowed_initiators == $a' "$T/upd.json" >/dev/null || die "update-iscsi-lun: $(cat "$T/upd.json")"
    jq -c '.[0]' "$T/upd.json" | hci-task-wait >/dev/null || die "update-iscsi-lun task"
}

# Nobody is allowed yet.
if read_as "$HOST" "$url0"; then die "a LUN with empty allowed_initiators was readable"; fi

allow acl-d0 "$HOST"
read_as "$HOST" "$url0" || { cat "$T/read.err" >&2; die "the allowed initiator could not read the LUN"; }
[ "$(sha256sum < "$T/out.img" | cut -d' ' -f1)" = "$want" ] || die "bytes read over iSCSI differ from the volume"
if read_as "$STRANGER" "$url0"; then die "an initiator that is not allowed read the LUN"; fi
grep -q "login as initiator $STRANGER failed" "$T/read.err" || die "refusal is not a login failure: $(cat "$T/read.err")"
if read_as "$HOST" "$url1"; then die "the other volume's LUN (nobody allowed) was readable"; fi
# The scenario's own VMs stay closed.
web_lun=$(sim_api get-iscsi-luns '{"where":{"name":"web01-disk0"}}' | jq -r '.[0].lun_id')
if read_as "$HOST" "iscsi://$portal/$iqn/$web_lun"; then die "web01's LUN was readable"; fi

# Writing into the volume over iSCSI, as a restore does.
head -c 8389120 /dev/urandom > "$T/src.img"
zadp-read --source "$T/src.img" | zadp-write --force --initiator-iqn "$HOST" --target "$url0" 2>"$T/write.err" ||
    { cat "$T/write.err" >&2; die "writing into the allowed LUN failed"; }
[ "$(sim_admin digest '{"vm":"acl-vm","disk":0}' | jq -r .sha256)" = "$(sha256sum < "$T/src.img" | cut -d' ' -f1)" ] ||
    die "the volume does not hold what was written over iSCSI"

# Two initiators at once; growing the LUN grows the volume and what tgtd serves.
allow acl-d0 "$HOST,$STRANGER"
read_as "$STRANGER" "$url0" || die "second allowed initiator refused"
read_as "$HOST" "$url0" || die "first allowed initiator refused after the list grew"
sim_api update-iscsi-lun '{"where":{"name":"acl-d0"},"data":{"assigned_size":16,"assigned_size_unit":"MB"}}' |
    jq -e '.[0].data.assigned_size == 16777216' >/dev/null || die "LUN did not grow"
sim_api get-vm-volumes '{"where":{"name":"acl-d0"}}' | jq -e '.[0].size == 16777216' >/dev/null || die "volume did not grow"
iscsi-readcapacity16 -i "$HOST" "$url0" > "$T/cap.txt" || die "readcapacity16 after growing"
grep -q 'RETURNED LOGICAL BLOCK ADDRESS:32767' "$T/cap.txt" || die "tgtd serves the old size: $(cat "$T/cap.txt")"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H "Authorization: $CLOUDTOWER_TOKEN" \
    -d '{"where":{"name":"acl-d0"},"data":{"assigned_size":1,"assigned_size_unit":"MB"}}' "$SIM_URL/v2/api/update-iscsi-lun")
[ "$code" = 400 ] || die "shrinking a LUN answered $code"

# Taking the initiator out again closes the LUN; the list shows in get-iscsi-luns.
allow acl-d0 "$STRANGER"
sim_api get-iscsi-luns '{"where":{"name":"acl-d0"}}' | jq -e --arg s "$STRANGER" '.[0].allowed_initiators == $s' >/dev/null ||
    die "allowed_initiators not stored"
if read_as "$HOST" "$url0"; then die "the host read the LUN after it was taken out of allowed_initiators"; fi
read_as "$STRANGER" "$url0" || die "the newly allowed initiator was refused"
allow acl-d0 ""
if read_as "$STRANGER" "$url0"; then die "LUN still readable with empty allowed_initiators"; fi

# delete-vm takes its LUNs out of tgtd.
allow acl-d1 "*"
iscsi-ls -i "$HOST" -s "iscsi://$portal" >"$T/ls.txt" 2>&1 || die "iscsi-ls: $(cat "$T/ls.txt")"
grep -q "Lun:$lun1 " "$T/ls.txt" || die "LUN $lun1 (allowed to all) not listed: $(cat "$T/ls.txt")"
sim_api delete-vm "{\"where\":{\"id\":\"$vm\"}}" >/dev/null
iscsi-ls -i "$HOST" -s "iscsi://$portal" >"$T/ls2.txt" 2>&1 || true
if grep -q "Lun:$lun1 " "$T/ls2.txt"; then die "LUN $lun1 still served after delete-vm"; fi
echo ok
