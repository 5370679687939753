#!/bin/bash
# Retention never drops the last good backups (issue 17 §2): three good
# nights of backup-vm.sh into a repository, then three bad ones: every clone
# fails; the repository's disk fills up while disk 1 is stored (disk 0
# saved: a partial backup); the disk is full before any disk is stored.
# A night without a single disk publishes nothing and exits non-zero with
# the real reason; the partial one names it per disk in its manifest. Then
# zadp-repo prune --keep-daily 3 keeps the three good nights, which restore
# byte-exact, and ls shows each backup's state.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
require_tools zadp-repo
[ "$(id -u)" -eq 0 ] || skip "needs root to mount a tmpfs"
mkdir "$T/small"
mount -t tmpfs -o size=16m tmpfs "$T/small" 2>/dev/null || skip "cannot mount a tmpfs here"
on_exit "umount '$T/small'"
export ZADP_REPO="$T/small/repo"
vm_scenario nightly:4194304,25165824
start_backup_sim "$T/scenario.json"
id=$(vm_ids nightly)
zadp-repo init --chunk-size 64K >/dev/null
digest() { sim_admin digest "{\"vm\":\"nightly\",\"disk\":$1}" | jq -r .sha256; }
write() { sim_admin disk-write "{\"vm\":\"nightly\",\"disk\":$1,\"offset\":0,\"random\":{\"seed\":$2,\"length\":$3}}" >/dev/null; }
# night N [backup-vm.sh exit status]: backs the VM up as 2026-11-2NT020000Z
night() {
    local rc=0
    "$HCI_SOURCE_DIR/examples/backup-vm.sh" --time "2026-11-2$1T020000Z" nightly 2>"$T/night$1.err" || rc=$?
    [ "$rc" -eq "${2:-0}" ] || { cat "$T/night$1.err" >&2; die "night $1: backup-vm.sh exit $rc, expected ${2:-0}"; }
}
published() { [ -n "$(zadp-repo ls "$id/2026-11-2$1T020000Z")" ]; }

for n in 1 2 3; do
    write 0 "$n" 262144
    night "$n"
    declare "good$n=$(digest 0)"
done

# Night 4: every clone task fails.
sim_admin faults '{"op":"clone-iscsi-lun-from-snapshot","count":1,"fail_task":true}' >/dev/null
night 4 5
! published 4 || die "night 4 saved no disk, yet it is in the repository: $(zadp-repo ls "$id/2026-11-24T020000Z")"
for d in 0 1; do
    grep -q "disk $d failed: export failed: hci-lun-export: error: .*disk $d: .*FAILED" "$T/night4.err" ||
        { cat "$T/night4.err" >&2; die "night 4 does not say why disk $d failed"; }
done

# Night 5: disk 1 holds 20 MiB of new data, more than the 16 MiB file system has room for.
write 0 5 262144
write 1 5 20971520
night 5 1
published 5 || die "night 5 saved disk 0 but published nothing"
zadp-repo cat "$id/2026-11-25T020000Z/backup.json" | jq -e '(.complete | not) and [.disks[].index] == [0]
    and [.failed_disks[].index] == [1] and .failed_disks[0].exit_status == 7
    and (.failed_disks[0].error | test("^zadp-write: error: .*No space left on device"))' >/dev/null ||
    die "night 5's manifest does not name the real reason: $(zadp-repo cat "$id/2026-11-25T020000Z/backup.json")"

# Night 6: the file system is full (but for the run's marker) before any disk is stored.
write 0 6 262144
avail=$(df --output=avail -B1 "$T/small" | tail -n 1)
fallocate -l $((avail - (256 << 10))) "$T/small/filler" || die "cannot fill the tmpfs"
night 6 7
rm -f "$T/small/filler"
! published 6 || die "night 6 saved no disk, yet it is in the repository: $(zadp-repo ls "$id/2026-11-26T020000Z")"
grep -q "disk 0 failed: zadp-write: error: .*No space left on device" "$T/night6.err" ||
    { cat "$T/night6.err" >&2; die "night 6 does not give the real reason"; }

state() { zadp-repo ls "$id/2026-11-2$1T020000Z" | jq -r .state | sort -u | tr '\n' ' '; }
for n in 1 2 3; do [ "$(state $n)" = "complete " ] || die "ls: night $n is $(state $n)"; done
[ "$(state 5)" = "partial " ] || die "ls: night 5 is $(state 5)"

zadp-repo prune --keep-daily 3 >"$T/prune" || die "prune failed"
for n in 1 2 3; do
    has_line "$T/prune" ".backup == \"$id/2026-11-2${n}T020000Z\" and .action == \"keep\" and .state == \"complete\"" ||
        die "prune did not keep good night $n: $(cat "$T/prune")"
done
has_line "$T/prune" ".backup == \"$id/2026-11-25T020000Z\" and .action == \"keep\" and .reasons == [\"partial\", \"daily\"]" ||
    die "night 5: $(cat "$T/prune")"
zadp-repo gc >/dev/null
for n in 1 2 3; do
    want="good$n"
    zadp-read --source "repo:$id/2026-11-2${n}T020000Z/disk0" --format raw | sha256sum | grep -q "^${!want} " ||
        die "night $n's disk 0 does not restore byte-exact"
done
echo "ok: failed nights publish nothing or a partial backup with the real reason; prune keeps the good nights"
