#!/bin/bash
# backup-vm.sh --sweep on this host leaves an unfinished backup that another
# host is still writing into the shared repository: that host's run holds the
# repository's own lock (DIR/lock) shared, as backup-vm.sh does, while this
# host's lock directory (HCI_BACKUP_LOCK_DIR) knows nothing of it. The sweep
# says the repository is in use and removes nothing; prune keeps that backup
# too. Once the other run is gone (its lock released, as when the host dies
# and its NFS lease ends) the sweep removes it and leaves the complete backup.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
require_tools zadp-repo hci-lun-unexport hci-snap-delete
start_sim
export HCI_BACKUP_LOCK_DIR="$T/this-host-locks"
mkdir -p "$HCI_BACKUP_LOCK_DIR"

zadp-repo init --chunk-size 64K >/dev/null
randimg "$T/disk.img" $((256 << 10))
done_backup=vm-1/2026-11-27T020000Z running=vm-1/2026-11-28T020000Z
store "$T/disk.img" "$done_backup/disk0"
echo '{"format":"hci-backup-manifest"}' | zadp-repo put-blob "$done_backup/backup.json" - >/dev/null

# The other host's run: lock first, then its marker, then its data; it stays
# until told to end (the fifo closes).
mkfifo "$T/go"
(
    exec 7<>"$ZADP_REPO/lock"
    flock -s 7
    jq -nc '{format: "hci-backup-unfinished", vm: {id: "vm-1", name: "vm"}, host: "host-a", pid: 4242,
        started_at: "2026-11-28T02:00:00Z"}' | zadp-repo put-blob "$running/unfinished.json" - >/dev/null
    store "$T/disk.img" "$running/disk0"
    echo stored >"$T/other.state"
    read -r _ <"$T/go" || true
) &
other=$!
on_exit "kill $other 2>/dev/null"
exec 6<>"$T/go"  # the other run reads until this closes (read-write: opening never blocks)
for _ in $(seq 300); do [ -s "$T/other.state" ] && break; sleep 0.05; done
[ -s "$T/other.state" ] || die "the other host's run did not store its image"

"$HCI_SOURCE_DIR/examples/backup-vm.sh" --sweep --repo "$ZADP_REPO" 2>"$T/sweep.err" || { cat "$T/sweep.err" >&2; die "sweep failed"; }
cat "$T/sweep.err" >&2
grep -q "repository $ZADP_REPO is in use" "$T/sweep.err" || die "the sweep did not say the repository is in use"
[ "$(files_of "$running")" = "disk0 unfinished.json " ] || die "the sweep touched the other host's backup: $(files_of "$running")"
zadp-repo sweep --dry-run >"$T/dry"
jq -e 'select(.sweep == "skipped")' "$T/dry" >/dev/null || die "zadp-repo sweep --dry-run: $(cat "$T/dry")"

# prune would remove an older unfinished backup, but not while a writer runs.
older=vm-1/2026-11-26T020000Z
echo '{}' | zadp-repo put-blob "$older/unfinished.json" - >/dev/null
zadp-repo prune --keep-last 1 >"$T/prune"
jq -e --arg b "$older" 'select(.backup == $b) | .action == "keep" and .reasons == ["unfinished", "in use"]' \
    "$T/prune" >/dev/null || die "prune while the other run writes: $(cat "$T/prune")"

# The other run ends without finishing (its host died): nothing holds the lock.
exec 6>&-
wait "$other"
"$HCI_SOURCE_DIR/examples/backup-vm.sh" --sweep --repo "$ZADP_REPO" 2>"$T/sweep.err" || { cat "$T/sweep.err" >&2; die "sweep failed"; }
cat "$T/sweep.err" >&2
grep -q 'removed 2 unfinished backup' "$T/sweep.err" || die "the second sweep did not remove the dead runs' backups"
[ "$(backups_of vm-1)" = "$done_backup" ] || die "after the sweep the group holds: $(backups_of vm-1)"
restores_to "$T/disk.img" "$done_backup/disk0"
echo "ok: the sweep leaves another host's running backup and removes it once that run is gone"
