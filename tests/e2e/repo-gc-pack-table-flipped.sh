#!/bin/bash
# Issue 17's second reproduction: one flipped byte in a pack's own table (its
# tail magic, its length, the sealed table). Reads go on through the
# locator and check names the pack; gc used to leave the pack out of the locator it rebuilt and
# delete it on the next run. Now gc finds the objects by scanning the pack,
# keeps it and refuses (exit 6) naming it, twice; repair rewrites it; every
# image still restores.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

flip() { python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)-int(sys.argv[2])]^=0x10; open(p,"wb").write(b)' "$1" "$2"; }

for from_end in 1 12 40; do
    rm -rf "$ZADP_REPO"
    zadp-repo init --chunk-size 64K >/dev/null
    store_new "$T/a.img" 4194304 web01/2026-11-28T020000Z/disk0
    store "$T/a.img" web01/2026-11-29T020000Z/disk0
    store "$T/a.img" db01/2026-11-29T020000Z/disk0
    zadp-repo gc > /dev/null
    pack=$(find "$ZADP_REPO/packs" -name '*.pack' -not -path '*/lost+found/*')
    [ "$(echo "$pack" | wc -l)" = 1 ] || die "expected one pack: $pack"
    flip "$pack" $from_end

    for name in web01/2026-11-28T020000Z/disk0 web01/2026-11-29T020000Z/disk0 db01/2026-11-29T020000Z/disk0; do
        restores_to "$T/a.img" $name
    done
    rc=0; zadp-repo check > "$T/check" 2>/dev/null || rc=$?
    [ $rc = 6 ] || die "check with a damaged pack table: exit $rc, expected 6"
    has_line "$T/check" ".pack and (.pack | endswith(\"$(basename "$pack")\")) and .ok == false" ||
        die "check does not name the pack: $(cat "$T/check")"
    for run in 1 2; do
        rc=0; zadp-repo gc > "$T/gc" 2> "$T/err" || rc=$?
        [ $rc = 6 ] || die "gc $run with a damaged pack table ($from_end from the end): exit $rc, expected 6"
        jq -e '.gc == "refused" and .damaged_packs == 1 and .missing_chunks == 0 and .files_removed == 0' "$T/gc" \
            >/dev/null || die "gc $run: $(cat "$T/gc")"
        grep -q "$(basename "$pack")" "$T/err" || die "gc does not name the pack: $(cat "$T/err")"
        [ -f "$pack" ] || die "gc $run removed the damaged pack"
        restores_to "$T/a.img" db01/2026-11-29T020000Z/disk0
    done
    zadp-repo repair > "$T/repair" || die "repair: $(cat "$T/repair")"
    jq -se '.[-1] | .packs_rewritten == 1 and .objects_recovered == 64 and .unrecoverable_images == 0' "$T/repair" \
        >/dev/null || die "repair: $(cat "$T/repair")"
    [ -f "$ZADP_REPO/packs/lost+found/$(basename "$pack")" ] || die "the damaged pack was not kept in lost+found"
    zadp-repo repair > "$T/repair2" || die "second repair: $(cat "$T/repair2")"
    jq -se '.[-1] | .packs_rewritten == 0 and .damaged_packs == 0' "$T/repair2" >/dev/null || die "repair is not idempotent: $(cat "$T/repair2")"
    zadp-repo gc > "$T/gc" || die "gc after repair: $(cat "$T/gc")"
    zadp-repo check --read-data > /dev/null || die "check after repair"
    for name in web01/2026-11-28T020000Z/disk0 web01/2026-11-29T020000Z/disk0 db01/2026-11-29T020000Z/disk0; do
        restores_to "$T/a.img" $name
    done
done
echo "ok: a damaged pack table loses nothing"
