#!/bin/bash
# restore-vm.sh BACKUP: bring a whole VM back from a backup-vm.sh backup (a
# repository's repo:GROUP/TIME or a directory), as a new VM, verified:
#   1. every stream is checked (the stream's own digest against the
#      manifest's; in a directory also the file's SHA-256; in a repository
#      every chunk is read and checked against its id) before anything is
#      created, so a damaged backup creates nothing;
#   2. hci-vm-create makes the VM from the saved configuration (NAME.vm.json,
#      written by hci-vm-get --full): new empty volumes of the recorded sizes,
#      buses and boot order, NICs on the (mapped) VLANs; it refuses a name
#      that exists, so no VM is ever overwritten;
#   3. hci-lun-admit lets this host's initiator reach the new VM's LUNs only,
#      and only until the restore ends (also on failure and Ctrl-C);
#   4. zadp-write writes every disk over iSCSI, then each disk is read back
#      and its digest compared with the backup's;
#   5. the VM is started if asked, and one JSON summary line is printed.
# On any failure the half-made VM is deleted (unless --keep-failed) and the
# exit status is non-zero. Credentials come from the environment, as for the
# hci-* tools, and are never put on a command line.
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/restore-point.sh"
usage() {
    cat <<EOF
usage: $prog [options] BACKUP

BACKUP is a backup of backup-vm.sh: repo:GROUP/TIME in the repository
--repo REPO (a directory or s3://BUCKET/PREFIX; else \$ZADP_REPO), for example repo:\$VM_ID/2026-11-28T020000Z, or
repo:GROUP or repo:VM-NAME (the name recorded at backup time, as
zadp-repo ls takes it) for the newest complete backup (with --at, the newest
complete one at or before DATE); or a directory (holding one NAME.backup.json)
or the path of its NAME.backup.json. A repository backup without its
manifest backup.json is unfinished and refused.

options:
  --repo REPO            the repository of a repo: BACKUP (a directory or
                         s3://BUCKET/PREFIX)
  --at DATE              the newest complete backup at or before DATE (any
                         form date -d reads, local time: "last tuesday 23:00",
                         "2026-11-28 03:00"); exit 4 when there is none
  --name TEMPLATE        name of the new VM; {name} is the original name,
                         {time} the UTC time (default: {name}-restored)
  --cluster NAME|ID      restore onto this cluster (default: the original)
  --host NAME|ID         place the VM on this host
  --map-vlan SRC=DST     connect NICs of VLAN SRC to VLAN DST (repeatable);
                         a SRC no NIC of the backup is on is refused (exit 2)
  --keep-mac             keep the recorded MAC addresses (default: new ones)
  --storage-policy P     give every new volume the storage policy P instead
                         of the recorded one
  --start                start the VM once every disk is verified
  --keep-failed          leave a half-made VM in place after a failure
  -h, --help             this text

The backup host's initiator is \$ZADP_INITIATOR_IQN (default
iqn.2016-02.com.smartx:hci-restore-HOSTNAME); the user behind the
credentials must be allowed to create VMs and to update iSCSI LUNs, and this
host must reach the target cluster's iscsi_vip on the iSCSI port.

The JSON summary's "differs" says what is not as it was: new_macs,
cd_roms_without_media (a count), storage_policy {from, to} and cluster
{from, to} (null when unchanged); the same in words on stderr.

exit status: 0 restored and verified; 2 usage; 3 API or network; 4 not found;
5 a task failed; 6 the backup or a read-back does not verify; 7 I/O error;
1 anything else (for example the name is taken).
EOF
    exit "${1:-0}"
}
log() { printf '%s: %s\n' "$prog" "$*" >&2; }

create_args=()
start=0 keep_failed=0 at=""
while [ $# -gt 0 ]; do
    case $1 in
        --name | --cluster | --host | --map-vlan | --storage-policy)
            [ $# -ge 2 ] || { log "$1 needs a value"; exit 2; }
            create_args+=("$1" "$2"); shift 2 ;;
        --keep-mac) create_args+=(--keep-mac); shift ;;
        --start) start=1; shift ;;
        --keep-failed) keep_failed=1; shift ;;
        --repo) [ $# -ge 2 ] || { log "$1 needs a value"; exit 2; }; export ZADP_REPO=$2; shift 2 ;;
        --at) [ $# -ge 2 ] || { log "$1 needs a value"; exit 2; }; at=$2; shift 2 ;;
        -h | --help) usage 0 ;;
        --) shift; break ;;
        -?*) log "unknown option: $1"; usage 2 >&2 ;;
        *) break ;;
    esac
