#!/bin/bash
# Key options are checked clearly: a passphrase file that cannot be read is
# a usage error (exit 2) naming the option and the file; a key given for an
# unencrypted repository is ignored with a warning; init with a key but
# without --encrypt is refused (it would not encrypt).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

echo 'a passphrase' > "$T/pass"; chmod 600 "$T/pass"
zadp-repo init --encrypt --passphrase-file "$T/pass" --chunk-size 64K > /dev/null
randimg "$T/a.img" 200000
expect_fail 2 zadp-repo --passphrase-file "$T/missing" ls
grep -q "cannot read the passphrase file $T/missing (--passphrase-file or ZADP_REPO_PASSPHRASE_FILE): No such file" "$T/err" ||
    die "ls: $(cat "$T/err")"
expect_fail 2 env ZADP_REPO_PASSPHRASE_FILE="$T/missing" zadp-repo ls
grep -q "passphrase file $T/missing" "$T/err" || die "ls with the environment: $(cat "$T/err")"
zadp-read --source "$T/a.img" > "$T/a.stream"
expect_fail 2 zadp-write --passphrase-file "$T/missing" --target repo:g/2026-11-28T020000Z/d < "$T/a.stream"
grep -q "passphrase file $T/missing" "$T/err" || die "zadp-write: $(cat "$T/err")"
expect_fail 2 zadp-repo --passphrase-file "$T/pass" key passwd --new-passphrase-file "$T/missing"
grep -q "passphrase file $T/missing (--new-passphrase-file)" "$T/err" || die "key passwd: $(cat "$T/err")"

export ZADP_REPO="$T/plain"
zadp-repo key create --key-file "$T/key" > /dev/null
expect_fail 2 zadp-repo --key-file "$T/key" init
grep -q "key-file $T/key was given without --encrypt" "$T/err" || die "init: $(cat "$T/err")"
[ ! -e "$ZADP_REPO" ] || die "init without --encrypt made a repository"
zadp-repo init > /dev/null
zadp-write --key-file "$T/key" --target repo:g/2026-11-28T020000Z/d < "$T/a.stream" > /dev/null 2> "$T/err" ||
    die "store with a key into a plain repository: $(cat "$T/err")"
grep -q "repository $ZADP_REPO is not encrypted: the key file $T/key is not used" "$T/err" || die "no warning: $(cat "$T/err")"
ZADP_REPO_PASSPHRASE=x zadp-repo ls > /dev/null 2> "$T/err" || die "ls: $(cat "$T/err")"
grep -q "is not encrypted: the passphrase is not used" "$T/err" || die "no warning for a passphrase: $(cat "$T/err")"
zadp-repo ls > /dev/null 2> "$T/err"
[ ! -s "$T/err" ] || die "a warning without a key: $(cat "$T/err")"
echo "ok: key options are checked clearly"
