#!/bin/bash
# Issue 17's first reproduction: with the locator removed, gc used to read
# it as empty and delete every pack as an orphan. The locator is a cache of
# the packs' own tables: reads go on from the tables, gc rebuilds it and
# removes nothing that an image uses.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

zadp-repo init --chunk-size 64K >/dev/null
store_new "$T/a.img" 4194304 web01/2026-11-28T020000Z/disk0
zadp-repo gc > /dev/null
[ -f "$ZADP_REPO/packs/locator" ] || die "gc built no locator"
before=$(pack_entries | sort)
rm "$ZADP_REPO/packs/locator"

restores_to "$T/a.img" web01/2026-11-28T020000Z/disk0
zadp-repo gc > "$T/gc" || die "gc without a locator: $(cat "$T/gc")"
jq -e '.gc == "done" and .chunks_removed == 0 and .missing_chunks == 0 and .chunks_kept == 64
       and .locator_rebuilt' "$T/gc" >/dev/null || die "gc: $(cat "$T/gc")"
[ "$(pack_entries | sort)" = "$before" ] || die "gc changed the packs"
[ -f "$ZADP_REPO/packs/locator" ] || die "gc did not rebuild the locator"
restores_to "$T/a.img" web01/2026-11-28T020000Z/disk0
zadp-repo check --read-data > /dev/null || die "check after gc"
echo "ok: a lost locator is rebuilt, no pack is lost"
