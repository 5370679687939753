#!/bin/bash
# Deleting is idempotent: delete-vm-snapshot and delete-iscsi-lun are retried
# like queries after a 500 or a dropped connection, and an object an earlier
# attempt already deleted (its answer was lost) counts as done. Nothing leaks.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
command -v hci-sim >/dev/null || die "hci-sim is not built (run make)"
start_sim --no-tgtd
export HCI_RETRIES=4

# export_clones: a new snapshot of web01 with its two disks' clone LUNs exported.
export_clones() {
    hci-vm-get --name web01 | hci-snap-create 2>/dev/null | hci-task-wait | hci-snap-luns \
        | hci-lun-export --target backup-tgt --portal 192.0.2.1 > "$T/exported.jsonl"
    [ "$(wc -l < "$T/exported.jsonl")" -eq 2 ] || die "export failed"
}

calls() { sim_admin counters | jq ".[\"$1\"] // 0"; }

# clean_up: unexport and delete the snapshot; both must succeed and pass every line.
clean_up() {
    hci-lun-unexport < "$T/exported.jsonl" 2> "$T/err" > "$T/unexported.jsonl" \
        || die "hci-lun-unexport failed: $(cat "$T/err")"
    cat "$T/err" >&2
    hci-snap-delete < "$T/unexported.jsonl" 2> "$T/err" > "$T/deleted.jsonl" \
        || die "hci-snap-delete failed: $(cat "$T/err")"
    cat "$T/err" >&2
    cmp -s "$T/exported.jsonl" "$T/deleted.jsonl" || die "lines were not passed through"
}

nothing_left() {
    local luns snap
    luns=$(jq -c -s '[.[].export.lun.id]' "$T/exported.jsonl")
    snap=$(jq -r .vm_snapshot.id "$T/exported.jsonl" | sort -u)
    [ "$(sim_api get-iscsi-luns "{\"where\":{\"id_in\":$luns}}" | jq length)" -eq 0 ] || die "$1: clone LUNs leaked"
    [ "$(sim_api get-vm-snapshots "{\"where\":{\"id\":\"$snap\"}}" | jq length)" -eq 0 ] || die "$1: snapshot leaked"
}

# with_faults LUN_FAULT SNAPSHOT_FAULT: a fresh export cleaned up while the
# next delete-iscsi-lun and delete-vm-snapshot calls fail as given; then
# checks that nothing was left behind.
with_faults() {
    export_clones
    sim_admin faults/clear '{}' >/dev/null
    sim_admin faults "{\"op\":\"delete-iscsi-lun\",$1}" >/dev/null
    sim_admin faults "{\"op\":\"delete-vm-snapshot\",$2}" >/dev/null
    sim_admin counters/reset '{}' >/dev/null
    clean_up
    nothing_left "with faults $1 / $2"
}

# Two 500s on each delete: retried, both gone.
with_faults '"count":2,"status":500' '"count":2,"status":500'
[ "$(calls delete-iscsi-lun)" -eq 3 ] || die "delete-iscsi-lun: expected 3 calls, got $(calls delete-iscsi-lun)"
[ "$(calls delete-vm-snapshot)" -eq 3 ] || die "delete-vm-snapshot: expected 3 calls, got $(calls delete-vm-snapshot)"

# Dropped connections: the same.
with_faults '"count":2,"drop":true' '"count":2,"drop":true'

# The first attempt deletes, but its answer is lost (a 500, a dropped
# connection, after the work): the retry finds the objects gone, which is
# done, not "not found".
with_faults '"count":1,"status":500,"after":true' '"count":1,"drop":true,"after":true'
grep -q "already deleted" "$T/err" || die "no note that the snapshot was gone already"
echo "ok: deletions retried, nothing leaked"
