#!/bin/bash
# hci-sim's data plane: a target with chap_enabled admits only initiators
# that log in with one of its CHAP accounts.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_root_and_tgt
command -v iscsi-readcapacity16 >/dev/null || skip "iscsi-readcapacity16 not installed (libiscsi-bin)"
cat > "$T/scenario.json" <<'JSON'
{"users":[{"username":"admin","password":"admin-password"}],
 "clusters":[{"name":"c1"}],
 "iscsi_targets":[{"name":"chap-tgt","cluster":"c1","iqn_whitelist":"*","chap_enabled":true,
   "initiator_chaps":[{"initiator_iqn":"iqn.2026-01.test:a","chap_name":"alice","chap_secret":"alice-secret-12"}]}]}
JSON
start_sim --scenario "$T/scenario.json"
portal=$(sim_api get-clusters '{}' | jq -r '.[0].iscsi_vip')
tgt=$(sim_api get-iscsi-targets '{"where":{"name":"chap-tgt"}}')
jq -e '.[0].chap_enabled == true and .[0].initiator_chaps[0].chap_name == "alice"' <<<"$tgt" >/dev/null ||
    die "target does not report its CHAP settings: $tgt"
iqn=$(jq -r '.[0].iqn_name' <<<"$tgt")
sim_api create-iscsi-lun "[{\"iscsi_target_id\":$(jq '.[0].id' <<<"$tgt"),\"name\":\"c\",\"assigned_size\":1,\"assigned_size_unit\":\"MB\",\"replica_num\":2}]" >/dev/null

iscsi-readcapacity16 -i iqn.2026-01.test:a "iscsi://alice%alice-secret-12@$portal/$iqn/1" > "$T/ok.txt" 2>&1 ||
    die "the right CHAP secret was refused: $(cat "$T/ok.txt")"
grep -q 'RETURNED LOGICAL BLOCK ADDRESS:2047' "$T/ok.txt" || die "wrong capacity: $(cat "$T/ok.txt")"
if iscsi-readcapacity16 -i iqn.2026-01.test:a "iscsi://alice%wrong-secret-1@$portal/$iqn/1" >/dev/null 2>&1; then
    die "a wrong CHAP secret was accepted"
fi
if iscsi-readcapacity16 -i iqn.2026-01.test:a "iscsi://$portal/$iqn/1" >/dev/null 2>&1; then
    die "a login without CHAP was accepted"
fi
echo "ok"
