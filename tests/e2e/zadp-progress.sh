#!/bin/bash
# Progress goes to stderr only when asked (or on a terminal), and never into the data.
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
zadp-read --source "$T/src.img" > "$T/a.zs" 2> "$T/quiet.err"
[ ! -s "$T/quiet.err" ] || die "progress shown without a terminal: $(cat "$T/quiet.err")"
zadp-read --source "$T/src.img" --progress > "$T/b.zs" 2> "$T/loud.err"
grep -q "8.0 MiB / 8.0 MiB 100%" "$T/loud.err" || die "no final progress line: $(cat -v "$T/loud.err")"
zadp-write --target "$T/out.img" --progress < "$T/b.zs" 2> "$T/w.err"
grep -q "100%" "$T/w.err" || die "zadp-write --progress: $(cat -v "$T/w.err")"
cmp "$T/src.img" "$T/out.img" || die "restore differs"
zadp-read --source "$T/src.img" --no-progress > /dev/null 2> "$T/no.err"
[ ! -s "$T/no.err" ] || die "--no-progress printed something"
expect_exit 2 zadp-read --source "$T/src.img" --progress --no-progress
echo ok
