#!/bin/bash
# Four backup hosts (separate processes, each its own ZADP_HOST_ID) store
# their VMs' disks into one S3 repository, a backup a night for five
# nights, while zadp-repo prune and gc (by turns with --grace 0s, which
# deletes what an earlier run condemned, and the default grace, which only
# condemns) run in a loop beside them. The images share data (a part every
# host has, a part each host keeps from night to night), so stores reuse
# chunks gc is judging. No store waits for a gc or prune, nor they for a
# store; a host only starts night N once round N-1 of maintenance has
# ended, so the rounds are spread over the nights instead of all running
# before or after them.
# Afterwards: check --read-data is clean, every backup prune did not report
# removing is still there (and no other), each restores byte-exact (SHA-256
# of the image it was stored from), and no lease is left.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/s3.sh"
require_tools zadp-repo
HOSTS=4 NIGHTS=5 KEEP=2

zadp-repo init --chunk-size 64K >/dev/null
mkdir "$T/img"
randimg "$T/img/shared" 1048576           # on every host's disks
for h in $(seq $HOSTS); do
    randimg "$T/img/host$h" 1048576        # on host h's disk, every night
done
time_of() { printf '2026-12-%02dT020000Z' "$1"; }

# round_done N: maintenance round N has ended (or maintenance failed: the
# host stops waiting and the scenario fails on maintenance's exit status).
round_done() { [ -e "$T/round.$1" ] || [ -e "$T/maint.failed" ]; }

# host H: NIGHTS backups of vm-H, one after another, each of the shared
# part, the host's part and 512 KiB new that night; each stored image's
# name and SHA-256 go to $T/stored.
host() {
    local h=$1 n img
    for n in $(seq $NIGHTS); do
        while [ "$n" -gt 1 ] && ! round_done $((n - 1)); do sleep 0.2; done
        img=$T/img/vm$h-night$n
        randimg "$img.new" 524288
        cat "$T/img/shared" "$T/img/host$h" "$img.new" > "$img"
        zadp-read --source "$img" | ZADP_HOST_ID=host-$h zadp-write --target "repo:vm-$h/$(time_of "$n")/disk0" \
            > "$T/host$h.night$n.json" || die "host-$h night $n: the store failed"
        echo "vm-$h/$(time_of "$n") $(sha256sum < "$img" | cut -d' ' -f1)" >> "$T/stored"
    done
}

# maintain: rounds of prune and gc until the hosts are done; every prune's
# and gc's output kept as $T/prune.N and $T/gc.N.
maintain() {
    local round=0 keep grace
    while :; do
        round=$((round + 1))
        keep=(--keep-last $KEEP)
        [ $((round % 2)) = 0 ] && keep=(--keep-daily $KEEP)
        zadp-repo prune "${keep[@]}" > "$T/prune.$round" 2> "$T/err.prune.$round" \
            || { touch "$T/maint.failed"; die "prune, round $round: $(cat "$T/err.prune.$round")"; }
        grace=(--grace 0s)
        [ $((round % 3)) = 0 ] && grace=()   # the default grace: condemns, deletes nothing
        zadp-repo gc "${grace[@]}" > "$T/gc.$round" 2> "$T/err.gc.$round" \
            || { touch "$T/maint.failed"; die "gc ${grace[*]}, round $round: $(cat "$T/gc.$round" "$T/err.gc.$round")"; }
        touch "$T/round.$round"
        [ -e "$T/hosts.done" ] && return 0
    done
}

ZADP_HOST_ID=maintenance maintain 2> "$T/maint.err" &
maint=$!
pids=()
for h in $(seq $HOSTS); do
    host "$h" > "$T/host$h.out" 2> "$T/host$h.err" &
    pids+=($!)
done
on_exit "kill ${pids[*]} $maint 2>/dev/null"
for h in $(seq $HOSTS); do
    wait "${pids[$((h - 1))]}" || die "host-$h failed: $(cat "$T/host$h.err")"
done
touch "$T/hosts.done"
wait $maint || die "maintenance failed: $(cat "$T/maint.err")"
rounds=$(ls "$T"/round.* | wc -l)
[ "$rounds" -ge $((NIGHTS - 1)) ] || die "only $rounds rounds of maintenance"

# A last prune and two gcs with no store beside them: the second deletes
# what the first condemned.
zadp-repo prune --keep-last $KEEP > "$T/prune.last" || die "the last prune failed: $(cat "$T/prune.last")"
for i in 1 2; do
    zadp-repo gc --grace 0s > "$T/gc.last$i" || die "gc after the stores: $(cat "$T/gc.last$i")"
done
jq -se 'map(select(.gc) | .gc) | all(. == "done")' "$T"/gc.* >/dev/null || die "a gc did not say done: $(cat "$T"/gc.*)"
sum() { jq -s "map(select(.gc) | .$1) | add" "$T"/gc.*; }
[ "$(sum packs_condemned)" -ge 1 ] || die "gc never condemned a pack"
[ "$(sum files_removed)" -ge 1 ] || die "gc never deleted a condemned pack"

# Exactly the backups prune did not remove are left, the newest KEEP of
# each group among them.
[ "$(wc -l < "$T/stored")" = $((HOSTS * NIGHTS)) ] || die "stored: $(cat "$T/stored")"
jq -r 'select(.action == "removed") | .backup' "$T"/prune.* | sort > "$T/removed"
[ "$(sort "$T/removed" | uniq -d)" = "" ] || die "prune removed a backup twice: $(uniq -d "$T/removed")"
cut -d' ' -f1 "$T/stored" | sort | comm -23 - "$T/removed" > "$T/expected"
zadp-repo ls --json | jq -r 'select(.type == "image") | .backup' | sort -u > "$T/left"
cmp -s "$T/expected" "$T/left" || die "left after prune: $(cat "$T/left"), expected: $(cat "$T/expected")"
for h in $(seq $HOSTS); do
    for n in $(seq $((NIGHTS - KEEP + 1)) $NIGHTS); do
        grep -qx "vm-$h/$(time_of "$n")" "$T/left" || die "vm-$h/$(time_of "$n"), one of the newest $KEEP, is gone"
    done
done
[ "$(wc -l < "$T/left")" = $((HOSTS * KEEP)) ] || die "prune left: $(cat "$T/left")"

zadp-repo check --read-data > "$T/check" || die "check --read-data: $(cat "$T/check")"
while read -r backup digest; do
    grep -qx "$backup" "$T/left" || continue
    got=$(zadp-read --source "repo:$backup/disk0" --format raw | sha256sum | cut -d' ' -f1)
    [ "$got" = "$digest" ] || die "repo:$backup/disk0 does not restore to the image it was stored from"
done < "$T/stored"
keys=$(s3_keys)   # captured first: grep -q would end a pipe's writer early
! grep '^locks/' <<< "$keys" || die "a lease outlived its holder"
echo "ok: 4 hosts stored $((HOSTS * NIGHTS)) backups beside $rounds rounds of prune and gc; $(wc -l < "$T/left") left, check clean, all byte-exact"
