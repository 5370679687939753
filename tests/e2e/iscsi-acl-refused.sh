#!/bin/bash
# An initiator the target's ACL does not admit is refused with a clear error
# (exit 7, kExitIo), and the admitted one gets in.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tgt.sh"
tgt_one_lun acl 16M sparse iqn.2026-11.example:allowed

rc=0
zadp-read --initiator-iqn iqn.2026-11.example:stranger --source "$(tgt_url "$IQN")" >"$T/out" 2>"$T/err" || rc=$?
cat "$T/err" >&2
[ "$rc" -eq 7 ] || die "expected exit 7 for a refused login, got $rc"
grep -q 'login as initiator iqn.2026-11.example:stranger failed' "$T/err" || die "error does not say which initiator was refused"
grep -q 'ACL' "$T/err" || die "error does not point at the ACL"

ZADP_INITIATOR_IQN=iqn.2026-11.example:allowed zadp-read --source "$(tgt_url "$IQN")" >/dev/null \
    || die "the admitted initiator was refused"
echo OK
