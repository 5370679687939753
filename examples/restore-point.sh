# Sourced by restore-vm.sh and restore-disk.sh (needs their log function):
# picks a restore point of a repository.
#
# restore_point WHAT AT: prints GROUP/TIME, the newest complete backup of
# WHAT (a group or a VM name, as zadp-repo ls takes them) whose TIME is at
# or before AT (any date `date -d` reads, in local time; empty: any time).
# Returns 2 when AT is not a date, is in the future, or WHAT names several VMs, 4 (with a
# message) when no backup fits.
restore_point() {
    local what=$1 at=$2 limit="" lines groups b
    if [ -n "$at" ]; then
        limit=$(date -d "$at" +%s 2>/dev/null) ||
            { log "--at '$at' is not a date (any form date -d reads, local time)"; return 2; }
        # date -d reads "tuesday" as the coming one: a restore point is never
        # in the future, so that is a mistake, not "the newest".
        [ "$limit" -le "$(date +%s)" ] ||
            { log "--at '$at' is $(date -d "@$limit" '+%F %T %Z'), in the future (for a past day say \"last tuesday\")"; return 2; }
    fi
    lines=$(zadp-repo ls --json "$what") || return  # 4: no group, no VM of that name (zadp-repo said so)
    groups=$(jq -r '.backup | split("/")[0]' <<<"$lines" | sort -u)
    [ "$(wc -l <<<"$groups")" -le 1 ] ||
        { log "several VMs are named '$what' (groups $(echo $groups)); give repo:GROUP"; return 2; }
    # The manifest's line carries the backup's state (zadp-repo ls).
    b=$(jq -r --arg at "$limit" 'select(.type == "blob" and (.name | endswith("/backup.json"))
        and .state == "complete") | .backup
        | select($at == "" or ((split("/")[1] | strptime("%Y-%m-%dT%H%M%SZ") | mktime) <= ($at | tonumber)))' \
        <<<"$lines" | sort -r | head -n 1)
    if [ -z "$b" ]; then
        log "no complete backup of '$what' in ${ZADP_REPO:-the repository}${at:+ at or before $(date -d "@$limit" '+%F %T %Z')}"
        return 4
    fi
    printf '%s\n' "$b"
}

# repo_opens: the repository ($ZADP_REPO) opens with the key or passphrase
# given. Else zadp-repo's reason, and a wrong passphrase or key is called
# that (not a damaged backup); returns zadp-repo's status (2 for a key).
repo_opens() {
    local err rc=0
    err=$(zadp-repo key show 2>&1 >/dev/null) || rc=$?
    [ $rc -ne 0 ] || return 0
    printf '%s\n' "$err" >&2
    explain_key_error "$err"
    return $rc
}

# explain_key_error MESSAGES: when zadp-repo's MESSAGES say the key or
# passphrase does not open the repository, says so in plain words (not a
# damaged backup).
explain_key_error() {
    if grep -qi "wrong passphrase\|does not open\|not a zadp-repo key\|fingerprint" <<<"$1"; then
        log "wrong passphrase or key for the repository ${ZADP_REPO:-}; nothing was read or written"
    fi
}

# need_tools CMD...: each CMD is on PATH, else says which is not (exit 2).
need_tools() {
    local cmd
    for cmd in "$@"; do
        command -v "$cmd" >/dev/null || { log "$cmd not found in PATH (PATH=$PATH)"; exit 2; }
    done
}

# backup_point repo:GROUP[/TIME] AT: prints GROUP/TIME; for repo:GROUP (or a
# VM name) the newest complete backup at or before AT (restore_point), which
# it logs. AT with a GROUP/TIME is a usage error (2).
backup_point() {
    local point=${1#repo:} at=$2
    point=${point%/}
    if [[ $point != */* ]]; then
        point=$(restore_point "$point" "$at") || return
        log "the newest complete backup${at:+ at or before $at}: repo:$point"
    elif [ -n "$at" ]; then
        log "--at picks a backup of repo:GROUP or repo:VM-NAME, not of $1"; return 2
    fi
    printf '%s\n' "$point"
}
