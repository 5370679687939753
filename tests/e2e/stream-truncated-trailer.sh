#!/bin/bash
# A stream cut inside its trailer is rejected (exit 6).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

make_stream
head -c $(($(stat -c %s "$T/s.zs") - 20)) "$T/s.zs" > "$T/bad"
reject "$T/bad" "inside the trailer"
