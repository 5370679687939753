#!/bin/bash
# `make demo`'s script runs end to end with small disks: it backs up demo-vm
# into a repository on two nights, 64 KiB of disk 0 rewritten between them,
# and the second night stores far less than the first (only the chunks that
# changed: none of disk 1); it restores night 2's data disks from the
# repository into new LUNs, night 1's disk 0 into a file, and the whole VM
# onto cluster c2 (restore-vm.sh repo:ID/TIME), and every verification
# passes; it leaves no temporary directory and no simulator behind.
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
# Night 2 stored only what changed: a 64 KiB change costs at most two
# chunks of disk 0 (2 MiB at most, whatever the chunk size), nothing of disk 1,
# and far less than night 1.
jq -e -s 'all(.night1_new_bytes > 0) and (.[0].night2_new_total > 0)
          and (.[0].night2_new_total <= 2097152) and (.[0].night2_new_total * 4 <= .[0].night1_new_total)
          and (map(select(.disk == 1))[0] | .night2_new_bytes == 0 and .night2_reused_bytes == .night1_new_bytes)' \
    "$T/summary.jsonl" >/dev/null || die "night 2 did not store only what changed: $(cat "$T/summary.jsonl")"
jq -e -s 'all(.night1_restores)' "$T/summary.jsonl" >/dev/null || die "night 1 did not restore"
grep -q 'night 1 stored .* new, night 2 after a 64 KiB change .* new' "$T/demo.out" || die "no new-bytes line printed"
grep -q '^NIGHT  *BACKUP  *DISK  *DATA  *NEW  *REUSED' "$T/demo.out" || die "no table of the nights"
grep -q 'night 1 (.*) restores too: disk 0 OK' "$T/demo.out" || die "night 1 not verified"
grep -q 'backup and restore verified' "$T/demo.out" || die "no final verdict printed"
if command -v nbdkit >/dev/null && command -v nbdfuse >/dev/null && [ -e /dev/fuse ] && [ -f "$HCI_BUILD_DIR/lib/nbdkit/plugins/nbdkit-zadp-plugin.so" ]; then
    grep -q "night 1.s /random.bin over NBD, no disk restored (restore-files.sh): OK in .*\"path\":\"/random.bin\"" "$T/demo.out" ||
        die "night 1's file was not copied out over NBD"
fi
grep -q 'whole VM: demo-vm-dr on c2 in .*s, 2 of 2 disks verified .*configuration matches' "$T/demo.out" ||
    die "the whole-VM restore act did not verify"
grep -q '^VM  *DISK  *LOGICAL  *ALLOCATED  *DATA  *STORED' "$T/demo.out" || die "no summary table"

# Everything it started is gone: its work directory (under $T) is removed.
left=$(find "$T" -maxdepth 1 -name 'hci-demo.*')
[ -z "$left" ] || die "demo left $left behind"
echo "ok: demo: night 2 stored $(jq -s '.[0].night2_new_total' "$T/summary.jsonl") new bytes, night 1 $(jq -s '.[0].night1_new_total' "$T/summary.jsonl"); every restore verified"
