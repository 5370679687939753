#!/bin/bash
# restore-files.sh repo:GROUP[/TIME] [--disk N] PATH... DEST: copies files
# or directories out of a guest file system in a restore point, without
# restoring the disk and without a root mount: the disk is served over NBD
# (zadp-repo serve), only the blocks the copy needs are read (every chunk
# checked), and the copies land in DEST (created if absent). One JSON line
# per PATH: {path, dest, backup, disk, partition, fs, files, bytes, backend}.
#
# Backends (--backend, default auto):
#   e2fs     ext2/3/4 on a partition or the whole disk, read by debugfs from
#            e2fsprogs through nbdfuse (FUSE): no VM, no root mount; PATH is
#            looked up in each such file system in turn.
#   guestfs  libguestfs (guestfish -i copy-out on the NBD URI): any file
#            system, LVM, the guest's mount points; starts a small appliance
#            VM (seconds with KVM; about 70 s without, under TCG).
#   auto     e2fs for a PATH found in an ext2/3/4 file system, else guestfs
#            when it is installed.
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/restore-point.sh"
. "$here/nbd-lib.sh"
usage() {
    cat <<EOF
usage: $prog [--repo REPO] [--at DATE] [--disk N] [--backend auto|e2fs|guestfs] repo:GROUP[/TIME] PATH... DEST

Copies PATH (a file or a directory, absolute in the guest's file system) from
disk N (default 0) of a backup in the repository --repo REPO (a directory or s3://BUCKET/PREFIX; else \$ZADP_REPO)
into the directory DEST. repo:GROUP (or repo:VM-NAME) is the group's newest
complete backup (with --at DATE, the newest at or before DATE).
exit status: 0 copied; 2 usage or a tool missing; 4 no such backup, disk or
PATH; 6 a chunk the copy needed is damaged (named on stderr); 7 I/O error.
EOF
    exit "${1:-0}"
}
log() { printf '%s: %s\n' "$prog" "$*" >&2; }

disk=0 at="" backend=auto args=()
while [ $# -gt 0 ]; do
    case $1 in
        --repo) export ZADP_REPO=${2:?}; shift 2 ;;
        --at) [ $# -ge 2 ] || { log "$1 needs a value"; exit 2; }; at=$2; shift 2 ;;
        --disk) [[ ${2:-} =~ ^[0-9]+$ ]] || { log "--disk takes a number"; exit 2; }; disk=$2; shift 2 ;;
        --backend) backend=${2:-}; shift 2
            case $backend in auto | e2fs | guestfs) ;; *) log "--backend is auto, e2fs or guestfs"; exit 2 ;; esac ;;
        -h | --help) usage ;;
        --) shift; args+=("$@"); break ;;
        -*) log "unknown option $1"; usage 2 >&2 ;;
        *) args+=("$1"); shift ;;
    esac
