#!/bin/bash
# kill -9 in the middle of a store: no index under the final name (ls and
# reads do not see it), the earlier backup stays intact, and gc reclaims the
# orphaned chunks and the temporary index.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

zadp-repo init --chunk-size 64K >/dev/null
store_new "$T/day1.img" $((2 << 20)) web01/2026-11-27T020000Z/disk0
randimg "$T/day2.img" $((24 << 20))
zadp-read --source "$T/day2.img" > "$T/day2.zs"
chunks_before=$(chunk_count)

mkfifo "$T/fifo"
zadp-write --target repo:web01/2026-11-28T020000Z/disk0 < "$T/fifo" > /dev/null 2> "$T/writer.err" &
writer=$!
# Half the stream, then the feeder waits: the store is in the middle.
( head -c $((20 << 20)) "$T/day2.zs"; exec sleep 600 ) > "$T/fifo" &   # past the first 16 MiB pack
feeder=$!
on_exit "kill $feeder 2>/dev/null"
# The store's temporaries: .tmp.NAME.<random hex> beside NAME.
temp_pack_bytes() { find "$ZADP_REPO/packs" -name '.tmp.*.pack.*' -printf '%s\n' 2>/dev/null | awk '{ n += $1 } END { print n + 0 }'; }
finished_packs() { find "$ZADP_REPO/packs" -name '*.pack' ! -name '.*' 2>/dev/null | wc -l; }
# Until the store has finished a pack (day 1's is the other one) and written
# more than 1 MiB into the next: polled cheaply (no parse of every pack) and
# bounded by a generous time, not a count of polls, so that a slow store on a
# loaded machine is waited for.
deadline=$((SECONDS + 300))
until [ "$(finished_packs)" -ge 2 ] && [ "$(temp_pack_bytes)" -gt $((1 << 20)) ]; do
    [ $SECONDS -lt $deadline ] && kill -0 $writer 2>/dev/null || break
    sleep 0.1
done
# Had it ended by itself, kill -9 would fail the script with a bare "No
# such process" and its error would be lost: say so, with that error.
kill -0 $writer 2>/dev/null || { cat "$T/writer.err" >&2; die "zadp-write ended before it was killed"; }
[ "$(chunk_count)" -gt $((chunks_before + 200)) ] || die "the store did not finish a pack"
[ "$(temp_pack_bytes)" -gt $((1 << 20)) ] || die "the store did not start its second pack"
kill -9 $writer
wait $writer 2>/dev/null || true
kill $feeder 2>/dev/null || true

[ ! -e "$ZADP_REPO/backups/web01/2026-11-28T020000Z/disk0.fidx" ] || die "an index appeared under the final name"
ls -A "$ZADP_REPO/backups/web01/2026-11-28T020000Z" | grep -q '^\.tmp\.disk0\.fidx\.' || die "expected a temporary index left by kill -9"
[ "$(zadp-repo ls | jq -r .name)" = web01/2026-11-27T020000Z/disk0 ] || die "ls: $(zadp-repo ls)"
expect_exit 4 zadp-read --source repo:web01/2026-11-28T020000Z/disk0
restores_to "$T/day1.img" web01/2026-11-27T020000Z/disk0

zadp-repo gc > "$T/gc"
jq -e '.chunks_removed > 200 and .temporaries_removed >= 1' "$T/gc" >/dev/null || die "gc: $(cat "$T/gc")"
[ "$(chunk_count)" = "$chunks_before" ] || die "$(chunk_count) chunks after gc, expected $chunks_before"
[ ! -e "$ZADP_REPO/backups/web01/2026-11-28T020000Z" ] || die "gc left the empty backup directory"
zadp-repo check --read-data > /dev/null || die "check after gc"
restores_to "$T/day1.img" web01/2026-11-27T020000Z/disk0
# The interrupted backup can simply be stored again.
zadp-write --target repo:web01/2026-11-28T020000Z/disk0 < "$T/day2.zs" > /dev/null
restores_to "$T/day2.img" web01/2026-11-28T020000Z/disk0
echo "ok: kill -9 mid-store leaves no index and gc reclaims the rest"
