#!/bin/bash
# backup-vm.sh NAME DIR: back up one VM (configuration and every data disk)
# into DIR, the way DESIGN.md's pipeline does it, but careful:
#   - every stream is written under a temporary name and renamed only once
#     it is complete and has been verified (zadp-write --check);
#   - the exported clone LUNs are always removed, and the VM snapshot is
#     deleted unless --keep-snapshot, even when something fails or on Ctrl-C;
#   - the manifest NAME.backup.json lists only the disks that were saved and
#     names the ones that failed; the exit status is non-zero if any failed.
# Credentials come from the environment (CLOUDTOWER_ENDPOINT and
# CLOUDTOWER_TOKEN, CLOUDTOWER_TOKEN_FILE or CLOUDTOWER_USERNAME/PASSWORD)
# and are never put on a command line.
set -euo pipefail

prog=${0##*/}
usage() {
    cat <<EOF
usage: $prog [options] NAME DIR

Back up the VM called NAME into directory DIR: NAME.vm.json (configuration),
NAME.diskN.zst (one zstd-compressed zadp stream per data disk) and the
manifest NAME.backup.json.

options:
  --consistency crash|fs|auto  snapshot consistency (default: auto)
  --target NAME|ID             iSCSI target that receives the clones
                               (default: \$HCI_BACKUP_TARGET or backup-tgt)
  --keep-snapshot              keep the VM snapshot after the backup
  --zstd-level N               zstd compression level (default: 3)
  --force                      write into DIR even if it already holds a
                               manifest for NAME
  -h, --help                   this text

exit status: 0 all disks saved; 1 some disk failed (see the manifest);
otherwise the exit status of the hci-* tool that failed (2 usage, 3 API or
network, 4 VM not found, 5 snapshot task failed).
EOF
    exit "${1:-0}"
}
log() { printf '%s: %s\n' "$prog" "$*" >&2; }

consistency=auto
iscsi_target=${HCI_BACKUP_TARGET:-backup-tgt}
keep_snapshot=0
zstd_level=3
force=0
while [ $# -gt 0 ]; do
    case $1 in
        --consistency) consistency=${2:?}; shift 2 ;;
        --target) iscsi_target=${2:?}; shift 2 ;;
        --keep-snapshot) keep_snapshot=1; shift ;;
        --zstd-level) zstd_level=${2:?}; shift 2 ;;
        --force) force=1; shift ;;
        -h | --help) usage 0 ;;
        --) shift; break ;;
        -*) log "unknown option: $1"; usage 2 >&2 ;;
        *) break ;;
    esac
done
[ $# -eq 2 ] || usage 2 >&2
vm=$1
dir=$2
case $consistency in crash | fs | auto) ;; *) log "--consistency must be crash, fs or auto"; exit 2 ;; esac
case $zstd_level in '' | *[!0-9]*) log "--zstd-level must be a number"; exit 2 ;; esac

for cmd in hci-vm-get hci-snap-create hci-task-wait hci-snap-luns hci-lun-export \
    hci-lun-unexport hci-snap-delete zadp-read zadp-write zstd jq sha256sum; do
    command -v "$cmd" >/dev/null || { log "$cmd not found in PATH"; exit 2; }
done

# File names: the VM name with anything unusual replaced, so a name with a
# slash or a space cannot escape DIR or break a Makefile.
safe=$(printf '%s' "$vm" | tr -c 'A-Za-z0-9._-' '_')
manifest="$dir/$safe.backup.json"
mkdir -p "$dir"
if [ -e "$manifest" ] && [ $force -eq 0 ]; then
    log "$manifest exists; use a fresh directory per backup (or --force)"
    exit 2
fi

# All intermediate files live in a work directory inside DIR, so the final
# renames are atomic (same file system) and a crash leaves only .work dirs.
work=$(mktemp -d "$dir/.$safe.work.XXXXXX")
created="$work/snapshot-created.jsonl"   # create-vm-snapshot result: what to delete
exported="$work/exported.jsonl"          # lines whose clone LUNs exist: what to unexport
saved="$work/saved.jsonl"                # one manifest entry per saved disk
failed="$work/failed.jsonl"              # one entry per failed disk
touch "$created" "$exported" "$saved" "$failed"
snapshot_deleted=0
# Clone names carry a prefix unique to this run, so that clones made by an
# hci-lun-export that failed or was interrupted before printing them can
# still be found and removed (hci-lun-unexport --stale).
clone_prefix="hci-backup-$(printf '%.40s' "$safe")-$$-${RANDOM}-"
export_started=0

