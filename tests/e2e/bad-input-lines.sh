#!/bin/bash
# Each input line is checked on its own before it joins a batch: a line that
# is not UTF-8, holds a control character, is too long or has the wrong shape
# is reported alone (with its number, quoting at most a couple of hundred
# characters), the other lines are handled, and the tool exits 1 at the end.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
command -v hci-sim >/dev/null || die "hci-sim is not built (run make)"
start_sim --no-tgtd

# expect_partial TOOL...: stdin as given; exit 1 required; stderr in $T/err.
expect_partial() {
    local got=0
    "$@" > "$T/out" 2> "$T/err" || got=$?
    cat "$T/err" >&2
    [ "$got" -eq 1 ] || die "$1: expected exit 1, got $got"
    [ "$(wc -c < "$T/err")" -lt 2000 ] || die "$1: $(wc -c < "$T/err") bytes of messages for a few bad lines"
}

# Names on stdin: the bad ones do not take the good ones down with them.
{
    echo web01
    printf '\xff\xfe\xfd\n'
    printf 'db\x01x\n'
    head -c 2000 /dev/zero | tr '\0' n; echo
    head -c 3000000 /dev/zero | tr '\0' n; echo
    echo db01
} > "$T/names"
expect_partial hci-vm-get < "$T/names"
[ "$(jq -r .name "$T/out" | sort | tr '\n' ' ')" = "db01 web01 " ] || die "good names not handled: $(jq -r .name "$T/out")"
grep -q "stdin line 2: not valid UTF-8 (byte 0xFF at byte 1)" "$T/err" || die "line 2 not reported as bad UTF-8"
grep -q "stdin line 3: holds the control character 0x01 at byte 3" "$T/err" || die "line 3 not reported"
grep -q "stdin line 4: not a VM name or id: 2000 bytes (at most 1024)" "$T/err" || die "line 4 not reported"
grep -q "stdin line 5: too long (3000000 bytes; at most 1048576)" "$T/err" || die "line 5 not reported"

# A name that is merely unknown is quoted short.
{ head -c 1000 /dev/zero | tr '\0' q; echo; echo web01; } > "$T/names"
got=0
hci-vm-get < "$T/names" > "$T/out" 2> "$T/err" || got=$?
[ "$got" -eq 4 ] || die "unknown name: expected exit 4, got $got"
grep -q "qqq... (1000 bytes)" "$T/err" || die "the unknown name is not quoted short: $(cat "$T/err")"
[ "$(wc -c < "$T/err")" -lt 400 ] || die "message too long: $(wc -c < "$T/err") bytes"
[ "$(jq -r .name "$T/out")" = web01 ] || die "web01 not printed"

# JSON lines: the same for every hci-* tool that reads them (hci-task-wait
# passes task_id null lines through without asking CloudTower).
{
    echo '{"task_id":null,"n":1}'
    printf '{"task_id":null,"n":"\xc3\x28"}\n'
    printf '{"task_id":null,"n":"a\tb\x1b"}\n'
    printf '{"task_id":null,"n":"%s"}\n' "$(head -c 1500000 /dev/zero | tr '\0' x)"
    echo '["not","an","object"]'
    echo '{"n":5}'
    echo '{"task_id":null,"n":7}'
} > "$T/lines"
expect_partial hci-task-wait < "$T/lines"
[ "$(jq -r .n "$T/out" | tr '\n' ' ')" = "1 7 " ] || die "good lines not passed: $(cat "$T/out")"
for n in 2 3 4 5 6; do grep -q "stdin line $n: " "$T/err" || die "line $n not reported"; done
echo "ok: bad lines reported alone, good ones handled"
