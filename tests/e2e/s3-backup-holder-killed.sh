#!/bin/bash
# The lock holder of a backup into S3 dies in the middle (zadp-repo hold,
# SIGKILL: as when its lease can no longer be refreshed): backup-vm.sh
# stores its disks but does not publish the manifest ("lost the repository
# lock", exit 7), removes what it stored and deletes its snapshot and
# clones. The dead holder's leases stay until their TTL has passed by the
# store's clock: until then another backup of the VM is refused (exit 75),
# afterwards it works, with no unlock.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/s3.sh"
require_tools zadp-repo
export ZADP_REPO_LEASE_TTL=40
vm_scenario app01:4194304
start_backup_sim "$T/scenario.json"
sim_admin disk-write '{"vm":"app01","disk":0,"offset":0,"random":{"seed":8,"length":1048576}}' >/dev/null
zadp-repo init >/dev/null
id=$(vm_ids app01)

arm_disk_reader 0
backup_job --consistency crash --time 2026-12-01T020000Z app01
reader=$(disk_reader "$BACKUP_PID" 0)
holder=$(descendants "$BACKUP_PID" zadp-repo)
[ "$(wc -w <<<"$holder")" -eq 1 ] || die "expected one zadp-repo hold under the backup, found: $holder"
grep -q hold "/proc/$holder/cmdline" || die "$holder is not the holder: $(tr '\0' ' ' <"/proc/$holder/cmdline")"
kill -KILL "$holder"
kill -CONT "$reader"
rc=0; wait "$BACKUP_PID" || rc=$?
cat "$T/backup.err" >&2
[ $rc -eq 7 ] || die "backup-vm.sh with its holder killed: exit $rc, expected 7"
grep -q "lost the repository lock .*not publishing $id/2026-12-01T020000Z" "$T/backup.err" || die "no clear message"
[ -z "$(backups_of "$id")" ] || die "something of the backup is left: $(zadp-repo ls "$id")"
[ "$(vm_snapshots)" -eq 0 ] || die "the snapshot was not deleted"
[ "$(backup_target_luns)" -eq 0 ] || die "clone LUNs left"

# The dead holder's group lease refuses the next backup while it lives by
# the store's clock (judged before and after the try, so that a slow
# machine cannot make the check wrong), and expires by itself.
last=$(s3_lease_time "group/$id" x)
[ -n "$last" ] || die "no group lease left by the dead holder: $(s3_keys)"
rc=0
"$HCI_SOURCE_DIR/examples/backup-vm.sh" --consistency crash --time 2026-12-01T030000Z app01 2>"$T/b2.err" || rc=$?
if [ "$(s3_server_now)" -lt $((last + ZADP_REPO_LEASE_TTL)) ]; then
    [ $rc -eq 75 ] || { cat "$T/b2.err" >&2; die "a backup beside the dead holder's live lease: exit $rc, expected 75"; }
    grep -q "is being backed up by another run" "$T/b2.err" || die "no clear message: $(cat "$T/b2.err")"
else
    echo "note: the lease expired during the second try (a slow machine); its refusal is not checked"
    [ $rc -eq 0 ] || die "the second try after the lease expired: exit $rc"
    zadp-repo rm "$id/2026-12-01T030000Z" >/dev/null
fi
s3_wait_until $((last + ZADP_REPO_LEASE_TTL))
backup_vm --consistency crash --time 2026-12-01T040000Z app01
[ "$(backups_of "$id")" = "$id/2026-12-01T040000Z" ] || die "backups: $(backups_of "$id")"
! s3_keys | grep -q '^locks/' || die "a lease is left: $(s3_keys | grep ^locks/)"
echo "ok: a backup whose holder died publishes nothing (exit 7); its stale lease expired by itself and the next backup worked"
