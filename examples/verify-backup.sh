#!/bin/bash
# verify-backup.sh repo:GROUP[/TIME]: does the backup mount? For every disk
# of the backup, finds its partitions and file systems and checks each
# read-only, without restoring anything: the disk is served over NBD
# (zadp-repo serve, every chunk checked) and seen as a file through nbdfuse.
# ext2/3/4 are checked with e2fsck -fn; other file systems with libguestfs
# (fsck in its appliance, on a read-only disk) when it is installed, else
# reported as not checked. One JSON line per file system:
#   {backup, disk, partition, offset, fs, label, ok, check, exit, error?}
# ok is true, false, or null (not checked). A disk where no file system is
# found gets one line with fs null.
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/restore-point.sh"
. "$here/nbd-lib.sh"
usage() {
    cat <<EOF
usage: $prog [--repo REPO] [--at DATE] repo:GROUP[/TIME]

Checks every file system on every disk of a backup in the repository --repo
REPO (a directory or s3://BUCKET/PREFIX; else \$ZADP_REPO), read-only. repo:GROUP (or repo:VM-NAME) is the group's
newest complete backup (with --at DATE, the newest at or before DATE).
exit status: 0 every file system checked passed; 1 a file system failed
its check (the guest's own file system is inconsistent); 2 usage or a tool
missing; 4 no such backup; 6 the backup is damaged: a chunk a check read is
damaged or missing (named on stderr and in the line's "error").
EOF
    exit "${1:-0}"
}
log() { printf '%s: %s\n' "$prog" "$*" >&2; }

at="" backup=""
while [ $# -gt 0 ]; do
    case $1 in
        --repo) export ZADP_REPO=${2:?}; shift 2 ;;
        --at) [ $# -ge 2 ] || { log "$1 needs a value"; exit 2; }; at=$2; shift 2 ;;
        -h | --help) usage ;;
        -*) log "unknown option $1"; usage 2 >&2 ;;
        *) [ -z "$backup" ] || usage 2 >&2; backup=$1; shift ;;
    esac
done
[[ $backup == repo:* ]] || usage 2 >&2
need_tools zadp-repo jq nbdfuse e2fsck partx blkid
repo_opens || exit

point=$(backup_point "$backup" "$at") || exit
[[ $point =~ ^[^/]+/[^/]+$ ]] || { log "$backup: give repo:GROUP/TIME (a backup) or repo:GROUP"; exit 2; }
mapfile -t disks < <(zadp-repo ls "$point" | jq -r 'select(.type == "image") | .name' | sort -V)
[ ${#disks[@]} -gt 0 ] || { log "repo:$point holds no disk image (zadp-repo ls $point)"; exit 4; }

work=$(mktemp -d "${TMPDIR:-/tmp}/verify-backup.XXXXXX")
trap 'nbd_cleanup; rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

failed=0 damaged=0
# line DISK PART OFFSET FS LABEL OK CHECK EXIT [ERROR]: one JSON line
line() {
    jq -nc --arg backup "repo:$point" --arg disk "${1##*/}" --argjson part "$2" --argjson offset "$3" \
        --arg fs "$4" --arg lab "$5" --argjson ok "$6" --arg check "$7" --argjson rc "$8" --arg error "${9:-}" \
        '{backup: $backup, disk: $disk, partition: $part, offset: $offset, fs: (if $fs == "-" then null else $fs end),
          "label": (if $lab == "-" then null else $lab end), ok: $ok, check: $check, exit: $rc}
         + (if $error == "" then {} else {error: $error} end)'
}

# verdict DISK PART OFFSET FS LABEL CHECK RC OUTPUT: the line of one check,
# counting failures (a damaged chunk the server named makes it exit 6).
verdict() {
    local d
    d=$(damaged_chunk "$NBD_ERR" "$since")
    if [ -n "$d" ]; then
        damaged=1
        log "$d"
        line "$1" "$2" "$3" "$4" "$5" false "$6" "$7" "the backup is damaged: $d"
    elif [ "$7" = 0 ]; then
        line "$1" "$2" "$3" "$4" "$5" true "$6" 0
    else
        failed=1
        line "$1" "$2" "$3" "$4" "$5" false "$6" "$7" "$(tail -n 3 "$8" | tr '\n' ' ')"
    fi
}

check_disk() {
    local image=$1 part off type label rc n=0 d
    nbd_serve "$image" || exit
    nbd_file "$NBD_URI" || exit
    since=1
    filesystems "$NBD_FILE" > "$work/filesystems"
    while read -r part off type label; do
        if [ "$type" = - ]; then
            # No file system found: none there, or its superblock unreadable.
            d=$(damaged_chunk "$NBD_ERR")
            [ -n "$d" ] || continue
            since=1
            verdict "$image" "$part" "$off" - - "blkid" 1 /dev/null
            n=$((n + 1))
            continue
        fi
        n=$((n + 1))
        rc=0
        since=$(($(wc -l < "$NBD_ERR") + 1))
        if is_ext "$type"; then
            e2fsck -fn "$NBD_FILE?offset=$off" >"$work/check.out" 2>&1 || rc=$?
            verdict "$image" "$part" "$off" "$type" "$label" "e2fsck -fn" "$rc" "$work/check.out"
        elif [ "$type" = swap ]; then
            line "$image" "$part" "$off" "$type" "$label" null "none" null
        elif guestfs_usable; then
            # The partition's device in the appliance: /dev/sda, /dev/sdaN.
            local dev=/dev/sda
            [ "$part" = 0 ] || dev=/dev/sda$part
            guestfish --ro --format=raw -a "$(guestfs_uri "$NBD_URI")" run : fsck "$type" "$dev" \
                >"$work/check.out" 2>&1 || rc=$?
            [ $rc != 0 ] || [ "$(tail -n 1 "$work/check.out")" = 0 ] || rc=$(tail -n 1 "$work/check.out")
            verdict "$image" "$part" "$off" "$type" "$label" "libguestfs fsck" "$rc" "$work/check.out"
        else
            line "$image" "$part" "$off" "$type" "$label" null "none" null "$type needs libguestfs (Debian: libguestfs-tools) to be checked"
        fi
    done < "$work/filesystems"
    [ $n -gt 0 ] || line "$image" null null - - null none null "no file system found"
    nbd_cleanup
}

for d in "${disks[@]}"; do check_disk "$d"; done
[ $damaged = 0 ] || exit 6
[ $failed = 0 ] || exit 1
exit 0
