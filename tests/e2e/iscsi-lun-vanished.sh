#!/bin/bash
# The LUN is deleted from the target while zadp-read is in the middle of it:
# zadp-read fails with the decoded sense (exit 7), never a short success, and
# no file appears at the target's final name.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tgt.sh"
tgt_start

IQN=iqn.2026-11.io.hci-backup.test:vanish
head -c 96M /dev/urandom >"$T/lun.img"
tgt_add_lun 1 "$IQN" "$T/lun.img"

tgt_read_during "$(tgt_url "$IQN")" tgt_adm --op delete --mode logicalunit --tid 1 --lun 1

[ "$(cat "$T/read.rc")" -eq 7 ] || die "zadp-read exited $(cat "$T/read.rc"), expected 7 (I/O error)"
grep -q 'LOGICAL_UNIT_NOT_SUPPORTED' "$T/read.err" || die "zadp-read did not decode the sense data"
grep -q 'the LUN is gone' "$T/read.err" || die "zadp-read did not say that the LUN is gone"
[ "$(cat "$T/write.rc")" -ne 0 ] || die "zadp-write accepted a cut stream"
[ ! -e "$T/out.img" ] || die "a file target appeared at its final name"
echo OK
