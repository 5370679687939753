#!/bin/bash
# HTTPS with a certificate from a private CA and no --cacert: the call fails
# with exit 3 and one clear line about the certificate that names the ways
# out, without retries (a certificate does not get trusted by trying again).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tls.sh"
tls_setup

before=$(tls_proxy_accepted)
got=0
hci-vm-get --name web01 >"$T/out" 2>"$T/err" || got=$?
[ "$got" -eq 3 ] || die "expected exit 3, got $got: $(cat "$T/err")"
[ ! -s "$T/out" ] || die "printed lines although the certificate is not trusted"
grep -q 'get-vms: TLS certificate check failed' "$T/err" || die "unclear error: $(cat "$T/err")"
grep -qi 'certificate problem' "$T/err" || die "curl's reason is missing: $(cat "$T/err")"
grep -q -- '--cacert FILE' "$T/err" || die "no hint at --cacert: $(cat "$T/err")"
grep -q -- '--insecure' "$T/err" || die "no hint at --insecure: $(cat "$T/err")"
[ "$(wc -l <"$T/err")" -eq 1 ] || die "expected one stderr line: $(cat "$T/err")"
after=$(tls_proxy_accepted)
[ $((after - before)) -eq 1 ] || die "$((after - before)) connections for one refused certificate (retried?)"
echo "ok: untrusted certificate refused: $(cat "$T/err")"
