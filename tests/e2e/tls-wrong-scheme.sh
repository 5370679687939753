#!/bin/bash
# https:// against a plain-HTTP port says "the server does not speak TLS here;
# did you mean http://...?" after the first attempt, and http:// against a
# TLS port says it speaks TLS, instead of retrying "connection reset" five
# times; a host name that does not resolve says so.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tls.sh"
tls_setup
# wrong_scheme ENDPOINT HINT: exit 3 at once with HINT, no retries.
wrong_scheme() {
    expect_fail 3 env CLOUDTOWER_ENDPOINT="$1" hci-vm-get --name web01
    grep -qF "$2" "$T/err" || die "no hint: $(cat "$T/err")"
    ! grep -q retrying "$T/err" || die "retried although the scheme is wrong: $(cat "$T/err")"
}
plain=${SIM_URL#http://}
wrong_scheme "https://$plain" "does not speak TLS here; did you mean http://$plain?"
tls_port=${PROXY_URL#https://}
wrong_scheme "http://$tls_port" "speaks TLS here, not plain HTTP; did you mean https://$tls_port?"

rc=0
CLOUDTOWER_ENDPOINT=https://no-such-host.invalid hci-vm-get --retries 1 --name web01 >/dev/null 2>"$T/c.err" || rc=$?
[ "$rc" -eq 3 ] || die "unresolvable host: exit $rc, not 3"
grep -q "host name of CloudTower at https://no-such-host.invalid/v2/api does not resolve" "$T/c.err" ||
    die "no 'does not resolve': $(cat "$T/c.err")"
echo ok
