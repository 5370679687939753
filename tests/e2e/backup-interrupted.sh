#!/bin/bash
# Ctrl-C on backup-vm.sh while hci-lun-export waits for its clone tasks: the
# script exits 130 and leaves nothing behind: no clone LUN (not even the ones
# hci-lun-export had not printed yet), no VM snapshot, no file in DIR.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_pipeline

# Slow tasks, so that the interrupt surely lands while the clones are made.
start_sim --scenario "$HCI_SOURCE_DIR/examples/demo-scenario.json" --task-duration 3000
sim_require_tgtd

# Its own process group, like a job started from a terminal, so that the
# signal reaches the script and its children as a Ctrl-C would.
set -m
"$HCI_SOURCE_DIR/examples/backup-vm.sh" demo-vm "$T/b" 2>"$T/backup.err" &
bpid=$!
set +m
on_exit "kill -TERM -$bpid 2>/dev/null"
for _ in $(seq 300); do
    pgrep -P "$bpid" -x hci-lun-export >/dev/null && break
    kill -0 "$bpid" 2>/dev/null || { cat "$T/backup.err" >&2; die "the backup ended before exporting"; }
    sleep 0.05
done
pgrep -P "$bpid" -x hci-lun-export >/dev/null || die "never saw hci-lun-export running"
sleep 1   # the clone-iscsi-lun-from-snapshot call has been made; its tasks run for 3 s
clones=$(sim_api get-iscsi-luns '{"where":{"iscsi_target":{"name":"backup-tgt"}}}' | jq length)
kill -INT -- "-$bpid"
rc=0
wait "$bpid" || rc=$?
cat "$T/backup.err" >&2

[ $rc -eq 130 ] || die "expected exit 130 after Ctrl-C, got $rc"
[ "$clones" -gt 0 ] || die "no clone existed at the interrupt; the test proves nothing"
left=$(sim_api get-iscsi-luns '{"where":{"iscsi_target":{"name":"backup-tgt"}}}' | jq length)
[ "$left" -eq 0 ] || die "$left clone LUN(s) left behind"
snaps=$(sim_api get-vm-snapshots '{}' | jq length)
[ "$snaps" -eq 0 ] || die "$snaps VM snapshot(s) left behind"
[ -z "$(ls -A "$T/b")" ] || die "files left in the backup directory: $(ls -A "$T/b")"
echo "ok: interrupted during export ($clones clone(s) existed): exit 130, nothing left behind"
