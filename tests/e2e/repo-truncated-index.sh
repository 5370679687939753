#!/bin/bash
# A truncated index: reading the image is exit 6 naming it, ls and check
# flag it, gc refuses to sweep (it cannot know which chunks the image needs)
# and the other backups stay intact.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

zadp-repo init --chunk-size 64K >/dev/null
store_new "$T/a.img" 700000 web01/2026-11-27T020000Z/disk0
store_new "$T/b.img" 500000 web01/2026-11-28T020000Z/disk0
idx="$ZADP_REPO/backups/web01/2026-11-28T020000Z/disk0.fidx"
truncate -s $(( $(stat -c %s "$idx") - 10 )) "$idx"

expect_fail 6 zadp-read --source repo:web01/2026-11-28T020000Z/disk0
grep -q 'repo:web01/2026-11-28T020000Z/disk0: the image index is damaged: truncated' "$T/err" || die "message: $(cat "$T/err")"
rc=0; zadp-repo ls > "$T/ls" 2>/dev/null || rc=$?
[ $rc = 6 ] || die "ls: exit $rc"
has_line "$T/ls" '.name == "web01/2026-11-28T020000Z/disk0" and .error' || die "ls: $(cat "$T/ls")"
rc=0; zadp-repo check > "$T/check" 2>/dev/null || rc=$?
[ $rc = 6 ] || die "check: exit $rc"
before=$(chunk_count)
rc=0; zadp-repo gc > /dev/null 2> "$T/err" || rc=$?
[ $rc = 6 ] || die "gc with a damaged index: exit $rc, expected 6"
[ "$(chunk_count)" = "$before" ] || die "gc removed chunks while an index was unreadable"
restores_to "$T/a.img" web01/2026-11-27T020000Z/disk0
echo "ok: a truncated index is found and gc stays away"
