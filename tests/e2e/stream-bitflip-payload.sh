#!/bin/bash
# One flipped bit in a DATA payload is caught by the record checksum (exit 6).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

make_stream
flip $(($(rec "$T/s.zs" DATA 2) + 32 + 777)); reject "$T/bad" "checksum mismatch in the DATA record"
flip $(($(rec "$T/s.zs" ZERO 1) + 9)); reject "$T/bad" "checksum mismatch"
