#!/bin/bash
# HTTPS with --cacert (or CLOUDTOWER_CACERT) naming a CA that did not sign the
# server's certificate: exit 3, a certificate error that names the CA file.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tls.sh"
tls_setup

expect_fail 3 hci-vm-get --cacert "$T/other.pem" --name web01
[ ! -s "$T/out" ] || die "printed lines through a server the CA did not sign"
grep -q 'TLS certificate check failed' "$T/err" || die "unclear error: $(cat "$T/err")"
grep -qF "(CA file $T/other.pem)" "$T/err" || die "the CA file is not named: $(cat "$T/err")"
got=0
CLOUDTOWER_CACERT="$T/other.pem" hci-vm-get --name web01 >/dev/null 2>"$T/err2" || got=$?
[ "$got" -eq 3 ] || die "CLOUDTOWER_CACERT: expected exit 3, got $got: $(cat "$T/err2")"
grep -q 'TLS certificate check failed' "$T/err2" || die "unclear error: $(cat "$T/err2")"
echo "ok: a wrong CA is refused: $(cat "$T/err")"
