#!/bin/bash
# zadp raw output matches qemu-img convert -O raw, and qemu-img compare agrees.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

command -v qemu-img >/dev/null || skip "qemu-img not installed"
mkimg "$T/src.img"
qemu-img convert -f raw -O raw "$T/src.img" "$T/qemu.raw"
zadp-read --source "$T/src.img" --format raw > "$T/zadp.raw"
cmp "$T/qemu.raw" "$T/zadp.raw" || die "raw output differs from qemu-img"
zadp-read --source "$T/src.img" | zadp-write --target "$T/out.img"
qemu-img compare -q -f raw -F raw "$T/qemu.raw" "$T/out.img" || die "qemu-img compare: images differ"
echo ok
