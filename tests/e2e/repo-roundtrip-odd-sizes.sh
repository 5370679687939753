#!/bin/bash
# Images of odd sizes (not a multiple of 4 KiB nor of the chunk size), sparse
# and dense, store into a repository and read back byte-exact, as raw images
# and as verified streams; blobs round-trip too; ls reports what was stored.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

zadp-repo init --chunk-size 64K > "$T/init.json"
[ "$(jq .chunk_size "$T/init.json")" = 65536 ] || die "init did not report the chunk size"

mkimg "$T/sparse.img"                      # 8 MiB with holes, zero blocks and data at the end
randimg "$T/tiny.img" 1                    # one byte
randimg "$T/odd.img" 1000001               # neither 4 KiB nor chunk aligned
truncate -s 5000003 "$T/sparse-odd.img"
dd if=/dev/urandom of="$T/sparse-odd.img" bs=1 count=3 seek=5000000 conv=notrunc status=none
dd if=/dev/urandom of="$T/sparse-odd.img" bs=4096 count=3 seek=100 conv=notrunc status=none
truncate -s 0 "$T/empty.img"

for img in sparse tiny odd sparse-odd empty; do
    store "$T/$img.img" "web01/2026-11-28T020000Z/$img"
    [ "$(last size)" = "$(stat -c %s "$T/$img.img")" ] || die "$img: reported size $(last size)"
    restores_to "$T/$img.img" "web01/2026-11-28T020000Z/$img"
done
# The stored digest is the stream's, and the stream read back carries it.
want=$(zadp-read --source "$T/odd.img" | zadp-write --check | jq -r .digest)
got=$(zadp-read --source repo:web01/2026-11-28T020000Z/odd | zadp-write --check | jq -r .digest)
[ "$want" = "$got" ] || die "digest differs: $want vs $got"
zadp-repo ls web01/2026-11-28T020000Z/odd | jq -e --arg d "$want" '.digest == $d and .size == 1000001' >/dev/null \
    || die "ls does not report the digest and size"

# The sparse image's holes cost no chunk: 8 MiB logical, few chunks.
zadp-repo ls web01/2026-11-28T020000Z/sparse | jq -e '.zero_chunks > 100 and .chunks < 20' >/dev/null \
    || die "zero chunks were stored"

printf '{"name":"web01"}\n' > "$T/vm.json"
zadp-repo put-blob web01/2026-11-28T020000Z/vm.json "$T/vm.json" >/dev/null
zadp-repo cat web01/2026-11-28T020000Z/vm.json | cmp - "$T/vm.json" || die "blob differs"
expect_exit 2 zadp-repo put-blob web01/2026-11-28T020000Z/vm.json "$T/vm.json"
expect_exit 2 store "$T/odd.img" web01/2026-11-28T020000Z/odd    # immutable
expect_exit 2 store "$T/odd.img" "web01/bad name/odd"
expect_exit 4 zadp-read --source repo:web01/2026-11-28T020000Z/nothing
[ "$(zadp-repo ls | wc -l)" = 6 ] || die "ls lists $(zadp-repo ls | wc -l) items, expected 6"
zadp-repo check --read-data > "$T/check.json" || die "check failed on a good repository"
echo "ok: odd sizes round-trip through the repository"
