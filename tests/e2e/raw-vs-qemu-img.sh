#!/bin/bash
# zadp raw output matches qemu-img convert -O raw, and qemu-img compare agrees.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"

# An 8 MiB sparse image: three random extents (one ends the image) and an
# all-zero allocated block.
mkimg() {
    truncate -s 8M "$1"
    dd if=/dev/urandom of="$1" bs=64K count=3 seek=5 conv=notrunc status=none
    dd if=/dev/urandom of="$1" bs=4K count=5 seek=700 conv=notrunc status=none
    dd if=/dev/zero of="$1" bs=4K count=4 seek=900 conv=notrunc status=none
    dd if=/dev/urandom of="$1" bs=4K count=1 seek=2047 conv=notrunc status=none
}

command -v qemu-img >/dev/null || skip "qemu-img not installed"
mkimg "$T/src.img"
qemu-img convert -f raw -O raw "$T/src.img" "$T/qemu.raw"
zadp-read --source "$T/src.img" --format raw > "$T/zadp.raw"
cmp "$T/qemu.raw" "$T/zadp.raw" || die "raw output differs from qemu-img"
zadp-read --source "$T/src.img" | zadp-write --target "$T/out.img"
qemu-img compare -q -f raw -F raw "$T/qemu.raw" "$T/out.img" || die "qemu-img compare: images differ"
echo ok
