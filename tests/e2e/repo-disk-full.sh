#!/bin/bash
# A store that fills the disk (a small tmpfs) fails with exit 7, leaves no
# index and no temporary file, and the earlier backup stays intact.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root to mount a tmpfs"
mkdir "$T/small"
mount -t tmpfs -o size=24m tmpfs "$T/small" 2>/dev/null || skip "cannot mount a tmpfs here"
on_exit "umount '$T/small'"
export ZADP_REPO="$T/small/repo"
zadp-repo init --chunk-size 64K >/dev/null
store_new "$T/day1.img" $((1 << 20)) web01/2026-11-27T020000Z/disk0
randimg "$T/big.img" $((40 << 20))   # one 16 MiB pack gets finished, the next one fails

rc=0; zadp-read --source "$T/big.img" | zadp-write --target repo:web01/2026-11-28T020000Z/disk0 > /dev/null 2> "$T/err" || rc=$?
[ $rc = 7 ] || die "store onto a full disk: exit $rc, expected 7"
grep -q "No space left on device" "$T/err" || die "message: $(cat "$T/err")"
[ -z "$(find "$ZADP_REPO/backups" -name '*disk0.fidx*' -path '*2026-11-28*')" ] || die "an index or temporary index was left"
[ -z "$(find "$ZADP_REPO/packs" -name '.tmp.*')" ] || die "a temporary pack was left"
restores_to "$T/day1.img" web01/2026-11-27T020000Z/disk0
zadp-repo gc > "$T/gc"
jq -e '.chunks_removed >= 200' "$T/gc" >/dev/null || die "gc reclaimed nothing: $(cat "$T/gc")"
zadp-repo check --read-data > /dev/null || die "check after gc"
restores_to "$T/day1.img" web01/2026-11-27T020000Z/disk0
echo "ok: a full disk fails the store cleanly"
