# Sourced by restore-files.sh and verify-backup.sh (needs their log
# function and a private directory $work): a repository image served over
# NBD (zadp-repo serve), seen as a file through nbdfuse (FUSE, no root
# mount), its partitions and file systems found with sfdisk and blkid.
# Everything started here is stopped by nbd_cleanup, by pid.

_nbd_pids=() _nbd_mounts=()

# nbd_cleanup: unmounts the nbdfuse mounts, stops the servers.
nbd_cleanup() {
    local m p
    for m in "${_nbd_mounts[@]}"; do
        fusermount3 -u "$m" 2>/dev/null || fusermount -u "$m" 2>/dev/null || fusermount -uz "$m" 2>/dev/null || true
    done
    for p in "${_nbd_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${_nbd_pids[@]}"; do wait "$p" 2>/dev/null || true; done
    _nbd_pids=() _nbd_mounts=()
}

# nbd_serve NAME: serves repo:NAME (GROUP/TIME/FILE); sets NBD_URI, and
# NBD_ERR, the file that gets the server's messages (a damaged chunk is
# named there). Returns zadp-repo's status when it cannot serve.
nbd_serve() {
    local name=$1 out i
    out="$work/serve.$((${#_nbd_pids[@]}))"
    NBD_ERR="$out.err"
    zadp-repo serve --json "repo:$name" </dev/null >"$out.json" 2>"$NBD_ERR" &
    _nbd_pids+=($!)
    for i in $(seq 600); do
        [ -s "$out.json" ] && break
        if ! kill -0 "${_nbd_pids[-1]}" 2>/dev/null; then
            local rc=0
            wait "${_nbd_pids[-1]}" || rc=$?
            cat "$NBD_ERR" >&2
            return $((rc ? rc : 7))
        fi
        sleep 0.1
    done
    NBD_URI=$(jq -r .uri "$out.json")
}

# nbd_file URI: sets NBD_FILE, the path of a read-only file that is the
# export (nbdfuse), mounted in $work until nbd_cleanup. (Not in a $(...):
# the mount would be forgotten by the subshell.)
nbd_file() {
    local dir="$work/fuse.${#_nbd_mounts[@]}" i
    mkdir -p "$dir"
    nbdfuse -r "$dir" "$1" </dev/null >/dev/null 2>"$dir.err" &
    _nbd_mounts+=("$dir")
    for i in $(seq 300); do
        [ -e "$dir/nbd" ] && { NBD_FILE="$dir/nbd"; return 0; }
        sleep 0.1
    done
    log "nbdfuse could not show $1 as a file: $(cat "$dir.err")"
    return 7
}

# filesystems FILE: one line per file system on a disk image, "PART OFFSET
# TYPE LABEL" (PART 0 for a file system on the whole disk, TYPE "-" when
# blkid finds none in a partition, LABEL "-" when it has none): the
# partitions of its table (sfdisk: GPT or MBR), else the whole disk.
filesystems() {
    local file=$1 parts n=0 start type label
    parts=$(sfdisk -J "$file" 2>/dev/null | jq -r '.partitiontable | .sectorsize as $s
        | .partitions[] | "\(.start * ($s // 512))"' 2>/dev/null) || parts=""
    [ -n "$parts" ] || parts=0
    for start in $parts; do
        [ "$start" = 0 ] && [ "$parts" = 0 ] || n=$((n + 1))
        type=$(blkid -p -O "$start" -s TYPE -o value "$file" 2>/dev/null | head -n 1 || true)
        label=$(blkid -p -O "$start" -s LABEL -o value "$file" 2>/dev/null | head -n 1 || true)
        printf '%s %s %s %s\n' "$n" "$start" "${type:--}" "$(printf '%s' "${label:--}" | tr ' ' _)"
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
