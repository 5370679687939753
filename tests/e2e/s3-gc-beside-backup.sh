#!/bin/bash
# gc on S3 runs beside a backup and never waits for it (zadp-repo(5),
# "Object storage"): condemn, then delete. A backup that reused chunks of a
# pack before gc condemned it keeps the pack alive until its lease ended; a
# backup that starts after the condemned list stores those chunks again; the
# next gc then deletes the condemned pack, and every image reads byte-exact.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/s3.sh"

zadp-repo init --chunk-size 64K >/dev/null
store_new "$T/a.img" 8388608 vm1/2026-11-27T020000Z/disk0
zadp-repo gc > "$T/gc0" || die "gc: $(cat "$T/gc0")"
[ "$(jq -r .concurrent "$T/gc0")" = true ] || die "gc on S3 did not run beside stores: $(cat "$T/gc0")"
zadp-repo rm vm1/2026-11-27T020000Z > /dev/null

# A backup of the same image, held open before its last bytes, holding its
# lease: it has read all but 100 bytes of 8 MiB, and keeps at most 32 chunks (2 MiB)
# in flight, so it has looked chunks up, and loaded its view of the packs,
# before gc runs.
wait_for_lease() {
    local keys
    while :; do
        keys=$(s3_keys)
        grep -q "^locks/lock/s-" <<<"$keys" && return
        kill -0 $writer 2>/dev/null || die "the writer ended before its lease appeared: $(cat "$T/w.err")"
        sleep 0.2
    done
}
zadp-read --source "$T/a.img" > "$T/stream"
size=$(stat -c %s "$T/stream")
mkfifo "$T/fifo"
zadp-write --target repo:vm1/2026-11-28T020000Z/disk0 < "$T/fifo" > "$T/w.out" 2> "$T/w.err" &
writer=$!
exec 4> "$T/fifo"
head -c $((size - 100)) "$T/stream" >&4
wait_for_lease

# gc beside it: done without waiting (a gc that waited would hang here).
timeout 300 zadp-repo gc --grace 0s > "$T/gc1" 2> "$T/gc1.err" || die "gc beside a backup: $(cat "$T/gc1" "$T/gc1.err")"
! grep -q "waiting for the lease" "$T/gc1.err" || die "gc waited for the backup: $(cat "$T/gc1.err")"
[ "$(jq -r .packs_condemned "$T/gc1")" -ge 1 ] || die "gc condemned nothing: $(cat "$T/gc1")"
[ "$(jq -r .files_removed "$T/gc1")" = 0 ] || die "gc deleted at once: $(cat "$T/gc1")"
s3_keys | grep -q "^packs/condemned/" || die "no condemned list: $(s3_keys)"

tail -c 100 "$T/stream" >&4
exec 4>&-
wait $writer || die "the backup beside gc failed: $(cat "$T/w.err")"
[ "$(jq -r .new_chunks "$T/w.out")" = 0 ] || die "the backup that started first reused nothing: $(cat "$T/w.out")"

# A backup after the list: the chunks live only in a condemned pack, so it
# stores them again.
store "$T/a.img" vm1/2026-11-29T020000Z/disk0
[ "$(last new_chunks)" = 128 ] || die "the backup after the list stored $(last new_chunks) chunks, expected 128"

# Every lease older than the list has ended: the condemned pack goes, its
# chunks being in the new backup's pack.
zadp-repo gc --grace 0s > "$T/gc2" || die "gc: $(cat "$T/gc2")"
[ "$(jq -r .files_removed "$T/gc2")" -ge 1 ] || die "the condemned pack was not deleted: $(cat "$T/gc2")"
zadp-repo check --read-data > "$T/check" || die "check --read-data after gc: $(cat "$T/check")"
restores_to "$T/a.img" vm1/2026-11-28T020000Z/disk0
restores_to "$T/a.img" vm1/2026-11-29T020000Z/disk0
! s3_keys | grep -q "^packs/locator$" || die "a store merged into packs/locator: $(s3_keys)"
echo "ok: gc on S3 runs beside a backup, condemns, and deletes only what no backup can name"
