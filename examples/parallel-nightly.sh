#!/bin/bash
# parallel-nightly.sh: the nightly job of several backup hosts into one
# repository (S3, or a directory every host mounts): the selected VMs are
# spread over the hosts with GNU parallel --sshlogin, one job per VM
# (backup-vm.sh, then zadp-repo prune of the VM's group), with a job log;
# when every job is done, this host runs zadp-repo gc once. --resume-failed
# reruns only the VMs whose job failed, with the same TIME.
set -euo pipefail
prog=${0##*/}
self=$(realpath -- "$0")

usage() {
    cat <<EOF
usage: $prog --sshlogin LOGINS [options]
       $prog --job ENV_FILE REPO TIME KEEP_FLAGS VM_ID   (one job, on a backup host)

Backs up the VMs that hci-vm-get --where WHERE selects into REPO, one job
per VM, spread over the backup hosts LOGINS (GNU parallel's --sshlogin:
N/user@host,...; ":" is this host). Each job runs on its host:
  . ENV_FILE (set -a): that host's CLOUDTOWER_*, ZADP_INITIATOR_IQN, AWS_*
  backup-vm.sh --repo REPO --time TIME --id VM_ID
  zadp-repo prune VM_ID KEEP_FLAGS        (after a successful backup)
No secret crosses the command line: each host reads its own ENV_FILE, whose
variables name credential files (CLOUDTOWER_TOKEN_FILE,
AWS_SHARED_CREDENTIALS_FILE, ZADP_REPO_PASSPHRASE_FILE), and PATH when the
tools are not on ssh's default one. Each host also needs ssh login by key
from here, perl (GNU parallel's remote wrapper), this script and
backup-vm.sh at the same path, and its initiator IQN admitted on the backup
target (hci-backup(7), "Several backup hosts"). This host needs the same
credentials for hci-vm-get and gc. When every job has ended, zadp-repo gc
runs here once (GC=no: not at all).

options:
  --sshlogin LOGINS    the backup hosts (required), as GNU parallel takes them
  --where JSON         the VMs (default: \$WHERE, else every VM)
  --repo REPO          the repository (default: \$ZADP_REPO)
  --env-file FILE      the file each job sources on its host (default:
                       /etc/hci-backup/nightly.conf); not copied: every host
                       has its own
  --examples DIR       where backup-vm.sh and this script are on the hosts
                       (default: this script's directory)
  --state-dir DIR      the job log, the run's TIME and VM list (default:
                       ~/.local/state/hci-backup/parallel)
  --resume-failed      rerun the VMs whose job failed in the last run (same
                       TIME and VM list); those that succeeded are not rerun
  --keep "FLAGS"       zadp-repo prune options (default: "--keep-daily 7
                       --keep-weekly 4 --keep-monthly 6")
  -h, --help           this text
Environment: GC=no leaves gc out; PARALLEL_FLAGS more options for parallel.

The job log (STATE_DIR/joblog, GNU parallel's --joblog) has one line per VM
with its host, exit status and run time; backup-vm.sh's lines go to this
output, each prefixed with its VM id (--tag).

exit status: 0 every VM backed up (and gc done); 1 some job failed (the job
log says which; --resume-failed reruns them); 2 usage; otherwise gc's or
hci-vm-get's status. A job's own status is backup-vm.sh's: 75 when another
run was backing up that VM (see backup-vm.sh --help).
EOF
    exit "${1:-0}"
}
log() { printf '%s %s: %s\n' "$(date +%Y-%m-%dT%H:%M:%S%z)" "$prog" "$*" >&2; }

# One job, on a backup host: its own environment, the backup, the prune.
if [ "${1:-}" = --job ]; then
    [ $# -eq 6 ] || usage 2 >&2
    env_file=$2 repo=$3 time=$4 keep=$5 vm=$6
    if [ -n "$env_file" ]; then
        [ -r "$env_file" ] || { log "$(hostname): cannot read $env_file"; exit 2; }
        set -a
        # shellcheck disable=SC1090
        . "$env_file"
        set +a
    fi
    examples=$(dirname -- "$self")
    "$examples/backup-vm.sh" --repo "$repo" --time "$time" --id "$vm"
    # shellcheck disable=SC2086
    zadp-repo --repo "$repo" prune "$vm" $keep >/dev/null
    exit 0
fi

logins=""
where=${WHERE:-}
repo=${ZADP_REPO:-}
env_file=/etc/hci-backup/nightly.conf
examples=$(dirname -- "$self")
state_dir=${XDG_STATE_HOME:-$HOME/.local/state}/hci-backup/parallel
resume=0
keep="--keep-daily 7 --keep-weekly 4 --keep-monthly 6"
while [ $# -gt 0 ]; do
    case $1 in
        --sshlogin) logins=${2:?}; shift 2 ;;
        --where) where=${2:?}; shift 2 ;;
        --repo) repo=${2:?}; shift 2 ;;
        --env-file) env_file=$2; shift 2 ;;
        --examples) examples=${2:?}; shift 2 ;;
        --state-dir) state_dir=${2:?}; shift 2 ;;
        --resume-failed) resume=1; shift ;;
        --keep) keep=${2:?}; shift 2 ;;
        -h | --help) usage 0 ;;
        *) log "unknown argument: $1"; usage 2 >&2 ;;
    esac
