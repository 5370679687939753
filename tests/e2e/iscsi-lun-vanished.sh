#!/bin/bash
# The LUN is deleted from the target while zadp-read is in the middle of it:
# zadp-read fails with the decoded sense (exit 7), never a short success, and
# no file appears at the target's final name.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tgt.sh"
tgt_one_lun vanish 96M random
tgt_read_cut tgt_adm --op delete --mode logicalunit --tid 1 --lun 1
grep -q 'LOGICAL_UNIT_NOT_SUPPORTED' "$T/read.err" || die "zadp-read did not decode the sense data"
grep -q 'the LUN is gone' "$T/read.err" || die "zadp-read did not say that the LUN is gone"
echo OK
