#!/bin/bash
# hci-lun-admit adds the initiator to each line's LUN allowed_initiators
# (keeping the others), records what was there, and --revoke puts exactly
# that back; a LUN that admits the initiator already is left alone both ways.
# Without an initiator it is a usage error; a line without lun.id is refused.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_tools hci-lun-admit
me=iqn.2026-11.test.hci-backup:restore-host
jq -n --arg me "$me" '{clusters: [{name: "c1"}],
    vms: [{name: "v", cluster: "c1", disks: [{type: "DISK", size: 1048576, allowed_initiators: ""},
                                             {type: "DISK", size: 1048576, allowed_initiators: "iqn.2026-01.other:host"},
                                             {type: "DISK", size: 1048576, allowed_initiators: ("iqn.2026-01.other:a," + $me)}]}]}' \
    >"$T/scenario.json"
start_sim --scenario "$T/scenario.json" --task-duration 20
luns() { sim_api get-iscsi-luns '{"where":{"name_starts_with":"v-disk"},"orderBy":"name_ASC"}' | jq -c '[.[].allowed_initiators]'; }
sim_api get-iscsi-luns '{"where":{"name_starts_with":"v-disk"},"orderBy":"name_ASC"}' |
    jq -c '.[] | {vm: {id: "x", name: "v"}, lun: {id, name}}' >"$T/lines.jsonl"
before=$(luns)

ZADP_INITIATOR_IQN=$me hci-lun-admit <"$T/lines.jsonl" >"$T/admitted.jsonl"
[ "$(luns)" = "$(jq -nc --arg me "$me" '[$me, "iqn.2026-01.other:host," + $me, "iqn.2026-01.other:a," + $me]')" ] ||
    die "after admitting: $(luns)"
jq -e -s --arg me "$me" 'map(.admission | [.initiator == $me, .previous, .changed])
      == [[true, "", true], [true, "iqn.2026-01.other:host", true], [true, "iqn.2026-01.other:a," + $me, false]]' \
    "$T/admitted.jsonl" >/dev/null || die "admission records: $(cat "$T/admitted.jsonl")"

hci-lun-admit --revoke <"$T/admitted.jsonl" >"$T/revoked.jsonl"
[ "$(luns)" = "$before" ] || die "after revoking: $(luns), before: $before"
jq -e -s 'length == 3 and all(has("admission") | not)' "$T/revoked.jsonl" >/dev/null || die "revoked lines: $(cat "$T/revoked.jsonl")"

expect_exit 2 env -u ZADP_INITIATOR_IQN hci-lun-admit <"$T/lines.jsonl"
rc=0; echo '{"vm":{"id":"x"}}' | ZADP_INITIATOR_IQN=$me hci-lun-admit 2>"$T/err" || rc=$?
[ $rc -eq 1 ] && grep -q "no lun.id" "$T/err" || die "line without lun.id: exit $rc, $(cat "$T/err")"
echo "ok: admitted, recorded, put back exactly"
