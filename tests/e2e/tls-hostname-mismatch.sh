#!/bin/bash
# The right CA, but the certificate is for IP 127.0.0.1 and the endpoint says
# "localhost": host name verification refuses it (exit 3); --insecure does not.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tls.sh"
getent ahostsv4 localhost | grep -q '^127\.0\.0\.1' || skip "localhost does not resolve to 127.0.0.1"
start_sim --no-tgtd
tls_front
export CLOUDTOWER_ENDPOINT="${PROXY_URL/127.0.0.1/localhost}"

expect_fail 3 hci-vm-get --cacert "$T/ca.pem" --name web01
[ ! -s "$T/out" ] || die "printed lines from a server whose certificate names another host"
grep -q 'TLS certificate check failed' "$T/err" || die "unclear error: $(cat "$T/err")"
grep -qi 'localhost' "$T/err" || die "the host name is not mentioned: $(cat "$T/err")"
hci-vm-get --insecure --name web01 >"$T/ok.jsonl" || die "--insecure failed"
[ "$(jq -r .name "$T/ok.jsonl")" = web01 ] || die "--insecure: web01 not printed"
echo "ok: host name checked: $(cat "$T/err")"
