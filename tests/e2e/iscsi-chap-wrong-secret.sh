#!/bin/bash
# CHAP: a wrong secret is refused with a clear error that never shows the
# secret; the right one, from a file, gets in.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tgt.sh"
tgt_one_lun chap 16M
tgt_chap 1 backup Right-Secret-4711
URL=$(tgt_url "$IQN" backup)

rc=0
ZADP_CHAP_SECRET=Wrong-Secret-0815 zadp-read -v --source "$URL" >"$T/out" 2>"$T/err" || rc=$?
cat "$T/err" >&2
[ "$rc" -eq 7 ] || die "expected exit 7 for a wrong CHAP secret, got $rc"
grep -q 'Authentication failure' "$T/err" || die "error does not say the login was refused"
grep -q 'CHAP' "$T/err" || die "error does not point at CHAP"
! grep -q 'Wrong-Secret-0815' "$T/err" || die "the secret leaked into stderr"

printf 'Right-Secret-4711\n' >"$T/secret"
chmod 600 "$T/secret"
zadp-read --chap-secret-file "$T/secret" --source "$URL" >/dev/null || die "the right CHAP secret was refused"
echo OK