done
[ -n "$logins" ] || { log "give the backup hosts: --sshlogin LOGINS"; exit 2; }
[ -n "$repo" ] || { log "no repository: give --repo REPO or set ZADP_REPO"; exit 2; }
[[ $keep =~ ^(--keep-(last|hourly|daily|weekly|monthly|yearly)\ (-1|[0-9]+)\ ?)+$ ]] ||
    { log "--keep wants zadp-repo prune's --keep-* options, not '$keep'"; exit 2; }
command -v parallel >/dev/null || { log "GNU parallel is not installed"; exit 2; }
where=${where:-'{}'}
export ZADP_REPO=$repo
umask 077
mkdir -p -- "$state_dir"
joblog=$state_dir/joblog

# The run: its TIME and VM list, kept so that --resume-failed reruns the same
# jobs (GNU parallel matches them by their place in the list).
if [ $resume -eq 1 ]; then
    [ -s "$state_dir/time" ] && [ -s "$joblog" ] || { log "no earlier run in $state_dir to resume"; exit 2; }
    time=$(cat "$state_dir/time")
    log "resuming the run of $time: the VMs whose job failed"
else
    time=$(date -u +%Y-%m-%dT%H%M%SZ)
    hci-vm-get --where "$where" | jq -r .id | sort -u >"$state_dir/vms.new"
    [ -s "$state_dir/vms.new" ] || { log "WHERE='$where' selects no VM"; exit 2; }
    mv -f -- "$state_dir/vms.new" "$state_dir/vms"
    printf '%s\n' "$time" >"$state_dir/time"
    rm -f -- "$joblog"
    log "backing up $(wc -l <"$state_dir/vms") VM(s) into $repo as TIME $time on $logins"
fi

rc=0
resume_flag=()
[ $resume -eq 0 ] || resume_flag=(--resume-failed)
# shellcheck disable=SC2086
parallel --will-cite --quote --sshlogin "$logins" --joblog "$joblog" "${resume_flag[@]}" --tag --line-buffer ${PARALLEL_FLAGS:-} \
    "$examples/parallel-nightly.sh" --job "$env_file" "$repo" "$time" "$keep" {} \
    :::: "$state_dir/vms" || rc=$?
# A resumed job appends its line: each job's last line counts.
failed=$(awk -F'\t' 'NR > 1 { bad[$1] = ($7 != 0 || $8 != 0) } END { for (s in bad) n += bad[s]; print n + 0 }' "$joblog")
if [ "$rc" -ne 0 ] || [ "$failed" -ne 0 ]; then
    log "$failed VM job(s) failed (see $joblog; rerun them with --resume-failed); gc not run"
    exit 1
fi
if [ "${GC:-yes}" = yes ]; then
    set -o pipefail
    zadp-repo gc | jq -r '"gc: \(.bytes_freed) bytes freed (\(.chunks_removed) chunk(s) removed)"'
fi
log "every VM of the run $time is backed up into $repo"
