#!/bin/bash
# examples/Makefile with BINDIR and the tools not in PATH (GNU Make 4.3's
# $(shell) does not see an exported PATH) lists the VMs; a BINDIR without the
# tools says "command not found", not something about credentials.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
bindir=$(dirname "$(command -v hci-vm-get)")
start_sim --no-tgtd
unset MAKEFLAGS MFLAGS MAKELEVEL
mk() { env PATH=/usr/local/bin:/usr/bin:/bin make -f "$HCI_SOURCE_DIR/examples/Makefile" "$@"; }

out=$(mk list BINDIR="$bindir" 2>"$T/err") || die "make list with BINDIR failed: $(cat "$T/err")"
[ "$(cut -f2 <<<"$out" | tr -d '"' | sort -u | tr '\n' ' ')" = "db01 dup web01 " ] || die "unexpected VM list: $out"

rc=0
mk list BINDIR="$T/nothing" >/dev/null 2>"$T/err" || rc=$?
[ "$rc" -ne 0 ] || die "make succeeded without the tools"
grep -q "hci-vm-get: command not found" "$T/err" || die "no 'command not found': $(cat "$T/err")"
grep -qi "credentials" "$T/err" && die "blames the credentials: $(cat "$T/err")"
echo ok
