#!/bin/bash
# Issue 17's third reproduction: one flipped byte in a locator entry's id or
# length. check --read-data used to set the healthy object aside (and gc
# then dropped it). Now check reports a locator defect (exit 6), sets
# nothing aside, reads go on from the pack's own table, and gc or repair
# rebuilds the locator.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

entries=$((32 + 65536 * 4))   # the locator's header and fan-out (zadp-repo(5))
for within in 3 44; do        # in the id, in the length
    rm -rf "$ZADP_REPO"
    zadp-repo init --chunk-size 64K >/dev/null
    store_new "$T/a.img" 4194304 web01/2026-11-28T020000Z/disk0
    zadp-repo gc > /dev/null
    python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[int(sys.argv[2])]^=0x10; open(p,"wb").write(b)' \
        "$ZADP_REPO/packs/locator" $((entries + 48 * 7 + within))

    rc=0; zadp-repo check --read-data > "$T/check" 2>/dev/null || rc=$?
    [ $rc = 6 ] || die "check with a flipped locator entry ($within): exit $rc, expected 6"
    has_line "$T/check" '.locator_defect == true' || die "no locator defect reported: $(cat "$T/check")"
    has_line "$T/check" '.moved_to' && die "check set a healthy chunk aside: $(cat "$T/check")"
    [ ! -s "$ZADP_REPO/packs/damaged" ] || die "packs/damaged lists: $(cat "$ZADP_REPO/packs/damaged")"
    if [ $within = 44 ]; then restores_to "$T/a.img" web01/2026-11-28T020000Z/disk0; fi
    if [ $within = 3 ]; then
        zadp-repo repair > "$T/repair" || die "repair: $(cat "$T/repair")"
    else
        zadp-repo gc > "$T/gc" || die "gc: $(cat "$T/gc")"
        jq -e '.chunks_removed == 0 and .chunks_kept == 64' "$T/gc" >/dev/null || die "gc: $(cat "$T/gc")"
    fi
    zadp-repo check --read-data > /dev/null || die "check after the rebuild"
    restores_to "$T/a.img" web01/2026-11-28T020000Z/disk0
done
echo "ok: a flipped locator entry costs no chunk"
