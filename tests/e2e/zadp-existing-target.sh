#!/bin/bash
# Writing into an existing file with --force overwrites it in place (same
# inode), punches holes for ZERO records and cuts it at the image's size.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

mkimg "$T/src.img"
head -c 9M /dev/urandom > "$T/old.img"
inode=$(stat -c %i "$T/old.img")
zadp-read --source "$T/src.img" | zadp-write --force --target "$T/old.img"
[ "$(stat -c %i "$T/old.img")" = "$inode" ] || die "the target was replaced, not overwritten in place"
[ "$(stat -c %s "$T/old.img")" -eq $((8 << 20)) ] || die "target not cut at the image's size: $(stat -c %s "$T/old.img")"
cmp "$T/src.img" "$T/old.img" || die "existing target content differs"
[ "$(stat -c %b "$T/old.img")" -lt 4096 ] || die "zero ranges were not punched: $(stat -c %b "$T/old.img") blocks"
echo ok
