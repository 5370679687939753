#!/bin/bash
# A full file system (a 2 MiB tmpfs; 4 MiB of data) fails zadp-write with exit 7 and leaves nothing behind.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root to mount a small tmpfs"
truncate -s 8M "$T/src.img"
dd if=/dev/urandom of="$T/src.img" bs=1M count=4 seek=2 conv=notrunc status=none
mkdir "$T/small"
mount -t tmpfs -o size=2m zadp-e2e "$T/small" 2>/dev/null || skip "cannot mount tmpfs here"
on_exit "umount '$T/small'"
rc=0
zadp-read --source "$T/src.img" | zadp-write --target "$T/small/x.img" 2> "$T/err" || rc=$?
[ "$rc" -eq 7 ] || die "expected exit 7, got $rc"
grep -q "No space left" "$T/err" || die "message: $(cat "$T/err")"
[ -z "$(ls -A "$T/small")" ] || die "leftovers: $(ls -A "$T/small")"
echo ok
