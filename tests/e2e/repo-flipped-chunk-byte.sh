#!/bin/bash
# One flipped byte in a chunk file: reading an image that uses the chunk
# fails with exit 6 naming the image and the offset (never a wrong byte, and
# a stream from it never verifies); check --read-data lists every image that
# uses it and moves the chunk aside; an image that does not use it still
# restores, and the next backup of the same data heals the damaged images.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

zadp-repo init --chunk-size 64K >/dev/null
store_new "$T/a.img" 1000000 web01/2026-11-27T020000Z/disk0
store "$T/a.img" web01/2026-11-28T020000Z/disk0
store_new "$T/other.img" 300000 db01/2026-11-28T020000Z/disk0
read -r pack offset length < <(some_chunk_of web01/2026-11-28T020000Z/disk0)
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[int(sys.argv[2])]^=4; open(p,"wb").write(b)' \
    "$pack" $((offset + length / 2))

expect_fail 6 zadp-read --source repo:web01/2026-11-28T020000Z/disk0 --format raw
grep -q 'repo:web01/2026-11-28T020000Z/disk0: chunk 0 at offset 0 .* is damaged' "$T/err" || die "message: $(cat "$T/err")"
# Through a pipe the stream is cut before its trailer: the restore fails too.
rm -f "$T/restored.img"
rc=0; zadp-read --source repo:web01/2026-11-28T020000Z/disk0 2>/dev/null | zadp-write --target "$T/restored.img" 2>/dev/null || rc=$?
[ $rc = 6 ] || die "restore from a damaged image: exit $rc, expected 6"
[ ! -e "$T/restored.img" ] || die "a failed restore left a file"

zadp-repo check > "$T/check" || die "check without --read-data reads no chunk data and should pass"
rc=0; zadp-repo check --read-data > "$T/check" 2>/dev/null || rc=$?
[ $rc = 6 ] || die "check --read-data: exit $rc, expected 6"
[ "$(jq -r 'select(.ok == false) | .name' "$T/check" | sort | tr '\n' ' ')" = \
  "web01/2026-11-27T020000Z/disk0 web01/2026-11-28T020000Z/disk0 " ] || die "check lists: $(cat "$T/check")"
has_line "$T/check" '.chunk and (.error | test("checksum"))' || die "the bad chunk is not named"
restores_to "$T/other.img" db01/2026-11-28T020000Z/disk0
# check moved the bad chunk aside: the next backup of the same data stores it
# again, and that heals the older images too.
grep -q "^$(basename "$pack" .pack) $offset " "$ZADP_REPO/packs/damaged" || die "the damaged chunk was not set aside"
store "$T/a.img" web01/2026-11-29T020000Z/disk0
[ "$(last new_chunks)" = 1 ] || die "the next backup stored $(last new_chunks) chunks, expected 1"
restores_to "$T/a.img" web01/2026-11-28T020000Z/disk0
zadp-repo check --read-data > /dev/null || die "check after the healing backup"
echo "ok: a flipped byte in a chunk is found"
