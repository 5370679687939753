#!/bin/bash
# tgtd is SIGKILLed while zadp-write is in the middle of writing a LUN:
# zadp-write exits non-zero with a clear error, never as a success.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tgt.sh"
head -c 64M /dev/urandom >"$T/src.img"
zadp-read --source "$T/src.img" >"$T/src.zadp"
tgt_one_lun killwrite 64M

# The stream arrives in two parts; tgtd dies in between: once zadp-write
# has written into the LUN, and before the second part is let through.
mkfifo "$T/go"
exec 8<>"$T/go"  # read-write: opening never blocks; closing it lets the second part go
{
    dd if="$T/src.zadp" bs=1M count=8 status=none
    read -r _ <"$T/go" || true
    dd if="$T/src.zadp" bs=1M skip=8 status=none
} | {
    rc=0
    zadp-write --target "$URL" 2>"$T/write.err" || rc=$?
    echo $rc >"$T/write.rc"
} &
PIPE=$!
for _ in $(seq 600); do [ "$(stat -c %b "$T/lun.img")" -gt 0 ] && break; sleep 0.1; done
[ "$(stat -c %b "$T/lun.img")" -gt 0 ] || die "zadp-write never wrote into the LUN"
tgt_kill9
echo go >&8
exec 8>&-
wait "$PIPE" || true
cat "$T/write.err" >&2

[ "$(cat "$T/write.rc")" -eq 7 ] || die "zadp-write exited $(cat "$T/write.rc"), expected 7 (I/O error)"
grep -q 'connection lost' "$T/write.err" || die "zadp-write did not report the lost connection"
grep -q 'reconnecting failed' "$T/write.err" || die "zadp-write did not say that reconnecting failed"
echo OK
