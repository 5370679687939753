#!/bin/bash
# One flipped bit in the stream header is caught by its checksum (exit 6).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

make_stream
flip 50; reject "$T/bad" "header checksum mismatch"
flip 17; reject "$T/bad" "header checksum mismatch"
