#!/bin/bash
# prune keeps what the GFS options say per group (dry run first, removing
# nothing), gc then frees the chunks only removed backups used, and every
# kept backup restores byte-exact.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

zadp-repo init --chunk-size 64K >/dev/null
randimg "$T/disk.img" $((1 << 20))
for day in 01 02 03 04 05 06 07 08 09 10; do
    dd if=/dev/urandom of="$T/disk.img" bs=64K count=1 seek=$((10#$day)) conv=notrunc status=none
    cp "$T/disk.img" "$T/day$day.img"
    store "$T/disk.img" "web01/2026-11-${day}T020000Z/disk0"
done
store "$T/day10.img" db01/2026-11-01T020000Z/disk0

expect_exit 2 zadp-repo prune
zadp-repo prune --keep-last 2 --keep-weekly 2 --dry-run > "$T/dry"
[ "$(zadp-repo ls | wc -l)" = 11 ] || die "dry run removed something"
zadp-repo prune web01 --keep-last 2 --keep-weekly 2 > "$T/prune"
# 2026-11-10 (Tue) and 11-09 (Mon) by keep-last; keep-weekly: 11-10 (its
# week) and 11-08 (Sun, the newest of the week before).
kept=$(jq -r 'select(.action == "keep") | .backup' "$T/prune" | sort | tr '\n' ' ')
[ "$kept" = "web01/2026-11-08T020000Z web01/2026-11-09T020000Z web01/2026-11-10T020000Z " ] || die "kept: $kept"
[ "$(jq -r 'select(.action == "removed") | .backup' "$T/prune" | wc -l)" = 7 ] || die "prune: $(cat "$T/prune")"
cmp <(jq -c 'del(.action)' "$T/dry" | grep web01) <(jq -c 'del(.action)' "$T/prune") || die "dry run and prune disagree"
[ "$(zadp-repo ls | wc -l)" = 4 ] || die "ls after prune: $(zadp-repo ls | jq -r .name)"

before=$(chunk_count)
zadp-repo gc > "$T/gc"
# Only days 1-7 held the original contents of chunks 2-8 (each day
# overwrites chunk DAY before its backup): 7 chunks are garbage.
jq -e '.chunks_removed == 7' "$T/gc" >/dev/null || die "gc: $(cat "$T/gc")"
[ "$(chunk_count)" = $((before - 7)) ] || die "chunk files: $(chunk_count)"
for day in 08 09 10; do restores_to "$T/day$day.img" "web01/2026-11-${day}T020000Z/disk0"; done
restores_to "$T/day10.img" db01/2026-11-01T020000Z/disk0
zadp-repo check --read-data > /dev/null || die "check after prune and gc"
echo "ok: prune keeps GFS and gc frees the rest"
