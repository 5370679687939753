#!/bin/bash
# kill -9 of backup-vm.sh (its whole process group) after disk 0 was saved,
# while disk 1 is read: DIR does not exist (a backup is published by one
# rename at the end, so no stream or configuration appears at its final name
# without a manifest). `backup-vm.sh --sweep` then removes the stale work
# directory, the temporary file of a killed zadp-write, the clone LUNs and the
# VM snapshot, and leaves a live zadp-write's temporary file alone.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_two_disk_sim victim

P=$T/backups
mkdir "$P"
arm_disk_reader 1
backup_job victim "$P/b"
disk_reader "$BACKUP_PID" 1 >/dev/null
signal_backup_job KILL

[ ! -e "$P/b" ] || die "kill -9 left $P/b: $(ls -A "$P/b")"
[ -n "$(find "$P" -maxdepth 1 -name '.b.work.*')" ] || die "no work directory left; the test proves nothing"
clones() { sim_api get-iscsi-luns '{"where":{"name_starts_with":"hci-backup-tmp-"}}' | jq length; }
[ "$(clones)" -gt 0 ] && [ "$(vm_snapshots)" -eq 1 ] || die "no clone or snapshot left by the kill; the test proves nothing"

# A restore killed by kill -9, and one still running, each with a temporary file.
zadp-read --source "$(sim_admin volume-path '{"vm":"victim","disk":0}' | jq -r .path)" >"$T/disk0.zs"
head -c 65536 "$T/disk0.zs" >"$T/head.zs"
mkfifo "$T/fifo1" "$T/fifo2"
zadp-write --target "$P/killed.img" <"$T/fifo1" & k=$!
zadp-write --target "$P/live.img" <"$T/fifo2" & l=$!
exec 5>"$T/fifo1" 6>"$T/fifo2"
on_exit "exec 5>&- 6>&-; kill $l 2>/dev/null"
cat "$T/head.zs" >&5
cat "$T/head.zs" >&6
for _ in $(seq 500); do
    [ "$(find "$P" -maxdepth 1 -name '.*.zadp-tmp.*' | wc -l)" -eq 2 ] && break
    sleep 0.01
done
[ "$(find "$P" -maxdepth 1 -name '.*.zadp-tmp.*' | wc -l)" -eq 2 ] || die "zadp-write made no temporary files"
kill -KILL "$k"
wait "$k" 2>/dev/null || true

"$HCI_SOURCE_DIR/examples/backup-vm.sh" --sweep "$P" 2>"$T/sweep.err" || { cat "$T/sweep.err" >&2; die "sweep failed"; }
cat "$T/sweep.err" >&2
[ -z "$(find "$P" -maxdepth 1 -name '.b.work.*')" ] || die "the sweep left the stale work directory"
[ -z "$(find "$P" -maxdepth 1 -name '.killed.img.zadp-tmp.*')" ] || die "the sweep left the killed zadp-write's temporary file"
[ -n "$(find "$P" -maxdepth 1 -name '.live.img.zadp-tmp.*')" ] || die "the sweep removed a live zadp-write's temporary file"
[ "$(clones)" -eq 0 ] || die "the sweep left $(clones) clone LUN(s)"
[ "$(vm_snapshots)" -eq 0 ] || die "the sweep left the VM snapshot"
echo "ok: kill -9 published nothing; the sweep removed the work directory, a dead temp file, clones and snapshot"
