#!/bin/bash
# Progress goes to stderr only when asked (or on a terminal), and never into the data.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

mkimg "$T/src.img"
zadp-read --source "$T/src.img" > "$T/a.zs" 2> "$T/quiet.err"
[ ! -s "$T/quiet.err" ] || die "progress shown without a terminal: $(cat "$T/quiet.err")"
zadp-read --source "$T/src.img" --progress > "$T/b.zs" 2> "$T/loud.err"
grep -q "8.0 MiB / 8.0 MiB 100%" "$T/loud.err" || die "no final progress line: $(cat -v "$T/loud.err")"
zadp-write --target "$T/out.img" --progress < "$T/b.zs" 2> "$T/w.err"
grep -q "100%" "$T/w.err" || die "zadp-write --progress: $(cat -v "$T/w.err")"
cmp "$T/src.img" "$T/out.img" || die "restore differs"
zadp-read --source "$T/src.img" --no-progress > /dev/null 2> "$T/no.err"
[ ! -s "$T/no.err" ] || die "--no-progress printed something"
expect_exit 2 zadp-read --source "$T/src.img" --progress --no-progress
echo ok
