#!/bin/bash
# restore-disk.sh STREAM TARGET: restores one disk's stream (as written by
# backup-vm.sh; zstd, lz4 or plain), or an image of a repository
# (repo:GROUP/TIME/diskN), into a file, a block device or an iSCSI LUN, and
# verifies it:
#   1. the whole stream is checked before the target is touched, so a damaged
#      backup never overwrites a good disk;
#   2. zadp-write checks every record and the trailer while writing;
#   3. the first SIZE bytes of the target (SIZE: the image's length) are read
#      back and their digest compared with the one in the stream's trailer
#      (skip with --no-readback); a larger device or LUN keeps what lies past
#      the image, and zadp-write says how many bytes that is.
# A target that already holds data is refused unless --force (zadp-write's
# no-clobber); with --force a regular file ends at the image's size.
# With --new-lun TARGET_NAME a fresh thin LUN of the stream's size is created
# in that iSCSI target first (create-lun.sh), and TARGET is not given.
# Prints one JSON line: {stream, target, size, digest, verified, lun?}.
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/restore-point.sh"
usage() {
    cat <<EOF
usage: $prog [--no-readback] [--sha256] [--force] [--repo REPO] [--at DATE] STREAM TARGET
       $prog [--no-readback] [--repo REPO] [--at DATE] --new-lun ISCSI_TARGET [--lun-name NAME] STREAM

STREAM is a stream file, - (stdin), or repo:GROUP/TIME/FILE, an image in the
repository --repo REPO (a directory or s3://BUCKET/PREFIX; else \$ZADP_REPO), for example
repo:\$VM_ID/2026-11-28T020000Z/disk0 (zadp-repo ls lists them).
With --at DATE (any form date -d reads, local time: "last tuesday 23:00",
"2026-11-28 03:00") STREAM is repo:GROUP/FILE or repo:VM-NAME/FILE (the name
recorded at backup time), and the image FILE of the newest complete backup at
or before DATE is restored (exit 4 when there is none).
TARGET is a file path (created sparse, renamed into place once verified), a
block device, or iscsi://host[:port]/IQN/LUN. A TARGET that already holds data
is only overwritten with --force. STREAM may be - for stdin only with
--no-readback.
--sha256 adds "sha256" to the line: the SHA-256 of the image as restored
(the target's first SIZE bytes, read back once more), which
`head -c SIZE TARGET | sha256sum` (or sha256sum of a file TARGET) shows too;
"digest" is the stream's own digest (XXH3-128 of per-block hashes, zadp-stream(5)), not a SHA-256.
exit status: 0 restored and verified; 2 usage, TARGET holds data and no
--force, a wrong passphrase or key, or a tool not on PATH (each said so);
3 API or network; 4 no such image or backup; 6 the stream or the read-back
does not verify; 7 I/O error.
EOF
    exit "${1:-0}"
}
log() { printf '%s: %s\n' "$prog" "$*" >&2; }

readback=1 new_lun="" lun_name="" force=() at="" sha=0
while [ $# -gt 0 ]; do
    case $1 in
        --no-readback) readback=0; shift ;;
        --sha256) sha=1; shift ;;
        --force) force=(--force); shift ;;
        --new-lun) new_lun=${2:?}; shift 2 ;;
        --lun-name) lun_name=${2:?}; shift 2 ;;
        --repo) export ZADP_REPO=${2:?}; shift 2 ;;
        --at) [ $# -ge 2 ] || { log "$1 needs a value"; exit 2; }; at=$2; shift 2 ;;
        -h | --help) usage 0 ;;
        --) shift; break ;;
        -?*) log "unknown option: $1"; usage 2 >&2 ;;
        *) break ;;
    esac
done
if [ -n "$new_lun" ]; then [ $# -eq 1 ] || usage 2 >&2; else [ $# -eq 2 ] || usage 2 >&2; fi
stream=$1
target=${2:-}
need_tools zadp-read zadp-write jq
case $stream in repo:*) need_tools zadp-repo; repo_opens || exit ;; esac
if [ -n "$at" ]; then
    [[ $stream =~ ^repo:[^/]+/[^/]+$ ]] || { log "--at takes repo:GROUP/FILE or repo:VM-NAME/FILE, not $stream"; exit 2; }
    what=${stream#repo:}
    point=$(restore_point "${what%/*}" "$at") || exit
    stream="repo:$point/${what##*/}"
    log "restoring $stream, the newest complete backup at or before $at"
fi
case $stream in
    repo:*) from_repo=1 ;;
    *) from_repo=0; [ "$stream" = - ] || [ -r "$stream" ] || { log "cannot read $stream"; exit 7; } ;;
