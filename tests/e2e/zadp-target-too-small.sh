#!/bin/bash
# zadp-write refuses a target smaller than the stream's logical size and leaves it untouched.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

mkimg "$T/src.img"
head -c 1M /dev/urandom > "$T/small.img"
cp "$T/small.img" "$T/small.orig"
rc=0
zadp-read --source "$T/src.img" | zadp-write --target "$T/small.img" 2> "$T/err" || rc=$?
[ "$rc" -eq 7 ] || die "expected exit 7, got $rc"
grep -q "too small" "$T/err" || die "message: $(cat "$T/err")"
cmp "$T/small.img" "$T/small.orig" || die "the small target was modified"
# a raw image longer than an existing target
rc=0
head -c 2M /dev/zero | zadp-write --force --format raw --target "$T/small.img" 2> "$T/err" || rc=$?
[ "$rc" -eq 7 ] || die "raw: expected exit 7, got $rc"
echo ok
