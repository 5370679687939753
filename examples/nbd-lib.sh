# Sourced by restore-files.sh and verify-backup.sh (needs their log
# function and a private directory $work): a repository image served over
# NBD (zadp-repo serve), seen as a file through nbdfuse (FUSE, no root
# mount), its partitions and file systems found with partx and blkid.
# Everything started here is stopped by nbd_cleanup, by pid.

_nbd_pids=() _nbd_mounts=() _nbd_fuse_pids=()

# nbd_cleanup: unmounts the nbdfuse mounts (and waits for nbdfuse to end:
# its client then has left the server), stops the servers.
nbd_cleanup() {
    local m p
    for m in "${_nbd_mounts[@]}"; do
        fusermount3 -u "$m" 2>/dev/null || fusermount -u "$m" 2>/dev/null || fusermount -uz "$m" 2>/dev/null || true
    done
    for p in "${_nbd_fuse_pids[@]}"; do wait "$p" 2>/dev/null || true; done
    for p in "${_nbd_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${_nbd_pids[@]}"; do wait "$p" 2>/dev/null || true; done
    _nbd_pids=() _nbd_mounts=() _nbd_fuse_pids=()
}

# nbd_serve NAME: serves repo:NAME (GROUP/TIME/FILE); sets NBD_URI, and
# NBD_ERR, the file that gets the server's messages (a damaged chunk is
# named there). Returns zadp-repo's status when it cannot serve (a wrong key
# is called that; a missing image is 4).
nbd_serve() {
    local name=$1 out rc=0
    out="$work/serve.$((${#_nbd_pids[@]}))"
    NBD_ERR="$out.err"
    rm -f "$out.uri" && mkfifo "$out.uri"  # (verify-backup.sh: again for each disk)
    zadp-repo serve "repo:$name" </dev/null >"$out.uri" 2>"$NBD_ERR" &
    _nbd_pids+=($!)
    # serve prints the URI once the server answers, and nothing when it
    # fails (the pipe's end): a blocking read, no polling.
    IFS= read -r NBD_URI <"$out.uri" || true
    [ -z "$NBD_URI" ] || return 0
    wait "${_nbd_pids[-1]}" || rc=$?
    cat "$NBD_ERR" >&2
    explain_key_error "$(cat "$NBD_ERR")"
    return $((rc ? rc : 7))
}

# nbd_file URI: sets NBD_FILE, the path of a read-only file that is the
# export (nbdfuse), mounted in $work until nbd_cleanup. (Not in a $(...):
# the mount would be forgotten by the subshell.)
nbd_file() {
    local dir="$work/fuse.${#_nbd_mounts[@]}" ready
    mkdir -p "$dir"
    rm -f "$dir.ready" && mkfifo "$dir.ready"
    _nbd_mounts+=("$dir")
    # nbdfuse writes its pid into the fifo once the file is there; when it
    # ends first, the subshell writes "failed" (opened read-write, which
    # never blocks: no reader left waiting, no writer left hanging).
    (
        nbdfuse -r -P "$dir.ready" "$dir" "$1" </dev/null >/dev/null 2>"$dir.err" || true
        echo failed 1<>"$dir.ready"
    ) &
    _nbd_fuse_pids+=($!)
    IFS= read -r ready <"$dir.ready" || true
    [[ $ready =~ ^[0-9]+$ && -e $dir/nbd ]] && { NBD_FILE="$dir/nbd"; return 0; }
    log "nbdfuse could not show $1 as a file: $(cat "$dir.err")"
    return 7
}

# filesystems FILE: one line per file system on a disk image, "PART OFFSET
# TYPE LABEL" (PART 0 for a file system on the whole disk, TYPE "-" when
# blkid finds none in a partition, LABEL "-" when it has none, blanks as _):
# the partitions of its table (partx: GPT or MBR; starts in 512-byte
# sectors), else the whole disk.
filesystems() {
    local file=$1 starts n=0 start key value type label
    starts=$(partx -g -o START "$file" 2>/dev/null) || starts=""
    [ -n "$starts" ] || starts=0
    for start in $starts; do
        [ "$start" = 0 ] && [ "$starts" = 0 ] || n=$((n + 1))
        type="" label=""
        # One probe for both (udev format: ID_FS_LABEL has _ for blanks).
        while IFS='=' read -r key value; do
            case $key in ID_FS_TYPE) type=$value ;; ID_FS_LABEL) label=$value ;; esac
        done < <(blkid -p -O "$((start * 512))" -o udev "$file" 2>/dev/null || true)
        printf '%s %s %s %s\n' "$n" "$((start * 512))" "${type:--}" "${label:--}"
    done
}

# is_ext TYPE: a file system e2fsprogs reads without mounting it.
is_ext() { case $1 in ext2 | ext3 | ext4) return 0 ;; *) return 1 ;; esac; }

# damaged_chunk ERRFILE [FROM]: the server's first line naming a damaged or
# missing chunk, if any (from line FROM on: what one check met).
damaged_chunk() {
    tail -n +"${2:-1}" "$1" 2>/dev/null | grep -m1 -oE 'repo:[^ ]+: chunk [0-9]+ at offset [0-9]+ .*' || true
}

# guestfs_usable: libguestfs is installed (its appliance may still fail to
# launch, which the caller reports).
guestfs_usable() { command -v guestfish >/dev/null; }

# guestfs_uri URI: the NBD URI as libguestfs takes it (nbd://?socket=PATH
# for a Unix socket).
guestfs_uri() { case $1 in nbd+unix:///\?socket=*) echo "nbd://?socket=${1#nbd+unix:///?socket=}" ;; *) echo "$1" ;; esac; }
