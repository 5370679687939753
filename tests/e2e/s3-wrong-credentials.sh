#!/bin/bash
# Wrong S3 credentials: every tool says so in one line naming the endpoint
# and bucket, exits 3 (zadp-repo(1)), and prints no secret, neither the
# wrong one nor the right one; a missing bucket is exit 4, in one line
# naming it.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/s3.sh"

zadp-repo init >/dev/null
randimg "$T/a.img" 200000
store "$T/a.img" vm1/2026-11-28T020000Z/disk0
right=$AWS_SECRET_ACCESS_KEY

no_secret() {
    ! grep -qF "$right" "$T/err" "$T/out" || die "the secret is printed: $1"
    ! grep -qF wrong-secret-93af "$T/err" "$T/out" || die "the wrong secret is printed: $1"
}
export AWS_SECRET_ACCESS_KEY=wrong-secret-93af
expect_fail 3 zadp-repo ls
grep -q "$AWS_ENDPOINT_URL" "$T/err" && grep -q "s3://$S3_BUCKET" "$T/err" || die "ls: $(cat "$T/err")"
grep -qi "SignatureDoesNotMatch\|credentials\|Forbidden\|AccessDenied" "$T/err" || die "ls does not say why: $(cat "$T/err")"
[ "$(wc -l < "$T/err")" -le 2 ] || die "more than a line or two: $(cat "$T/err")"
no_secret ls
expect_fail 3 zadp-read --source repo:vm1/2026-11-28T020000Z/disk0 --format raw
no_secret zadp-read
expect_fail 3 zadp-repo init
no_secret init
export AWS_SECRET_ACCESS_KEY=$right
AWS_ACCESS_KEY_ID=NOSUCHKEY0000 expect_fail 3 zadp-repo ls
grep -qi "InvalidAccessKeyId\|credentials\|Forbidden\|AccessDenied" "$T/err" || die "wrong key id: $(cat "$T/err")"
no_secret "wrong key id"
missing=hci-e2e-no-such-bucket-$RANDOM
ZADP_REPO=s3://$missing/x expect_fail 4 zadp-repo ls
grep -q "does not exist" "$T/err" && grep -q "$missing" "$T/err" || die "missing bucket: $(cat "$T/err")"
[ "$(wc -l <"$T/err")" -eq 1 ] || die "missing bucket, more than one line: $(cat "$T/err")"
zadp-repo ls | grep -q vm1/ || die "the right credentials no longer work"
echo "ok: wrong S3 credentials give one clear line, exit 3, no secret"