done
[ $# -eq 1 ] || usage 2 >&2
backup=$1

for cmd in hci-vm-create hci-lun-admit zadp-read zadp-write jq sha256sum; do
    command -v "$cmd" >/dev/null || { log "$cmd not found in PATH"; exit 2; }
done

case $backup in repo:*) from_repo=1 ;; *) from_repo=0 ;; esac
[ -z "$at" ] || [ $from_repo -eq 1 ] || { log "--at picks a backup of a repository (repo:GROUP or repo:VM-NAME)"; exit 2; }
if [ $from_repo -eq 0 ]; then
    if [ -d "$backup" ]; then
        manifests=("$backup"/*.backup.json)
        [ ${#manifests[@]} -eq 1 ] && [ -f "${manifests[0]}" ] ||
            { log "$backup must hold exactly one NAME.backup.json"; exit 2; }
        manifest=${manifests[0]}
    else
        manifest=$backup
    fi
    [ -r "$manifest" ] || { log "cannot read $manifest"; exit 2; }
    dir=$(dirname "$manifest")
else
    command -v zadp-repo >/dev/null || { log "zadp-repo not found in PATH"; exit 2; }
    repo_opens || exit
fi

export ZADP_INITIATOR_IQN=${ZADP_INITIATOR_IQN:-iqn.2016-02.com.smartx:hci-restore-$(hostname | tr -c 'A-Za-z0-9.-' '-' | sed 's/-*$//')}

work=$(mktemp -d "${TMPDIR:-/tmp}/restore-vm.XXXXXX")
created="$work/created.jsonl"    # hci-vm-create's lines: the VM to delete on failure
admitted="$work/admitted.jsonl"  # hci-lun-admit's lines: what to put back
touch "$created" "$admitted"
done_ok=0

cleanup() {
    local rc=$?
    trap '' INT TERM
    if [ -s "$admitted" ]; then
        hci-lun-admit --revoke <"$admitted" >/dev/null ||
            { log "WARNING: could not put allowed_initiators back on every LUN (see $work)"; [ "$rc" -ne 0 ] || rc=1; work=; }
    fi
    if [ $done_ok -eq 0 ] && [ -s "$created" ]; then
        if [ $keep_failed -eq 1 ]; then
            log "the half-made VM $(jq -r .vm.name "$created" | head -1) is kept (--keep-failed)"
        elif hci-vm-create --delete-created <"$created" >/dev/null; then
            log "deleted the half-made VM $(jq -r .vm.name "$created" | head -1)"
        else
            log "WARNING: could not delete the half-made VM $(jq -r '.vm.name + " (id " + .vm.id + ")"' "$created" | head -1)"
        fi
    fi
    [ -z "$work" ] || rm -rf "$work"
    [ "$rc" -ne 0 ] || [ $done_ok -eq 1 ] || rc=1
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t0=$(date +%s.%N)

# A repository backup: its manifest and configuration are blobs. repo:GROUP
# means the group's newest backup whose manifest says it is complete.
if [ $from_repo -eq 1 ]; then
    name=${backup#repo:}
    name=${name%/}
    if [[ $name != */* ]]; then
        name=$(restore_point "$name" "$at") || exit
        log "restoring the newest complete backup of $backup${at:+ at or before $at}: repo:$name"
    elif [ -n "$at" ]; then
        log "--at picks a backup of repo:GROUP or repo:VM-NAME, not of $backup"; exit 2
    fi
    [[ $name =~ ^[^/]+/[^/]+$ ]] || { log "$backup: give repo:GROUP/TIME (a backup) or repo:GROUP"; exit 2; }
    manifest="$work/backup.json"
    rc=0
    zadp-repo cat "$name/backup.json" >"$manifest" 2>"$work/cat.err" || rc=$?
    if [ $rc -ne 0 ]; then
        if zadp-repo ls "$name" | jq -se 'any(.[]; .name | endswith("/unfinished.json"))' >/dev/null 2>&1; then
            log "repo:$name is unfinished (no manifest: its backup was killed or is still running); refusing to restore it"
            exit 6
        fi
        cat "$work/cat.err" >&2
        exit "$rc"
    fi
