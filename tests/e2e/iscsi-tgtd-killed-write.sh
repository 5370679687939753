#!/bin/bash
# tgtd is SIGKILLed while zadp-write is in the middle of writing a LUN:
# zadp-write exits non-zero with a clear error, never as a success.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tgt.sh"
head -c 64M /dev/urandom >"$T/src.img"
zadp-read --source "$T/src.img" >"$T/src.zadp"
tgt_one_lun killwrite 64M

# The stream arrives in two parts; tgtd dies in between.
{
    dd if="$T/src.zadp" bs=1M count=8 status=none
    sleep 2
    dd if="$T/src.zadp" bs=1M skip=8 status=none
} | {
    rc=0
    zadp-write --target "$URL" 2>"$T/write.err" || rc=$?
    echo $rc >"$T/write.rc"
} &
PIPE=$!
sleep 1
tgt_kill9
wait "$PIPE" || true
cat "$T/write.err" >&2

[ "$(cat "$T/write.rc")" -eq 7 ] || die "zadp-write exited $(cat "$T/write.rc"), expected 7 (I/O error)"
grep -q 'connection lost' "$T/write.err" || die "zadp-write did not report the lost connection"
grep -q 'reconnecting failed' "$T/write.err" || die "zadp-write did not say that reconnecting failed"
echo OK
