#!/bin/bash
# backup-vm.sh when a disk's read fails midway: the data plane (the
# simulator's tgtd) dies while disk 1 is half read. The script exits non-zero,
# leaves no clone LUN and no snapshot behind, keeps disk 0 (read before the
# fault) and its manifest does not claim disk 1.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_two_disk_sim fragile-vm 100 '[{"type": "CD_ROM", "bus": "IDE"}]'

arm_disk_reader 1
"$HCI_SOURCE_DIR/examples/backup-vm.sh" fragile-vm "$T/b" >"$T/backup.out" 2>"$T/backup.err" &
bpid=$!
on_exit "kill -CONT \${rpid:-0} 2>/dev/null; kill -TERM $bpid 2>/dev/null; wait $bpid 2>/dev/null"

# Catch the zadp-read of disk 1 (a child of the script) and stop it.
rpid=""
rpid=$(disk_reader "$bpid" 1)
kill -STOP "$rpid"

# Let it run in small steps until it has read 8 MiB of the 160: midway.
rchar() { awk '/^rchar/ { print $2 }' "/proc/$rpid/io" 2>/dev/null || echo gone; }
reader_gone() {   # the reader ended by itself: say why instead of a bare kill error
    rpid=""; wait "$bpid" || true; cat "$T/backup.err" >&2
    die "zadp-read of disk 1 ended before the fault was injected"
}
start=$(rchar)
while true; do
    now=$(rchar); [ "$now" != gone ] || reader_gone
    [ $((now - start)) -lt 8388608 ] || break
    kill -CONT "$rpid" 2>/dev/null || reader_gone
    sleep 0.002
    kill -STOP "$rpid" 2>/dev/null || reader_gone
done
[ $(($(rchar) - start)) -lt 140000000 ] || die "disk 1 was nearly read before the fault; the test proves nothing"

sim_admin tgtd/kill '{}' >/dev/null
kill -CONT "$rpid"
rc=0
wait "$bpid" || rc=$?
rpid=""
cat "$T/backup.err" >&2

[ $rc -ne 0 ] || die "backup-vm.sh exited 0 although disk 1 could not be read"
luns=$(backup_target_luns)
[ "$luns" -eq 0 ] || die "$luns exported clone(s) left behind"
snaps=$(vm_snapshots)
[ "$snaps" -eq 0 ] || die "$snaps VM snapshot(s) left behind"

m=$T/b/fragile-vm.backup.json
[ -f "$m" ] || die "no manifest written"
jq -e '.complete == false' "$m" >/dev/null || die "the manifest says complete"
jq -e '[.disks[].index] == [0]' "$m" >/dev/null || die "the manifest claims $(jq -c '[.disks[].index]' "$m"), expected [0]"
jq -e '[.failed_disks[].index] == [1]' "$m" >/dev/null || die "the manifest does not name disk 1 as failed"
[ ! -e "$T/b/fragile-vm.disk1.zst" ] || die "a stream of the failed disk is at its final name"
zadp-write --check <"$T/b/fragile-vm.disk0.zst" >/dev/null || die "disk 0's stream does not verify"
[ -z "$(find "$T/b" -name '.*work*' -o -name '*.part')" ] || die "temporary files left in the backup directory"
echo "ok: failed read of disk 1 -> exit $rc, no clone or snapshot left, manifest claims only disk 0"
