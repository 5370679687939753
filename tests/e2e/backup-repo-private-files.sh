#!/bin/bash
# A repository backup is private whatever the umask: under umask 022 what
# backup-vm.sh stores (the group and backup directories, the images' indexes,
# vm.json and backup.json, new chunks and their directories) is 0700/0600;
# with --group-readable 0750/0640.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
require_tools zadp-repo
start_backup_sim
sim_admin disk-write '{"vm":"demo-vm","disk":0,"offset":0,"random":{"seed":1,"length":65536}}' >/dev/null
zadp-repo init >/dev/null
id=$(vm_ids demo-vm)
umask 022
# modes PATH...: "MODE TYPE" for everything under the PATHs, sorted and unique.
modes() { find "$@" -printf '%m %y\n' | sort -u | tr '\n' ' '; }
# stored_since STAMP: the chunk files and directories changed after STAMP
stored_since() { find "$ZADP_REPO/packs" -mindepth 1 -newer "$1"; }

touch "$T/stamp1"
sleep 1   # the new chunk directories' times are after the stamp's
backup_vm --time 2026-11-27T020000Z demo-vm
[ "$(files_of "$id/2026-11-27T020000Z")" = "backup.json disk0 disk1 vm.json " ] || die "the backup is not whole"
[ "$(modes "$ZADP_REPO/backups/$id")" = "600 f 700 d " ] ||
    die "backup modes under umask 022: $(find "$ZADP_REPO/backups/$id" -printf '%m %p\n')"
[ -n "$(stored_since "$T/stamp1")" ] || die "no chunk stored; the test proves nothing"
[ "$(stored_since "$T/stamp1" | xargs -d '\n' stat -c '%a %F' | sort -u | tr '\n' ' ')" = "600 regular file 700 directory " ] ||
    die "chunk modes under umask 022: $(stored_since "$T/stamp1" | xargs -d '\n' stat -c '%a %n')"

sim_admin disk-write '{"vm":"demo-vm","disk":0,"offset":0,"random":{"seed":2,"length":65536}}' >/dev/null
backup_vm --group-readable --time 2026-11-28T020000Z demo-vm
[ "$(modes "$ZADP_REPO/backups/$id/2026-11-28T020000Z")" = "640 f 750 d " ] ||
    die "--group-readable modes: $(find "$ZADP_REPO/backups/$id/2026-11-28T020000Z" -printf '%m %p\n')"
echo "ok: repository backup 0600/0700 under umask 022, --group-readable 0640/0750"
