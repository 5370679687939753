#!/bin/bash
# A deleted chunk file: reading fails with exit 6 naming image and offset,
# check (without --read-data) lists the damaged images, gc reports it
# missing and removes nothing (exit 6).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

zadp-repo init --chunk-size 64K >/dev/null
truncate -s 1M "$T/a.img"
dd if=/dev/urandom of="$T/a.img" bs=64K count=2 seek=5 conv=notrunc status=none
randimg "$T/b.img" 200000
store "$T/a.img" web01/2026-11-28T020000Z/disk0
store "$T/b.img" web01/2026-11-28T020000Z/disk1
read -r pack _ < <(some_chunk_of web01/2026-11-28T020000Z/disk0)
[ "$(pack_entries | grep -c " $pack ")" = 2 ] || die "disk0's two chunks are not in one pack"
rm "$pack"   # the pack file holding disk0's chunks 5 and 6

rc=0; zadp-read --source repo:web01/2026-11-28T020000Z/disk0 > /dev/null 2> "$T/err" || rc=$?
[ $rc = 6 ] || die "read: exit $rc, expected 6"
grep -q 'disk0: chunk 5 at offset 327680 .* is missing' "$T/err" || die "message: $(cat "$T/err")"
rc=0; zadp-repo check > "$T/check" 2>/dev/null || rc=$?
[ $rc = 6 ] || die "check: exit $rc"
has_line "$T/check" '.name == "web01/2026-11-28T020000Z/disk0" and .ok == false and .missing_chunks == 2 and .first_bad_offset == 327680' \
    || die "check: $(cat "$T/check")"
has_line "$T/check" '.name == "web01/2026-11-28T020000Z/disk1" and .ok' || die "disk1 reported damaged"
# gc proves nothing dead while images miss chunks: it removes nothing, exit 6.
packs_before=$(pack_entries | wc -l)
rc=0; zadp-repo gc > "$T/gc" 2> "$T/err" || rc=$?
[ $rc = 6 ] || die "gc with missing chunks: exit $rc, expected 6"
jq -e '.gc == "refused" and .missing_chunks == 2 and .chunks_removed == 0 and .files_removed == 0
       and .images_missing_chunks == ["web01/2026-11-28T020000Z/disk0"]' "$T/gc" >/dev/null || die "gc: $(cat "$T/gc")"
grep -q 'gc removed nothing: 2 chunk(s) that 1 image(s) use are missing' "$T/err" || die "gc message: $(cat "$T/err")"
[ "$(pack_entries | wc -l)" = "$packs_before" ] || die "a refused gc changed the packs"
restores_to "$T/b.img" web01/2026-11-28T020000Z/disk1
echo "ok: a deleted chunk is found"
