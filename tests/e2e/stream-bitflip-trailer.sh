#!/bin/bash
# One flipped bit in the trailer is caught by its checksum (exit 6).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

make_stream
flip $(($(stat -c %s "$T/s.zs") - 3)); reject "$T/bad" "trailer checksum mismatch"
flip $(($(rec "$T/s.zs" TRLR 1) + 40)); reject "$T/bad" "trailer checksum mismatch"
