#!/bin/bash
# HTTPS with a private CA given by --cacert or CLOUDTOWER_CACERT: hci-vm-get
# verifies the server and prints web01; the option beats the environment;
# both endpoint forms (https://host and https://host/v2/api/) work.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tls.sh"
tls_setup

check_web01() { [ "$(jq -r .name "$1")" = web01 ] || die "$2: web01 not printed: $(cat "$1")"; }

hci-vm-get --cacert "$T/ca.pem" --name web01 >"$T/a.jsonl" 2>"$T/a.err" || die "--cacert: $(cat "$T/a.err")"
check_web01 "$T/a.jsonl" --cacert
CLOUDTOWER_CACERT="$T/ca.pem" hci-vm-get --name web01 >"$T/b.jsonl" 2>"$T/b.err" ||
    die "CLOUDTOWER_CACERT: $(cat "$T/b.err")"
check_web01 "$T/b.jsonl" CLOUDTOWER_CACERT
CLOUDTOWER_CACERT="$T/other.pem" hci-vm-get --cacert "$T/ca.pem" --name web01 >"$T/c.jsonl" 2>"$T/c.err" ||
    die "--cacert did not beat CLOUDTOWER_CACERT: $(cat "$T/c.err")"
check_web01 "$T/c.jsonl" "--cacert over CLOUDTOWER_CACERT"
hci-vm-get --endpoint "$PROXY_URL/v2/api/" --cacert "$T/ca.pem" --name web01 >"$T/d.jsonl" 2>"$T/d.err" ||
    die "https://host/v2/api/: $(cat "$T/d.err")"
check_web01 "$T/d.jsonl" "https://host/v2/api/"
# The same line as over plain HTTP: the proxy changes nothing but the transport.
CLOUDTOWER_ENDPOINT="$SIM_URL" hci-vm-get --name web01 >"$T/plain.jsonl"
cmp -s "$T/a.jsonl" "$T/plain.jsonl" || die "HTTPS and HTTP give different lines"
echo "ok: --cacert and CLOUDTOWER_CACERT verify the server"