done
[ ${#args[@]} -ge 3 ] || usage 2 >&2
backup=${args[0]} dest=${args[-1]} paths=("${args[@]:1:${#args[@]}-2}")
[[ $backup == repo:* ]] || { log "the backup is repo:GROUP[/TIME], not $backup"; exit 2; }
for p in "${paths[@]}"; do
    [[ $p == /?* ]] || { log "PATH $p is not an absolute path below / in the guest's file system"; exit 2; }
    [[ $p != *'"'* && $p != *$'\n'* ]] || { log "PATH $p holds a double quote or a line break, which debugfs cannot take"; exit 2; }
done
need_tools zadp-repo jq nbdkit
# zadp-repo serve checks the key and that the disk exists (and names what is
# wrong); only repo:GROUP lists the repository before, so check the key first.
[[ ${backup#repo:} == */?* ]] || repo_opens || exit

point=$(backup_point "$backup" "$at") || exit
image="$point/disk$disk"

work=$(mktemp -d "${TMPDIR:-/tmp}/restore-files.XXXXXX")
trap 'nbd_cleanup; rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
nbd_serve "$image" || exit
mkdir -p -- "$dest" || exit 7
# fail_damaged: exit 6 naming the damaged chunk when the server met one.
fail_damaged() {
    local d
    d=$(damaged_chunk "$NBD_ERR")
    [ -z "$d" ] || { log "$d"; log "the backup is damaged where $1 lies; nothing more was copied"; exit 6; }
}

# report PATH TARGET PART FS BACKEND: the JSON line of one copy
report() {
    jq -nc --arg path "$1" --arg dest "$2" --arg backup "repo:$point" --arg disk "disk$disk" --argjson part "$3" \
        --arg fs "$4" --arg backend "$5" --argjson files "$(find "$2" -type f | wc -l)" \
        --argjson bytes "$(du -sb --apparent-size "$2" | cut -f1)" \
        '{path: $path, dest: $dest, backup: $backup, disk: $disk, partition: $part, fs: $fs, files: $files, bytes: $bytes, backend: $backend}'
}

copy_e2fs() {
    need_tools nbdfuse debugfs partx blkid
    local file p fs line part off type label found err target
    nbd_file "$NBD_URI" || exit
    file=$NBD_FILE
    mapfile -t fs < <(filesystems "$file")
    for p in "${paths[@]}"; do
        found=0
        for line in "${fs[@]}"; do
            read -r part off type label <<<"$line"
            is_ext "$type" || continue
            # debugfs exits 0 whatever happens: its messages tell (the banner aside).
            err=$(debugfs -c -R "stat \"$p\"" "$file?offset=$off" 2>&1 >/dev/null | grep -v '^debugfs [0-9]' || true)
            fail_damaged "$p"
            [ -z "$err" ] || continue
            target="$dest/$(basename -- "$p")"
            [ ! -e "$target" ] || { log "$target exists already; not overwritten"; exit 2; }
            err=$(debugfs -c -R "rdump \"$p\" \"$(dirname -- "$target")\"" "$file?offset=$off" 2>&1 >/dev/null |
                grep -v '^debugfs [0-9]' || true)
            fail_damaged "$p"
            [ -z "$err" ] || { log "copying $p from partition $part: $err"; exit 7; }
            report "$p" "$target" "$part" "$type" e2fs
            found=1
            break
        done
        [ $found = 1 ] && continue
        # Elsewhere (LVM, XFS...): libguestfs, when auto and installed.
        [ "$backend" = auto ] && guestfs_usable && { guestfs_copy "$p"; continue; }
        log "$p is in no ext2/3/4 file system of repo:$image (libguestfs reads the others: --backend guestfs)"
        exit 4
    done
}

# guestfs_copy PATH: one PATH by libguestfs: the guest's own mount points
# (inspection: LVM, /boot...), else each file system of the disk mounted
# alone (a data disk has no operating system to inspect).
guestfs_copy() {
    guestfs_usable || { log "libguestfs is not installed (Debian: libguestfs-tools): only ext2/3/4 can be read"; exit 2; }
    local p=$1 target uri dev
    target="$dest/$(basename -- "$p")"
    [ ! -e "$target" ] || { log "$target exists already; not overwritten"; exit 2; }
    uri=$(guestfs_uri "$NBD_URI")
    if guestfish --ro --format=raw -a "$uri" -i copy-out "$p" "$dest" 2>"$work/guestfs.err"; then
        report "$p" "$target" null "" guestfs
        return
    fi
    fail_damaged "$p"
    for dev in $(guestfish --ro --format=raw -a "$uri" run : list-filesystems 2>>"$work/guestfs.err" |
        awk -F': ' '$2 != "unknown" && $2 != "swap" { print $1 }'); do
        if guestfish --ro --format=raw -a "$uri" -m "$dev:/:ro" copy-out "$p" "$dest" 2>>"$work/guestfs.err"; then
            report "$p" "$target" "\"$dev\"" "" guestfs
            return
        fi
    done
    fail_damaged "$p"
    cat "$work/guestfs.err" >&2
    log "libguestfs found $p in no file system of repo:$image"
    exit 4
}

case $backend in
    guestfs) for p in "${paths[@]}"; do guestfs_copy "$p"; done ;;
    *) copy_e2fs ;;
esac
