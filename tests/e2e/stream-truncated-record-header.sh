#!/bin/bash
# A stream cut inside a record header is rejected (exit 6).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

make_stream
start=$(rec "$T/s.zs" DATA 2)
head -c $((start + 10)) "$T/s.zs" > "$T/bad"
reject "$T/bad" "inside a record header"
