#!/bin/bash
# A stream of an unknown version is rejected by version, not as corruption (exit 6).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

make_stream
python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[8] = 2; sys.stdout.buffer.write(b)' "$T/s.zs" > "$T/bad"
reject "$T/bad" "unsupported stream version 2"
