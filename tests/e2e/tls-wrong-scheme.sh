#!/bin/bash
# https:// against a plain-HTTP port says "the server does not speak TLS here;
# did you mean http://...?" after the first attempt, and http:// against a
# TLS port says it speaks TLS, instead of retrying "connection reset" five
# times; a host name that does not resolve says so.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tls.sh"
tls_setup
plain=${SIM_URL#http://}
rc=0
CLOUDTOWER_ENDPOINT=https://$plain hci-vm-get --name web01 >/dev/null 2>"$T/a.err" || rc=$?
[ "$rc" -eq 3 ] || die "https:// to a plain port: exit $rc, not 3"
grep -q "does not speak TLS here; did you mean http://$plain?" "$T/a.err" || die "no hint: $(cat "$T/a.err")"
grep -q retrying "$T/a.err" && die "retried although the scheme is wrong: $(cat "$T/a.err")"

tls_port=${PROXY_URL#https://}
rc=0
CLOUDTOWER_ENDPOINT=http://$tls_port hci-vm-get --name web01 >/dev/null 2>"$T/b.err" || rc=$?
[ "$rc" -eq 3 ] || die "http:// to a TLS port: exit $rc, not 3"
grep -q "speaks TLS here, not plain HTTP; did you mean https://$tls_port?" "$T/b.err" || die "no hint: $(cat "$T/b.err")"
grep -q retrying "$T/b.err" && die "retried although the scheme is wrong: $(cat "$T/b.err")"

rc=0
CLOUDTOWER_ENDPOINT=https://no-such-host.invalid hci-vm-get --retries 1 --name web01 >/dev/null 2>"$T/c.err" || rc=$?
[ "$rc" -eq 3 ] || die "unresolvable host: exit $rc, not 3"
grep -q "host name of CloudTower at https://no-such-host.invalid/v2/api does not resolve" "$T/c.err" ||
    die "no 'does not resolve': $(cat "$T/c.err")"
echo ok
