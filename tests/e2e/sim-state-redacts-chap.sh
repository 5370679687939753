#!/bin/bash
# hci-sim's unauthenticated /_sim/state never shows a CHAP secret (neither a
# target's own nor its initiator_chaps'), but still shows the CHAP names.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
cat >"$T/scenario.json" <<'JSON'
{"users":[{"username":"admin","password":"admin-password"}],"clusters":[{"name":"c1"}],
 "iscsi_targets":[{"name":"chap-tgt","cluster":"c1","iqn_whitelist":"*","chap_enabled":true,
   "chap_name":"tgt-user","chap_secret":"Target-Secret-4711",
   "initiator_chaps":[{"initiator_iqn":"iqn.2026-01.test:a","chap_name":"alice","chap_secret":"Alice-Secret-0815"}]}]}
JSON
start_sim --no-tgtd --scenario "$T/scenario.json"
state=$(sim_admin state)
jq -e '.iscsi_targets[0].initiator_chaps[0].chap_name == "alice"' <<<"$state" >/dev/null || die "state lost the CHAP names: $state"
! grep -q 'Alice-Secret-0815\|Target-Secret-4711' <<<"$state" || die "/_sim/state shows a CHAP secret"
grep -q 'redacted' <<<"$state" || die "/_sim/state does not say what it redacted"
echo "ok: /_sim/state redacts CHAP secrets"
