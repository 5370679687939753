#!/bin/bash
# The backup manifest, pretty-printed over many lines as backup-vm.sh writes
# it, is input hci-snap-delete takes as jq would (from a FILE or stdin): the
# snapshot a --keep-snapshot backup kept is deleted, exit 0, no "not valid
# JSON" errors.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_backup_sim
backup_vm --keep-snapshot demo-vm "$T/b"
manifest="$T/b/demo-vm.backup.json"
[ "$(wc -l < "$manifest")" -gt 10 ] || die "the manifest is not pretty-printed; the test proves nothing"
id=$(jq -r .vm_snapshot.id "$manifest")
count() { sim_api get-vm-snapshots "{\"where\":{\"id\":\"$id\"}}" | jq length; }
[ "$(count)" -eq 1 ] || die "--keep-snapshot did not keep the snapshot"
hci-snap-delete "$manifest" > "$T/out.jsonl" 2> "$T/err" || die "hci-snap-delete MANIFEST failed: $(cat "$T/err")"
[ ! -s "$T/err" ] || die "messages: $(cat "$T/err")"
[ "$(wc -l < "$T/out.jsonl")" -eq 1 ] && [ "$(jq -r .vm_snapshot.id "$T/out.jsonl")" = "$id" ] ||
    die "output: $(cat "$T/out.jsonl")"
[ "$(count)" -eq 0 ] || die "the snapshot is still there"
# Again through stdin: already gone counts as done (a warning, exit 0).
hci-snap-delete < "$manifest" > /dev/null 2> "$T/err2" || die "second delete: $(cat "$T/err2")"
! grep -q "not valid JSON" "$T/err2" || die "$(cat "$T/err2")"
echo "ok: a pretty-printed manifest deletes its snapshot"
