# Bash completion for the hci-* and zadp-* tools (hci-backup(7)). make
# install puts a copy under PREFIX/share/bash-completion/completions/ for
# each tool, where bash-completion finds it when the tool is first completed;
# or source this file. Options come from each tool's own --help (asked once
# per shell); values from the option's placeholder (FILE, DIR, a|b|c);
# repo:GROUP/TIME/FILE names, and zadp-repo's NAME arguments, from
# `zadp-repo ls` of the repository given by --repo or ZADP_REPO.

# __hci_help_options TOOL [COMMAND]: "OPTION ARG" per line (ARG empty when
# the option takes none), from TOOL [COMMAND] --help; cached.
declare -gA __hci_help_cache
__hci_help_options() {
    local key="$1 ${2:-}"
    if [ -z "${__hci_help_cache[$key]+set}" ]; then
        __hci_help_cache[$key]=$("$1" ${2:+"$2"} --help 2>/dev/null | awk '
            /^ +-/ {
                if (!match($0, /--[a-z0-9][a-z0-9-]*/)) next
                opt = substr($0, RSTART, RLENGTH); rest = substr($0, RSTART + RLENGTH)
                arg = ""
                if (rest ~ /^ [^ \]]/) { split(substr(rest, 2), w, " "); arg = w[1] }
                print opt, arg
                if (match($0, /^ +-[a-zA-Z] /)) print substr($0, RSTART + RLENGTH - 3, 2), arg
            }')
    fi
    printf '%s\n' "${__hci_help_cache[$key]}"
}

# __hci_repo_names PREFIX CUR: the names of the repository one level at a
# time, each with PREFIX before it: GROUP/ while CUR names no group yet,
# then GROUP/TIME and GROUP/TIME/, then GROUP/TIME/FILE.
__hci_repo_names() {
    local repo=$__hci_repo typed=${2#"$1"} slashes
    [ -n "$repo" ] || return 0
    command -v zadp-repo >/dev/null || return 0
    slashes=${typed//[!\/]/}
    zadp-repo --repo "$repo" ls 2>/dev/null | sed -n 's/^{"name":"\([^"]*\)".*/\1/p' | sort -u |
        while IFS=/ read -r g t f; do
            case ${#slashes} in
                0) printf '%s\n' "$1$g/" ;;
                1) [ -z "$t" ] || printf '%s\n' "$1$g/$t" "$1$g/$t/" ;;
                *) [ -z "$f" ] || printf '%s\n' "$1$g/$t/$f" ;;
            esac
        done | sort -u
}

_hci_backup() {
    local tool=${COMP_WORDS[0]##*/} cur prev line i command="" words npos=0
    # The word being completed, from the line itself: bash splits repo:NAME
    # at the colon (COMP_WORDBREAKS), this does not.
    if [ -n "${COMP_LINE+set}" ]; then
        line=${COMP_LINE:0:${COMP_POINT:-${#COMP_LINE}}}
        cur=${line##*[[:space:]]}
        line=${line%"$cur"}
        line=${line%"${line##*[![:space:]]}"}
        prev=${line##*[[:space:]]}
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]:-}
    fi
    # The repository: --repo on the line, else ZADP_REPO; zadp-repo's command.
    __hci_repo=${ZADP_REPO:-}
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            --repo) __hci_repo=${COMP_WORDS[i + 1]:-}; ((i++)) ;;
            -*) ;;
            *) if [ "$tool" = zadp-repo ] && [ -z "$command" ]; then command=${COMP_WORDS[i]}; else ((npos++)); fi ;;
        esac
    done

    COMPREPLY=()
    local opts arg=""
    opts=$(__hci_help_options "$tool" "$command")
    # The value of an option: what its placeholder says.
    if [[ $prev == -* ]]; then
        arg=$(awk -v o="$prev" '$1 == o { print $2; exit }' <<<"$opts")
    fi
    if [ -n "$arg" ]; then
        case $arg in
            URL | URL\|*)
                if [[ $cur == repo:* ]]; then words=$(__hci_repo_names repo: "$cur")
                else
                    words="repo:"
                    compopt -o nospace 2>/dev/null
                    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
                fi ;;
            DIR) mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
            FILE | PATH | *FILE) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
            *\|*) words=$(tr '|' '\n' <<<"$arg" | sed 's/\[.*\]//') ;;
            *) return 0 ;;
        esac
    elif [[ $cur == -* ]]; then
        words=$(cut -d' ' -f1 <<<"$opts")
    elif [ "$tool" = zadp-repo ] && [ -z "$command" ]; then
        words=$(zadp-repo --help 2>/dev/null | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }')
    elif [ "$tool" = zadp-repo ]; then
        # The first argument of these is a NAME of the repository; put-blob's
        # second a file.
        case $command:$npos in
            key:0) words=$'create\nshow\npasswd' ;;
            ls:0 | cat:0 | rm:0 | prune:0 | check:0 | sweep:0 | hold:0 | put-blob:0 | serve:0) words=$(__hci_repo_names "" "$cur") ;;
            put-blob:1) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
        esac
    elif [[ $cur == repo:* ]]; then
        words=$(__hci_repo_names repo: "$cur")
    else
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
    if [ -n "${words:-}" ]; then
        local w
        while IFS= read -r w; do
            [ -n "$w" ] && [[ $w == "$cur"* ]] && COMPREPLY+=("$w")
        done <<<"$words"
    fi
    # Names that go on (GROUP/) want no space after them.
    for w in "${COMPREPLY[@]}"; do [[ $w == */ || $w == repo: ]] && { compopt -o nospace 2>/dev/null; break; }; done
    # Bash replaces only the part after the last colon: drop what precedes it.
    if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
        local colon_prefix=${cur%"${cur##*:}"}
        for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]=${COMPREPLY[i]#"$colon_prefix"}; done
    fi
    return 0
}

complete -F _hci_backup hci-vm-get hci-snap-create hci-task-wait hci-snap-luns hci-lun-export hci-lun-unexport \
    hci-snap-delete hci-vm-create hci-lun-admit hci-sim zadp-read zadp-write zadp-repo
