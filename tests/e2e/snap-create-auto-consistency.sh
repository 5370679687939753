#!/bin/bash
# --consistency auto picks FILE_SYSTEM_CONSISTENT for a VM whose tools run
# and CRASH_CONSISTENT otherwise, and says so on stderr; both snapshots succeed.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd

hci-vm-get --name web01 --name db01 > "$T/vms.jsonl"
hci-snap-create < "$T/vms.jsonl" 2> "$T/err" | hci-task-wait > "$T/snaps.jsonl"
[ "$(jq -r 'select(.vm.name=="web01") | .data.consistent_type' "$T/snaps.jsonl")" = FILE_SYSTEM_CONSISTENT ] \
    || die "web01 should be FILE_SYSTEM_CONSISTENT"
[ "$(jq -r 'select(.vm.name=="db01") | .data.consistent_type' "$T/snaps.jsonl")" = CRASH_CONSISTENT ] \
    || die "db01 should be CRASH_CONSISTENT"
jq -e -s 'length == 2 and all(.[]; .task.status == "SUCCESSED")' "$T/snaps.jsonl" >/dev/null || die "tasks did not succeed"
grep -q 'web01.*RUNNING.*FILE_SYSTEM_CONSISTENT' "$T/err" || die "no stderr note for web01: $(cat "$T/err")"
grep -q 'db01.*NOT_RUNNING.*CRASH_CONSISTENT' "$T/err" || die "no stderr note for db01: $(cat "$T/err")"
# Forcing fs on db01 makes the task fail, as on a real cluster.
expect_exit 5 bash -c 'hci-vm-get --name db01 | hci-snap-create --consistency fs 2>/dev/null | hci-task-wait >/dev/null 2>"$0/fs.err"' "$T"
grep -q FAILED "$T/fs.err" || die "forced fs on db01 did not report a FAILED task"
echo "ok: auto consistency"
