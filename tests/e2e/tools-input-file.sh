#!/bin/bash
# Every hci-* tool reads its JSON lines from an optional FILE argument, and
# "-" (or no FILE) means stdin, as for cat and jq: the same lines give the
# same output either way. A missing file is an I/O error naming it, two
# FILEs or a FILE in a mode that reads no lines are usage errors.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_tools hci-vm-get hci-snap-create hci-task-wait hci-snap-luns hci-snap-delete hci-lun-unexport \
    hci-lun-export hci-lun-admit hci-vm-create
start_sim --no-tgtd --task-duration 200

# hci-vm-get: names from a FILE, from "-", from stdin.
printf 'web01\ndb01\n' > "$T/names"
hci-vm-get "$T/names" | jq -r .name > "$T/by-file"
hci-vm-get - < "$T/names" | jq -r .name > "$T/by-dash"
hci-vm-get < "$T/names" | jq -r .name > "$T/by-stdin"
[ "$(cat "$T/by-file")" = "$(printf 'web01\ndb01')" ] || die "hci-vm-get FILE: $(cat "$T/by-file")"
cmp -s "$T/by-file" "$T/by-dash" || die "hci-vm-get - differs from FILE"
cmp -s "$T/by-file" "$T/by-stdin" || die "hci-vm-get < FILE differs from FILE"

# The pipeline with each tool given its input as a FILE, then as "-".
hci-vm-get --name web01 > "$T/vm.json"
hci-snap-create --name 'file-{vm}' "$T/vm.json" > "$T/created.jsonl"
[ "$(jq -r .data.name "$T/created.jsonl")" = file-web01 ] || die "hci-snap-create FILE: $(cat "$T/created.jsonl")"
hci-task-wait "$T/created.jsonl" > "$T/done.jsonl"
[ "$(jq -r .task.status "$T/done.jsonl")" = SUCCESSED ] || die "hci-task-wait FILE: $(cat "$T/done.jsonl")"
hci-snap-luns "$T/done.jsonl" > "$T/disks.jsonl"
hci-snap-luns - < "$T/done.jsonl" > "$T/disks-dash.jsonl"
[ "$(wc -l < "$T/disks.jsonl")" -eq 2 ] || die "hci-snap-luns FILE: $(cat "$T/disks.jsonl")"
cmp -s "$T/disks.jsonl" "$T/disks-dash.jsonl" || die "hci-snap-luns - differs from FILE"

hci-lun-export --target backup-tgt --portal 192.0.2.1 --prefix file- "$T/disks.jsonl" > "$T/exported.jsonl"
[ "$(jq -r .export.url "$T/exported.jsonl" | grep -c '^iscsi://')" -eq 2 ] || die "hci-lun-export FILE: $(cat "$T/exported.jsonl")"
hci-lun-unexport - < "$T/exported.jsonl" > "$T/unexported.jsonl"
[ "$(wc -l < "$T/unexported.jsonl")" -eq 2 ] || die "hci-lun-unexport -"
[ "$(hci-lun-unexport --stale file- | wc -l)" -eq 0 ] || die "hci-lun-unexport - left clones"

# hci-lun-admit takes hci-vm-create lines: these are refused, naming the file.
expect_exit 1 hci-lun-admit --initiator-iqn iqn.2026-01.com.example:f "$T/disks.jsonl" 2> "$T/admit.err"
grep -q "$T/disks.jsonl line 2: no lun.id" "$T/admit.err" || die "hci-lun-admit FILE: $(cat "$T/admit.err")"

hci-snap-delete "$T/disks.jsonl" > "$T/deleted.jsonl"
[ "$(wc -l < "$T/deleted.jsonl")" -eq 2 ] || die "hci-snap-delete FILE: $(cat "$T/deleted.jsonl")"
[ "$(sim_api get-vm-snapshots '{"where":{"name":"file-web01"}}' | jq 'length')" -eq 0 ] ||
    die "hci-snap-delete FILE left the snapshot"

# hci-vm-create reads a configuration FILE: --delete-created with a line
# naming no VM it made is refused per line, which shows it read the file.
echo '{"not": "a configuration"}' > "$T/config.jsonl"
expect_exit 1 hci-vm-create --delete-created "$T/config.jsonl" 2> "$T/create.err"
grep -q "$T/config.jsonl line 1" "$T/create.err" || die "hci-vm-create FILE: error does not name the file: $(cat "$T/create.err")"

# Messages name the file and the line.
{ cat "$T/created.jsonl"; echo "not json"; } > "$T/bad.jsonl"
expect_exit 1 hci-task-wait "$T/bad.jsonl" 2> "$T/bad.err" > /dev/null
grep -q "$T/bad.jsonl line 2: not valid JSON" "$T/bad.err" || die "error does not name FILE and line: $(cat "$T/bad.err")"

# A missing file: exit 7 naming it, before any API call.
expect_exit 7 hci-snap-create "$T/no-such-file" 2> "$T/missing.err"
grep -q "cannot open input file $T/no-such-file: No such file" "$T/missing.err" ||
    die "missing file message: $(cat "$T/missing.err")"
# Two files, or a FILE where no lines are read: usage errors.
expect_exit 2 hci-task-wait "$T/created.jsonl" "$T/created.jsonl" 2> "$T/two.err"
grep -q "at most one input FILE" "$T/two.err" || die "two files: $(cat "$T/two.err")"
expect_exit 2 hci-snap-delete --stale file- "$T/disks.jsonl" 2> "$T/stale.err"
grep -q "is not read with --stale" "$T/stale.err" || die "FILE with --stale: $(cat "$T/stale.err")"
expect_exit 2 hci-vm-get --name web01 "$T/names" 2> "$T/name.err"
grep -q "is not read with --name" "$T/name.err" || die "FILE with --name: $(cat "$T/name.err")"
# "-" is stdin for every tool that reads lines, never a file named "-":
# its bad line is reported as stdin's.
for cmd in hci-snap-create hci-task-wait hci-snap-luns "hci-lun-export --target backup-tgt --portal 192.0.2.1" \
    hci-lun-unexport hci-snap-delete hci-vm-create "hci-lun-admit --initiator-iqn iqn.2026-01.com.example:f"; do
    rc=0
    printf 'not json\n' | $cmd - >/dev/null 2>"$T/dash.err" || rc=$?
    [ $rc -eq 1 ] && grep -q 'stdin line 1: not valid JSON' "$T/dash.err" ||
        die "$cmd - (exit $rc) did not read stdin: $(cat "$T/dash.err")"
done
# The synopsis in --help shows the argument.
for tool in hci-snap-create hci-task-wait hci-snap-luns hci-lun-export hci-lun-unexport hci-snap-delete \
    hci-vm-create hci-lun-admit hci-vm-get; do
    "$tool" --help | grep -q '\[FILE\]' || die "$tool --help does not show [FILE]"
done
echo "ok: FILE and - read as stdin in every hci tool"
