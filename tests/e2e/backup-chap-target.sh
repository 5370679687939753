#!/bin/bash
# A CHAP-protected backup target works end to end: hci-lun-export puts the
# CHAP user of this host's initiator_chaps entry (picked by
# ZADP_INITIATOR_IQN among two) into the export URLs, zadp-read takes the
# secret from ZADP_CHAP_SECRET, and backup-vm.sh saves every disk. Without
# the secret every disk fails (CHAP is really enforced); the secret never
# lands in the backup or on a command line.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
export ZADP_INITIATOR_IQN=iqn.2026-11.io.hci-backup:chap-test-host
secret=Backup-Chap-Secret-2718
jq -n --arg iqn "$ZADP_INITIATOR_IQN" --arg secret "$secret" '
    {users: [{username: "admin", password: "admin-password"}], clusters: [{name: "c1"}],
     iscsi_targets: [{name: "backup-tgt", cluster: "c1", iqn_whitelist: "*", chap_enabled: true,
                      initiator_chaps: [{initiator_iqn: "iqn.2026-11.other:host", chap_name: "other", chap_secret: "Other-Secret-1234"},
                                        {initiator_iqn: $iqn, chap_name: "backupuser", chap_secret: $secret}]}],
     vms: [{name: "guarded", cluster: "c1", vcpu: 1, memory: 1073741824, status: "RUNNING", vm_tools_status: "RUNNING",
            disks: [{type: "DISK", bus: "VIRTIO", size: 4194304}, {type: "DISK", bus: "VIRTIO", size: 4194304}]}]}' \
    >"$T/scenario.json"
start_backup_sim "$T/scenario.json"
sim_admin disk-write '{"vm":"guarded","disk":0,"offset":0,"random":{"seed":7,"length":1048576}}' >/dev/null

rc=0
env -u ZADP_CHAP_SECRET "$HCI_SOURCE_DIR/examples/backup-vm.sh" guarded "$T/nosecret" 2>"$T/nosecret.err" || rc=$?
# No disk saved: nothing is published, and the exit status and the log say why.
[ $rc -gt 1 ] || { cat "$T/nosecret.err" >&2; die "without the CHAP secret: expected the failing tool's exit status, got $rc"; }
[ ! -e "$T/nosecret" ] || die "without the CHAP secret a backup was published: $(ls "$T/nosecret")"
for d in 0 1; do
    grep -q "disk $d failed: zadp-read: error: " "$T/nosecret.err" ||
        { cat "$T/nosecret.err" >&2; die "without the CHAP secret the log does not say why disk $d failed"; }
done

export ZADP_CHAP_SECRET=$secret
cmd=("$HCI_SOURCE_DIR/examples/backup-vm.sh" guarded "$T/b")
# LeakSanitizer cannot run under strace (make asan); leaks are checked by every other scenario.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
if command -v strace >/dev/null && strace -f -qq -e trace=execve -o /dev/null true 2>/dev/null; then
    cmd=(strace -f -qq -e trace=execve -s 100000 -o "$T/trace" "${cmd[@]}")
fi
"${cmd[@]}" 2>"$T/backup.err" || { cat "$T/backup.err" >&2; die "backup through the CHAP target failed"; }
m=$T/b/guarded.backup.json
jq -e '.complete and (.disks | length) == 2' "$m" >/dev/null || die "the backup is incomplete: $(cat "$m")"
zstd -dc "$T/b/guarded.disk0.zst" | zadp-write --target "$T/disk0.img" || die "disk 0 does not restore"
[ "$(sha256sum <"$T/disk0.img" | cut -d' ' -f1)" = "$(sim_admin digest '{"vm":"guarded","disk":0}' | jq -r .sha256)" ] ||
    die "disk 0 restored differs from the VM's disk"
! grep -rqF "$secret" "$T/b" "$T/backup.err" || die "the CHAP secret is in the backup or on stderr"
if [ -f "$T/trace" ]; then
    grep -q 'execve("[^"]*/zadp-read"' "$T/trace" || die "the trace has no zadp-read"
    ! grep -qF "$secret" "$T/trace" || die "the CHAP secret is on a command line"
fi

# hci-lun-export names the user of this host's entry in the URL, and --chap-user overrides it.
line=$(hci-vm-get --name guarded | hci-snap-create | hci-task-wait | hci-snap-luns | head -n 1)
url=$(hci-lun-export --target backup-tgt --prefix hci-backup-tmp-t1- <<<"$line" | jq -r .export.url)
[[ $url == iscsi://backupuser@* ]] || die "the export URL does not carry the CHAP user: $url"
url=$(hci-lun-export --target backup-tgt --prefix hci-backup-tmp-t2- --chap-user other <<<"$line" | jq -r .export.url)
[[ $url == iscsi://other@* ]] || die "--chap-user was not used: $url"
echo "ok: CHAP target: user from initiator_chaps, secret from the environment, every disk saved, no secret leaked"
