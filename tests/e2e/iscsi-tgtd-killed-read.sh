#!/bin/bash
# tgtd is SIGKILLed while zadp-read is in the middle of a LUN: zadp-read
# exits non-zero with a clear error, zadp-write rejects the cut stream, and
# no file appears at the target's final name.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tgt.sh"
tgt_start

IQN=iqn.2026-11.io.hci-backup.test:killread
head -c 96M /dev/urandom >"$T/lun.img"
tgt_add_lun 1 "$IQN" "$T/lun.img"
URL=$(tgt_url "$IQN")

# The late consumer holds zadp-read in the middle of the LUN (blocked on the
# full pipe) while tgtd dies; its next reads must fail, not end the stream.
{
    rc=0
    zadp-read --source "$URL" 2>"$T/read.err" || rc=$?
    echo $rc >"$T/read.rc"
} | {
    sleep 2
    rc=0
    zadp-write --target "$T/out.img" 2>"$T/write.err" || rc=$?
    echo $rc >"$T/write.rc"
} &
PIPE=$!
sleep 0.7
tgt_kill9
wait "$PIPE" || true
for _ in $(seq 300); do [ -s "$T/read.rc" ] && break; sleep 0.1; done
cat "$T/read.err" "$T/write.err" >&2

[ "$(cat "$T/read.rc")" -eq 7 ] || die "zadp-read exited $(cat "$T/read.rc"), expected 7 (I/O error)"
grep -q 'connection lost' "$T/read.err" || die "zadp-read did not report the lost connection"
grep -q 'reconnecting failed' "$T/read.err" || die "zadp-read did not say that reconnecting failed"
[ "$(cat "$T/write.rc")" -ne 0 ] || die "zadp-write accepted a cut stream"
[ ! -e "$T/out.img" ] || die "a file target appeared at its final name"
echo OK
