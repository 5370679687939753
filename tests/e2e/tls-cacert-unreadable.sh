#!/bin/bash
# --cacert (or CLOUDTOWER_CACERT) naming a file that cannot be read is a usage
# error (exit 2) found before any connection, not a certificate error later.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tls.sh"
tls_setup

before=$(tls_proxy_accepted)
got=0
hci-vm-get --cacert "$T/missing.pem" --name web01 >/dev/null 2>"$T/err" || got=$?
[ "$got" -eq 2 ] || die "expected exit 2, got $got: $(cat "$T/err")"
grep -qF "cannot read the CA file $T/missing.pem" "$T/err" || die "unclear error: $(cat "$T/err")"
got=0
CLOUDTOWER_CACERT="$T/missing.pem" hci-vm-get --name web01 >/dev/null 2>"$T/err2" || got=$?
[ "$got" -eq 2 ] || die "CLOUDTOWER_CACERT: expected exit 2, got $got: $(cat "$T/err2")"
[ "$(tls_proxy_accepted)" -eq "$before" ] || die "connected although the CA file is missing"
echo "ok: $(cat "$T/err")"