fi

# disk_stream FILE: the saved stream of one disk, on stdout.
disk_stream() {
    if [ $from_repo -eq 1 ]; then zadp-read --source "repo:$name/$1" </dev/null; else cat -- "$dir/$1"; fi
}

# 1. The backup must be whole and intact before anything is created.
jq -e '.format == "hci-backup-manifest"' "$manifest" >/dev/null 2>&1 ||
    { log "$manifest is not a backup-vm.sh manifest"; exit 2; }
jq -e '.complete' "$manifest" >/dev/null ||
    { log "$manifest is incomplete (failed disks: $(jq -c '[.failed_disks[].index]' "$manifest")); refusing to restore it"; exit 6; }
if [ $from_repo -eq 1 ]; then
    config="$work/vm.json"
    zadp-repo cat "$name/$(jq -r .configuration "$manifest")" >"$config" ||
        { log "cannot read the configuration of repo:$name"; exit 6; }
else
    config="$dir/$(jq -r .configuration "$manifest")"
fi
[ -r "$config" ] || { log "cannot read the configuration $config"; exit 6; }
[ "$(wc -l <"$config")" -eq 1 ] || { log "$config must hold one line"; exit 6; }
jq -e '.hci_config' "$config" >/dev/null 2>&1 ||
    { log "$config is not a full configuration (a backup made before hci-vm-get --full); it cannot rebuild the VM"; exit 6; }
