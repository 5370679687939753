#!/bin/bash
# Records out of offset order are rejected (exit 6), even with good checksums.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

make_stream
# header, all records, then the first DATA record again, then the trailer
{ head -c "$(rec "$T/s.zs" TRLR 1)" "$T/s.zs"; piece "$T/s.zs" DATA 1; piece "$T/s.zs" TRLR 1; } > "$T/bad"
reject "$T/bad" "out of order"
