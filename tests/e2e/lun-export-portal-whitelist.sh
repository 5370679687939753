#!/bin/bash
# Without the data plane, --portal supplies the URL's host; a target whose
# iqn_whitelist does not admit --initiator-iqn gives a warning; an unknown
# target is "not found" (exit 4); a missing --target a usage error (exit 2).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
jq '.iscsi_targets = [{"name":"backup-tgt","cluster":"c1","iqn_whitelist":"iqn.2025-01.com.example:allowed","chap_enabled":false}]' \
    "$HCI_SOURCE_DIR/tests/fixtures/scenario-basic.json" > "$T/scenario.json"
start_sim --no-tgtd --scenario "$T/scenario.json"

hci-vm-get --name db01 | hci-snap-create 2>/dev/null | hci-task-wait | hci-snap-luns > "$T/disks.jsonl"
hci-lun-export --target backup-tgt --portal 192.0.2.1:3260 --initiator-iqn iqn.2025-01.com.example:other \
    < "$T/disks.jsonl" > "$T/out.jsonl" 2> "$T/err"
grep -q 'warning: iSCSI target backup-tgt does not admit initiator iqn.2025-01.com.example:other' "$T/err" \
    || die "no whitelist warning: $(cat "$T/err")"
jq -e '.export.url | startswith("iscsi://192.0.2.1:3260/")' "$T/out.jsonl" >/dev/null || die "--portal not used"
ZADP_INITIATOR_IQN=iqn.2025-01.com.example:allowed hci-lun-export --target backup-tgt --portal 192.0.2.1 \
    < "$T/disks.jsonl" > /dev/null 2> "$T/err2"
! grep -q warning "$T/err2" || die "warning for an admitted initiator: $(cat "$T/err2")"
expect_exit 4 hci-lun-export --target no-such-target --portal 192.0.2.1 < "$T/disks.jsonl" 2>/dev/null
expect_exit 2 hci-lun-export < "$T/disks.jsonl" 2>/dev/null
# No iscsi_vip (data plane off) and no --portal: a clear usage error.
got=0
hci-lun-export --target backup-tgt < "$T/disks.jsonl" > /dev/null 2> "$T/err3" || got=$?
[ "$got" -eq 2 ] || die "no portal: expected exit 2, got $got"
grep -q 'has no iscsi_vip; give --portal' "$T/err3" || die "unclear: $(cat "$T/err3")"
echo "ok: portal and whitelist"
