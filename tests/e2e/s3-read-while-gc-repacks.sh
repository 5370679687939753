#!/bin/bash
# A restore from S3 runs while gc repacks under it (zadp-repo(5), "Object
# storage"): the image R read back uses chunks of three packs: its own;
# the one gc copied A's live chunks into (A removed, its half-dead pack
# condemned) before the read began; and D's, which becomes half dead while
# the read runs. During the read gc --grace 0s deletes A's old pack (every
# lease older than the list that condemned it has ended) and rewrites D's,
# condemning it; a second gc then keeps D's pack, since the read's lease is
# older than the list that condemned it. The restore is paced by a FIFO
# that this script drains: it holds all but its first MiB until the gcs are
# done. It stays byte-exact; once it ended, gc deletes D's pack,
# check --read-data is clean and R restores byte-exact every way.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/s3.sh"
require_tools zadp-repo
MiB=1048576

zadp-repo init --chunk-size 64K >/dev/null
for part in a1 a2 d1 d2 r1; do randimg "$T/$part" $((4 * MiB)); done
randimg "$T/r0" $((8 * MiB))
cat "$T/a1" "$T/a2" > "$T/A.img"
cat "$T/d1" "$T/d2" > "$T/D.img"
cat "$T/r0" "$T/a1" "$T/d1" "$T/r1" > "$T/R.img"   # A's and D's first halves, at the end
store "$T/A.img" vm1/2026-12-01T020000Z/disk0      # pack PA: a1 a2
store "$T/D.img" vm1/2026-12-02T020000Z/disk0      # pack PD: d1 d2
store "$T/R.img" vm1/2026-12-03T020000Z/disk0      # r0 r1; a1 and d1 from PA and PD

gc() { zadp-repo gc "$@" > "$T/gc" 2> "$T/gc.err" || die "gc $*: $(cat "$T/gc" "$T/gc.err")"; }
field() { jq -r ".$1" "$T/gc"; }
gc   # a locator generation covers the packs: the next gc judges them
[ "$(field packs_condemned)" = 0 ] || die "gc condemned packs of live images: $(cat "$T/gc")"
zadp-repo rm vm1/2026-12-01T020000Z >/dev/null
gc --grace 0s   # PA is half dead: a1 is copied into a new pack, PA condemned
[ "$(field packs_condemned)" = 1 ] || die "gc did not rewrite the half-dead pack: $(cat "$T/gc")"
[ "$(field files_removed)" = 0 ] || die "gc deleted at once: $(cat "$T/gc")"

# The restore: its first MiB read, the rest held in the FIFO.
mkfifo "$T/fifo"
zadp-read --source repo:vm1/2026-12-03T020000Z/disk0 --format raw > "$T/fifo" 2> "$T/read.err" &
reader=$!
on_exit "kill $reader 2>/dev/null"
exec 4< "$T/fifo"
dd bs=64K count=16 iflag=fullblock <&4 > "$T/restored" 2>/dev/null
[ "$(stat -c %s "$T/restored")" = $MiB ] || die "the restore did not start: $(cat "$T/read.err")"
keys=$(s3_keys)   # captured first: grep -q would end a pipe's writer early
grep -q '^locks/lock/s-' <<< "$keys" || die "the restore holds no lease: $keys"

# While it runs: D goes, so PD is half dead.
zadp-repo rm vm1/2026-12-02T020000Z >/dev/null
gc --grace 0s
[ "$(field packs_condemned)" = 1 ] || die "gc beside the read did not rewrite PD: $(cat "$T/gc")"
[ "$(field files_removed)" = 1 ] || die "gc beside the read did not delete PA, condemned before it: $(cat "$T/gc")"
gc --grace 0s   # PD's list is younger than the read's lease: PD stays
[ "$(field files_removed)" = 0 ] || die "gc deleted a pack the running read may use: $(cat "$T/gc")"
[ "$(field lists_waiting_for_leases)" -ge 1 ] || die "no list waits for the read's lease: $(cat "$T/gc")"
kill -0 $reader 2>/dev/null || die "the restore ended before gc ran beside it"

cat <&4 >> "$T/restored"
exec 4<&-
wait $reader || die "the restore beside gc failed: $(cat "$T/read.err")"
cmp "$T/R.img" "$T/restored" || die "the restore beside gc is not byte-exact"
keys=$(s3_keys)
! grep '^locks/' <<< "$keys" || die "a lease outlived the restore"

gc --grace 0s   # the read ended: PD goes
[ "$(field files_removed)" = 1 ] || die "gc did not delete PD once the read ended: $(cat "$T/gc")"
zadp-repo check --read-data > "$T/check" || die "check --read-data: $(cat "$T/check")"
restores_to "$T/R.img" vm1/2026-12-03T020000Z/disk0
echo "ok: a restore stayed byte-exact while gc deleted one repacked pack and rewrote another under it"
