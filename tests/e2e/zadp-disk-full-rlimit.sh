#!/bin/bash
# A file size limit (RLIMIT_FSIZE) fails zadp-write with exit 7 and removes the temporary file.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

mkimg "$T/src.img"
zadp-read --source "$T/src.img" > "$T/s.zs"
mkdir "$T/out"
rc=0
( ulimit -f 2048; zadp-write --target "$T/out/x.img" < "$T/s.zs" ) 2> "$T/err" || rc=$?
[ "$rc" -eq 7 ] || die "expected exit 7, got $rc"
grep -q "File too large" "$T/err" || die "message: $(cat "$T/err")"
[ -z "$(ls -A "$T/out")" ] || die "leftovers: $(ls -A "$T/out")"
# raw input: the file grows as written and hits the limit part way
rc=0
( ulimit -f 2048; zadp-read --source "$T/src.img" --format raw | zadp-write --format raw --target "$T/out/y.img" ) 2> "$T/err" || rc=$?
[ "$rc" -eq 7 ] || die "raw: expected exit 7, got $rc"
[ -z "$(ls -A "$T/out")" ] || die "raw leftovers: $(ls -A "$T/out")"
echo ok
