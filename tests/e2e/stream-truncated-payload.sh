#!/bin/bash
# A stream cut inside a DATA payload is rejected (exit 6).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

make_stream
start=$(rec "$T/s.zs" DATA 1)
head -c $((start + 32 + 1000)) "$T/s.zs" > "$T/bad"
reject "$T/bad" "inside the payload"
