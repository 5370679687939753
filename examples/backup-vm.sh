#!/bin/bash
# backup-vm.sh [--repo DIR|s3://BUCKET/PREFIX] VM: back up one VM (configuration and every data
# disk) into a deduplicating repository (zadp-repo(5)) as one backup
# GROUP/TIME (GROUP: the VM's id, TIME: the UTC start time), storing only the
# chunks the repository does not hold yet.
# backup-vm.sh VM DIR (or --dir DIR VM): into the new directory DIR instead, as
# plain zstd-compressed stream files.
# Either way, careful:
#   - a backup appears only when it is complete: in a repository its manifest
#     (GROUP/TIME/backup.json) is stored last, so a backup without one is
#     recognisably unfinished (and an interrupted run removes it); a directory
#     backup is assembled in a locked work directory next to DIR
#     (.DIR.work.XXXXXX) and published with one rename at the end;
#   - every stream is verified: zadp-write checks every record and the trailer
#     as it stores, and what was stored is read back and its digest compared
#     (repository), or the stored file decoded again (zadp-write --check);
#   - the exported clone LUNs are always removed, and the VM snapshot is
#     deleted unless --keep-snapshot, even when something fails or on Ctrl-C;
#     the manifest is written after the last clean-up step and says what is
#     left (snapshot_kept, clones_left);
#   - the manifest lists only the disks that were saved and names the ones
#     that failed, each with the first error its tools printed (the real
#     reason, such as "No space left on device"); the exit status is
#     non-zero if any failed;
#   - a backup in which no disk was saved (every disk failed) is not
#     published at all: it would restore nothing, and retention must never
#     take it for a backup; the run exits with the failing tool's status;
#   - files are created 0600 and directories 0700 whatever the umask
#     (--group-readable: 0640 and 0750).
# --sweep removes what a killed run (kill -9, power loss) left behind; in a
# repository only when no backup runs into it on any host (each run holds
# the repository's own lock shared: DIR/lock, a lease on S3).
# Credentials come from the environment (CLOUDTOWER_ENDPOINT and
# CLOUDTOWER_TOKEN, CLOUDTOWER_TOKEN_FILE or CLOUDTOWER_USERNAME/PASSWORD)
# and are never put on a command line.
set -euo pipefail

