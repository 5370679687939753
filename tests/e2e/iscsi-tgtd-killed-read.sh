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

tgt_read_during "$URL" tgt_kill9

[ "$(cat "$T/read.rc")" -eq 7 ] || die "zadp-read exited $(cat "$T/read.rc"), expected 7 (I/O error)"
grep -q 'connection lost' "$T/read.err" || die "zadp-read did not report the lost connection"
grep -q 'reconnecting failed' "$T/read.err" || die "zadp-read did not say that reconnecting failed"
[ "$(cat "$T/write.rc")" -ne 0 ] || die "zadp-write accepted a cut stream"
[ ! -e "$T/out.img" ] || die "a file target appeared at its final name"
echo OK
