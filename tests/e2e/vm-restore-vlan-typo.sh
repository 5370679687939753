#!/bin/bash
# restore-vm.sh --map-vlan with a source VLAN the backup has no NIC on (a
# typo, "defualt") is refused, naming it, before anything is created: never
# left to fall back on the target's same-named VLAN. The summary states what
# differs from the original: new MACs, CD-ROMs without media, the storage
# policy, the cluster.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/restore.sh"
start_restore_sim
backup_web01 "$T/backup"

rc=0
"$RESTORE_VM" --cluster c2 --map-vlan prod=dr-net --map-vlan defualt=dr-net "$T/backup" >"$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 2 ] || die "a --map-vlan of a VLAN the backup does not have: exit $rc, expected 2: $(cat "$T/err")"
grep -q "map-vlan defualt=dr-net: the backup has no NIC on a VLAN named (or with id) 'defualt'; its NICs are on: backup-net, prod" "$T/err" ||
    die "unclear message: $(cat "$T/err")"
[ ! -s "$T/out" ] || die "a summary was printed for a refused restore"
[ "$(sim_api get-vms '{"where":{"cluster":{"name":"c2"}}}' | jq length)" -eq 0 ] || die "a VM was created on c2"

"$RESTORE_VM" --cluster c2 --name 'dr-{name}' --map-vlan prod=dr-net --map-vlan backup-net=default \
    --storage-policy REPLICA_3_THIN_PROVISION "$T/backup" >"$T/summary.json" 2>"$T/err" ||
    { cat "$T/err" >&2; die "mapped restore onto c2 failed"; }
jq -e '.differs.new_macs == true and .differs.cd_roms_without_media == 2
       and .differs.storage_policy.to == "REPLICA_3_THIN_PROVISION"
       and .differs.cluster.from.name == "c1" and .differs.cluster.to.name == "c2"' "$T/summary.json" >/dev/null ||
    die "summary: $(cat "$T/summary.json")"
grep -q "differs from the original: new MAC addresses; 2 CD-ROM(s) without media; storage policy REPLICA_3_THIN_PROVISION; cluster c2 (was c1)" "$T/err" ||
    die "no plain summary of the differences: $(cat "$T/err")"
echo "ok: a VLAN typo is refused; the summary says what differs"
