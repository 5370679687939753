#!/bin/bash
# zadp-write never overwrites a target that holds data unless --force: an
# existing file or block device with data is refused (exit 2) and left as it
# was; an empty (sparse) file is written without --force; with --force an
# existing larger regular file ends exactly at the image's size.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

make_stream
head -c 9M /dev/urandom >"$T/old.img"
cp "$T/old.img" "$T/old.orig"
expect_exit 2 zadp-write --target "$T/old.img" <"$T/s.zs" 2>"$T/err"
grep -q 'already holds data.*--force' "$T/err" || die "refusal does not name --force: $(cat "$T/err")"
cmp "$T/old.img" "$T/old.orig" || die "a refused restore changed the target"

zadp-write --force --target "$T/old.img" <"$T/s.zs"
[ "$(stat -c %s "$T/old.img")" -eq $((8 << 20)) ] || die "--force left $(stat -c %s "$T/old.img") bytes, not the image's 8 MiB"
cmp "$T/src.img" "$T/old.img" || die "--force restore differs from the image"

# Data only near the end of a large file is found too (the last MiB is examined).
truncate -s 64M "$T/tail.img"
printf 'GPT backup' | dd of="$T/tail.img" bs=1 seek=$(((64 << 20) - 512)) conv=notrunc status=none
expect_exit 2 zadp-write --target "$T/tail.img" <"$T/s.zs"

# A file that holds no data (all holes) is no clobber; raw input too.
truncate -s 8M "$T/empty.img"
zadp-write --target "$T/empty.img" <"$T/s.zs" || die "an empty existing file was refused"
cmp "$T/src.img" "$T/empty.img" || die "restore into an empty file differs"
expect_exit 2 zadp-write --format raw --target "$T/empty.img" <"$T/src.img"

if [ "$(id -u)" -eq 0 ] && command -v losetup >/dev/null; then
    head -c 8M /dev/urandom >"$T/dev.img"
    cp "$T/dev.img" "$T/dev.orig"
    if D=$(losetup -f --show "$T/dev.img" 2>/dev/null); then
        on_exit "losetup -d $D"
        expect_exit 2 zadp-write --target "$D" <"$T/s.zs"
        cmp "$D" "$T/dev.orig" || die "a refused restore changed the device"
        zadp-write --force --target "$D" <"$T/s.zs"
        cmp "$D" "$T/src.img" || die "--force restore onto the device differs"
    fi
fi
echo ok
