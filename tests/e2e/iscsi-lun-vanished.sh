#!/bin/bash
# The LUN is deleted from the target while zadp-read is in the middle of it:
# zadp-read fails with the decoded sense (exit 7), never a short success, and
# no file appears at the target's final name.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tgt.sh"
tgt_one_lun vanish 96M random
# zadp-read keeps reads in flight while it waits on the full pipe, and tgtd
# refuses to delete a LUN with commands it has not finished sending ("this
# logical unit is still active"): retry until they have gone out.
delete_lun() {
    local i
    for i in $(seq 600); do
        tgt_adm --op delete --mode logicalunit --tid 1 --lun 1 2>"$T/delete.err" && return 0
        grep -q 'still active' "$T/delete.err" || { cat "$T/delete.err" >&2; return 1; }
        sleep 0.1
    done
    die "tgtd kept the LUN active: $(cat "$T/delete.err")"
}
tgt_read_cut delete_lun
grep -q 'LOGICAL_UNIT_NOT_SUPPORTED' "$T/read.err" || die "zadp-read did not decode the sense data"
grep -q 'the LUN is gone' "$T/read.err" || die "zadp-read did not say that the LUN is gone"
echo OK
