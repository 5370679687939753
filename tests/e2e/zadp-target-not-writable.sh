#!/bin/bash
# A target zadp-write may not write fails with exit 7 and nothing is created.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

mkimg "$T/src.img"
zadp-read --source "$T/src.img" > "$T/s.zs"
mkdir "$T/ro"
if [ "$(id -u)" -eq 0 ]; then
    # root ignores permission bits: run as nobody instead
    command -v setpriv >/dev/null || skip "setpriv not installed"
    chmod 755 "$T"; chmod 755 "$T/ro"; touch "$T/ro/existing.img"
    as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
else
    chmod 555 "$T/ro"; touch "$T/ro/existing.img" 2>/dev/null || true; chmod 444 "$T/ro/existing.img" 2>/dev/null || true
    as_user() { "$@"; }
fi
rc=0
as_user "$(command -v zadp-write)" --target "$T/ro/new.img" < "$T/s.zs" 2> "$T/err" || rc=$?
[ "$rc" -eq 7 ] || die "new file in read-only dir: expected exit 7, got $rc ($(cat "$T/err"))"
grep -q "Permission denied" "$T/err" || die "message: $(cat "$T/err")"
[ ! -e "$T/ro/new.img" ] || die "target created"
[ "$(ls -A "$T/ro")" = "existing.img" ] || die "leftovers: $(ls -A "$T/ro")"
rc=0
as_user "$(command -v zadp-write)" --target "$T/ro/existing.img" < "$T/s.zs" 2> "$T/err" || rc=$?
[ "$rc" -eq 7 ] || die "read-only existing file: expected exit 7, got $rc"
echo ok
