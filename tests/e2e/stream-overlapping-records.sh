#!/bin/bash
# A record that starts inside the previous one is rejected (exit 6).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

# a: data from 0 (first record 0..1M); b: data from 512 KiB (first record
# 512K..1M, as reads are cut at 1 MiB boundaries)
truncate -s 8M "$T/a.img" "$T/b.img"
dd if=/dev/urandom of="$T/a.img" bs=1M count=8 conv=notrunc status=none
dd if=/dev/urandom of="$T/b.img" bs=512K count=15 seek=1 conv=notrunc status=none
zadp-read --source "$T/a.img" > "$T/a.zs"
zadp-read --source "$T/b.img" > "$T/b.zs"
{ piece "$T/a.zs" header 1; piece "$T/a.zs" DATA 1; piece "$T/b.zs" DATA 1; piece "$T/a.zs" TRLR 1; } > "$T/bad"
reject "$T/bad" "overlapping records"
