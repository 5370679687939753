#!/bin/bash
# When the reader of zadp-read's output goes away, zadp-read stops with exit 7 and a clear message.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"

truncate -s 64M "$T/src.img"
dd if=/dev/urandom of="$T/src.img" bs=1M count=32 conv=notrunc status=none
set +o pipefail
zadp-read --source "$T/src.img" 2> "$T/err" | head -c 1000 > /dev/null
rc=${PIPESTATUS[0]}
set -o pipefail
[ "$rc" -eq 7 ] || die "expected exit 7, got $rc"
grep -q "closed early" "$T/err" || die "message: $(cat "$T/err")"
echo ok
