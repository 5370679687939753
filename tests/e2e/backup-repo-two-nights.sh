#!/bin/bash
# Two nightly backups of one VM into a repository: after 64 KiB of disk 0
# changed, the second stores only the one chunk that holds them (new_bytes
# in the manifest, zadp-write's report and zadp-repo ls agree, and one chunk
# file is added) and reuses the rest; both nights restore byte-exact.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
require_tools zadp-repo
vm_scenario nightly:33554432,16777216
start_backup_sim "$T/scenario.json"
id=$(vm_ids nightly)
sim_admin disk-write '{"vm":"nightly","disk":0,"offset":0,"random":{"seed":1,"length":25165824}}' >/dev/null
sim_admin disk-write '{"vm":"nightly","disk":1,"offset":4194304,"random":{"seed":2,"length":8388608}}' >/dev/null
zadp-repo init --chunk-size 1M >/dev/null
digest() { sim_admin digest "{\"vm\":\"nightly\",\"disk\":$1}" | jq -r .sha256; }

backup_vm --time 2026-11-27T020000Z nightly
night1_0=$(digest 0) night1_1=$(digest 1)
chunks1=$(chunk_count)
# 64 KiB rewritten inside one 1 MiB chunk of disk 0 (at 5 MiB + 400 KiB).
sim_admin disk-write '{"vm":"nightly","disk":0,"offset":5652480,"random":{"seed":9,"length":65536}}' >/dev/null
backup_vm --time 2026-11-28T020000Z nightly
grep -q 'disk 0 saved: 1048576 new bytes, 24117248 reused' "$T/backup.err" || die "night 2's figures not printed"

n1=$id/2026-11-27T020000Z n2=$id/2026-11-28T020000Z
[ "$(backups_of "$id" | tr '\n' ' ')" = "$n1 $n2 " ] || die "backups: $(backups_of "$id")"
figures() { zadp-repo cat "$1/backup.json" | jq -c '[.disks[] | .repo | [.new_bytes, .reused_bytes]]'; }
[ "$(figures "$n1")" = '[[25165824,0],[8388608,0]]' ] || die "night 1 manifest figures: $(figures "$n1")"
[ "$(figures "$n2")" = '[[1048576,24117248],[0,8388608]]' ] || die "night 2 manifest figures: $(figures "$n2")"
ls_new=$(zadp-repo ls "$n2" | jq -s 'map(select(.type == "image") | .new_bytes) | add')
[ "$ls_new" -eq 1048576 ] || die "zadp-repo ls says night 2 added $ls_new bytes"
[ "$(chunk_count)" -eq $((chunks1 + 1)) ] || die "night 2 added $(($(chunk_count) - chunks1)) chunk files, expected 1"
[ "$chunks1" -eq 32 ] || die "night 1 stored $chunks1 chunks, expected 32 (24 + 8 MiB)"

# Both nights, every disk, byte for byte.
check_night() {   # BACKUP INDEX WANT
    rm -f "$T/r.img"
    "$HCI_SOURCE_DIR/examples/restore-disk.sh" "repo:$1/disk$2" "$T/r.img" >/dev/null || die "restoring $1/disk$2 failed"
    [ "$(sha256sum <"$T/r.img" | cut -d' ' -f1)" = "$3" ] || die "$1/disk$2 restored differs"
}
check_night "$n1" 0 "$night1_0"
check_night "$n1" 1 "$night1_1"
check_night "$n2" 0 "$(digest 0)"
check_night "$n2" 1 "$(digest 1)"
[ "$night1_0" != "$(digest 0)" ] || die "disk 0 did not change; the test proves nothing"
echo "ok: night 1 stored 32 MiB, night 2 after a 64 KiB change 1 MiB (one chunk); both restore byte-exact"
