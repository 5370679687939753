#!/bin/bash
# An encrypted repository: round trip with its key file or passphrase; no
# key, a wrong key file, a wrong passphrase or a key file others may read are
# refused (exit 2) with a message that says so; nothing in the repository
# holds plain data or reveals plain chunk hashes.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

zadp-repo init --encrypt --key-file "$T/key" > "$T/init.json"
[ "$(stat -c %a "$T/key")" = 600 ] || die "key file mode $(stat -c %a "$T/key")"
export ZADP_REPO_KEY_FILE="$T/key"
python3 -c 'import sys; sys.stdout.write(("plain text that compresses well " * 10000)[:300000])' > "$T/a.img"
store "$T/a.img" web01/2026-11-28T020000Z/disk0
restores_to "$T/a.img" web01/2026-11-28T020000Z/disk0
echo secret-config | zadp-repo put-blob web01/2026-11-28T020000Z/vm.json
[ "$(zadp-repo cat web01/2026-11-28T020000Z/vm.json)" = secret-config ] || die "blob round trip"
! grep -rq "plain text\|secret-config\|vm.json" "$ZADP_REPO/packs" "$ZADP_REPO/backups" || die "plain data in the repository"
sha=$(head -c 65536 "$T/a.img" | sha256sum | cut -c1-64)
python3 - "$ZADP_REPO" "$sha" <<'PY' || die "a chunk is named by its plain SHA-256"
import os, sys
plain = bytes.fromhex(sys.argv[2])
for d, _, files in os.walk(sys.argv[1]):
    for f in files:
        assert plain not in open(os.path.join(d, f), "rb").read(), os.path.join(d, f)
PY
zadp-repo check --read-data > /dev/null || die "check --read-data with the key"

unset ZADP_REPO_KEY_FILE
rc=0; zadp-read --source repo:web01/2026-11-28T020000Z/disk0 > /dev/null 2> "$T/err" || rc=$?
[ $rc = 2 ] && grep -q "is encrypted: give --key-file" "$T/err" || die "no key: exit $rc, $(cat "$T/err")"
zadp-repo key create --key-file "$T/other" > /dev/null
rc=0; zadp-read --key-file "$T/other" --source repo:web01/2026-11-28T020000Z/disk0 > /dev/null 2> "$T/err" || rc=$?
[ $rc = 2 ] && grep -q "wrong key" "$T/err" || die "wrong key: exit $rc, $(cat "$T/err")"
rc=0; zadp-repo --key-file "$T/other" ls > /dev/null 2> "$T/err" || rc=$?
[ $rc = 2 ] || die "ls with a wrong key: exit $rc"
chmod 644 "$T/key"
rc=0; zadp-repo --key-file "$T/key" ls > /dev/null 2> "$T/err" || rc=$?
[ $rc = 2 ] && grep -q "may be read by group or others" "$T/err" || die "readable key: exit $rc, $(cat "$T/err")"
chmod 600 "$T/key"

# A passphrase-protected repository: passphrase from a file or the
# environment, never argv; key passwd changes it.
export ZADP_REPO="$T/repo2"
echo 'first passphrase' > "$T/pass1"; echo 'second passphrase' > "$T/pass2"
zadp-repo init --encrypt --passphrase-file "$T/pass1" > /dev/null
zadp-read --source "$T/a.img" | zadp-write --passphrase-file "$T/pass1" --target repo:g/2026-11-28T020000Z/d > /dev/null
rc=0; ZADP_REPO_PASSPHRASE='not it' zadp-repo ls > /dev/null 2> "$T/err" || rc=$?
[ $rc = 2 ] && grep -q "wrong passphrase" "$T/err" || die "wrong passphrase: exit $rc, $(cat "$T/err")"
ZADP_REPO_PASSPHRASE_FILE="$T/pass1" zadp-repo key passwd --new-passphrase-file "$T/pass2" > /dev/null
rc=0; zadp-repo --passphrase-file "$T/pass1" ls > /dev/null 2>&1 || rc=$?
[ $rc = 2 ] || die "old passphrase still opens the repository"
ZADP_REPO_PASSPHRASE='second passphrase' zadp-read --source repo:g/2026-11-28T020000Z/d --format raw | cmp - "$T/a.img" \
    || die "round trip after key passwd"
echo "ok: the key is required and checked"
