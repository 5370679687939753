#!/bin/bash
# restore-disk.sh refuses a damaged stream before touching the target: a bit
# flipped inside a compressed backup gives the integrity exit code (6), and no
# file appears at the target's name; the intact stream restores and verifies.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_tools zadp-read zadp-write
command -v mke2fs >/dev/null || skip "mke2fs not installed (e2fsprogs)"

mkdir "$T/seed"
head -c 3000000 /dev/urandom >"$T/seed/blob"
truncate -s 32M "$T/disk.img"
mke2fs -F -q -t ext4 -d "$T/seed" "$T/disk.img"
zadp-read --source "$T/disk.img" | zstd -q >"$T/disk.zst"

# Flip one bit in the middle of the compressed stream.
cp "$T/disk.zst" "$T/bad.zst"
size=$(stat -c %s "$T/bad.zst")
off=$((size / 2))
byte=$(od -An -tu1 -j "$off" -N1 "$T/bad.zst" | tr -d ' ')
printf '%b' "$(printf '\\%03o' $((byte ^ 4)))" | dd of="$T/bad.zst" bs=1 seek="$off" conv=notrunc status=none

expect_exit 6 "$HCI_SOURCE_DIR/examples/restore-disk.sh" "$T/bad.zst" "$T/out-bad.img"
[ ! -e "$T/out-bad.img" ] || die "a damaged stream produced $T/out-bad.img"

line=$("$HCI_SOURCE_DIR/examples/restore-disk.sh" "$T/disk.zst" "$T/out.img")
jq -e '.verified == true' <<<"$line" >/dev/null || die "restore not verified: $line"
cmp "$T/disk.img" "$T/out.img" || die "restored image differs"
echo "ok: damaged stream refused (exit 6), intact one restored and verified"
