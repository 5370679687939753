#!/bin/bash
# --format raw reads and writes the same bytes as dd.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

mkimg "$T/src.img"
zadp-read --source "$T/src.img" --format raw > "$T/zadp.raw"
dd if="$T/src.img" of="$T/dd.raw" bs=1M status=none
cmp "$T/zadp.raw" "$T/dd.raw" || die "zadp-read --format raw differs from dd"
dd if="$T/src.img" bs=1M status=none | zadp-write --format raw --target "$T/out.img"
cmp "$T/src.img" "$T/out.img" || die "zadp-write --format raw differs"
[ "$(stat -c %b "$T/out.img")" -le "$(stat -c %b "$T/src.img")" ] || die "raw restore is not sparse"
# a raw image piped into an existing file
cp "$T/src.img" "$T/existing.img"
dd if=/dev/urandom of="$T/existing.img" bs=1M count=8 conv=notrunc status=none
zadp-write --force --format raw --target "$T/existing.img" < "$T/dd.raw"
cmp "$T/src.img" "$T/existing.img" || die "raw write into an existing file differs"
echo ok