# A --map-vlan whose SRC no NIC of the backup is on is a typo: refused, never
# left to fall back on a same-named VLAN of the target.
for ((i = 0; i < ${#create_args[@]}; i++)); do
    [ "${create_args[i]}" = --map-vlan ] || continue
    src=${create_args[i + 1]%%=*}
    jq -e --arg s "$src" 'any(.vm_nics[]?.vlan; .id == $s or .name == $s or .local_id == $s)' "$config" >/dev/null || {
        log "--map-vlan ${create_args[i + 1]}: the backup has no NIC on a VLAN named (or with id) '$src'; its NICs are on: $(jq -r '[.vm_nics[]?.vlan.name] | unique | join(", ") | if . == "" then "(no NICs)" else . end' "$config")"
        exit 2
    }
done
missing=$(jq -r --slurpfile m "$manifest" '[.vm_disks[] | select(.type == "DISK") | .index] - [$m[0].disks[].index] | join(" ")' "$config")
[ -z "$missing" ] || { log "the backup has no stream for disk(s) $missing of the configuration"; exit 6; }

while IFS=$'\t' read -r index file sha digest <&3; do
    if [ $from_repo -eq 0 ]; then
        path="$dir/$file"
        [ -r "$path" ] || { log "disk $index: cannot read $path"; exit 6; }
        [ "$(sha256sum <"$path" | cut -d' ' -f1)" = "$sha" ] ||
            { log "disk $index: $path has changed since the backup (SHA-256 differs); nothing was created"; exit 6; }
    else
        path="repo:$name/$file"
    fi
    disk_stream "$file" | zadp-write --check >"$work/check$index.json" 2>"$work/check$index.err" ||
        { cat "$work/check$index.err" >&2; log "disk $index: $path does not verify; nothing was created"; exit 6; }
    [ "$(jq -r .digest "$work/check$index.json")" = "$digest" ] ||
        { log "disk $index: $path's image digest differs from the manifest; nothing was created"; exit 6; }
done 3< <(jq -r '.disks[] | [.index, (.stream.file // .repo.file), (.stream.sha256 // "-"), .image.digest] | @tsv' "$manifest")

# 2. The VM, stopped, with empty volumes.
hci-vm-create "${create_args[@]}" <"$config" >"$created"
vm_name=$(jq -r .vm.name "$created" | head -1)
log "created VM $vm_name (id $(jq -r .vm.id "$created" | head -1))"

# 3. This host may reach those LUNs, and only those, until we are done.
jq -c 'select(.lun != null)' "$created" | hci-lun-admit >"$admitted"

# 4. Every disk written, then read back and compared.
disks="$work/disks.jsonl"
: >"$disks"
while IFS= read -r line <&3; do
    original=$(jq -r .disk.original_index <<<"$line")
    file=$(jq -r --argjson i "$original" '.disks[] | select(.index == $i) | .stream.file // .repo.file' "$manifest")
    digest=$(jq -r .digest "$work/check$original.json")
    disk_stream "$file" | zadp-write --line "$line" 2>"$work/write.err" ||
        { rc=$?; cat "$work/write.err" >&2; log "disk $original: writing it into $(jq -r .url <<<"$line") failed"; exit "$rc"; }
    zadp-read --source "$(jq -r .url <<<"$line")" </dev/null | zadp-write --check >"$work/back.json" ||
        { rc=$?; log "disk $original: reading it back failed"; exit "$rc"; }
    back=$(jq -r .digest "$work/back.json")
    [ "$back" = "$digest" ] ||
        { log "disk $original: the read-back digest $back differs from the backup's $digest"; exit 6; }
    log "disk $original restored and verified"
    jq -c --arg digest "$digest" '.disk + {digest: $digest, verified: true}' <<<"$line" >>"$disks"
done 3< <(jq -c 'select(.lun != null)' "$admitted")

hci-lun-admit --revoke <"$admitted" >/dev/null
: >"$admitted"

# 5. Started if asked; the summary.
started=false
if [ $start -eq 1 ]; then
    hci-vm-create --start-created <"$created" >/dev/null
    started=true
fi
done_ok=1
t1=$(date +%s.%N)
# What differs from the original, for the summary (on stderr too).
policy="" keep_mac=0
for ((i = 0; i < ${#create_args[@]}; i++)); do
    case ${create_args[i]} in --keep-mac) keep_mac=1 ;; --storage-policy) policy=${create_args[i + 1]} ;; esac
done
differs=$(jq -c --slurpfile m "$manifest" --slurpfile created "$created" --arg policy "$policy" --argjson keep_mac $keep_mac '
    {new_macs: ($keep_mac == 0 and ((.vm_nics // []) | length) > 0),
     cd_roms_without_media: ([.vm_disks[] | select(.type == "CD_ROM")] | length),
     storage_policy: (if $policy == "" then null else {from: ([.vm_disks[] | select(.type == "DISK") | .vm_volume.elf_storage_policy] | unique), to: $policy} end),
     cluster: (($created[0].vm.cluster // null) as $c | ($m[0].vm.cluster // null) as $o
        | if $c != null and $o != null and (($c | if type == "object" then .id else . end) != ($o | if type == "object" then .id else . end))
          then {from: $o, to: $c} else null end)}' "$config")
log "differs from the original: $(jq -r '[if .new_macs then "new MAC addresses" else empty end,
    if .cd_roms_without_media > 0 then "\(.cd_roms_without_media) CD-ROM(s) without media" else empty end,
    if .storage_policy then "storage policy \(.storage_policy.to)" else empty end,
    if .cluster then "cluster \(.cluster.to | if type == "object" then .name // .id else . end) (was \(.cluster.from | if type == "object" then .name // .id else . end))" else empty end]
    | if length == 0 then "nothing" else join("; ") end' <<<"$differs")"
jq -nc --slurpfile created "$created" --slurpfile disks "$disks" --slurpfile m "$manifest" \
    --argjson differs "$differs" --arg backup "$([ $from_repo -eq 1 ] && echo "repo:$name" || echo "$manifest")" --argjson started "$started" \
    --argjson seconds "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" '
    {vm: $created[0].vm, source_vm: $created[0].source_vm, backup: $backup,
     vm_snapshot: $m[0].vm_snapshot.name, disks: ($disks | sort_by(.original_index)),
     verified: true, started: $started, seconds: $seconds,
     differs: $differs}'
