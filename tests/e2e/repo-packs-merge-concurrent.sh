#!/bin/bash
# Many stores at once into a repository of format version 2: each writes its
# own packs and tables, and those that find more than 32 unmerged tables
# merge them into the locator while others read and write. Every image then
# restores byte-exact, stores of the same data add nothing, check
# --read-data is clean, and gc folds the small packs together without
# losing a chunk.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

zadp-repo init --chunk-size 64K >/dev/null
n=48
for i in $(seq $n); do randimg "$T/img$i" $((200000 + i * 4096)); done
seq $n | xargs -P 8 -I{} sh -c 'zadp-read --source "$1/img$2" | zadp-write --target "repo:vm$2/2026-11-28T020000Z/disk0" > /dev/null' sh "$T" {} ||
    die "a concurrent store failed"

[ -f "$ZADP_REPO/packs/locator" ] || die "no store merged the tables into a locator"
tables=$(find "$ZADP_REPO/packs/unmerged" -name '*.table' | wc -l)
[ "$tables" -le 40 ] || die "$tables unmerged tables left; stores should have merged them"
[ "$(find "$ZADP_REPO/packs" -name '*.pack' | wc -l)" = $n ] || die "expected one pack per store"
for i in $(seq $n); do restores_to "$T/img$i" "vm$i/2026-11-28T020000Z/disk0"; done

store "$T/img7" vm7/2026-11-29T020000Z/disk0
[ "$(last new_chunks)" = 0 ] || die "a second store of img7 added $(last new_chunks) chunks"
zadp-repo check --read-data > "$T/check" || die "check --read-data: $(grep -v '"ok":true' "$T/check")"

zadp-repo gc > "$T/gc"
jq -e '.chunks_removed == 0 and .missing_chunks == 0 and .files_rewritten == '$n "$T/gc" >/dev/null ||
    die "gc: $(cat "$T/gc")"
[ "$(find "$ZADP_REPO/packs" -name '*.pack' | wc -l)" = 1 ] || die "gc did not combine the small packs into one"
[ -z "$(ls -A "$ZADP_REPO/packs/unmerged")" ] || die "gc left unmerged tables"
for i in $(seq $n); do restores_to "$T/img$i" "vm$i/2026-11-28T020000Z/disk0"; done
zadp-repo check --read-data > /dev/null || die "check --read-data after gc"
echo "ok: $n concurrent stores merge into the locator; gc combines their packs"