cleanup() {
    local rc=$?
    # A second Ctrl-C must not interrupt the clean-up itself.
    trap '' INT TERM
    if [ -s "$exported" ]; then
        hci-lun-unexport <"$exported" >/dev/null ||
            { log "WARNING: could not remove every exported clone; see 'hci-lun-unexport --stale'"; [ "$rc" -ne 0 ] || rc=1; }
    fi
    if [ $export_started -eq 1 ]; then
        local stale
        stale=$(hci-lun-unexport --stale "$clone_prefix" --delete | wc -l) ||
            { log "WARNING: could not look for leftover clones named $clone_prefix*"; [ "$rc" -ne 0 ] || rc=1; }
        [ "${stale:-0}" -eq 0 ] || log "removed $stale leftover clone(s) named $clone_prefix*"
    fi
    if [ -s "$created" ] && [ $keep_snapshot -eq 0 ] && [ $snapshot_deleted -eq 0 ]; then
        # Exit 4 (not found): the snapshot task failed, so there is nothing to delete.
        local del=0
        hci-snap-delete <"$created" >/dev/null 2>"$work/delete.err" || del=$?
        if [ $del -ne 0 ] && [ $del -ne 4 ]; then
            cat "$work/delete.err" >&2
            log "WARNING: could not delete the VM snapshot $(jq -r '.data.name // .data.id' "$created" 2>/dev/null)"
            [ "$rc" -ne 0 ] || rc=1
        fi
    fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
started_at=$(now)

# Part 1: the configuration.
hci-vm-get --name "$vm" --unique >"$work/vm.json"
[ "$(wc -l <"$work/vm.json")" -eq 1 ] || { log "expected exactly one VM named $vm"; exit 4; }

# The snapshot. Its creation line is kept before waiting, so that the trap
# can delete it even if the wait is interrupted.
hci-snap-create --consistency "$consistency" <"$work/vm.json" >"$created"
hci-task-wait <"$created" >"$work/snapshot.jsonl"
hci-snap-luns <"$work/snapshot.jsonl" >"$work/luns.jsonl"
[ -s "$work/luns.jsonl" ] || log "the VM has no data disks; saving its configuration only"

# Expose every frozen disk to this host. A disk whose export fails is
# recorded as failed; the others are still saved.
export_rc=0
if [ -s "$work/luns.jsonl" ]; then
    export_started=1
    hci-lun-export --target "$iscsi_target" --prefix "$clone_prefix" <"$work/luns.jsonl" >"$exported" || export_rc=$?
fi
if [ $export_rc -ne 0 ]; then
    log "hci-lun-export failed (exit $export_rc) for some disks"
    jq -c --slurpfile ok "$exported" \
        'select(.disk.index as $i | [$ok[].disk.index] | index($i) | not)
         | {index: .disk.index, error: "export failed"}' "$work/luns.jsonl" >>"$failed"
fi

# save_disk LINE: streams one exported disk into DIR/NAME.diskN.zst and
# appends its manifest entry. Called in an `if`, where set -e is off, so
# every step checks its own status.
save_disk() {
    local line=$1 index part final t0 t1 sha bytes
    index=$(jq -r .disk.index <<<"$line") || return 1
    final="$safe.disk$index.zst"
    part="$work/$final.part"
    t0=$(date +%s.%N)
    zadp-read --line "$line" </dev/null | zstd -q -T0 "-$zstd_level" >"$part" ||
        { log "disk $index: reading or compressing failed"; return 1; }
    # Verify what was stored, not what was sent: decode the file again.
    zadp-write --check <"$part" >"$work/check$index.out" ||
        { log "disk $index: the stored stream does not verify"; return 1; }
    sha=$(sha256sum <"$part" | cut -d' ' -f1) || return 1
    bytes=$(stat -c %s "$part") || return 1
    mv -f "$part" "$dir/$final" || return 1
    t1=$(date +%s.%N)
    jq -c --arg file "$final" --arg sha "$sha" --argjson bytes "$bytes" \
        --argjson seconds "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" \
        --rawfile check "$work/check$index.out" '
        ($check | try fromjson catch null) as $c |
        {index: .disk.index, bus: .disk.bus, boot: .disk.boot, size: .disk.size,
         disk_name: .disk.disk_name,
         lun_snapshot: (.lun_snapshot | {id, name, local_id}),
         stream: {file: $file, compression: "zstd", bytes: $bytes, sha256: $sha},
         image: $c, seconds: $seconds}' <<<"$line" >>"$saved" || return 1
}

# Part 2: the data, one stream per disk. The loop reads its lines on fd 3 so
# that nothing inside it can eat them from stdin.
while IFS= read -r line <&3; do
    if save_disk "$line"; then
        log "disk $(jq -r .disk.index <<<"$line") saved"
    else
        jq -c '{index: .disk.index, error: "read, compress or verify failed"}' <<<"$line" >>"$failed"
        rm -f "$work"/*.part
    fi
done 3<"$exported"

# Release the clones and (unless kept) the snapshot now rather than in the
# trap, so that their failures show up in the exit status and the manifest.
if [ -s "$exported" ]; then
    hci-lun-unexport <"$exported" >/dev/null && : >"$exported"
fi
if [ $keep_snapshot -eq 0 ]; then
    hci-snap-delete <"$created" >/dev/null && snapshot_deleted=1
fi

# Configuration next to the data, then the manifest last: its presence means
# "this backup is finished"; its "complete" field says whether every disk is in.
cp "$work/vm.json" "$work/vm.json.part" && mv -f "$work/vm.json.part" "$dir/$safe.vm.json"
jq -n --slurpfile vm "$work/vm.json" --slurpfile snap "$work/snapshot.jsonl" \
    --slurpfile saved "$saved" --slurpfile failed "$failed" \
    --arg consistency "$consistency" --argjson kept "$((1 - snapshot_deleted))" \
    --arg started "$started_at" --arg finished "$(now)" --arg config "$safe.vm.json" '
    {format: "hci-backup-manifest", version: 1,
     vm: ($vm[0] | {id, name, local_id, cluster: (.cluster | if type == "object" then {id, name} else . end)}),
     configuration: $config,
     vm_snapshot: ($snap[0].data | {id, name, local_id, consistent_type}),
     consistency_requested: $consistency,
     snapshot_kept: ($kept == 1),
     started_at: $started, finished_at: $finished,
     complete: ($failed | length == 0),
     disks: ($saved | sort_by(.index)),
     failed_disks: ($failed | sort_by(.index))}' >"$work/manifest.part"
mv -f "$work/manifest.part" "$manifest"

if [ -s "$failed" ]; then
    log "$(wc -l <"$failed") disk(s) failed; $manifest lists only the saved ones"
    exit 1
fi
