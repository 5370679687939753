#!/bin/bash
# Leases on S3 (zadp-repo(5) "Object storage"), with a TTL of 6 s of the
# server's clock: an exclusive operation (sweep) is refused while a reader
# holds its lease, also after the TTL (the reader refreshes it); a holder
# killed with SIGKILL leaves its lease, which the next taker finds expired
# and removes; a writer stopped past its TTL while another process took the
# exclusive lease never commits (exit 7).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/s3.sh"
export ZADP_REPO_LEASE_TTL=6

zadp-repo init --chunk-size 64K >/dev/null
store_new "$T/a.img" 2000000 vm1/2026-11-27T020000Z/disk0

# wait_for_lease KIND: until a lease of KIND (s or x) exists
wait_for_lease() {
    for _ in $(seq 100); do s3_keys | grep -q "^locks/lock/$1-" && return; sleep 0.2; done
    die "no $1 lease appeared"
}
# sweep_state: what zadp-repo sweep did ("skipped" while the lock is held)
sweep_state() { zadp-repo sweep | jq -r 'select(.sweep) | .sweep' | head -1; }

# A reader that holds its shared lease: its output is a FIFO nobody reads.
mkfifo "$T/fifo"
zadp-read --source repo:vm1/2026-11-27T020000Z/disk0 --format raw > "$T/fifo" 2>/dev/null &
reader=$!
exec 3< "$T/fifo"
wait_for_lease s
taken=$(s3_lease_time lock s)
[ -n "$taken" ] || die "the reader's lease has no time"
[ "$(sweep_state)" = skipped ] || die "sweep ran beside a reader"
# Past the TTL by the store's clock: only the reader's refreshes keep its
# lease alive now.
s3_wait_until $((taken + ZADP_REPO_LEASE_TTL))
[ "$(sweep_state)" = skipped ] || die "sweep ran beside a reader after the TTL: the lease was not refreshed"
kill -9 $reader; wait $reader 2>/dev/null || true
exec 3<&-
s3_keys | grep -q '^locks/lock/s-' || die "a killed reader's lease should stay until it expires"
# Once the store's clock is past its last refresh plus the TTL, the lease is
# dead by definition: the next sweep takes the lock and removes it.
last_refresh=$(s3_lease_time lock s)
s3_wait_until $((last_refresh + ZADP_REPO_LEASE_TTL))
state=$(sweep_state)
[ "$state" != skipped ] || die "the killed reader's lease did not expire: the store's clock is $(s3_server_now), its last refresh $last_refresh"
! s3_keys | grep -q '^locks/' || die "the expired lease was not removed: $(s3_keys | grep ^locks/)"

# A writer stopped (a stalled host) past its TTL: sweep takes the lock
# exclusively once the lease expired (gc no longer needs it: it runs beside
# writers), and the writer, continued, does not commit.
zadp-read --source "$T/a.img" > "$T/stream"
size=$(stat -c %s "$T/stream")
zadp-write --target repo:vm1/2026-11-28T020000Z/disk0 < "$T/fifo" > "$T/w.out" 2> "$T/w.err" &
writer=$!
exec 4> "$T/fifo"
head -c $((size - 100)) "$T/stream" >&4
wait_for_lease s
kill -STOP $writer
state=
for _ in $(seq 60); do state=$(sweep_state); [ "$state" = skipped ] || break; sleep 0.5; done
[ "$state" != skipped ] || die "the stopped writer's lease never expired"
kill -CONT $writer
tail -c 100 "$T/stream" >&4
exec 4>&-
rc=0; wait $writer || rc=$?
[ $rc = 7 ] || die "the writer whose lease expired: exit $rc, expected 7: $(cat "$T/w.err")"
grep -q "lost the repository lock" "$T/w.err" || die "writer: $(cat "$T/w.err")"
! zadp-repo ls | grep -q 2026-11-28T020000Z || die "the writer whose lease expired committed"
restores_to "$T/a.img" vm1/2026-11-27T020000Z/disk0
echo "ok: leases on S3 are refreshed, expire, and a writer that lost its lease commits nothing"
