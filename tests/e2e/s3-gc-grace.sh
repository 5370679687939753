#!/bin/bash
# A backup killed after its packs (zadp-repo(5), "Object storage"): gc
# condemns them once a locator generation covers them, and deletes them only
# after the grace period (time passes here by --grace: 1h, then 0s) and once
# the killed writer's lease expired (its TTL 6 s of the server's clock; gc
# keeps the default TTL, so a slow refresh on a loaded machine never costs
# gc its own lease). The
# earlier backup reads byte-exact and check --read-data is clean.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/s3.sh"

zadp-repo init --chunk-size 64K >/dev/null
store_new "$T/good.img" 1048576 vm1/2026-11-27T020000Z/disk0
packs() { s3_keys | grep -c '\.pack$' || true; }
good=$(packs)

# 40 MiB of new data: packs of 16 MiB are published while it runs.
randimg "$T/big.img" 41943040
zadp-read --source "$T/big.img" > "$T/stream"
mkfifo "$T/fifo"
ZADP_REPO_LEASE_TTL=6 zadp-write --target repo:vm1/2026-11-28T020000Z/disk0 < "$T/fifo" > /dev/null 2> "$T/w.err" &
writer=$!
exec 4> "$T/fifo"
head -c 36000000 "$T/stream" >&4
until [ "$(packs)" -gt "$good" ]; do
    kill -0 $writer 2>/dev/null || die "the writer ended before it published a pack: $(cat "$T/w.err")"
    sleep 0.2
done
kill -9 $writer; wait $writer 2>/dev/null || true
exec 4>&-
killed=$(( $(packs) - good ))
s3_keys | grep -q '^locks/lock/s-' || die "the killed writer left no lease"

gc() { zadp-repo gc "$@" > "$T/gc" || die "gc $*: $(cat "$T/gc")"; }
field() { jq -r ".$1" "$T/gc"; }
gc --grace 1h   # the killed packs are new: a generation covers them, the next gc judges them
[ "$(field packs_condemned)" = 0 ] || die "gc condemned packs new since the last gc: $(cat "$T/gc")"
gc --grace 1h
[ "$(field packs_condemned)" = "$killed" ] || die "gc condemned $(field packs_condemned) packs, expected $killed: $(cat "$T/gc")"
[ "$(field files_removed)" = 0 ] || die "gc deleted at once: $(cat "$T/gc")"

# Once the killed writer's lease expired, only the grace period holds them.
for _ in $(seq 120); do
    gc --grace 1h
    [ "$(field files_removed)" = 0 ] || die "gc deleted before the grace period: $(cat "$T/gc")"
    [ "$(field lists_waiting_for_grace)" -ge 1 ] && break
    sleep 0.5
done
[ "$(field lists_waiting_for_grace)" -ge 1 ] || die "the killed writer's lease never expired: $(cat "$T/gc")"
[ "$(packs)" = $((good + killed)) ] || die "packs went before the grace period"

gc --grace 0s   # the grace period has passed
[ "$(field files_removed)" = "$killed" ] || die "gc deleted $(field files_removed) packs, expected $killed: $(cat "$T/gc")"
[ "$(packs)" = "$good" ] || die "$(packs) packs left, expected $good"
zadp-repo check --read-data > "$T/check" || die "check --read-data: $(cat "$T/check")"
restores_to "$T/good.img" vm1/2026-11-27T020000Z/disk0
echo "ok: a killed backup's packs are condemned, and deleted only after the grace period and its lease"
