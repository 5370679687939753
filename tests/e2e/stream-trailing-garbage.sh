#!/bin/bash
# Bytes after the trailer are rejected (exit 6), also inside a zstd frame.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

make_stream
{ cat "$T/s.zs"; echo garbage; } > "$T/bad"; reject "$T/bad" "trailing garbage"
{ cat "$T/s.zs"; echo garbage; } | zstd -q > "$T/bad.zst"; reject "$T/bad.zst" "trailing garbage"
# a damaged zstd frame is an integrity error too
zstd -q < "$T/s.zs" > "$T/full.zst"; head -c 5000 "$T/full.zst" > "$T/cut.zst"; reject "$T/cut.zst" "zstd"