prog=${0##*/}
# A background job (`&`) of a non-interactive shell starts with SIGINT
# ignored, and a script cannot trap a signal ignored at its start: Ctrl-C on
# the group would then pass the script by (the tools ignore it too). Start
# again with SIGINT's default action, so that INT, TERM and HUP all end the
# backup the same way: cleaned up, nothing published, exit 128+signal. A
# SIGHUP ignored on purpose (nohup) stays ignored.
ignored=$(awk '$1 == "SigIgn:" { print $2 }' "/proc/$$/status" 2>/dev/null || true)
if [ -z "${HCI_BACKUP_SIGINT_RESET:-}" ] && (( (16#${ignored:-0} >> 1) & 1 )); then
    export HCI_BACKUP_SIGINT_RESET=1
    exec env --default-signal=INT "$0" "$@"
fi
unset HCI_BACKUP_SIGINT_RESET
# Clones, and snapshots that are not kept, are named with this prefix, so
# that a sweep can find what a killed run left on the cluster.
temp_prefix=hci-backup-tmp-
usage() {
    cat <<EOF
usage: $prog [options] [--repo REPO] NAME        into a repository
       $prog [options] [--repo REPO] --id ID
       $prog [options] NAME DIR                 into the new directory DIR
       $prog [options] --id ID DIR
       $prog --sweep [--repo REPO] [DIR]

Back up the VM called NAME (or with id ID): its full configuration
(hci-vm-get --full: enough to rebuild the VM with hci-vm-create), one image
per data disk and a manifest.

Into a repository (--repo REPO, a directory or s3://BUCKET/PREFIX, else
\$ZADP_REPO; create it once with
zadp-repo init) as the backup GROUP/TIME, GROUP being the VM's id (names are
not unique and may change; the manifest and zadp-repo ls show the name) and
TIME the UTC start time (2026-11-28T020000Z): GROUP/TIME/diskN (the disk with
index N), GROUP/TIME/vm.json and, stored last, the manifest
GROUP/TIME/backup.json. Only chunks the repository lacks are stored; the
manifest records per disk the new and reused bytes. A backup without
backup.json is unfinished (GROUP/TIME/unfinished.json says which run made
it): restore-vm.sh refuses it, zadp-repo prune never counts it toward a
--keep-* option (and removes it once a newer backup exists), --sweep
removes it. A backup some of whose disks failed is published with
"complete": false (partial): zadp-repo prune never counts it toward a
slot of the complete backups either. One in which no disk was saved is
not published. One run at a time backs up a VM into a repository: a second
one, on any host, stops before it does anything (exit 75). The key of an encrypted repository comes from the environment
(ZADP_REPO_KEY_FILE, ZADP_REPO_PASSPHRASE_FILE or ZADP_REPO_PASSPHRASE),
never the command line.

Into a directory DIR: NAME.vm.json, NAME.diskN.zst (one zstd-compressed zadp
stream per data disk) and the manifest NAME.backup.json, where NAME is the
VM's name with every character outside A-Za-z0-9._- replaced by _. DIR
appears only when the backup is finished (one rename), even if some disk
failed (then the manifest says which), but not when every disk failed.
Files are created 0600, directories 0700.

options:
  --id                         VM is a VM id, not a name (names need not be
                               unique; ids are)
  --repo REPO                  the repository, a directory or
                               s3://BUCKET/PREFIX (default: \$ZADP_REPO)
  --dir DIR                    into the new directory DIR (same as giving DIR
                               after NAME)
  --time TIME                  repository: the backup's TIME (default: now,
                               UTC, like 2026-11-28T020000Z)
  --consistency crash|fs|auto  snapshot consistency (default: auto)
  --target NAME|ID             iSCSI target that receives the clones
                               (default: \$HCI_BACKUP_TARGET or backup-tgt)
  --chap-user USER             CHAP user for a CHAP target (default: the
                               target's initiator_chaps entry for
                               \$ZADP_INITIATOR_IQN, see hci-lun-export(1))
  --chap-secret-file FILE      CHAP secret (else \$ZADP_CHAP_SECRET)
  --keep-snapshot              keep the VM snapshot after the backup
  --zstd-level N               directory: zstd compression level (default: 3)
  --progress                   progress bars (labelled "NAME disk N read" and
                               "... verify") even when stderr is no terminal
  --group-readable             files 0640 and directories 0750
  --force                      directory: replace DIR if it already exists
  --report FILE                append one JSON line to FILE when the run
                               ends, whatever the outcome: vm {id, name},
                               result (ok, partial or failed), reason (one
                               line: each failed disk's error, else the
                               first error a tool printed, else the last
                               message), exit_status, backup (where it is),
                               bytes_read (data read off the disks),
                               bytes_new (stored or written), bytes_reused
                               (repository: chunks it held already),
                               seconds, started_at, finished_at
  --sweep                      remove what killed runs left: with DIR, stale
                               work directories and zadp temporary files under
                               DIR; with a repository (--repo or \$ZADP_REPO
                               when no DIR is given), unfinished backups of
                               backup-vm.sh when none runs into it on any host
                               (each run holds the repository's lock
                               shared, see zadp-repo sweep); and (when no
                               backup runs on this host) clone LUNs and VM
                               snapshots named $temp_prefix*
  -h, --help                   this text

Every line it logs starts with the local time and zone
(2026-11-28T02:00:01+0100); under systemd its output is the unit's journal
(or pipe it into systemd-cat -t hci-backup, or logger -t hci-backup, from
cron).

exit status: 0 all disks saved (a failed clean-up is a warning and is
recorded in the manifest); 1 some disk failed (see the manifest);
130 interrupted (nothing published; an unfinished repository backup is
removed); otherwise the exit status of the tool that failed (2 usage, 3 API
or network, 4 VM or repository not found, 5 snapshot task failed, 6 a
repository damaged or of an unknown version, 7 I/O, e.g. the repository's
disk is full, or a lease on S3 lost), also when every disk failed (nothing is
published then); 75 another run (on this or another host) is backing up the
same VM into the repository: nothing was done, try later.
EOF
    exit "${1:-0}"
}
last_log=""
# Every line carries the local time with its zone (the journal adds its own
# stamp; a log file or a terminal has only this one).
log() { last_log=$*; printf '%s %s: %s\n' "$(date +%Y-%m-%dT%H:%M:%S%z)" "$prog" "$*" >&2; }

# first_error FILE [TEXT]: the first error line the tools printed into FILE
# (their stderr, progress bars and warnings left out) that holds TEXT, else
# the first one, such as "zadp-write: error: write ...: No space left on
# device": the real reason a disk failed.
first_error() {
    local errors
    errors=$(tr '\r' '\n' <"$1" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' | grep -E '^[A-Za-z0-9._-]+: error: ' || true)
    { [ -n "${2:-}" ] && grep -m1 -F -- "$2" <<<"$errors"; } || head -n 1 <<<"$errors"
}

by_id=0
consistency=auto
iscsi_target=${HCI_BACKUP_TARGET:-backup-tgt}
keep_snapshot=0
zstd_level=3
force=0
sweep=0
repo=""
dir=""
backup_time=""
progress=()
chap_user=
chap_secret_file=
report=""
umask 077
while [ $# -gt 0 ]; do
    case $1 in
        --id) by_id=1; shift ;;
        --repo) repo=${2:?}; shift 2 ;;
        --dir) dir=${2:?}; shift 2 ;;
        --time) backup_time=${2:?}; shift 2 ;;
        --consistency) consistency=${2:?}; shift 2 ;;
        --target) iscsi_target=${2:?}; shift 2 ;;
        --chap-user) chap_user=${2:?}; shift 2 ;;
        --chap-secret-file) chap_secret_file=${2:?}; shift 2 ;;
        --keep-snapshot) keep_snapshot=1; shift ;;
        --zstd-level) zstd_level=${2:?}; shift 2 ;;
        --progress) progress=(--progress); shift ;;
        --group-readable) umask 027; shift ;;
        --force) force=1; shift ;;
        --sweep) sweep=1; shift ;;
        --report) report=${2:?}; shift 2 ;;
        -h | --help) usage 0 ;;
        --) shift; break ;;
        -*) log "unknown option: $1"; usage 2 >&2 ;;
        *) break ;;
    esac
