#!/bin/bash
# zadp-read refuses to write binary data to a terminal.
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

command -v script >/dev/null || skip "script(1) not installed"
mkimg "$T/src.img"
rc=0
script -qec "zadp-read --source '$T/src.img'" /dev/null > "$T/tty.out" 2>&1 < /dev/null || rc=$?
[ "$rc" -eq 2 ] || die "expected exit 2 on a terminal, got $rc"
grep -q "terminal" "$T/tty.out" || die "no clear message: $(cat "$T/tty.out")"
echo ok
