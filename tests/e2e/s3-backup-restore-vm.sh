#!/bin/bash
# A VM backed up into S3 and restored whole from it onto another cluster:
# backup-vm.sh --repo s3://BUCKET/PREFIX (the test bed's RGW) stores web01
# (3 data disks of odd sizes) on two nights, the second storing only what
# changed; restore-vm.sh makes it again on c2 from repo:GROUP (the newest
# complete backup), every disk verified before anything is created and
# byte-exact afterwards; no lease outlives the runs.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/restore.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/s3.sh"
start_restore_sim
require_tools zadp-repo
repo=$ZADP_REPO
unset ZADP_REPO  # the scripts take it from --repo
zadp-repo --repo "$repo" init >/dev/null
id=$(vm_ids web01)

backup_vm --repo "$repo" --consistency crash --time 2026-11-27T020000Z web01
grep -q "into repo:$id/2026-11-27T020000Z" "$T/backup.err" || die "backup-vm.sh does not name the backup: $(cat "$T/backup.err")"
sim_admin disk-write '{"vm":"web01","disk":2,"offset":8192,"random":{"seed":77,"length":4096}}' >/dev/null
backup_vm --repo "$repo" --consistency crash --time 2026-11-28T020000Z web01
night2=$(for i in 0 2 4; do disk_digest web01 $i; done)
new=$(zadp-repo --repo "$repo" cat "$id/2026-11-28T020000Z/backup.json" | jq '[.disks[].repo.new_chunks] | add')
[ "$new" -ge 1 ] && [ "$new" -le 2 ] || die "night 2 stored $new new chunks for one changed 4 KiB block"
# Every object is under the prefix, and no lease is left.
! s3_keys | grep -q '^locks/' || die "a lease was left behind: $(s3_keys | grep ^locks/)"

"$RESTORE_VM" --repo "$repo" --cluster c2 --name 'dr-{name}' --map-vlan prod=dr-net --map-vlan backup-net=default \
    "repo:$id" >"$T/summary.json" 2>"$T/r.err" || { cat "$T/r.err" >&2; die "restore-vm.sh from $repo failed"; }
jq -e --arg b "repo:$id/2026-11-28T020000Z" '.verified and .backup == $b and .vm.cluster.name == "c2"' \
    "$T/summary.json" >/dev/null || die "summary: $(cat "$T/summary.json")"
[ "$(for i in 0 2 4; do disk_digest dr-web01 $i; done)" = "$night2" ] || die "dr-web01's disks differ from night 2"
! s3_keys | grep -q '^locks/' || die "a lease was left behind by the restore: $(s3_keys | grep ^locks/)"
echo "ok: web01 backed up into $repo and restored from it onto c2, byte-exact"
