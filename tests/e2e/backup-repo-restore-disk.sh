#!/bin/bash
# backup-vm.sh into a repository: two VMs that share a name (VM names are
# user data) go into two groups keyed by their ids; one backup GROUP/TIME
# holds vm.json, backup.json (the manifest) and one image per data disk, and
# no unfinished.json once done; restore-disk.sh repo:GROUP/TIME/diskN gives
# each disk back byte-exact into a file.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
require_tools zadp-repo
vm_scenario twin:8388608,6291456 twin:4194304
start_backup_sim "$T/scenario.json"
mapfile -t ids < <(vm_ids twin)
[ ${#ids[@]} -eq 2 ] || die "expected two VMs called twin"
a=${ids[0]} b=${ids[1]}
sim_admin disk-write "{\"vm\":\"$a\",\"disk\":0,\"offset\":1048576,\"random\":{\"seed\":1,\"length\":3145728}}" >/dev/null
sim_admin disk-write "{\"vm\":\"$a\",\"disk\":1,\"offset\":0,\"random\":{\"seed\":2,\"length\":4100}}" >/dev/null
sim_admin disk-write "{\"vm\":\"$b\",\"disk\":0,\"offset\":0,\"random\":{\"seed\":3,\"length\":2097152}}" >/dev/null
zadp-repo init >/dev/null

# One through --repo, one through ZADP_REPO.
env -u ZADP_REPO "$HCI_SOURCE_DIR/examples/backup-vm.sh" --repo "$ZADP_REPO" --id "$a" 2>"$T/a.err" ||
    { cat "$T/a.err" >&2; die "backup of $a failed"; }
backup_vm --id "$b"
grep -q "disk 0 saved: 3145728 new bytes, 0 reused" "$T/a.err" || { cat "$T/a.err" >&2; die "no new/reused figures printed"; }

ba=$(backups_of "$a") bb=$(backups_of "$b")
[ "$(wc -l <<<"$ba")" -eq 1 ] && [ "$(wc -l <<<"$bb")" -eq 1 ] || die "expected one backup per VM: $ba / $bb"
[[ $ba =~ ^$a/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{6}Z$ ]] || die "backup name $ba is not ID/TIME"
[ "$(files_of "$ba")" = "backup.json disk0 disk1 vm.json " ] || die "backup $ba holds: $(files_of "$ba")"
[ "$(files_of "$bb")" = "backup.json disk0 vm.json " ] || die "backup $bb holds: $(files_of "$bb")"
zadp-repo cat "$ba/backup.json" >"$T/a.json"
jq -e --arg id "$a" --arg b "$ba" '.complete and .vm.id == $id and .vm.name == "twin" and .backup == $b
    and .configuration == "vm.json" and ([.disks[].repo.file] == ["disk0", "disk1"])
    and .disks[0].repo.new_bytes == 3145728 and .disks[0].repo.reused_bytes == 0
    and .disks[0].image.digest != null' "$T/a.json" >/dev/null || die "manifest of $ba: $(cat "$T/a.json")"
zadp-repo cat "$ba/vm.json" | jq -e --arg id "$a" '.id == $id and .hci_config != null' >/dev/null ||
    die "vm.json of $ba is not $a's full configuration"
zadp-repo ls "$ba/disk0" | jq -e --arg id "$a" '.vm_id == $id and .identity.vm.name == "twin"' >/dev/null ||
    die "the image does not record VM $a"
zadp-repo check "$ba" >/dev/null || die "zadp-repo check of $ba fails"

# Every disk of both VMs back, byte for byte.
restore() {   # VM INDEX BACKUP
    local out
    out=$("$HCI_SOURCE_DIR/examples/restore-disk.sh" "repo:$3/disk$2" "$T/$1.$2.img") || die "restore-disk.sh repo:$3/disk$2 failed"
    jq -e '.verified' <<<"$out" >/dev/null || die "not verified: $out"
    [ "$(sha256sum <"$T/$1.$2.img" | cut -d' ' -f1)" = "$(sim_admin digest "{\"vm\":\"$1\",\"disk\":$2}" | jq -r .sha256)" ] ||
        die "repo:$3/disk$2 restored differs from VM $1's disk $2"
}
restore "$a" 0 "$ba"
restore "$a" 1 "$ba"
restore "$b" 0 "$bb"
[ "$(stat -c %s "$T/$a.1.img")" -eq 6291456 ] || die "disk 1 restored with the wrong size"
# A backup that does not exist: not found, nothing created.
expect_exit 4 "$HCI_SOURCE_DIR/examples/restore-disk.sh" "repo:$a/2020-01-01T000000Z/disk0" "$T/none.img"
[ ! -e "$T/none.img" ] || die "a failed restore created its target"
echo "ok: two VMs called twin in groups $a and $b; every disk restored byte-exact from the repository"
