#!/bin/bash
# Bytes after the trailer are rejected (exit 6), also inside a zstd frame.
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

# reject FILE PATTERN: zadp-write must refuse FILE with exit 6, say PATTERN,
# and leave no file at the target name (nor a temporary one).
reject() {
    local rc=0
    zadp-write --target "$T/out/restored.img" < "$1" 2>"$T/err" || rc=$?
    cat "$T/err" >&2
    [ "$rc" -eq 6 ] || die "expected exit 6, got $rc"
    grep -q -- "$2" "$T/err" || die "message does not mention '$2'"
    [ -z "$(ls -A "$T/out")" ] || die "target directory not empty: $(ls -A "$T/out")"
    rc=0
    zadp-write --check < "$1" >/dev/null 2>&1 || rc=$?
    [ "$rc" -eq 6 ] || die "--check: expected exit 6, got $rc"
}
mkdir -p "$T/out"

mkimg "$T/src.img"
zadp-read --source "$T/src.img" > "$T/s.zs"
{ cat "$T/s.zs"; echo garbage; } > "$T/bad"; reject "$T/bad" "trailing garbage"
{ cat "$T/s.zs"; echo garbage; } | zstd -q > "$T/bad.zst"; reject "$T/bad.zst" "trailing garbage"
# a damaged zstd frame is an integrity error too
zstd -q < "$T/s.zs" > "$T/full.zst"; head -c 5000 "$T/full.zst" > "$T/cut.zst"; reject "$T/cut.zst" "zstd"
