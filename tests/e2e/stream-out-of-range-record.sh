#!/bin/bash
# A record past the logical size in the header is rejected (exit 6).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

truncate -s 4M "$T/small.img"; truncate -s 8M "$T/big.img"
dd if=/dev/urandom of="$T/big.img" bs=1M count=8 conv=notrunc status=none
zadp-read --source "$T/small.img" > "$T/small.zs"
zadp-read --source "$T/big.img" > "$T/big.zs"
# the 4 MiB image's header with the 8 MiB image's records
# (records are at most 1 MiB: 4 of them fill the small image, the 5th is past it)
{ piece "$T/small.zs" header 1; for i in 1 2 3 4 5; do piece "$T/big.zs" DATA $i; done; piece "$T/big.zs" TRLR 1; } > "$T/bad"
reject "$T/bad" "out of range"
