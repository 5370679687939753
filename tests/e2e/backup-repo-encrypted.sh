#!/bin/bash
# The nightly job into an encrypted repository, the passphrase only in a file
# named by ZADP_REPO_PASSPHRASE_FILE: backup-vm.sh stores the VM, no plain
# configuration or manifest is in the repository, restore-disk.sh restores a
# disk byte-exact; without the passphrase the backup is refused before any
# snapshot is made (exit 2, "encrypted") and a restore is refused (exit 2).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
require_tools zadp-repo
start_backup_sim
sim_admin disk-write '{"vm":"demo-vm","disk":0,"offset":0,"random":{"seed":1,"length":2097152}}' >/dev/null
(umask 077 && echo 'correct horse battery staple' >"$T/pass")
export ZADP_REPO_PASSPHRASE_FILE=$T/pass
zadp-repo init --encrypt >/dev/null
id=$(vm_ids demo-vm)

backup_vm --time 2026-11-28T020000Z demo-vm
b=$id/2026-11-28T020000Z
[ "$(files_of "$b")" = "backup.json disk0 disk1 vm.json " ] || die "the backup holds: $(files_of "$b")"
! grep -rqa 'demo-vm\|hci-backup-manifest' "$ZADP_REPO/backups" "$ZADP_REPO/packs" || die "plain text in the repository"
rm -f "$T/r.img"
"$HCI_SOURCE_DIR/examples/restore-disk.sh" "repo:$b/disk0" "$T/r.img" >/dev/null || die "restore-disk.sh failed"
[ "$(sha256sum <"$T/r.img" | cut -d' ' -f1)" = "$(sim_admin digest '{"vm":"demo-vm","disk":0}' | jq -r .sha256)" ] ||
    die "the restored disk differs"

unset ZADP_REPO_PASSPHRASE_FILE
rc=0
"$HCI_SOURCE_DIR/examples/backup-vm.sh" --time 2026-11-29T020000Z demo-vm 2>"$T/err" || rc=$?
[ $rc -eq 2 ] && grep -q 'encrypted' "$T/err" || die "a backup without the passphrase: exit $rc, $(cat "$T/err")"
[ "$(vm_snapshots)" -eq 0 ] || die "a snapshot was made although the repository cannot be opened"
rc=0
"$HCI_SOURCE_DIR/examples/restore-disk.sh" "repo:$b/disk0" "$T/r2.img" 2>"$T/err" || rc=$?
[ $rc -eq 2 ] || die "a restore without the passphrase: exit $rc, $(cat "$T/err")"
echo "ok: backup and restore through an encrypted repository; refused without its passphrase"
