#!/bin/bash
# A stream that ends right before its trailer is rejected (exit 6).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

make_stream
head -c "$(rec "$T/s.zs" TRLR 1)" "$T/s.zs" > "$T/bad"
reject "$T/bad" "without a trailer"
