#!/bin/bash
# Writing into an existing file overwrites it in place and punches holes for ZERO records.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

mkimg "$T/src.img"
head -c 9M /dev/urandom > "$T/old.img"
zadp-read --source "$T/src.img" | zadp-write --target "$T/old.img"
[ "$(stat -c %s "$T/old.img")" -eq $((9 << 20)) ] || die "existing target was resized"
cmp -n $((8 << 20)) "$T/src.img" "$T/old.img" || die "existing target content differs"
[ "$(stat -c %b "$T/old.img")" -lt 4096 ] || die "zero ranges were not punched: $(stat -c %b "$T/old.img") blocks"
echo ok
