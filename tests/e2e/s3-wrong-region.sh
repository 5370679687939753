#!/bin/bash
# A wrong AWS_REGION: init of a new bucket in a region the store does not
# have is refused in one line (exit 3) that says "wrong region" and names
# the region this host used, and no bucket is made. RGW checks signatures
# with whatever region a request names, so an existing repository works
# with any region (AWS itself answers AuthorizationHeaderMalformed, which
# the client explains the same way: unit-tested against a canned server).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/s3.sh"
bucket=hci-e2e-region-$(basename "$T" | tr 'A-Z.' 'a-z-')

AWS_REGION=eu-nowhere-1 expect_fail 3 zadp-repo --repo "s3://$bucket/r" init
grep -q "wrong region" "$T/err" && grep -q "AWS_REGION is \"eu-nowhere-1\"\|AWS_REGION is eu-nowhere-1" "$T/err" ||
    die "no clear message: $(cat "$T/err")"
grep -q "$bucket" "$T/err" && grep -q "$AWS_ENDPOINT_URL" "$T/err" || die "the line does not name the bucket and endpoint: $(cat "$T/err")"
[ "$(wc -l <"$T/err")" -eq 1 ] || die "more than one line: $(cat "$T/err")"
ZADP_REPO=s3://$bucket/r expect_fail 4 zadp-repo ls
grep -q "does not exist" "$T/err" || die "a bucket was made in a wrong region: $(cat "$T/err")"

# The repository of the test bed, with another region: RGW serves it.
zadp-repo init >/dev/null
store_new "$T/a.img" 300000 vm1/2026-12-01T020000Z/disk0
AWS_REGION=eu-nowhere-1 restores_to "$T/a.img" vm1/2026-12-01T020000Z/disk0
echo "ok: a wrong region is named in one line (exit 3) and makes no bucket"
