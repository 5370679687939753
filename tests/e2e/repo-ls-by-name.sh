#!/bin/bash
# zadp-repo ls finds backups by VM name (zadp-repo(1), hci-backup(7)): a name
# that is not a group matches the groups whose manifests, unfinished.json or
# image identities record it, by the name at backup time (a renamed VM by
# its old and new names; spaces allowed); --table (and a terminal) shows one
# row per backup in local time; nothing matched is exit 4.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

zadp-repo init >/dev/null
randimg "$T/d.img" $((1 << 20))
# put ID NAME TIME [COMPLETE]: a backup of VM ID named NAME: disk0, then a
# manifest (COMPLETE true/false) or, when COMPLETE is "unfinished", unfinished.json.
put() {
    zadp-read --line "$(jq -nc --arg id "$1" --arg n "$2" --arg s "$T/d.img" '{vm: {id: $id, name: $n}, source: $s}')" |
        zadp-write --target "repo:$1/$3/disk0" >/dev/null
    if [ "$4" = unfinished ]; then
        jq -nc --arg id "$1" --arg n "$2" '{vm: {id: $id, name: $n}}' | zadp-repo put-blob "$1/$3/unfinished.json" - >/dev/null
    else
        jq -nc --arg id "$1" --arg n "$2" --argjson c "$4" '{vm: {id: $id, name: $n}, complete: $c}' |
            zadp-repo put-blob "$1/$3/backup.json" - >/dev/null
    fi
}
put vm-1 "db server 01" 2026-11-28T020000Z true
put vm-1 "db server 01" 2026-11-29T020000Z false
put vm-2 web01 2026-11-28T020000Z true
put vm-2 web01-renamed 2026-11-29T020000Z true
put vm-3 half 2026-11-29T020000Z unfinished

backups() { zadp-repo ls "$1" | jq -r .backup | sort -u | tr '\n' ' '; }
[ "$(backups "db server 01")" = "vm-1/2026-11-28T020000Z vm-1/2026-11-29T020000Z " ] ||
    die "ls by a name with spaces: $(backups "db server 01")"
# A renamed VM is found by its old name and by its new one, every backup of it.
for n in web01 web01-renamed; do
    [ "$(backups $n)" = "vm-2/2026-11-28T020000Z vm-2/2026-11-29T020000Z " ] || die "ls $n: $(backups $n)"
done
[ "$(backups half)" = "vm-3/2026-11-29T020000Z " ] || die "an unfinished backup by name: $(backups half)"
# Groups and prefixes as before: JSON lines, unchanged.
[ "$(backups vm-2)" = "vm-2/2026-11-28T020000Z vm-2/2026-11-29T020000Z " ] || die "ls of a group: $(backups vm-2)"
zadp-repo ls vm-1/2026-11-29T020000Z/disk0 | jq -e '.type == "image" and .state == "partial" and .identity.vm.name == "db server 01"' >/dev/null ||
    die "ls of one image: $(zadp-repo ls vm-1/2026-11-29T020000Z/disk0)"
[ -z "$(zadp-repo ls vm-1/2026-12-01T020000Z)" ] || die "a backup prefix that matches nothing lists something"

expect_fail 4 zadp-repo ls "db server 02"
grep -q "no backup of a VM named 'db server 02'" "$T/err" || die "unclear message: $(cat "$T/err")"
[ ! -s "$T/out" ] || die "nothing matched, yet ls printed $(cat "$T/out")"
expect_fail 2 zadp-repo ls --table --json web01

# The table: one row per backup, the time in local time (TZ), states.
TZ=XYZ-1 zadp-repo ls --table "db server 01" >"$T/table"
[ "$(wc -l <"$T/table")" = 3 ] || die "table: $(cat "$T/table")"
head -1 "$T/table" | grep -q "NAME.*TIME.*DISKS.*SIZE.*NEW.*STATE" || die "table header: $(cat "$T/table")"
grep -q "^db server 01 .*2026-11-28 03:00 XYZ .* 1 .*1.0 MiB.*complete.*repo:vm-1/2026-11-28T020000Z" "$T/table" ||
    die "first row: $(cat "$T/table")"
grep -q "^db server 01 .*2026-11-29 03:00 XYZ .*partial.*repo:vm-1/2026-11-29T020000Z" "$T/table" ||
    die "second row: $(cat "$T/table")"
# The name at backup time, row by row.
TZ=XYZ-1 zadp-repo ls --table web01 | grep -q "^web01-renamed .*2026-11-29" || die "renamed VM's row: $(zadp-repo ls --table web01)"
TZ=XYZ-1 zadp-repo ls --table half | grep -q "^half .*unfinished" || die "unfinished row: $(zadp-repo ls --table half)"
# On a terminal the table is the default.
TZ=XYZ-1 script -qec "zadp-repo ls 'db server 01'" /dev/null >"$T/tty"
grep -q "2026-11-29 03:00 XYZ" "$T/tty" || die "no table on a terminal: $(cat "$T/tty")"
echo "ok: ls finds backups by VM name, in a table on a terminal"
