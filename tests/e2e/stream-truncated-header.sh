#!/bin/bash
# A stream cut inside its header is rejected (exit 6).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

make_stream
head -c 20 "$T/s.zs" > "$T/bad"; reject "$T/bad" "inside the header"
end=$(rec "$T/s.zs" header 1 3)
head -c $((end - 3)) "$T/s.zs" > "$T/bad"; reject "$T/bad" "inside the header"
: > "$T/bad"; reject "$T/bad" "empty input"
