#!/bin/bash
# What a new user reads points at things that exist: every *.md file named in
# README.md, the man pages and examples/ is in the repository, and the shell
# in hci-backup(7)'s SYNOPSIS uses no variable it does not set (or take from
# the environment: CLOUDTOWER_*).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
cd "$HCI_SOURCE_DIR"
files=$(git ls-files 2>/dev/null || find . -type f | sed 's|^\./||')
missing=""
for ref in $(grep -ohE '\b[A-Za-z0-9_./-]+\.md\b' README.md man/*/* examples/* examples/systemd/* 2>/dev/null | sort -u); do
    grep -qE "(^|/)$(basename "$ref")\$" <<<"$files" || missing+=" $ref"
done
[ -z "$missing" ] || die "named but not in the repository:$missing"

# A section named with its page ("hci-backup(7), SCHEDULING") is a section
# (.SH or .SS) of that page.
while IFS= read -r ref; do
    page=${ref%%(*}; sec=${ref#*(}; sec=${sec%%)*}; title=${ref#*), }
    [ -f "man/man$sec/$page.$sec" ] || die "$ref: no page man/man$sec/$page.$sec"
    grep -qE "^\.S[HS] \"?$title\"?\$" "man/man$sec/$page.$sec" || die "$ref: $page($sec) has no section $title"
done < <(grep -ohE '\b[a-z][a-z0-9-]+\([1-9]\), [A-Z][A-Z ]*[A-Z]' README.md man/*/* examples/* examples/systemd/* 2>/dev/null | sort -u)

# The SYNOPSIS example of hci-backup(7), troff escapes undone.
sed -n '/^\.SH SYNOPSIS/,/^\.EE/p' man/man7/hci-backup.7 | sed -n '/^\.EX/,/^\.EE/p' | sed '1d;$d' |
    sed -e 's/\\-/-/g' -e 's/\\e/\\/g' >"$T/synopsis.sh"
bash -n "$T/synopsis.sh" || die "hci-backup(7) SYNOPSIS is not valid shell"
used=$(grep -oE '\$\{?[A-Za-z_][A-Za-z0-9_]*' "$T/synopsis.sh" | tr -d '${' | sort -u)
for v in $used; do
    [[ $v == CLOUDTOWER_* ]] && continue
    grep -qE "(^|[[:space:];])($v=|read (-r )?$v\b|for $v\b|export $v=)" "$T/synopsis.sh" ||
        die "hci-backup(7) SYNOPSIS uses \$$v without setting it"
done
echo ok