done
case $consistency in crash | fs | auto) ;; *) log "--consistency must be crash, fs or auto"; exit 2 ;; esac
# On a terminal the labelled meters by default: the tools' stderr passes
# through tee (to keep each disk's error), so they no longer see the
# terminal, and one meter per pipeline is labelled (see save_disk_repo).
[ ${#progress[@]} -gt 0 ] || [ ! -t 2 ] || progress=(--progress)
case $zstd_level in '' | *[!0-9]*) log "--zstd-level must be a number"; exit 2 ;; esac

# --report: one JSON line about this run, written at exit whatever happened.
# The script's stderr is kept (through a tee that ignores the signals, so
# the clean-up's messages still get out) to find the reason of a failure.
run_t0=$(date +%s.%N)
run_started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
errlog=""
reported=0
if [ -n "$report" ] && [ $sweep -eq 0 ]; then
    errlog=$(mktemp "${TMPDIR:-/tmp}/hci-backup-err.XXXXXX")
    exec 2> >(trap '' INT TERM HUP; exec tee -a "$errlog" >&2)
fi
# write_report STATUS: appends this run's line to the --report file (once).
write_report() {
    local rc=$1 result=failed reason="" vmj saved_f=/dev/null failed_f=/dev/null
    [ -n "$report" ] && [ $reported -eq 0 ] || return 0
    reported=1
    [ ! -f "${saved:-}" ] || saved_f=$saved
    [ ! -f "${failed:-}" ] || failed_f=$failed
    if [ "$rc" -eq 0 ]; then result=ok
    elif [ "${published:-0}" -eq 1 ]; then result=partial; fi
    if [ "$rc" -ne 0 ]; then
        case $rc in 129 | 130 | 143) reason="interrupted (exit $rc); nothing was published" ;; esac
        [ -n "$reason" ] || [ ! -s "$failed_f" ] ||
            reason=$(jq -rs 'map("disk \(.index): \(.error)") | join("; ")' "$failed_f")
        [ -n "$reason" ] || [ -z "$errlog" ] || reason=$(first_error "$errlog")
        [ -n "$reason" ] || reason=$last_log
        [ -n "$reason" ] || reason="exit $rc"
    fi
    if [ -n "${work:-}" ] && [ -s "$work/vm.json" ]; then
        vmj=$(jq -c '{id, name}' "$work/vm.json")
    elif [ $by_id -eq 1 ]; then
        vmj=$(jq -nc --arg id "${vm:-}" '{id: $id, name: null}')
    else
        vmj=$(jq -nc --arg n "${vm:-}" '{id: null, name: $n}')
    fi
    jq -nc --argjson vm "$vmj" --arg result "$result" --arg reason "$(tr '\n' ' ' <<<"$reason" | sed 's/ *$//')" \
        --argjson rc "$rc" --arg where "${manifest:+${where:-}}" --slurpfile saved "$saved_f" \
        --arg started "$run_started" --arg finished "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
        --argjson seconds "$(awk -v a="$run_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')" '
        {vm: $vm, result: $result, reason: (if $reason == "" then null else $reason end), exit_status: $rc,
         backup: (if $where == "" then null else $where end),
         bytes_read: ($saved | map(.image.data_bytes // 0) | add // 0),
         bytes_new: ($saved | map(.repo.new_bytes // .stream.bytes // 0) | add // 0),
         bytes_reused: ($saved | map(.repo.reused_bytes // 0) | add // 0),
         seconds: $seconds, started_at: $started, finished_at: $finished}' |
        { flock -x 5; cat >&5; } 5>>"$report" || echo "$prog: WARNING: could not write the report to $report" >&2
    [ -z "$errlog" ] || rm -f -- "$errlog"
}
trap 'write_report $?' EXIT

# The form: a DIR (after NAME or --dir) gets stream files; otherwise the
# repository from --repo or ZADP_REPO.
if [ $sweep -eq 1 ]; then
    [ $# -le 1 ] || usage 2 >&2
    [ $# -eq 0 ] || dir=$1
    [ -n "$repo" ] || [ -n "$dir" ] || repo=${ZADP_REPO:-}
else
    [ $# -ge 1 ] && [ $# -le 2 ] || usage 2 >&2
    vm=$1
    if [ $# -eq 2 ]; then
        [ -z "$dir" ] || { log "DIR given twice (--dir and after NAME)"; exit 2; }
        dir=$2
    fi
    if [ -n "$dir" ]; then
        [ -z "$repo" ] || { log "give a repository (--repo) or a directory, not both"; exit 2; }
    else
        repo=${repo:-${ZADP_REPO:-}}
        [ -n "$repo" ] || { log "no repository: give --repo REPO or set ZADP_REPO (or a directory: $prog NAME DIR)"; exit 2; }
    fi
fi
[ -z "$backup_time" ] || [ -n "$repo" ] || { log "--time is for a repository backup"; exit 2; }
case $backup_time in '' | [0-9]*Z) ;; *) log "--time wants a UTC time like 2026-11-28T020000Z"; exit 2 ;; esac

needed=(hci-vm-get hci-snap-create hci-task-wait hci-snap-luns hci-lun-export
    hci-lun-unexport hci-snap-delete zadp-read zadp-write jq sha256sum flock)
[ -z "$dir" ] || needed+=(zstd)
[ -z "$repo" ] || needed+=(zadp-repo)
for cmd in "${needed[@]}"; do
    command -v "$cmd" >/dev/null || { log "$cmd not found in PATH"; exit 2; }
done
if [ -n "$repo" ]; then
    case $repo in s3://*) ;; *) repo=$(realpath -m -- "$repo") ;; esac
    export ZADP_REPO=$repo
fi

# One lock per CloudTower: every backup holds it shared while it has clones
# or a snapshot on the cluster; a sweep removes leftovers only when it gets
# it exclusively (no backup of this host is running against that CloudTower).
cluster_lock() {
    local dir=${HCI_BACKUP_LOCK_DIR:-/run/lock}
    [ -w "$dir" ] || dir=${TMPDIR:-/tmp}
    printf '%s/hci-backup.%s.lock' "$dir" "$(printf '%s' "${CLOUDTOWER_ENDPOINT:-}" | sha256sum | cut -c1-16)"
}
# A repository is shared by hosts (NFS, S3), so a backup into it holds the
# repository's own lock (zadp-repo(5); a lease on S3) shared from before it
# stores unfinished.json until it exits: zadp-repo sweep, and prune's removal
# of unfinished backups, act only when they get it exclusively at once, that
# is when no backup runs into it on any host. It also holds the lock of the
# VM's group, exclusive: a second run backing up the same VM, on this host or
# another, stops before it writes anything (exit 75). zadp-repo hold holds
# both until its stdin (our coprocess pipe) ends, which comes also when this
# script is killed.
holder_pid=""
hold_repo() {
    local line rc=0
    coproc HOLDER { exec zadp-repo hold "$1"; }
    holder_pid=$HOLDER_PID holder_in=${HOLDER[1]} holder_out=${HOLDER[0]}
    if IFS= read -r line <&"$holder_out" && [ "$(jq -r .held <<<"$line" 2>/dev/null)" = true ]; then
        return 0
    fi
    wait "$holder_pid" || rc=$?
    holder_pid=""
    if [ $rc -eq 75 ]; then
        log "VM $(jq -c .name "$work/vm.json") (group $1) is being backed up by another run, on this or another host; nothing was done (exit 75)"
    fi
    exit $((rc == 0 ? 7 : rc))
}
# still_held: the holder still holds the locks (a lease refreshed in time).
# A holder that died makes the write fail (SIGPIPE ignored for it alone, so
# that the clean-up still runs) or the read end: not held.
still_held() {
    local line sent=0
    trap '' PIPE
    echo check 2>/dev/null >&"$holder_in" && sent=1
    trap - PIPE
    [ $sent -eq 1 ] && IFS= read -r line <&"$holder_out" && [ "$(jq -r .held <<<"$line")" = true ]
}
# release_repo: ends the holder and waits until it released the locks (on S3
# it removes its leases), so that what runs next (prune) finds them free.
release_repo() {
    [ -n "$holder_pid" ] || return 0
    exec {holder_in}>&-
    wait "$holder_pid" || true
    holder_pid=""
}

# sweep_files DIR: removes the work directories of killed backup-vm.sh runs
# and the temporary files of killed zadp-write/zadp-read runs under DIR. A
# live run holds a lock on its work directory (and zadp on its temporary
# file), so only dead runs' leftovers are removed.
sweep_files() {
    local d n=0
    while IFS= read -r -d '' d; do
        if flock -n -E 75 "$d" rm -rf -- "$d"; then n=$((n + 1)); fi
    done < <(find "$1" -maxdepth 3 \( -type d -name '.*.work.??????' -o -type f -name '.*.zadp-tmp.??????' \) \
        -print0 2>/dev/null)
    [ $n -eq 0 ] || log "removed $n leftover(s) of killed runs under $1"
}

# sweep_cluster: removes clone LUNs and VM snapshots named $temp_prefix*
# when no backup of this host is running against this CloudTower.
sweep_cluster() {
    local lock rc=0 n
    lock=$(cluster_lock)
    exec 8>>"$lock"
    if ! flock -n -x 8; then
        log "a backup is running against $CLOUDTOWER_ENDPOINT; not sweeping the cluster now"
        return 0
    fi
    n=$(hci-lun-unexport --stale "$temp_prefix" --delete | wc -l) || rc=3
    [ "$n" -eq 0 ] || log "removed $n leftover clone LUN(s) named $temp_prefix*"
    n=$(hci-snap-delete --stale "$temp_prefix" | wc -l) || rc=3
    [ "$n" -eq 0 ] || log "removed $n leftover VM snapshot(s) named $temp_prefix*"
    exec 8>&-
    return $rc
}

# sweep_repo: removes the unfinished backups backup-vm.sh runs left in the
# repository (those holding unfinished.json and no backup.json; only the
# marker of one that has its manifest) when no backup runs into it on any
# host (zadp-repo sweep: the repository lock is free). Backups made by other
# means are never touched.
sweep_repo() {
    local out n
    out=$(zadp-repo sweep) || return
    if jq -se 'any(.[]; .sweep == "skipped")' <<<"$out" >/dev/null; then
        log "the repository $repo is in use (a backup, store, read or gc holds its lock, on this or another host); not sweeping it now"
        return 0
    fi
    n=$(jq -s 'map(select(.unfinished)) | length' <<<"$out")
    [ "$n" -eq 0 ] || log "removed $n unfinished backup(s) from $repo"
}

if [ $sweep -eq 1 ]; then
    rc=0
    [ -z "$dir" ] || [ ! -d "$dir" ] || sweep_files "$dir"
    [ -z "$repo" ] || sweep_repo || rc=$?
    sweep_cluster || rc=$?
    exit $rc
fi

if [ -n "$dir" ]; then
    dir=${dir%/}
    [ -n "$dir" ] || { log "DIR must not be /"; exit 2; }
    parent=$(dirname -- "$dir")
    base=$(basename -- "$dir")
    mkdir -p -- "$parent"
    if [ -e "$dir" ] && [ $force -eq 0 ] && [ -n "$(ls -A -- "$dir" 2>/dev/null || echo x)" ]; then
        log "$dir exists; use a new directory per backup (or --force to replace it)"
        exit 2
    fi
    sweep_files "$parent"
    # The work directory becomes DIR by one rename at the end; it holds a lock
    # while this run lives, so a sweep can tell a killed run's from a live one.
    work=$(mktemp -d "$parent/.$base.work.XXXXXX")
    out="$work/backup"                 # what becomes DIR
    mkdir "$out"
else
    # Repository: the files go in one by one, the manifest last; the work
    # directory only holds this run's bookkeeping.
    work=$(mktemp -d "${TMPDIR:-/tmp}/hci-backup.XXXXXX")
fi
exec 9<"$work"
flock -x 9
created="$work/snapshot-created.jsonl" # create-vm-snapshot result: what to delete
exported="$work/exported.jsonl"        # lines whose clone LUNs exist: what to unexport
saved="$work/saved.jsonl"              # one manifest entry per saved disk
failed="$work/failed.jsonl"            # one entry per failed disk
touch "$created" "$exported" "$saved" "$failed"
clone_prefix="$temp_prefix${work##*.}-"  # unique to this run
export_started=0
published=0
snapshot_deleted=0
clones_removed=1
backup=""        # repository: GROUP/TIME once its unfinished.json is stored

# release_clones: removes this run's clone LUNs: the exported ones, then any
# whose hci-lun-export failed or was interrupted before printing them.
release_clones() {
    clones_removed=1
    if [ -s "$exported" ]; then
        hci-lun-unexport <"$exported" >/dev/null && : >"$exported" || clones_removed=0
    fi
    if [ $export_started -eq 1 ]; then
        local stale
        if stale=$(hci-lun-unexport --stale "$clone_prefix" --delete | wc -l); then
            [ "$stale" -eq 0 ] || log "removed $stale leftover clone(s) named $clone_prefix*"
            clones_removed=1
        else
            clones_removed=0
        fi
    fi
    [ $clones_removed -eq 1 ] ||
        log "WARNING: could not remove every clone LUN named $clone_prefix*; '$prog --sweep' will"
}

# delete_snapshot: deletes the VM snapshot (tried twice); exit 4 (not found)
# means the snapshot task failed and there is nothing to delete.
delete_snapshot() {
    local attempt del
    for attempt in 1 2; do
        del=0
        hci-snap-delete <"$created" >/dev/null 2>"$work/delete.err" || del=$?
        if [ $del -eq 0 ] || [ $del -eq 4 ]; then
            snapshot_deleted=1
            return 0
        fi
        cat "$work/delete.err" >&2
    done
    log "WARNING: could not delete the VM snapshot $(jq -r '.data.name // .data.id' "$created" 2>/dev/null); '$prog --sweep' will"
}

cleanup() {
    local rc=$?
    # A second Ctrl-C must not interrupt the clean-up itself.
    trap '' INT TERM HUP
    if [ $published -eq 0 ]; then
        [ "$rc" -ne 129 ] && [ "$rc" -ne 130 ] && [ "$rc" -ne 143 ] ||
            log "interrupted: removing the unfinished backup of $vm (nothing was published to ${dir:-$repo})"
        release_clones
        if [ -s "$created" ] && [ $keep_snapshot -eq 0 ] && [ $snapshot_deleted -eq 0 ]; then
            delete_snapshot
        fi
        # In a repository what was stored goes again; a failed removal leaves
        # an unfinished backup (no manifest) for --sweep.
        if [ -n "$backup" ] && ! zadp-repo rm "$backup" >/dev/null 2>"$work/rm.err" &&
            ! grep -q 'nothing by that name' "$work/rm.err"; then
            cat "$work/rm.err" >&2
            log "WARNING: could not remove the unfinished backup $backup from $repo; '$prog --sweep' will"
        fi
    fi
    release_repo
    write_report "$rc"
    rm -rf -- "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
exec 8>>"$(cluster_lock)"
flock -s 8

now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
started_at=$(now)

# disk_failed INDEX STATUS WHAT: logs that disk INDEX failed (WHAT) and
# notes why for the manifest: the first error line of $work/errINDEX (else
# WHAT) and the exit status.
disk_failed() {
    local why
    why=$(first_error "$work/err$1")
    log "disk $1: $3"
    jq -nc --argjson index "$1" --arg error "${why:-$3}" --argjson rc "$2" \
        '{index: $index, error: $error, exit_status: $rc}' >"$work/failed$1.json"
}

# Part 1: the configuration.
if [ $by_id -eq 1 ]; then
    hci-vm-get --id "$vm" --full >"$work/vm.json"
else
    hci-vm-get --name "$vm" --unique --full >"$work/vm.json"
fi
[ "$(wc -l <"$work/vm.json")" -eq 1 ] || { log "expected exactly one VM $vm"; exit 4; }
vm_name=$(jq -r .name "$work/vm.json")
# For humans and file names: the VM name with anything unusual replaced, so a
# name with a slash, a newline or a space cannot escape DIR or break a script.
label=$(printf '%s' "$vm_name" | tr -c 'A-Za-z0-9._-' '_')
case $label in '') label=vm ;; .*) label=_${label#.} ;; esac

# Repository: the backup GROUP/TIME, GROUP keyed by the VM id. The repository
# is opened (exists, known version, right key) before a snapshot is made, and
# unfinished.json marks the backup as this run's until its manifest is in.
if [ -n "$repo" ]; then
    group=$(jq -r .id "$work/vm.json")
    [[ $group =~ ^[A-Za-z0-9_][A-Za-z0-9._:+@-]*$ ]] ||
        { log "the VM id $group cannot name a repository group"; exit 2; }
    hold_repo "$group"
    name="$group/${backup_time:-$(date -u +%Y-%m-%dT%H%M%SZ)}"
    zadp-repo ls "$name" >"$work/group.jsonl"
    [ ! -s "$work/group.jsonl" ] ||
        { log "the backup $name exists already in $repo (backups are immutable)"; exit 2; }
    jq -c --arg host "${ZADP_HOST_ID:-$(hostname)}" --argjson pid $$ --arg started "$started_at" \
        '{format: "hci-backup-unfinished", vm: {id, name}, host: $host, pid: $pid, started_at: $started}' \
        "$work/vm.json" | zadp-repo put-blob "$name/unfinished.json" - >/dev/null
    backup=$name
fi
log "backing up VM $(jq -c .name "$work/vm.json") (id $(jq -r .id "$work/vm.json")) into ${dir:-repo:$backup}"

# The snapshot. Its creation line is kept before waiting, so that the trap
# can delete it even if the wait is interrupted. A snapshot that is deleted
# at the end carries the temporary prefix, so a sweep finds it if we die.
snap_name=()
[ $keep_snapshot -eq 1 ] || snap_name=(--name "$temp_prefix{id}-{timestamp}")
hci-snap-create --consistency "$consistency" "${snap_name[@]}" <"$work/vm.json" >"$created"
hci-task-wait <"$created" >"$work/snapshot.jsonl"
hci-snap-luns <"$work/snapshot.jsonl" >"$work/luns.jsonl"
[ -s "$work/luns.jsonl" ] || log "the VM has no data disks; saving its configuration only"

# Expose every frozen disk to this host. A disk whose export fails is
# recorded as failed; the others are still saved.
export_rc=0
chap=()
[ -z "$chap_user" ] || chap=(--chap-user "$chap_user")
if [ -s "$work/luns.jsonl" ]; then
    export_started=1
    { hci-lun-export --target "$iscsi_target" --prefix "$clone_prefix" "${chap[@]}" \
        <"$work/luns.jsonl" >"$exported"; } 2>&1 | tee "$work/export.err" >&2 || export_rc=$?
fi
if [ $export_rc -ne 0 ]; then
    log "hci-lun-export failed (exit $export_rc) for some disks"
    while IFS= read -r index; do
        why=$(first_error "$work/export.err" ", disk $index: ")
        jq -nc --argjson index "$index" --arg why "$why" --argjson rc "$export_rc" \
            '{index: $index, error: ("export failed" + (if $why == "" then "" else ": " + $why end)), exit_status: $rc}'
    done < <(jq -r --slurpfile ok "$exported" \
        'select(.disk.index as $i | [$ok[].disk.index] | index($i) | not) | .disk.index' "$work/luns.jsonl") >>"$failed"
fi

# record_disk LINE SECONDS_SINCE CHECK EXTRA: appends the manifest entry of a
# saved disk: its place in the VM, the zadp-write --check report of what was
# stored (image) and EXTRA (where the data is).
record_disk() {
    jq -c --argjson seconds "$(awk -v a="$2" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')" \
        --rawfile check "$3" --argjson extra "$4" '
        ($check | try fromjson catch null) as $c |
        {index: .disk.index, bus: .disk.bus, boot: .disk.boot, size: .disk.size,
         disk_name: .disk.disk_name,
         lun_snapshot: (.lun_snapshot | {id, name, local_id})}
        + $extra + {image: $c, seconds: $seconds}' <<<"$1" >>"$saved"
}

# save_disk_file LINE: streams one exported disk into the work directory's
# NAME.diskN.zst and appends its manifest entry. Called in an `if`, where
# set -e is off, so every step checks its own status.
save_disk_file() {
    local line=$1 index file part t0 sha bytes secret=()
    index=$(jq -r .disk.index <<<"$line") || return 1
    file="$label.disk$index.zst"
    part="$work/$file.part"
    [ -z "$chap_secret_file" ] || secret=(--chap-secret-file "$chap_secret_file")
    t0=$(date +%s.%N)
    { zadp-read --line "$line" "${progress[@]}" --progress-label "$label disk $index read" "${secret[@]}" \
        </dev/null | zstd -q -T0 "-$zstd_level" >"$part"; } 2>&1 | tee "$work/err$index" >&2 ||
        { disk_failed "$index" $? "reading or compressing failed"; return 1; }
    # Verify what was stored, not what was sent: decode the file again.
    { zadp-write "${progress[@]}" --progress-label "$label disk $index verify" --check <"$part" \
        >"$work/check$index.out"; } 2>&1 | tee -a "$work/err$index" >&2 ||
        { disk_failed "$index" $? "the stored stream does not verify"; return 1; }
    sha=$(sha256sum <"$part" | cut -d' ' -f1) || return 1
    bytes=$(stat -c %s "$part") || return 1
    mv -f "$part" "$out/$file" || return 1
    record_disk "$line" "$t0" "$work/check$index.out" "$(jq -nc --arg file "$file" --arg sha "$sha" \
        --argjson bytes "$bytes" '{stream: {file: $file, compression: "zstd", bytes: $bytes, sha256: $sha}}')"
}

# save_disk_repo LINE: stores one exported disk as the image
# GROUP/TIME/diskN (zadp-write verifies every record and the trailer as it
# stores, and stores only the chunks the repository lacks), reads it back
# from the repository and compares the digests, and appends its manifest
# entry with the new and reused bytes. A disk that fails leaves no image.
save_disk_repo() {
    local line=$1 index image t0 secret=() stored back
    index=$(jq -r .disk.index <<<"$line") || return 1
    image="$backup/disk$index"
    [ -z "$chap_secret_file" ] || secret=(--chap-secret-file "$chap_secret_file")
    t0=$(date +%s.%N)
    # One meter per pipeline (two would take turns on one line): the reader's
    # here, the verifier's below.
    { zadp-read --line "$line" "${progress[@]}" --progress-label "$label disk $index read" "${secret[@]}" \
        </dev/null | zadp-write --no-progress --target "repo:$image" >"$work/store$index.json"; } 2>&1 |
        tee "$work/err$index" >&2 ||
        { disk_failed "$index" $? "reading or storing failed"; return 1; }
    { zadp-read --no-progress --source "repo:$image" </dev/null |
        zadp-write "${progress[@]}" --progress-label "$label disk $index verify" --check >"$work/check$index.out"; } \
        2>&1 | tee -a "$work/err$index" >&2 ||
        { disk_failed "$index" $? "the stored image does not read back"; drop_image "$image"; return 1; }
    stored=$(jq -r .digest "$work/store$index.json") && back=$(jq -r .digest "$work/check$index.out") &&
        [ -n "$stored" ] && [ "$stored" = "$back" ] || {
        disk_failed "$index" 6 "the image read back (${back:-?}) differs from the stream stored (${stored:-?})"
        drop_image "$image"
        return 1
    }
    record_disk "$line" "$t0" "$work/check$index.out" "$(jq -c --arg file "disk$index" '{repo: {file: $file,
        name, chunk_size, allocated_bytes, new_chunks, new_bytes, reused_chunks, reused_bytes, stored_bytes}}' \
        "$work/store$index.json")" || { disk_failed "$index" 7 "its manifest entry could not be written"; drop_image "$image"; return 1; }
}
# drop_image NAME: a disk counted as failed keeps no image in the backup.
drop_image() { zadp-repo rm "$1" >/dev/null || log "WARNING: could not remove $1 (not in the manifest)"; }

# Part 2: the data, one stream per disk. The loop reads its lines on fd 3 so
# that nothing inside it can eat them from stdin.
while IFS= read -r line <&3; do
    index=$(jq -r .disk.index <<<"$line")
    if "save_disk_${dir:+file}${repo:+repo}" "$line"; then
        detail=""
        [ ! -s "$work/store$index.json" ] ||
            detail=$(jq -r '": \(.new_bytes) new bytes, \(.reused_bytes) reused (\(.stored_bytes) written)"' "$work/store$index.json")
        log "disk $index saved$detail"
    else
        if [ -s "$work/failed$index.json" ]; then
            cat "$work/failed$index.json" >>"$failed"
        else
            jq -c '{index: .disk.index, error: "read, store or verify failed", exit_status: 1}' <<<"$line" >>"$failed"
        fi
        rm -f -- "$work"/*.part
    fi
done 3<"$exported"

# Release the clones and (unless kept) the snapshot before the manifest is
# written, so that it records what is true after the last clean-up step.
release_clones
[ $keep_snapshot -eq 1 ] || delete_snapshot
clones_left=0
[ $export_started -eq 0 ] || clones_left=$(hci-lun-unexport --stale "$clone_prefix" | wc -l) || clones_left=-1

# A backup without a single disk would restore nothing: it is not published
# (the clean-up removes what this run stored, unfinished.json included), so
# that no one, and no retention rule, takes it for a backup. The exit status
# is the failing tool's (7 for a full disk), 1 if it exited 1.
if [ ! -s "$saved" ] && [ -s "$failed" ]; then
    while IFS= read -r why; do log "$why"; done < <(jq -r '"disk \(.index) failed: \(.error)"' "$failed")
    rc=$(jq -s 'map(.exit_status // 1 | select(. > 1)) | first // 1' "$failed")
    log "no disk of VM $(jq -c .name "$work/vm.json") was saved; nothing is published to ${dir:-repo:$backup} (exit $rc)"
    exit "$rc"
fi

# Configuration next to the data, then the manifest: its "complete" field
# says whether every disk is in, snapshot_kept and clones_left what the
# backup left on the cluster.
config_file=$label.vm.json
[ -z "$repo" ] || config_file=vm.json
jq -n --slurpfile vm "$work/vm.json" --slurpfile snap "$work/snapshot.jsonl" \
    --slurpfile saved "$saved" --slurpfile failed "$failed" \
    --arg consistency "$consistency" --argjson kept "$((1 - snapshot_deleted))" \
    --argjson requested "$keep_snapshot" --argjson clones_left "$clones_left" \
    --arg started "$started_at" --arg finished "$(now)" --arg config "$config_file" --arg backup "$backup" '
    {format: "hci-backup-manifest", version: 1,
     vm: ($vm[0] | {id, name, local_id, cluster: (.cluster | if type == "object" then {id, name} else . end)}),
     configuration: $config}
    + (if $backup == "" then {} else {backup: $backup} end)
    + {vm_snapshot: ($snap[0].data | {id, name, local_id, consistent_type}),
     consistency_requested: $consistency,
     snapshot_kept: ($kept == 1),
     snapshot_kept_reason: (if $kept == 0 then null elif $requested == 1 then "requested" else "delete failed" end),
     clones_left: $clones_left,
     started_at: $started, finished_at: $finished,
     complete: ($failed | length == 0),
     disks: ($saved | sort_by(.index)),
     failed_disks: ($failed | sort_by(.index))}' >"$work/backup.json"

if [ -n "$dir" ]; then
    # Publish: one rename of the finished directory. --force moves an old DIR
    # aside first (into the work directory, removed with it).
    cp "$work/vm.json" "$out/$config_file"
    mv "$work/backup.json" "$out/$label.backup.json"
    [ ! -e "$dir" ] || mv -T -- "$dir" "$work/replaced"
    mv -T -- "$out" "$dir"
    published=1
    manifest="$dir/$label.backup.json"
    where=$dir
else
    # Publish: the configuration, then the manifest, stored last; then the
    # run's marker goes (a backup holding both is complete all the same).
    zadp-repo put-blob "$backup/vm.json" "$work/vm.json" >/dev/null
    still_held || { log "lost the repository lock (zadp-repo hold ended, or its lease could not be refreshed in time); not publishing $backup"; exit 7; }
    zadp-repo put-blob "$backup/backup.json" "$work/backup.json" >/dev/null
    published=1
    zadp-repo rm "$backup/unfinished.json" >/dev/null ||
        log "WARNING: could not remove $backup/unfinished.json (the backup is complete; '$prog --sweep' removes it)"
    manifest="repo:$backup/backup.json"
    where="repo:$backup"
fi

if [ -s "$failed" ]; then
    log "$(wc -l <"$failed") disk(s) failed; $manifest lists only the saved ones"
    exit 1
fi
log "VM $(jq -c .name "$work/vm.json") backed up into $where"
