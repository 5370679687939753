#!/bin/bash
# A restore point served by the nbdkit plugin reads byte-exact with nbdcopy
# and qemu-img convert (the digest of what they wrote is the index's),
# whatever its size: one not a multiple of 512, one a multiple of 512 but
# not of 4 KiB, neither a multiple of the chunk size; and NBD block status
# (nbdinfo --map, qemu-img map) is the index's allocation: zero chunks are
# holes, and the copies skip them.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/nbd.sh"
require_nbd nbdcopy nbdinfo qemu-img

zadp-repo init --chunk-size 64K >/dev/null
# Data, a hole of many chunks, data again, a zero chunk, and a short last chunk.
make_image() {
    local img=$1 size=$2
    head -c 300000 /dev/urandom > "$img"
    truncate -s 1000000 "$img"
    head -c 200000 /dev/urandom >> "$img"
    truncate -s $((1200000 + 65536 * 2)) "$img"
    head -c $((size - 1200000 - 65536 * 2)) /dev/urandom >> "$img"
    [ "$(stat -c %s "$img")" = "$size" ] || die "made $img of the wrong size"
}
make_image "$T/odd.img" 1500003            # not a multiple of 512
make_image "$T/sectors.img" $((2931 * 512))  # a multiple of 512, not of 4 KiB
for name in odd sectors; do
    store "$T/$name.img" "vm1/2026-11-28T020000Z/$name"
done

serve vm1/2026-11-28T020000Z/odd
url=$NBD_URL
nbdcopy "$url" "$T/odd.copy"
cmp "$T/odd.img" "$T/odd.copy" || die "nbdcopy read other bytes"
[ "$(image_digest "$T/odd.copy")" = "$(index_digest vm1/2026-11-28T020000Z/odd)" ] || die "digest differs from the index's"
index_map vm1/2026-11-28T020000Z/odd > "$T/index.map"
grep -q hole "$T/index.map" || die "the image has no zero chunk: the test tests nothing"
nbd_map "$url" > "$T/nbd.map"
diff "$T/index.map" "$T/nbd.map" || die "nbdinfo --map is not the index's allocation"
[ "$(nbdinfo --size "$url")" = 1500003 ] || die "size $(nbdinfo --size "$url")"

serve vm1/2026-11-28T020000Z/sectors
url=$NBD_URL
qemu-img convert -f raw -O raw "$url" "$T/sectors.copy"
cmp "$T/sectors.img" "$T/sectors.copy" || die "qemu-img convert read other bytes"
[ "$(image_digest "$T/sectors.copy")" = "$(index_digest vm1/2026-11-28T020000Z/sectors)" ] || die "digest differs"
# qemu-img convert skipped the holes: its output is sparse where the index is.
[ "$(stat -c %b "$T/sectors.copy")" -lt $(( $(stat -c %s "$T/sectors.copy") / 512 - 1000 )) ] ||
    die "qemu-img convert wrote the holes ($(stat -c %b "$T/sectors.copy") blocks)"
qemu-img map -f raw --output=json "$url" | jq -r '.[] | "\(.start) \(.length) \(if .data then "data" else "hole" end)"' > "$T/qemu.map"
diff <(index_map vm1/2026-11-28T020000Z/sectors) "$T/qemu.map" || die "qemu-img map is not the index's allocation"
grep -q 'error' "$T/nbdkit.err" && die "nbdkit logged errors: $(cat "$T/nbdkit.err")"
echo "ok: served images read byte-exact, holes as holes"
