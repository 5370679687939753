#!/bin/bash
# zadp-read refuses to write binary data to a terminal.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

command -v script >/dev/null || skip "script(1) not installed"
mkimg "$T/src.img"
rc=0
script -qec "zadp-read --source '$T/src.img'" /dev/null > "$T/tty.out" 2>&1 < /dev/null || rc=$?
[ "$rc" -eq 2 ] || die "expected exit 2 on a terminal, got $rc"
grep -q "terminal" "$T/tty.out" || die "no clear message: $(cat "$T/tty.out")"
echo ok
