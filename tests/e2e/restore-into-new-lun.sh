#!/bin/bash
# restore-disk.sh --new-lun: creates a thin LUN of the stream's size through
# the API (create-lun.sh), writes the stream into it over iSCSI, reads it back
# and verifies; the LUN then holds exactly the source image (the simulator's
# digest) and a second LUN name does not clash.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_root_and_tgt
require_tools hci-sim hci-task-wait zadp-read zadp-write

jq -n '{users: [{username: "admin", password: "admin-password"}], clusters: [{name: "c1"}],
        iscsi_targets: [{name: "restore-tgt", cluster: "c1", iqn_whitelist: "*"}], vms: []}' >"$T/scenario.json"
start_sim --scenario "$T/scenario.json" --task-duration 100
sim_require_tgtd

# A 40 MiB image: scattered random extents, the rest holes.
truncate -s 40M "$T/src.img"
for mib in 1 7 8 23 39; do
    head -c 524288 /dev/urandom | dd of="$T/src.img" bs=512K seek=$((mib * 2)) conv=notrunc status=none
done
zadp-read --source "$T/src.img" | zstd -q >"$T/src.zst"
want=$(sha256sum <"$T/src.img" | cut -d' ' -f1)

line=$("$HCI_SOURCE_DIR/examples/restore-disk.sh" --new-lun restore-tgt --lun-name restored-1 "$T/src.zst")
jq -e '.verified == true and .size == 41943040 and (.target | startswith("iscsi://"))' <<<"$line" >/dev/null ||
    die "unexpected result: $line"
lun=$(sim_api get-iscsi-luns '{"where":{"name":"restored-1"}}')
jq -e 'length == 1 and .[0].assigned_size == 41943040 and .[0].iscsi_target.name == "restore-tgt"' <<<"$lun" >/dev/null ||
    die "LUN not created as asked: $lun"
got=$(sim_admin digest '{"lun":"restored-1"}' | jq -r .sha256)
[ "$got" = "$want" ] || die "restored LUN digest $got, source $want"

# A default name is generated and unique; a missing target is "not found" (4).
line2=$("$HCI_SOURCE_DIR/examples/restore-disk.sh" --new-lun restore-tgt "$T/src.zst")
name2=$(jq -r .lun.name <<<"$line2")
[ -n "$name2" ] && [ "$name2" != restored-1 ] || die "second restore reused a name: $line2"
expect_exit 4 "$HCI_SOURCE_DIR/examples/restore-disk.sh" --new-lun no-such-target "$T/src.zst"
echo "ok: restored into new LUNs over iSCSI, digest matches the source"
