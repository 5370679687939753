#!/bin/bash
# zadp-read --compress writes frames the zstd and lz4 CLIs accept, and zadp-write restores them.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

mkimg "$T/src.img"
# some compressible data too
seq 1 200000 | dd of="$T/src.img" bs=64K seek=20 conv=notrunc status=none
zadp-read --source "$T/src.img" > "$T/plain.zs"
for spec in zstd zstd:19 lz4; do
    zadp-read --source "$T/src.img" --compress "$spec" -T 2 > "$T/c"
    case $spec in
    zstd*) zstd -dc "$T/c" > "$T/d" ;;
    lz4) lz4 -dc "$T/c" > "$T/d" ;;
    esac
    # identical apart from the creation time in the header
    zadp-write --check < "$T/d" | jq -r .digest > "$T/d1"
    zadp-write --check < "$T/plain.zs" | jq -r .digest > "$T/d2"
    cmp "$T/d1" "$T/d2" || die "$spec: digest differs"
    zadp-write --target "$T/out-$spec.img" < "$T/c"
    cmp "$T/src.img" "$T/out-$spec.img" || die "$spec: restored image differs"
    [ "$(stat -c %s "$T/c")" -lt "$(stat -c %s "$T/plain.zs")" ] || die "$spec: output not smaller"
done
expect_exit 2 zadp-read --source "$T/src.img" --compress gzip
echo ok
