#!/bin/bash
# A repository directory group or others may write is refused for writing
# (exit 2, naming the directory and the remedy) unless --allow-shared-dir or
# ZADP_REPO_ALLOW_SHARED_DIR=1 consents; reading works. key, config and lock
# are 0600 whatever the umask.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

(umask 0 && printf 'a passphrase\n' > "$T/pass" && chmod 600 "$T/pass" &&
 zadp-repo --passphrase-file "$T/pass" init --encrypt --chunk-size 64K > /dev/null)
for f in key config lock; do
    [ "$(stat -c %a "$ZADP_REPO/$f")" = 600 ] || die "$f is $(stat -c %a "$ZADP_REPO/$f") under umask 0"
done
export ZADP_REPO_PASSPHRASE_FILE="$T/pass"
store_new "$T/a.img" 300000 web01/2026-11-27T020000Z/disk0
echo x > "$T/blob"

refused() {  # refused WHAT CMD...: exit 2 naming the directory and the remedy
    local what=$1; shift
    expect_fail 2 "$@"
    grep -q "repository directory $ZADP_REPO may be written by $what (mode 0[0-9]*).*chmod go-w $ZADP_REPO.*--allow-shared-dir" "$T/err" ||
        die "$*: $(cat "$T/err")"
}
for mode in 777 775; do
    chmod "$mode" "$ZADP_REPO"
    who=others; [ $mode = 775 ] && who="its group"
    zadp-read --source "$T/a.img" > "$T/a.stream"
    refused "$who" zadp-write --target repo:web01/2026-11-28T020000Z/disk0 < "$T/a.stream"
    refused "$who" zadp-repo put-blob web01/2026-11-27T020000Z/x "$T/blob"
    refused "$who" zadp-repo rm web01/2026-11-27T020000Z
    refused "$who" zadp-repo prune --keep-last 1
    refused "$who" zadp-repo gc
    refused "$who" zadp-repo sweep
    refused "$who" zadp-repo check --read-data
    refused "$who" zadp-repo key passwd --new-passphrase-file "$T/pass"
    # Reading, and what only looks, work.
    zadp-repo ls > /dev/null || die "ls in a shared directory"
    zadp-repo check > /dev/null || die "check in a shared directory"
    zadp-repo gc --dry-run > /dev/null || die "gc --dry-run in a shared directory"
    restores_to "$T/a.img" web01/2026-11-27T020000Z/disk0
done
# Consent, by option or by the environment.
zadp-write --allow-shared-dir --target repo:web01/2026-11-28T020000Z/disk0 < "$T/a.stream" > /dev/null ||
    die "zadp-write --allow-shared-dir"
ZADP_REPO_ALLOW_SHARED_DIR=1 zadp-write --target repo:web01/2026-11-29T020000Z/disk0 < "$T/a.stream" > /dev/null ||
    die "zadp-write with ZADP_REPO_ALLOW_SHARED_DIR=1"
zadp-repo --allow-shared-dir put-blob web01/2026-11-28T020000Z/x "$T/blob" > /dev/null || die "put-blob --allow-shared-dir"
ZADP_REPO_ALLOW_SHARED_DIR=1 zadp-repo gc > /dev/null || die "gc with ZADP_REPO_ALLOW_SHARED_DIR=1"
restores_to "$T/a.img" web01/2026-11-29T020000Z/disk0
# A shared packs directory is refused too; so is init into a shared directory.
chmod 755 "$ZADP_REPO"; chmod 777 "$ZADP_REPO/packs"
expect_fail 2 zadp-repo gc
grep -q "repository directory $ZADP_REPO/packs may be written by others" "$T/err" || die "gc: $(cat "$T/err")"
chmod 755 "$ZADP_REPO/packs"
zadp-repo gc > /dev/null || die "gc after chmod go-w"
mkdir -m 777 "$T/shared"
expect_fail 2 env ZADP_REPO="$T/shared" ZADP_REPO_PASSPHRASE_FILE= zadp-repo init
grep -q "repository directory $T/shared may be written by others" "$T/err" || die "init: $(cat "$T/err")"
echo "ok: a shared repository directory is refused for writing without consent"