esac
[ "$stream" != - ] || [ $readback -eq 0 ] || { log "a stream on stdin needs --no-readback"; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/restore-disk.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# stream_info: `zadp-write --check` prints the stream's header and statistics
# as JSON; these pick the logical size and the digest of the whole image.
size_of() { jq -r '.header.size // .size // .logical_size // empty' "$1"; }
digest_of() { jq -r '.trailer.digest // .digest // .image_digest // empty' "$1"; }

# feed CMD...: runs CMD with the stream on its stdin. An image of a
# repository is read out as a verifiable stream (zadp-read checks every chunk
# against its id); when that fails, its status (4 no such image, 6 damaged)
# is the one returned, not the writer's 6; when the writer stops first (a
# target that holds data: 2), the writer's, without the reader's broken pipe.
feed() {
    if [ $from_repo -eq 1 ]; then
        local st
        zadp-read --source "$stream" </dev/null 2>"$work/read.err" | "$@" && { cat "$work/read.err" >&2; return 0; }
        st=("${PIPESTATUS[@]}")
        if [ "${st[0]}" -eq 0 ] || [ "${st[0]}" -eq 141 ] || grep -q "broken pipe" "$work/read.err"; then
            grep -v "broken pipe" "$work/read.err" >&2 || true
            return "${st[1]}"
        fi
        cat "$work/read.err" >&2
        return "${st[0]}"
    elif [ "$stream" = - ]; then
        "$@"
    else
        "$@" <"$stream"
    fi
}

if [ "$stream" != - ]; then
    rc=0
    feed zadp-write --check >"$work/check.json" || rc=$?
    case $rc in
        0) ;;
        6) log "$stream does not verify; the target was not touched"; exit 6 ;;
        *) log "cannot read $stream (exit $rc); the target was not touched"; exit "$rc" ;;
    esac
fi

lun_line=""
if [ -n "$new_lun" ]; then
    size=$(size_of "$work/check.json")
    [ -n "$size" ] || { log "cannot tell the stream's size"; exit 6; }
    [ -n "$lun_name" ] || lun_name="restore-$(basename "$stream" | tr -c 'A-Za-z0-9-' '-' | sed 's/-*$//')-$(date -u +%Y%m%d%H%M%S)"
    lun_line=$("$here/create-lun.sh" --target "$new_lun" --name "$lun_name" --size "$size")
    target=$(jq -r .url <<<"$lun_line")
fi

rc=0
feed zadp-write "${force[@]}" --target "$target" || rc=$?
case $rc in
    0) ;;
    2) log "$target was not written (exit 2; a target that holds data takes --force)"; exit 2 ;;
    *) log "writing $target failed (exit $rc)"; exit "$rc" ;;
esac

verified=false
digest=""
if [ $readback -eq 1 ]; then
    digest=$(digest_of "$work/check.json")
    size=$(size_of "$work/check.json")
    # Exactly the image's length: a larger target's tail is not the image's.
    zadp-read --source "$target" --size "$size" </dev/null | zadp-write --check >"$work/readback.json" ||
        { rc=$?; log "reading $target back failed (exit $rc)"; exit "$rc"; }
    back=$(digest_of "$work/readback.json")
    if [ -z "$digest" ] || [ "$digest" != "$back" ]; then
        log "read-back of $target does not match the stream (stream ${digest:-?}, target ${back:-?})"
        exit 6
    fi
    verified=true
fi

sha256=""
if [ $sha -eq 1 ]; then
    size=${size:-$(size_of "$work/check.json")}
    sha256=$(set -o pipefail; zadp-read --source "$target" --size "$size" --format raw </dev/null | sha256sum | cut -d' ' -f1) ||
        { rc=$?; log "reading $target for its SHA-256 failed (exit $rc)"; exit "$rc"; }
fi

jq -nc --arg stream "$stream" --arg target "$target" --arg digest "$digest" --arg sha256 "$sha256" \
    --argjson verified "$verified" --arg size "${size:-$(size_of "$work/check.json" 2>/dev/null || true)}" \
    --arg lun "$lun_line" '
    {stream: $stream, target: $target,
     size: ($size | tonumber? // null), digest: (if $digest == "" then null else $digest end),
     verified: $verified}
    + (if $sha256 == "" then {} else {sha256: $sha256} end)
    + (if $lun == "" then {} else {lun: ($lun | fromjson).lun} end)'
