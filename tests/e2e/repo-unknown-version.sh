#!/bin/bash
# A repository of an unknown format version is refused by version (exit 6)
# by every reader and writer, and left unchanged.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

zadp-repo init >/dev/null
store_new "$T/a.img" 100000 web01/2026-11-28T020000Z/disk0
jq -c '.version = 3' "$ZADP_REPO/config" > "$T/config" && cp "$T/config" "$ZADP_REPO/config"
find "$ZADP_REPO" -type f | sort | xargs md5sum > "$T/before"
for cmd in "zadp-repo ls" "zadp-repo check" "zadp-repo gc" "zadp-read --source repo:web01/2026-11-28T020000Z/disk0"; do
    rc=0; $cmd > /dev/null 2> "$T/err" || rc=$?
    [ $rc = 6 ] || die "$cmd: exit $rc, expected 6"
    grep -q "format version 3; this zadp-repo reads versions 1 to 2 only" "$T/err" || die "$cmd: $(cat "$T/err")"
done
rc=0; zadp-read --source "$T/a.img" | zadp-write --target repo:web01/2026-11-29T020000Z/disk0 2>/dev/null || rc=$?
[ $rc = 6 ] || die "store: exit $rc, expected 6"
find "$ZADP_REPO" -type f | sort | xargs md5sum | cmp - "$T/before" || die "the repository changed"
echo "ok: an unknown format version is refused"
