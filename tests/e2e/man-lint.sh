#!/bin/bash
# Every tool has a man page, and every page renders without a groff warning.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
cd "$HCI_SOURCE_DIR"
command -v groff >/dev/null || skip "groff not installed (Debian package groff-base)"

for dir in tools/*/; do
    tool=$(basename "$dir")
    [ -f "man/man1/$tool.1" ] || die "tools/$tool has no man page man/man1/$tool.1"
done
pages=(man/man*/*.[1-9])
[ -e "${pages[0]}" ] || die "no man pages found"
for page in "${pages[@]}"; do
    out=$(groff -man -ww -z "$page" 2>&1) || die "$page: groff failed: $out"
    [ -z "$out" ] || die "$page: groff warnings: $out"
    # A request glued to the end of a text line ("named..PP") is printed, not obeyed.
    glued=$(grep -nE '^[^.].*[^\\ ]\.(PP|TP|IP|SH|SS|RS|RE|EX|EE|LP|br|B|I|BR|IR|BI|RB)$' "$page" || true)
    [ -z "$glued" ] || die "$page: a request glued to text: $glued"
    for section in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
        grep -q "^\.SH \"\?$section" "$page" || die "$page: no $section section"
    done
done
# Every option a tool's --help lists is described in its man page, and every
# tool page documents its exit status.
for dir in tools/*/; do
    tool=$(basename "$dir")
    page="man/man1/$tool.1"
    grep -q '^\.SH "\?EXIT STATUS' "$page" || die "$page: no EXIT STATUS section"
    text=$(sed 's/\\-/-/g' "$page")
    options=$("$tool" --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u)
    [ -n "$options" ] || die "$tool --help lists no options"
    for option in $options; do
        grep -qF -- "$option" <<<"$text" || die "$page does not describe $option (listed by $tool --help)"
    done
done
echo "ok: ${#pages[@]} man pages lint clean and describe every option"
