#!/bin/bash
# Writing into an existing file overwrites it in place and punches holes for ZERO records.
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

mkimg "$T/src.img"
head -c 9M /dev/urandom > "$T/old.img"
zadp-read --source "$T/src.img" | zadp-write --target "$T/old.img"
[ "$(stat -c %s "$T/old.img")" -eq $((9 << 20)) ] || die "existing target was resized"
cmp -n $((8 << 20)) "$T/src.img" "$T/old.img" || die "existing target content differs"
[ "$(stat -c %b "$T/old.img")" -lt 4096 ] || die "zero ranges were not punched: $(stat -c %b "$T/old.img") blocks"
echo ok
