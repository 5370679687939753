#!/bin/bash
# An https:// endpoint that names RGW's plain HTTP port: every tool says in
# one line (exit 3) that the port does not speak TLS and which URL was
# meant, at once (no retries), and writes nothing.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/s3.sh"
zadp-repo init >/dev/null
plain=$AWS_ENDPOINT_URL
tls=https://${plain#http://}

AWS_ENDPOINT_URL=$tls expect_fail 3 zadp-repo ls
grep -q "does not speak TLS" "$T/err" && grep -q "did you mean $plain" "$T/err" || die "ls: $(cat "$T/err")"
[ "$(wc -l <"$T/err")" -eq 1 ] || die "more than one line: $(cat "$T/err")"
! grep -q "retrying" "$T/err" || die "it retried: $(cat "$T/err")"
expect_fail 3 zadp-repo --s3-endpoint "$tls" init
grep -q "does not speak TLS" "$T/err" || die "--s3-endpoint: $(cat "$T/err")"
randimg "$T/a.img" 200000
rc=0
zadp-read --source "$T/a.img" | AWS_ENDPOINT_URL=$tls zadp-write --target repo:vm1/2026-12-01T020000Z/disk0 >"$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 3 ] && grep -q "does not speak TLS" "$T/err" || die "zadp-write: exit $rc: $(cat "$T/err")"
[ -z "$(zadp-repo ls)" ] || die "something was stored: $(zadp-repo ls)"
echo "ok: https:// to a plain port is named in one line, exit 3"
