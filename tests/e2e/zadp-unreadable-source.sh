#!/bin/bash
# Missing, unreadable and unsuitable sources fail zadp-read with distinct exit codes and no output file.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

mkimg "$T/src.img"
mkdir "$T/out"
expect_exit 4 zadp-read --source "$T/missing.img" -o "$T/out/a.zs"
expect_exit 2 zadp-read --source "$T" -o "$T/out/a.zs"
expect_exit 2 zadp-read --source "http://example.invalid/x" -o "$T/out/a.zs"
if [ "$(id -u)" -eq 0 ]; then
    chmod 711 "$T"; chmod 600 "$T/src.img"; chmod 777 "$T/out"
    rc=0
    setpriv --reuid=65534 --regid=65534 --clear-groups -- "$(command -v zadp-read)" --source "$T/src.img" -o "$T/out/a.zs" 2> "$T/err" || rc=$?
else
    chmod 000 "$T/src.img"
    rc=0
    zadp-read --source "$T/src.img" -o "$T/out/a.zs" 2> "$T/err" || rc=$?
fi
[ "$rc" -eq 7 ] || die "unreadable source: expected exit 7, got $rc"
grep -q "Permission denied" "$T/err" || die "message: $(cat "$T/err")"
[ -z "$(ls -A "$T/out")" ] || die "output left behind: $(ls -A "$T/out")"
echo ok
