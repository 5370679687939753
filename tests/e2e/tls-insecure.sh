#!/bin/bash
# HTTPS with an untrusted certificate: --insecure (or CLOUDTOWER_INSECURE=1)
# skips verification and the call succeeds, where without it it fails.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tls.sh"
tls_setup

# Without it, the certificate is refused (so what follows proves --insecure).
expect_exit 3 hci-vm-get --name web01 2>/dev/null
hci-vm-get --insecure --name web01 >"$T/a.jsonl" 2>"$T/a.err" || die "--insecure: $(cat "$T/a.err")"
[ "$(jq -r .name "$T/a.jsonl")" = web01 ] || die "--insecure: web01 not printed"
CLOUDTOWER_INSECURE=1 hci-vm-get --name web01 >"$T/b.jsonl" 2>"$T/b.err" || die "CLOUDTOWER_INSECURE=1: $(cat "$T/b.err")"
[ "$(jq -r .name "$T/b.jsonl")" = web01 ] || die "CLOUDTOWER_INSECURE=1: web01 not printed"
# --insecure wins over a CA file that would refuse the server.
hci-vm-get --insecure --cacert "$T/other.pem" --name web01 >"$T/c.jsonl" 2>"$T/c.err" ||
    die "--insecure with a wrong --cacert: $(cat "$T/c.err")"
[ "$(jq -r .name "$T/c.jsonl")" = web01 ] || die "--insecure with --cacert: web01 not printed"
# -v says that verification is off.
hci-vm-get -v --insecure --name web01 >/dev/null 2>"$T/d.err"
grep -q 'verification is off' "$T/d.err" || die "-v does not say that TLS verification is off: $(cat "$T/d.err")"
echo "ok: --insecure and CLOUDTOWER_INSECURE=1"
