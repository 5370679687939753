#!/bin/bash
# Ctrl-C while hci-lun-export waits for its clone tasks: it removes the clones
# it made, exits 130, and leaves nothing for --stale to find.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd --task-duration 3000

hci-vm-get --name web01 | hci-snap-create 2>/dev/null | hci-task-wait | hci-snap-luns > "$T/disks.jsonl"
# Started as a foreground tool is: a background job of a script starts with
# SIGINT ignored, and the tools keep a signal ignored at start ignored.
env --default-signal=INT hci-lun-export --target backup-tgt --portal 192.0.2.1 --prefix intr- < "$T/disks.jsonl" > "$T/out.jsonl" 2> "$T/err" &
pid=$!
for _ in $(seq 100); do
    [ "$(hci-lun-unexport --stale intr- | wc -l)" -eq 2 ] && break
    sleep 0.1
done
[ "$(hci-lun-unexport --stale intr- | wc -l)" -eq 2 ] || die "the clones were never made"
kill -INT "$pid"
got=0
wait "$pid" || got=$?
[ "$got" -eq 130 ] || die "expected exit 130, got $got: $(cat "$T/err")"
grep -q 'interrupted: removing the 2 clone LUN' "$T/err" || die "no cleanup message: $(cat "$T/err")"
[ "$(hci-lun-unexport --stale intr- | wc -l)" -eq 0 ] || die "clones left behind"
[ ! -s "$T/out.jsonl" ] || die "lines were written for removed clones"
echo "ok: Ctrl-C removes the clones"
