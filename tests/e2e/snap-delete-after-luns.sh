#!/bin/bash
# hci-snap-delete takes hci-snap-luns lines, deletes each VM snapshot once,
# waits for the tasks and passes every line through.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd

hci-vm-get --name web01 | hci-snap-create | hci-task-wait | hci-snap-luns > "$T/disks.jsonl"
snap=$(jq -r .vm_snapshot.id "$T/disks.jsonl" | sort -u)
sim_admin counters/reset '{}' >/dev/null
hci-snap-delete < "$T/disks.jsonl" > "$T/out.jsonl" 2> "$T/err" || die "hci-snap-delete failed: $(cat "$T/err")"
cmp -s "$T/disks.jsonl" "$T/out.jsonl" || die "lines were not passed through unchanged"
[ "$(sim_admin counters | jq '.["delete-vm-snapshot"]')" -eq 1 ] || die "expected one delete call"
[ "$(sim_api get-vm-snapshots "{\"where\":{\"id\":\"$snap\"}}" | jq length)" -eq 0 ] || die "snapshot still there"
# Deleting it again: it is gone already, which is what was asked (deleting is
# idempotent): exit 0, a warning, every line passed.
hci-snap-delete < "$T/disks.jsonl" > "$T/out2.jsonl" 2> "$T/err2" || die "second delete failed: $(cat "$T/err2")"
grep -q "does not exist (already deleted?)" "$T/err2" || die "no warning about the missing snapshot"
cmp -s "$T/disks.jsonl" "$T/out2.jsonl" || die "second delete did not pass the lines"
echo "ok: snapshot deleted"
