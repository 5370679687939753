#!/bin/bash
# A reader that goes away (| head -1) ends hci-vm-get quietly with status 0.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd --generate-vms 1200

set +o pipefail
out=$(hci-vm-get --all 2> "$T/err" | head -1; echo "rc=${PIPESTATUS[0]}")
set -o pipefail
[ "$(echo "$out" | head -1 | jq -r 'has("id")')" = true ] || die "first line is not a VM: $out"
echo "$out" | grep -q '^rc=0$' || die "hci-vm-get did not exit 0: $out"
[ ! -s "$T/err" ] || die "unexpected stderr: $(cat "$T/err")"
echo "ok: closed stdout"
