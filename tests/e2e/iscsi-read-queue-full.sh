#!/bin/bash
# A dense LUN is read with the queue full: zadp-read queues the next ranges'
# READs before it waits for the current range's, so as many commands as
# --queue-depth allows are in flight (with one range at a time, 8 MiB of
# 1 MiB commands, never more than 8 were; with two, never more than 16,
# whatever the depth), and the bytes are the LUN's.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tgt.sh"
tgt_one_lun queue 48M random

for qd in 16 4 32; do
    zadp-read -v --queue-depth $qd --source "$URL" --format raw -o "$T/out.raw" 2>"$T/read.err" ||
        { cat "$T/read.err" >&2; die "iSCSI read failed"; }
    cmp "$T/lun.img" "$T/out.raw" || die "image read over iSCSI (queue depth $qd) differs from the LUN"
    most=$(sed -n 's/.*at most \([0-9]*\) commands in flight.*/\1/p' "$T/read.err")
    [ "$most" = $qd ] || { cat "$T/read.err" >&2; die "queue depth $qd: at most '$most' commands were in flight"; }
    rm -f "$T/out.raw"
done
# A stream through a pipe, cut short by its reader: zadp-read stops with the
# reads it had started abandoned, and says why.
rc=0
zadp-read --queue-depth 16 --source "$URL" 2>"$T/read.err" | head -c 3000000 > /dev/null || rc=$?
[ $rc != 0 ] || die "zadp-read into a closed pipe exited 0"
echo "ok: the queue stays full on a dense read"
