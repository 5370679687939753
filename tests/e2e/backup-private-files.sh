#!/bin/bash
# Backups are private whatever the umask: under umask 022, backup-vm.sh's
# directories are 0700 and its streams, configuration and manifest 0600;
# zadp-write's restored image and zadp-read -o's stream are 0600; with
# --group-readable the backup is 0750/0640.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_backup_sim
sim_admin disk-write '{"vm":"demo-vm","disk":0,"offset":0,"random":{"seed":1,"length":65536}}' >/dev/null

umask 022
# modes DIR: "MODE TYPE" for everything under DIR, DIR included, sorted and unique.
modes() { find "$1" -printf '%m %y\n' | sort -u | tr '\n' ' '; }
backup_vm demo-vm "$T/new/parent/b"
[ "$(modes "$T/new")" = "600 f 700 d " ] || die "backup modes under umask 022: $(find "$T/new" -printf '%m %p\n')"
ls "$T/new/parent/b"/*.disk0.zst "$T/new/parent/b"/*.vm.json "$T/new/parent/b"/*.backup.json >/dev/null ||
    die "the backup lacks a stream, configuration or manifest"

zstd -dc "$T/new/parent/b"/demo-vm.disk0.zst | zadp-write --target "$T/restored.img" || die "restore failed"
[ "$(stat -c %a "$T/restored.img")" = 600 ] || die "restored image is $(stat -c %a "$T/restored.img"), not 600"
zadp-read --source "$T/restored.img" -o "$T/again.zs" || die "zadp-read -o failed"
[ "$(stat -c %a "$T/again.zs")" = 600 ] || die "zadp-read -o made $(stat -c %a "$T/again.zs"), not 600"

backup_vm --group-readable demo-vm "$T/shared/b"
[ "$(modes "$T/shared/b")" = "640 f 750 d " ] || die "--group-readable modes: $(find "$T/shared/b" -printf '%m %p\n')"
echo "ok: backup 0600/0700 under umask 022, restored image and -o stream 0600, --group-readable 0640/0750"
