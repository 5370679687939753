#!/bin/bash
# restore-disk.sh and restore-vm.sh --at DATE (hci-backup(7)): the newest
# complete backup at or before DATE, in local time, by group or VM name;
# partial and unfinished backups are passed over; none before DATE is exit 4
# with a message, a DATE that does not parse exit 2.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
export TZ=XYZ-1  # local time is UTC+1: 03:00 local is 02:00Z
ex=$HCI_SOURCE_DIR/examples

zadp-repo init >/dev/null
# put DAY STATE: a backup of "db server 01" at 2026-11-DAY 02:00Z whose disk0
# is $T/DAY.img; STATE true, false (partial) or unfinished.
put() {
    randimg "$T/$1.img" $((1 << 20))
    zadp-read --line "$(jq -nc --arg s "$T/$1.img" '{vm: {id: "vm-1", name: "db server 01"}, source: $s}')" |
        zadp-write --target "repo:vm-1/2026-11-$1T020000Z/disk0" >/dev/null
    if [ "$2" = unfinished ]; then
        echo '{"vm": {"id": "vm-1", "name": "db server 01"}}' | zadp-repo put-blob "vm-1/2026-11-$1T020000Z/unfinished.json" - >/dev/null
    else
        jq -nc --argjson c "$2" '{vm: {id: "vm-1", name: "db server 01"}, complete: $c}' |
            zadp-repo put-blob "vm-1/2026-11-$1T020000Z/backup.json" - >/dev/null
    fi
}
put 24 true; put 25 true; put 26 false; put 27 unfinished

# restored_at DATE STREAM DAY: restore-disk.sh --at DATE STREAM restores day DAY's disk
restored_at() {
    rm -f "$T/out.img"
    "$ex/restore-disk.sh" --at "$1" "$2" "$T/out.img" >"$T/line" 2>"$T/err" || die "--at '$1' $2: $(cat "$T/err")"
    cmp -s "$T/out.img" "$T/$3.img" || die "--at '$1' $2 restored $(jq -r .stream "$T/line"), expected day $3"
    jq -e --arg d "$3" '.verified and (.stream | contains("2026-11-" + $d))' "$T/line" >/dev/null || die "line: $(cat "$T/line")"
}
restored_at "2026-11-29" "repo:db server 01/disk0" 25    # the partial 26th and the unfinished 27th passed over
restored_at "2026-11-25 03:00" "repo:db server 01/disk0" 25  # at: 02:00Z exactly
restored_at "2026-11-25 02:59" "repo:vm-1/disk0" 24         # just before, in local time: the 24th
restored_at "2026-11-25 01:59 UTC" "repo:vm-1/disk0" 24     # any form date -d reads

# "tuesday" is the coming one to date -d: a future --at is refused, with a hint.
expect_fail 2 "$ex/restore-disk.sh" --at "tomorrow" "repo:vm-1/disk0" "$T/none.img"
grep -q "in the future (for a past day say \"last tuesday\")" "$T/err" || die "future --at: $(cat "$T/err")"
expect_fail 4 "$ex/restore-disk.sh" --at "2026-11-24 02:59" "repo:vm-1/disk0" "$T/none.img"
grep -q "no complete backup of 'vm-1' .* at or before 2026-11-24 02:59:00 XYZ" "$T/err" || die "message: $(cat "$T/err")"
[ ! -e "$T/none.img" ] || die "a target was written though no backup fits"
expect_fail 4 "$ex/restore-disk.sh" --at yesterday "repo:db server 02/disk0" "$T/none.img"
grep -q "no backup of a VM named 'db server 02'" "$T/err" || die "message: $(cat "$T/err")"
expect_fail 2 "$ex/restore-disk.sh" --at "the day before yesterday-ish" "repo:vm-1/disk0" "$T/none.img"
grep -q "is not a date" "$T/err" || die "message: $(cat "$T/err")"
expect_fail 2 "$ex/restore-disk.sh" --at yesterday "repo:vm-1/2026-11-24T020000Z/disk0" "$T/none.img"

# restore-vm.sh picks the same way, before it touches any cluster.
expect_fail 4 "$ex/restore-vm.sh" --at "2026-11-24 02:59" "repo:db server 01"
grep -q "no complete backup of 'db server 01'" "$T/err" || die "restore-vm.sh message: $(cat "$T/err")"
expect_fail 2 "$ex/restore-vm.sh" --at "2026-11-25" "repo:vm-1/2026-11-24T020000Z"
expect_fail 2 "$ex/restore-vm.sh" --at "2026-11-25" "$T"
echo "ok: --at picks the newest complete backup at or before a local date"
