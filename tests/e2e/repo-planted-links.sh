#!/bin/bash
# Links planted where the repository writes are never followed: at the
# locator's old temporary name (gc), at a blob's old temporary name
# (.NAME.tmp.PID: put-blob), at packs/damaged (check --read-data) and at
# DIR/lock. The file they point to stays as it was, and nothing is created
# through a dangling one.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

victim="$T/victim"
echo "precious" > "$victim"
unchanged() { [ "$(cat "$victim")" = precious ] || die "$1 wrote through a planted link: $(head -c 100 "$victim" | od -c | head -3)"; }

zadp-repo init --chunk-size 64K >/dev/null
store_new "$T/a.img" 1000000 web01/2026-11-28T020000Z/disk0
zadp-repo gc > /dev/null

# gc writes a new locator beside packs/locator.
ln -s "$victim" "$ZADP_REPO/packs/locator.tmp"
zadp-repo gc > /dev/null || die "gc with a link at packs/locator.tmp"
unchanged gc
restores_to "$T/a.img" web01/2026-11-28T020000Z/disk0

# put-blob: its temporary file was .vm.json.blob.tmp.PID; the PID of an
# exec'd command is the shell's own.
echo '{"a":1}' > "$T/vm.json"
# shellcheck disable=SC2016
bash -c 'ln -s "$1" "$2/backups/web01/2026-11-28T020000Z/.vm.json.blob.tmp.$$"; exec zadp-repo put-blob web01/2026-11-28T020000Z/vm.json "$3"' \
    _ "$victim" "$ZADP_REPO" "$T/vm.json" > /dev/null || die "put-blob beside a planted link"
unchanged put-blob
[ ! -L "$ZADP_REPO/backups/web01/2026-11-28T020000Z/vm.json.blob" ] || die "the blob is a link"
[ "$(zadp-repo cat web01/2026-11-28T020000Z/vm.json)" = '{"a":1}' ] || die "blob round trip"

# check --read-data appends to packs/damaged: a link there is refused.
read -r pack offset length < <(some_chunk_of web01/2026-11-28T020000Z/disk0)
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[int(sys.argv[2])]^=4; open(p,"wb").write(b)' \
    "$pack" $((offset + length / 2))
ln -s "$victim" "$ZADP_REPO/packs/damaged"
expect_fail 7 zadp-repo check --read-data
grep -q "packs/damaged is a symbolic link; refusing to follow it" "$T/err" || die "check: $(cat "$T/err")"
unchanged "check --read-data"
rm "$ZADP_REPO/packs/damaged"
expect_fail 6 zadp-repo check --read-data
grep -q "^$(basename "$pack" .pack) $offset " "$ZADP_REPO/packs/damaged" || die "the damaged chunk was not set aside"

# DIR/lock: a dangling link there is not followed (nothing is created).
rm "$ZADP_REPO/lock"
ln -s "$T/created-by-lock" "$ZADP_REPO/lock"
expect_fail 7 zadp-repo ls
grep -q "lock is a symbolic link" "$T/err" || die "ls: $(cat "$T/err")"
[ ! -e "$T/created-by-lock" ] || die "the lock was created through a link"
echo "ok: planted links are never followed"
