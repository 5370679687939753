#!/bin/bash
# Input that is not a zadp stream is rejected with a hint about --format raw (exit 6).
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
reject "$T/src.img" "bad magic"
grep -q -- "--format raw" "$T/err" || die "no hint about raw images"
echo "hello" > "$T/bad"; reject "$T/bad" "bad magic"
