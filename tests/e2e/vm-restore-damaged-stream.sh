#!/bin/bash
# A damaged backup is refused before any VM is created: a stream with one
# flipped byte (its SHA-256 no longer matches the manifest), and a stream
# whose manifest entry was made to match (zadp-write --check finds it).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/restore.sh"
start_restore_sim
backup_web01 "$T/backup"
stream="$T/backup/$(jq -r '.disks[1].stream.file' "$T/backup/web01.backup.json")"
size=$(stat -c %s "$stream")
printf '\xff' | dd of="$stream" bs=1 seek=$((size / 2)) conv=notrunc status=none
sim_admin counters/reset '{}' >/dev/null

rc=0
"$RESTORE_VM" "$T/backup" >"$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 6 ] || die "expected exit 6, got $rc: $(cat "$T/err")"
grep -q "disk 2: .*SHA-256 differs.*nothing was created" "$T/err" || die "message: $(cat "$T/err")"

# The manifest edited to match the damaged file: the stream's own checks catch it.
sha=$(sha256sum <"$stream" | cut -d' ' -f1)
jq --arg sha "$sha" '.disks[1].stream.sha256 = $sha' "$T/backup/web01.backup.json" >"$T/m" && mv "$T/m" "$T/backup/web01.backup.json"
rc=0
"$RESTORE_VM" "$T/backup" >"$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 6 ] || die "expected exit 6, got $rc: $(cat "$T/err")"
grep -q "disk 2: .* does not verify; nothing was created" "$T/err" || die "message: $(cat "$T/err")"

[ "$(sim_admin counters | jq '."create-vm" // 0')" -eq 0 ] || die "create-vm was called"
[ "$(vms_named web01-restored)" -eq 0 ] || die "a VM was created"
[ ! -s "$T/out" ] || die "a summary was printed"
echo "ok: damaged streams refused before anything was created"
