#!/bin/bash
# prune reads each backup's manifest: three good nights, then three whose
# manifests say complete false (two with no disk at all, as backup-vm.sh
# published them before issue 17, one with one disk of two). --keep-daily 3
# keeps the three good nights (on which it used to remove every one) and the
# partial ones newer than them in slots of their own; later, a complete
# backup supersedes the partial ones. ls shows each backup's state. A
# damaged manifest proves nothing: its backup is kept, and prune and ls
# exit 6.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

zadp-repo init --chunk-size 64K >/dev/null
manifest() { zadp-repo put-blob "$1/backup.json" - >/dev/null; }
for d in 1 2 3; do
    b=vm1/2026-11-2${d}T020000Z
    store_new "$T/good$d.img" $((256 << 10)) "$b/disk0"
    store_new "$T/good$d-1.img" $((64 << 10)) "$b/disk1"
    echo '{"format":"hci-backup-manifest","complete":true,"disks":[{"index":0},{"index":1}],"failed_disks":[]}' | manifest "$b"
done
for d in 4 5; do
    echo '{"format":"hci-backup-manifest","complete":false,"disks":[],"failed_disks":[{"index":0},{"index":1}]}' |
        manifest "vm1/2026-11-2${d}T020000Z"
done
store_new "$T/partial.img" $((256 << 10)) vm1/2026-11-26T020000Z/disk0
echo '{"format":"hci-backup-manifest","complete":false,"disks":[{"index":0}],"failed_disks":[{"index":1}]}' |
    manifest vm1/2026-11-26T020000Z

state() { zadp-repo ls "vm1/2026-11-2${1}T020000Z" | jq -r .state | sort -u | tr '\n' ' '; }
for d in 1 2 3; do [ "$(state $d)" = "complete " ] || die "ls: night $d is $(state $d)"; done
for d in 4 5 6; do [ "$(state $d)" = "partial " ] || die "ls: night $d is $(state $d)"; done
zadp-repo ls vm1/2026-11-21T020000Z/disk0 | jq -e '.state == "complete" and .type == "image" and .chunks == 4' >/dev/null ||
    die "ls of one image: $(zadp-repo ls vm1/2026-11-21T020000Z/disk0)"

zadp-repo prune --keep-daily 3 >"$T/prune" || die "prune failed"
line() { jq -c --arg b "vm1/2026-11-2${1}T020000Z" 'select(.backup == $b) | {action, reasons, state}' "$T/prune"; }
for d in 1 2 3; do
    [ "$(line $d)" = '{"action":"keep","reasons":["daily"],"state":"complete"}' ] || die "night $d: $(line $d)"
done
for d in 4 5 6; do
    [ "$(line $d)" = '{"action":"keep","reasons":["partial","daily"],"state":"partial"}' ] || die "night $d: $(line $d)"
done
for d in 1 2 3; do restores_to "$T/good$d.img" "vm1/2026-11-2${d}T020000Z/disk0"; done

# Night 7 is complete again: the partial nights are superseded, and the
# three newest complete nights stay.
store_new "$T/good7.img" $((256 << 10)) vm1/2026-11-27T020000Z/disk0
echo '{"format":"hci-backup-manifest","complete":true}' | manifest vm1/2026-11-27T020000Z
zadp-repo prune vm1 --keep-daily 3 >"$T/prune" || die "second prune failed"
[ "$(backups_of vm1 | tr '\n' ' ')" = "vm1/2026-11-22T020000Z vm1/2026-11-23T020000Z vm1/2026-11-27T020000Z " ] ||
    die "after night 7: $(backups_of vm1)"
[ "$(line 6)" = '{"action":"removed","reasons":["partial"],"state":"partial"}' ] || die "night 6: $(line 6)"

# A manifest whose bytes are damaged: the state of its backup is unknown.
f=$ZADP_REPO/backups/vm1/2026-11-27T020000Z/backup.json.blob
printf '\x55' | dd of="$f" bs=1 seek=$(($(stat -c %s "$f") / 2)) conv=notrunc status=none
expect_exit 6 zadp-repo ls vm1/2026-11-27T020000Z
zadp-repo ls vm1/2026-11-27T020000Z >"$T/ls" 2>/dev/null || true
jq -e -s 'length == 2 and all(.[]; .state == "unknown")' "$T/ls" >/dev/null ||
    die "ls of a backup with a damaged manifest: $(cat "$T/ls")"
rc=0
zadp-repo prune vm1 --keep-last 1 >"$T/prune" 2>"$T/prune.err" || rc=$?
[ $rc -eq 6 ] || die "prune with a damaged manifest: exit $rc"
grep -q "the blob is damaged" "$T/prune.err" || die "prune did not say what is damaged: $(cat "$T/prune.err")"
[ "$(line 7)" = '{"action":"keep","reasons":["unreadable manifest"],"state":"unknown"}' ] || die "night 7: $(line 7)"
[ "$(line 3)" = '{"action":"keep","reasons":["last"],"state":"complete"}' ] || die "night 3: $(line 3)"
restores_to "$T/good7.img" vm1/2026-11-27T020000Z/disk0
echo "ok: partial backups never take a good one's slot; ls shows the states; a damaged manifest keeps its backup"
