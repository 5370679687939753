#!/bin/bash
# A sparse file survives zadp-read | zadp-write byte for byte, and stays as sparse.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

mkimg "$T/src.img"
zadp-read --source "$T/src.img" | zadp-write --target "$T/out.img"
cmp "$T/src.img" "$T/out.img" || die "restored image differs"
src=$(stat -c %b "$T/src.img"); out=$(stat -c %b "$T/out.img")
# st_blocks is in 512-byte units; allow one 4 KiB block of difference, and the
# all-zero allocated block of the source may become a hole (4 x 4 KiB).
[ "$out" -le "$src" ] || die "restored image allocates more ($out) than the source ($src)"
[ $((src - out)) -le $((8 + 32)) ] || die "allocation differs too much: $src vs $out blocks"
[ "$(stat -c %s "$T/out.img")" -eq $((8 << 20)) ] || die "wrong size"
ls -A "$T" | grep -q '^\.out' && die "temporary file left behind"
# -o FILE gives the same stream as stdout (but for the creation time)
zadp-read --source "$T/src.img" -o "$T/o.zs"
zadp-write --target "$T/out2.img" < "$T/o.zs"
cmp "$T/src.img" "$T/out2.img" || die "-o output differs"
ls -A "$T" | grep -q '^\.o\.zs' && die "temporary -o file left behind"
echo "ok: sparse round trip, allocation $src -> $out blocks"
