#!/bin/bash
# Input files written with CRLF line endings (an editor on Windows, a web
# form) are read like LF files: the carriage return before the newline is a
# blank, as it is for jq. A carriage return inside the content is still a
# control character and is reported (fuzz/json-lines found the first case).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd

printf 'web01\r\n{"name":"db01"}\r\n' > "$T/names"
hci-vm-get < "$T/names" > "$T/out" 2> "$T/err" || die "CRLF names refused: $(cat "$T/err")"
[ "$(jq -r .name "$T/out" | sort | tr '\n' ' ')" = "db01 web01 " ] || die "wrong VMs: $(jq -r .name "$T/out")"

# The JSON lines one tool prints, with CRLF, are taken by the next one.
sed 's/$/\r/' "$T/out" > "$T/vms.crlf"
hci-vm-get < "$T/vms.crlf" > "$T/again" 2> "$T/err" || die "CRLF JSON lines refused: $(cat "$T/err")"
[ "$(jq -r .id "$T/again" | sort)" = "$(jq -r .id "$T/out" | sort)" ] || die "CRLF JSON lines gave other VMs"

got=0
printf 'web\r01\nweb01\n' | hci-vm-get > "$T/out" 2> "$T/err" || got=$?
[ "$got" -eq 1 ] || die "a carriage return inside a name: expected exit 1, got $got"
grep -q 'stdin line 1: holds the control character 0x0D at byte 4' "$T/err" || die "not reported: $(cat "$T/err")"
[ "$(jq -r .name "$T/out")" = web01 ] || die "the good line was not handled"
echo "ok: CRLF input"
