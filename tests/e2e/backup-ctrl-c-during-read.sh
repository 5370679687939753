#!/bin/bash
# Ctrl-C on backup-vm.sh after disk 0 was saved, while disk 1 is read: the
# script says it was interrupted, exits 130 and removes the unfinished
# backup: no stream file (not even disk 0's), no work directory, no DIR, no
# clone LUN and no VM snapshot.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_pipeline

jq -n '{users: [{username: "admin", password: "admin-password"}], clusters: [{name: "c1"}],
        iscsi_targets: [{name: "backup-tgt", cluster: "c1", iqn_whitelist: "*"}],
        vms: [{name: "busy", cluster: "c1", vcpu: 1, memory: 1073741824, status: "RUNNING",
               vm_tools_status: "RUNNING",
               disks: [{type: "DISK", bus: "VIRTIO", size: 8388608},
                       {type: "DISK", bus: "VIRTIO", size: 167772160}]}]}' >"$T/scenario.json"
start_sim --scenario "$T/scenario.json" --task-duration 50
sim_require_tgtd
sim_admin disk-write '{"vm":"busy","disk":0,"offset":0,"random":{"seed":1,"length":1048576}}' >/dev/null
sim_admin disk-write '{"vm":"busy","disk":1,"offset":0,"random":{"seed":2,"length":167772160}}' >/dev/null

P=$T/backups
# Its own process group, like a job started from a terminal.
set -m
"$HCI_SOURCE_DIR/examples/backup-vm.sh" busy "$P/b" 2>"$T/backup.err" &
bpid=$!
set +m
on_exit "kill -TERM -$bpid 2>/dev/null"
for _ in $(seq 3000); do
    grep -q 'disk 0 saved' "$T/backup.err" && pgrep -P "$bpid" -x zadp-read >/dev/null && break
    kill -0 "$bpid" 2>/dev/null || { cat "$T/backup.err" >&2; die "the backup ended before disk 1 was read"; }
    sleep 0.01
done
pgrep -P "$bpid" -x zadp-read >/dev/null || die "never saw disk 1 being read"
kill -INT -- "-$bpid"
rc=0
wait "$bpid" || rc=$?
cat "$T/backup.err" >&2

[ $rc -eq 130 ] || die "expected exit 130 after Ctrl-C, got $rc"
grep -q 'interrupted' "$T/backup.err" || die "the script does not say it was interrupted"
[ -z "$(find "$P" -name '*.zst*')" ] || die "stream files of the unfinished backup left: $(find "$P" -name '*.zst*')"
[ -z "$(ls -A "$P")" ] || die "files left in $P: $(ls -A "$P")"
[ "$(sim_api get-iscsi-luns '{"where":{"iscsi_target":{"name":"backup-tgt"}}}' | jq length)" -eq 0 ] || die "clone LUN(s) left"
[ "$(sim_api get-vm-snapshots '{}' | jq length)" -eq 0 ] || die "VM snapshot left"
echo "ok: Ctrl-C while reading disk 1: exit 130, said so, nothing left (not even disk 0's stream)"
