#!/bin/bash
# An encrypted repository on S3 holds no plaintext: every object of it,
# fetched back from RGW, lacks a marker the image carries in every chunk and
# the passphrase, while a plain repository of the same image shows the
# marker (so the search can find it); the image reads back byte-exact.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/s3.sh"

marker=hci-plaintext-marker-$RANDOM$RANDOM
python3 - "$T/a.img" "$marker" <<'PY'
import os, sys
out, marker = open(sys.argv[1], "wb"), sys.argv[2].encode()
for _ in range(16):  # 64 KiB chunks of random bytes, the marker in each
    out.write(os.urandom(1000) + marker + os.urandom(65536 - 1000 - len(marker)))
PY

plain=$ZADP_REPO-plain
ZADP_REPO=$plain zadp-repo init --chunk-size 64K >/dev/null
ZADP_REPO=$plain store "$T/a.img" vm1/2026-11-28T020000Z/disk0
mkdir "$T/plain-objects"
S3_PREFIX=$S3_PREFIX-plain s3_objects "$T/plain-objects" >/dev/null
grep -rqF "$marker" "$T/plain-objects" || die "the marker is not found in a plain repository: the search proves nothing"

export ZADP_REPO_PASSPHRASE="correct horse $RANDOM battery"
zadp-repo init --encrypt --chunk-size 64K >/dev/null
store "$T/a.img" vm1/2026-11-28T020000Z/disk0
restores_to "$T/a.img" vm1/2026-11-28T020000Z/disk0
mkdir "$T/objects"
s3_objects "$T/objects" > "$T/keys"
grep -q '^.*/packs/' "$T/keys" || die "no pack among the objects: $(cat "$T/keys")"
! grep -rqF "$marker" "$T/objects" || die "plaintext of the image in $(grep -rlF "$marker" "$T/objects")"
! grep -rqF "$ZADP_REPO_PASSPHRASE" "$T/objects" || die "the passphrase is stored"
ZADP_REPO_PASSPHRASE=wrong expect_fail 2 zadp-read --source repo:vm1/2026-11-28T020000Z/disk0 --format raw
echo "ok: an encrypted repository on S3 holds no plaintext"
