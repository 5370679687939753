#!/bin/bash
# restore-disk.sh and restore-vm.sh say what went wrong (hci-backup(7)): a
# wrong passphrase is "wrong passphrase or key" (exit 2), not "does not
# verify"; a target that holds data is exit 2 without zadp-read's "broken
# pipe"; a tool missing from PATH is named (exit 2). --sha256 reports what
# sha256sum says of the restored image.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
ex=$HCI_SOURCE_DIR/examples
printf 'right one\n' >"$T/pw"; printf 'wrong one\n' >"$T/bad"; chmod 600 "$T/pw" "$T/bad"
export ZADP_REPO_PASSPHRASE_FILE="$T/pw"
zadp-repo init --encrypt >/dev/null
randimg "$T/d.img" $((1 << 20))
store "$T/d.img" vm-1/2026-11-28T020000Z/disk0
b=repo:vm-1/2026-11-28T020000Z/disk0

expect_fail 2 env ZADP_REPO_PASSPHRASE_FILE="$T/bad" "$ex/restore-disk.sh" "$b" "$T/out.img"
grep -q "wrong passphrase or key" "$T/err" || die "wrong passphrase: $(cat "$T/err")"
! grep -q "does not verify" "$T/err" || die "a wrong passphrase reads like a damaged backup: $(cat "$T/err")"
[ ! -e "$T/out.img" ] || die "a target was written with a wrong passphrase"
expect_fail 2 env ZADP_REPO_PASSPHRASE_FILE="$T/bad" "$ex/restore-vm.sh" repo:vm-1/2026-11-28T020000Z
grep -q "wrong passphrase or key" "$T/err" || die "restore-vm.sh, wrong passphrase: $(cat "$T/err")"

randimg "$T/full.img" $((1 << 20))
expect_fail 2 "$ex/restore-disk.sh" "$b" "$T/full.img"
grep -q "holds data" "$T/err" || die "no reason given: $(cat "$T/err")"
! grep -qi "broken pipe" "$T/err" || die "a misleading broken pipe: $(cat "$T/err")"

mkdir "$T/bin"
for t in jq zadp-repo zadp-write; do ln -s "$(command -v $t)" "$T/bin/$t"; done
expect_fail 2 env PATH="$T/bin:/usr/bin:/bin" "$ex/restore-disk.sh" "$b" "$T/out.img"
grep -q "zadp-read not found in PATH" "$T/err" || die "missing tool: $(cat "$T/err")"

"$ex/restore-disk.sh" --sha256 "$b" "$T/out.img" >"$T/line" || die "restore with the right passphrase failed"
cmp -s "$T/out.img" "$T/d.img" || die "restored image differs"
# --sha256: what sha256sum says of the image, beside the stream's digest.
jq -e --arg s "$(sha256sum <"$T/d.img" | cut -d' ' -f1)" '.sha256 == $s and .verified and (.digest | length) == 32' "$T/line" >/dev/null ||
    die "--sha256: $(cat "$T/line")"
echo "ok: wrong passphrase, a target with data and a missing tool are each named"
