#!/bin/bash
# Input that is not a zadp stream is rejected with a hint about --format raw (exit 6).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

mkimg "$T/src.img"
reject "$T/src.img" "bad magic"
grep -q -- "--format raw" "$T/err" || die "no hint about raw images"
echo "hello" > "$T/bad"; reject "$T/bad" "bad magic"
