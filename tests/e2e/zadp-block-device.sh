#!/bin/bash
# A loop block device works as source and target: size from the device, zeros with BLKZEROOUT.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root for losetup"
command -v losetup >/dev/null || skip "losetup not installed"
mkimg "$T/src.img"
head -c 8M /dev/urandom > "$T/dev-a.img"
head -c 8M /dev/urandom > "$T/dev-b.img"
cp "$T/src.img" "$T/dev-a.img"
A=$(losetup -f --show "$T/dev-a.img" 2>/dev/null) || skip "cannot set up a loop device here"
on_exit "losetup -d $A"
B=$(losetup -f --show "$T/dev-b.img" 2>/dev/null) || skip "cannot set up a second loop device"
on_exit "losetup -d $B"
zadp-read --source "$A" > "$T/s.zs"
zadp-write --check < "$T/s.zs" | jq -e '.size == 8388608' >/dev/null || die "device size not used"
zadp-write --force --target "$B" < "$T/s.zs"
cmp "$T/src.img" "$B" || die "block device restore differs"
# too small a device is refused
truncate -s 4M "$T/dev-c.img"
C=$(losetup -f --show "$T/dev-c.img") || skip "no third loop device"
on_exit "losetup -d $C"
expect_exit 7 zadp-write --target "$C" < "$T/s.zs"
echo ok
