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

# The late consumer holds zadp-read mid-LUN while the LUN goes away.
{
    rc=0
    zadp-read --source "$(tgt_url "$IQN")" 2>"$T/read.err" || rc=$?
    echo $rc >"$T/read.rc"
} | {
    sleep 2
    rc=0
    zadp-write --target "$T/out.img" 2>"$T/write.err" || rc=$?
    echo $rc >"$T/write.rc"
} &
PIPE=$!
sleep 0.7
tgt_adm --op delete --mode logicalunit --tid 1 --lun 1
wait "$PIPE" || true
for _ in $(seq 300); do [ -s "$T/read.rc" ] && break; sleep 0.1; done
cat "$T/read.err" "$T/write.err" >&2

[ "$(cat "$T/read.rc")" -eq 7 ] || die "zadp-read exited $(cat "$T/read.rc"), expected 7 (I/O error)"
grep -q 'LOGICAL_UNIT_NOT_SUPPORTED' "$T/read.err" || die "zadp-read did not decode the sense data"
grep -q 'the LUN is gone' "$T/read.err" || die "zadp-read did not say that the LUN is gone"
[ "$(cat "$T/write.rc")" -ne 0 ] || die "zadp-write accepted a cut stream"
[ ! -e "$T/out.img" ] || die "a file target appeared at its final name"
echo OK
