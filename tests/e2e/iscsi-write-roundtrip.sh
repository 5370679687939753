#!/bin/bash
# A sparse file is written into a thin LUN over iSCSI, then read back over
# iSCSI: both the LUN's backing file and the read-back copy equal the source,
# and the zero ranges were unmapped rather than written.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tgt.sh"
truncate -s 128M "$T/src.img"
for off in 1 30 64 127; do
    dd if=/dev/urandom of="$T/src.img" bs=1M seek=$off count=2 conv=notrunc status=none 2>/dev/null || true
done
truncate -s 128M "$T/src.img"
# The LUN starts full of garbage, so zero ranges must really be zeroed
# (and writing needs --force).
tgt_one_lun write 128M random

# A LUN holding data is not overwritten without --force, and stays as it was.
cp "$T/lun.img" "$T/lun.orig"
zadp-read --source "$T/src.img" >"$T/src.zs"
expect_exit 2 zadp-write --target "$URL" <"$T/src.zs" 2>/dev/null
cmp "$T/lun.img" "$T/lun.orig" || die "a refused restore changed the LUN"
rm "$T/lun.orig"

zadp-write -v --force --target "$URL" <"$T/src.zs" 2>"$T/write.err" \
    || { cat "$T/write.err" >&2; die "writing into the LUN failed"; }
cmp "$T/src.img" "$T/lun.img" || die "LUN backing file differs from the source"
grep -q 'zeroed [1-9]' "$T/write.err" || { cat "$T/write.err" >&2; die "no zero range was sent as such"; }
allocated=$(($(stat -c '%b * %B' "$T/lun.img")))
[ "$allocated" -lt $((64 * 1048576)) ] || die "zero ranges were written, not unmapped ($allocated bytes allocated)"

zadp-read --source "$URL" | zadp-write --target "$T/back.img" || die "reading the LUN back failed"
cmp "$T/src.img" "$T/back.img" || die "read-back copy differs from the source"
echo OK
