#!/bin/bash
# completion/hci-backup.bash (what make install puts in
# share/bash-completion/completions) completes every tool: sourced, `complete
# -p` names its function for each; driven as bash drives it (COMP_WORDS,
# COMP_CWORD, COMP_LINE, COMP_POINT) it offers each tool's --help options,
# zadp-repo's commands, an option's choices, and repo: names from `zadp-repo
# ls` one level at a time when ZADP_REPO is set (none without it).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
require_tools zadp-repo zadp-read zadp-write
export ZADP_REPO=$T/repo
zadp-repo init >/dev/null
store_new "$T/a.img" 300000 g1/2026-11-28T020000Z/disk0 >/dev/null
printf '{}' | zadp-repo put-blob g1/2026-11-28T020000Z/backup.json - >/dev/null

# complete LINE: what the completion offers for LINE (completing its end), one per line.
cat >"$T/drive.sh" <<'DRIVE'
. "$HCI_SOURCE_DIR/completion/hci-backup.bash"
COMP_LINE=$1 COMP_POINT=${#1}
read -ra COMP_WORDS <<<"$COMP_LINE"
[[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_hci_backup
printf '%s\n' "${COMPREPLY[@]}"
DRIVE
complete() { bash "$T/drive.sh" "$1" 2>"$T/complete.err" || die "completing '$1' failed: $(cat "$T/complete.err")"; }
offers() {  # offers LINE WORD...: the completion of LINE offers each WORD
    local line=$1 got w
    shift
    got=$(complete "$line")
    for w in "$@"; do grep -qxF -- "$w" <<<"$got" || die "'$line' does not offer '$w': $(tr '\n' ' ' <<<"$got")"; done
}

# Registered for every tool.
registered=$(bash -c '. "$HCI_SOURCE_DIR/completion/hci-backup.bash" && complete -p')
for dir in "$HCI_SOURCE_DIR"/tools/*/; do
    tool=$(basename "$dir")
    grep -qE "^complete -F _hci_backup .*\\b$tool\$|^complete -F _hci_backup $tool\$" <<<"$registered" ||
        die "no completion registered for $tool: $registered"
done

# Every option a tool's --help lists, for -- .
for dir in "$HCI_SOURCE_DIR"/tools/*/; do
    tool=$(basename "$dir")
    mapfile -t want < <("$tool" --help 2>&1 | grep -E '^ +-' | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u)
    offers "$tool --" "${want[@]}"
done
[ "$(complete 'zadp-repo pr')" = prune ] || die "zadp-repo pr: $(complete 'zadp-repo pr')"
offers 'zadp-repo prune --' --keep-daily --keep-weekly --dry-run --repo
[ "$(complete 'zadp-read --so')" = --source ] || die "zadp-read --so: $(complete 'zadp-read --so')"
[ "$(complete 'zadp-write --format ' | sort | tr '\n' ' ')" = "raw stream " ] || die "--format: $(complete 'zadp-write --format ')"
offers 'zadp-repo key ' create show passwd

# repo: names, level by level; bash splits the word at ':', so what is offered
# is the part after it.
offers 'zadp-read --source repo:' g1/
offers 'zadp-read --source repo:g1/' g1/2026-11-28T020000Z g1/2026-11-28T020000Z/
offers 'zadp-read --source repo:g1/2026-11-28T020000Z/' g1/2026-11-28T020000Z/disk0 g1/2026-11-28T020000Z/backup.json
offers 'zadp-repo rm g1/2' g1/2026-11-28T020000Z
offers "zadp-repo --repo $ZADP_REPO ls " g1/
[ -z "$(ZADP_REPO= complete 'zadp-read --source repo:')" ] || die "repo: names without a repository"
echo "ok: every tool's options, zadp-repo's commands and the repository's names complete"
