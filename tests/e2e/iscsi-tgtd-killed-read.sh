#!/bin/bash
# tgtd is SIGKILLed while zadp-read is in the middle of a LUN: zadp-read
# exits non-zero with a clear error, zadp-write rejects the cut stream, and
# no file appears at the target's final name.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tgt.sh"
tgt_one_lun killread 96M random
tgt_read_cut tgt_kill9
grep -q 'connection lost' "$T/read.err" || die "zadp-read did not report the lost connection"
grep -q 'reconnecting failed' "$T/read.err" || die "zadp-read did not say that reconnecting failed"
echo OK
