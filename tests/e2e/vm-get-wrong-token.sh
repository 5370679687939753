#!/bin/bash
# A wrong token: HTTP 401 as one clear line, exit 3, and the token itself
# never appears in the output, even with -vv.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd

got=0
CLOUDTOWER_TOKEN=not-the-token-s3cr3t hci-vm-get -vv --name web01 > "$T/out" 2> "$T/err" || got=$?
[ "$got" -eq 3 ] || die "expected exit 3, got $got"
[ ! -s "$T/out" ] || die "no output expected"
grep -q 'error: get-vms: HTTP 401' "$T/err" || die "no clear 401 message: $(cat "$T/err")"
! grep -q s3cr3t "$T/err" || die "the token leaked into stderr"
# No credentials at all is a usage error.
got=0
env -u CLOUDTOWER_TOKEN hci-vm-get --name web01 > /dev/null 2> "$T/err2" || got=$?
[ "$got" -eq 2 ] || die "no credentials: expected exit 2, got $got"
grep -q 'no credentials' "$T/err2" || die "no clear message: $(cat "$T/err2")"
echo "ok: wrong token"
