#!/bin/bash
# zadp-write refuses a target smaller than the stream's logical size and leaves it untouched.
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
head -c 1M /dev/urandom > "$T/small.img"
cp "$T/small.img" "$T/small.orig"
rc=0
zadp-read --source "$T/src.img" | zadp-write --target "$T/small.img" 2> "$T/err" || rc=$?
[ "$rc" -eq 7 ] || die "expected exit 7, got $rc"
grep -q "too small" "$T/err" || die "message: $(cat "$T/err")"
cmp "$T/small.img" "$T/small.orig" || die "the small target was modified"
# a raw image longer than an existing target
rc=0
head -c 2M /dev/zero | zadp-write --format raw --target "$T/small.img" 2> "$T/err" || rc=$?
[ "$rc" -eq 7 ] || die "raw: expected exit 7, got $rc"
echo ok
