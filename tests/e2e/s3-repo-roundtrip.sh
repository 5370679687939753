#!/bin/bash
# A repository on S3 (the test bed's RGW): init makes the bucket; an image
# stored as repo:G/T/disk0 reads back byte-exact; ls and check --read-data
# see it; the next backup of the image with one chunk changed stores one
# chunk; prune + gc remove the older backup and leave the newer one whole.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/s3.sh"

zadp-repo init --chunk-size 64K > "$T/init" || die "init on $ZADP_REPO failed"
[ "$(jq -r .repo "$T/init")" = "$ZADP_REPO" ] || die "init says: $(cat "$T/init")"
expect_fail 2 zadp-repo init
grep -q "already a repository" "$T/err" || die "second init: $(cat "$T/err")"

store_new "$T/a.img" 1048576 web01/2026-11-27T020000Z/disk0
[ "$(last new_chunks)" = 16 ] || die "first backup stored $(last new_chunks) chunks, expected 16"
restores_to "$T/a.img" web01/2026-11-27T020000Z/disk0

# One 64 KiB chunk changed: only it is stored again.
head -c 65536 /dev/urandom | dd of="$T/a.img" bs=65536 seek=5 conv=notrunc status=none
store "$T/a.img" web01/2026-11-28T020000Z/disk0
[ "$(last new_chunks)" = 1 ] || die "second backup stored $(last new_chunks) chunks, expected 1"

[ "$(zadp-repo ls | jq -r .name | tr '\n' ' ')" = \
  "web01/2026-11-27T020000Z/disk0 web01/2026-11-28T020000Z/disk0 " ] || die "ls: $(zadp-repo ls)"
zadp-repo check --read-data > "$T/check" || die "check --read-data: $(cat "$T/check")"

zadp-repo prune --keep-last 1 > "$T/prune" || die "prune failed"
has_line "$T/prune" '.backup == "web01/2026-11-27T020000Z" and .action == "removed"' || die "prune: $(cat "$T/prune")"
zadp-repo gc > "$T/gc" || die "gc failed: $(cat "$T/gc")"
[ "$(jq -r .gc "$T/gc")" = done ] || die "gc: $(cat "$T/gc")"
restores_to "$T/a.img" web01/2026-11-28T020000Z/disk0
zadp-repo check --read-data > /dev/null || die "check --read-data after gc"
[ "$(zadp-repo ls | jq -r .name)" = web01/2026-11-28T020000Z/disk0 ] || die "ls after prune: $(zadp-repo ls)"
# No lease outlives the commands that held it.
! s3_keys | grep -q "^locks/" || die "a lease was left behind: $(s3_keys | grep ^locks/)"
echo "ok: a repository on S3 stores, reads, checks, prunes and collects"
