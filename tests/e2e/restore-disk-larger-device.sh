#!/bin/bash
# restore-disk.sh onto a block device larger than the image (the README's own
# example): the read-back covers exactly the image's length, so the restore
# verifies, and the bytes past the image are left as they were and counted.
# A device that holds data needs --force.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root for losetup"
command -v losetup >/dev/null || skip "losetup not installed"

mkimg "$T/src.img"
zadp-read --source "$T/src.img" | zstd -q >"$T/disk0.zst"
truncate -s 24M "$T/dev.img"    # a fresh, empty 24 MiB device
D=$(losetup -f --show "$T/dev.img" 2>/dev/null) || skip "cannot set up a loop device here"
on_exit "losetup -d $D"

line=$("$HCI_SOURCE_DIR/examples/restore-disk.sh" "$T/disk0.zst" "$D" 2>"$T/err") ||
    { cat "$T/err"; die "restore onto a larger device failed"; }
jq -e '.verified == true and .size == 8388608' <<<"$line" >/dev/null || die "not verified: $line"
grep -q "the 16777216 bytes past the image were left as they were" "$T/err" ||
    die "nothing says what happened past the image: $(cat "$T/err")"
cmp -n $((8 << 20)) "$D" "$T/src.img" || die "the device does not hold the image"

# Now it holds data: a second restore needs --force.
expect_exit 2 "$HCI_SOURCE_DIR/examples/restore-disk.sh" "$T/disk0.zst" "$D" 2>/dev/null
"$HCI_SOURCE_DIR/examples/restore-disk.sh" --force "$T/disk0.zst" "$D" 2>/dev/null | jq -e '.verified' >/dev/null ||
    die "--force restore onto the device failed"
echo ok
