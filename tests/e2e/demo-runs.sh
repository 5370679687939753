#!/bin/bash
# `make demo`'s script runs end to end with small disks: it backs up demo-vm,
# restores both data disks into new LUNs and the whole VM onto cluster c2
# (restore-vm.sh), and every verification passes; it
# leaves no temporary directory and no simulator behind.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_pipeline
require_tools hci-vm-create hci-lun-admit

rc=0
TMPDIR=$T "$HCI_SOURCE_DIR/examples/demo.sh" --disk-mib 24,16 --summary-json "$T/summary.jsonl" \
    "$HCI_BUILD_DIR/bin" >"$T/demo.out" 2>"$T/demo.err" || rc=$?
cat "$T/demo.out"
[ $rc -eq 0 ] || { cat "$T/demo.err" >&2; die "demo.sh exited $rc"; }

[ "$(wc -l <"$T/summary.jsonl")" -eq 2 ] || die "expected 2 disks in the summary"
jq -e -s 'map(.disk) | sort == [0, 1]' "$T/summary.jsonl" >/dev/null || die "summary does not list disks 0 and 1"
jq -e -s 'all(.verified and .bytes_match and .e2fsck_clean and .file_matches)' "$T/summary.jsonl" >/dev/null ||
    die "a disk did not verify: $(cat "$T/summary.jsonl")"
jq -e -s 'all(.snapshot_sha256 == .restored_sha256 and (.snapshot_sha256 | length) == 64)' "$T/summary.jsonl" >/dev/null ||
    die "restored digests differ from the snapshot digests"
jq -e -s 'all(.restored_to | startswith("iscsi://"))' "$T/summary.jsonl" >/dev/null || die "not restored into LUNs"
jq -e -s 'all(.stored > 0 and .stored < .size)' "$T/summary.jsonl" >/dev/null || die "stored sizes are implausible"
grep -q 'backup and restore verified' "$T/demo.out" || die "no final verdict printed"
grep -q 'whole VM: demo-vm-dr on c2 in .*s, 2 of 2 disks verified .*configuration matches' "$T/demo.out" ||
    die "the whole-VM restore act did not verify"
grep -q '^VM  *DISK  *LOGICAL  *ALLOCATED  *DATA  *STORED' "$T/demo.out" || die "no summary table"

# Everything it started is gone: its work directory (under $T) is removed.
left=$(find "$T" -maxdepth 1 -name 'hci-demo.*')
[ -z "$left" ] || die "demo left $left behind"
echo "ok: demo verified both disks"
