#!/bin/bash
# A thin 192 MiB LUN served by tgtd is read over iSCSI into a stream and
# written to a file: identical bytes, and only the allocated ranges are read.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tgt.sh"
tgt_start

IQN=iqn.2026-11.io.hci-backup.test:read
truncate -s 192M "$T/lun.img"
for off in 0 3 17 50 90 150 191; do
    dd if=/dev/urandom of="$T/lun.img" bs=1M seek=$off count=1 conv=notrunc status=none
done
dd if=/dev/urandom of="$T/lun.img" bs=4096 seek=$((100 * 256 + 3)) count=5 conv=notrunc status=none
tgt_add_lun 1 "$IQN" "$T/lun.img"

zadp-read -v --queue-depth 8 --source "$(tgt_url "$IQN")" 2>"$T/read.err" \
    | zadp-write --target "$T/out.img" || { cat "$T/read.err" >&2; die "iSCSI read pipeline failed"; }
cmp "$T/lun.img" "$T/out.img" || die "image read over iSCSI differs from the LUN's backing file"

# Allocated-only reads: the transport's stat line counts the bytes it read.
read_bytes=$(sed -n 's/.*: read \([0-9]*\) bytes in .*/\1/p' "$T/read.err")
[ -n "$read_bytes" ] || { cat "$T/read.err" >&2; die "no stat line from the iSCSI transport"; }
allocated=$(($(stat -c '%b * %B' "$T/lun.img")))
echo "read $read_bytes bytes over iSCSI; backing file has $allocated bytes allocated"
[ "$read_bytes" -le $((allocated + 1048576)) ] || die "read $read_bytes bytes, more than the $allocated allocated"
[ "$read_bytes" -lt $((32 * 1048576)) ] || die "read $read_bytes bytes of a LUN with ~7 MiB allocated"
grep -q 'GET LBA STATUS' "$T/read.err" || die "allocation was not asked with GET LBA STATUS"
echo OK
