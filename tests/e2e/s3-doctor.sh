#!/bin/bash
# hci-backup-doctor on a repository on S3 (the test bed's RGW): the
# repository check reads it and writes (and removes) a lease, free-space is
# skipped as the store's to tell; wrong credentials fail the check in one
# line naming why, without the secret; no lease is left behind.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/s3.sh"
require_tools zadp-repo
doctor=$HCI_SOURCE_DIR/examples/hci-backup-doctor
zadp-repo init >/dev/null
# Only the repository's checks matter here: no CloudTower (those fail).
unset CLOUDTOWER_ENDPOINT CLOUDTOWER_TOKEN CLOUDTOWER_TOKEN_FILE

"$doctor" --repo "$ZADP_REPO" >"$T/out" 2>"$T/err" || true
grep -qE "^ok +repository +$ZADP_REPO at $AWS_ENDPOINT_URL reads, and a lease could be written and removed" "$T/out" ||
    die "repository: $(cat "$T/out" "$T/err")"
grep -qE "^skip +free-space .*object storage" "$T/out" || die "free-space: $(grep free-space "$T/out")"
! s3_keys | grep -q '^locks/' || die "the doctor left a lease: $(s3_keys | grep ^locks/)"

right=$AWS_SECRET_ACCESS_KEY
AWS_SECRET_ACCESS_KEY=wrong-secret-5c1d "$doctor" --repo "$ZADP_REPO" >"$T/out" 2>"$T/err" && die "the doctor passed with a wrong secret"
grep -qE "^FAIL +repository +$ZADP_REPO: .*SignatureDoesNotMatch" "$T/out" || die "repository with a wrong secret: $(cat "$T/out")"
! grep -qF -e "$right" -e wrong-secret-5c1d "$T/out" "$T/err" || die "a secret in the doctor's output"
echo "ok: the doctor checks an S3 repository by a read and a lease, and names a wrong secret"
