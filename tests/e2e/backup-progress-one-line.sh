#!/bin/bash
# backup-vm.sh on a terminal into a repository: every progress meter on the
# screen is labelled ("demo-vm disk N read" or "... verify"), each disk has
# both, and each meter ends its own line; no unlabelled meter of the other
# end of a pipe takes turns with them on one line (zadp-write behind a pipe
# leaves the meter to the writer; the script silences the other end).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_tools zadp-repo
command -v script >/dev/null || skip "script(1) not installed (Debian package util-linux)"
start_backup_sim
export ZADP_REPO=$T/repo
zadp-repo init >/dev/null
# script(1) gives the backup a terminal; its environment carries the rest.
script -qfec "'$HCI_SOURCE_DIR/examples/backup-vm.sh' demo-vm" "$T/typescript" </dev/null >/dev/null ||
    { cat -v "$T/typescript"; die "the backup failed"; }
# Every piece of what was drawn, between carriage returns and newlines.
tr '\r' '\n' <"$T/typescript" | sed 's/\x1b\[K//g' >"$T/drawn"
meters=$(grep -cE '[0-9.]+ [KMGT]?i?B / [0-9.]+ [KMGT]?i?B +[0-9]+%' "$T/drawn" || true)
[ "$meters" -gt 0 ] || die "no meter was drawn on the terminal: $(cat -v "$T/typescript")"
unlabelled=$(grep -E '[0-9.]+ [KMGT]?i?B / [0-9.]+ [KMGT]?i?B +[0-9]+%' "$T/drawn" | grep -vE '^demo-vm disk [0-9]+ (read|verify): ' || true)
[ -z "$unlabelled" ] || die "unlabelled meters on the line: $(head -3 <<<"$unlabelled")"
disks=$(zadp-repo ls | jq -r 'select(.type == "image") | .name' | sed 's|.*/disk||' | sort -u)
[ -n "$disks" ] || die "no disk stored"
for i in $disks; do
    for what in read verify; do
        # The final reading of each meter ends with its time and a newline of its own.
        grep -qaE "demo-vm disk $i $what: .* 100% .*[0-9]s"$'\x1b\\[K\r?$' "$T/typescript" ||
            die "disk $i: no finished '$what' meter ending its line: $(cat -v "$T/typescript")"
    done
done
echo "ok: $meters meter readings, all labelled; every disk's read and verify meters end their lines"
