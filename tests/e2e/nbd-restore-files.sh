#!/bin/bash
# examples/restore-files.sh gets a file, and a directory tree with odd names,
# out of an ext4 file system on a backed-up disk (GPT, one partition) without
# restoring the disk and without a root mount (zadp-repo serve, nbdfuse,
# debugfs): byte-exact, one JSON line per PATH; repo:GROUP is the newest
# complete backup; a PATH in no file system is exit 4, a damaged chunk
# under the copy exit 6 naming it, and nothing is left mounted or running.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/nbd.sh"
# The scripts' work directories (and mounts) under $T: other tests, and the
# demo, run restore-files.sh and verify-backup.sh at the same time.
export TMPDIR=$T
require_nbd nbdfuse debugfs sfdisk blkid mkfs.ext4
[ -e /dev/fuse ] || skip "no /dev/fuse (nbdfuse needs FUSE)"
restore_files="$HCI_SOURCE_DIR/examples/restore-files.sh"

mkdir -p "$T/src/etc" "$T/src/home/ann/dir with space/sub-é" "$T/src/home/ann/-dash"
echo "web01" > "$T/src/etc/hostname"
head -c 3000000 /dev/urandom > "$T/src/home/ann/dir with space/big.bin"
printf 'odd\n' > "$T/src/home/ann/dir with space/sub-é/it's \$HOME & *.txt"
printf 'dash\n' > "$T/src/home/ann/-dash/-n"
ln -s ../etc/hostname "$T/src/home/ann/link"
ext4_disk "$T/disk0.img" "$T/src"

zadp-repo init --chunk-size 64K >/dev/null
store "$T/disk0.img" vm1/2026-11-27T020000Z/disk0
echo '{"format":"hci-backup-manifest","complete":true}' | zadp-repo put-blob vm1/2026-11-27T020000Z/backup.json - >/dev/null
store "$T/disk0.img" vm1/2026-11-28T020000Z/disk0
echo '{"format":"hci-backup-manifest","complete":true}' | zadp-repo put-blob vm1/2026-11-28T020000Z/backup.json - >/dev/null

"$restore_files" repo:vm1 /etc/hostname /home/ann "$T/got" > "$T/lines" 2>"$T/log" || die "restore-files: $(cat "$T/log")"
grep -q 'newest complete backup: repo:vm1/2026-11-28T020000Z' "$T/log" || die "log: $(cat "$T/log")"
cmp "$T/src/etc/hostname" "$T/got/hostname" || die "/etc/hostname differs"
diff -r --no-dereference "$T/src/home/ann" "$T/got/ann" || die "the directory tree differs"
[ "$(readlink "$T/got/ann/link")" = ../etc/hostname ] || die "the symbolic link was not kept"
jq -se 'length == 2 and .[0].path == "/etc/hostname" and .[0].partition == 1 and .[0].fs == "ext4"
    and .[1].files == 3 and .[1].backup == "repo:vm1/2026-11-28T020000Z" and .[1].backend == "e2fs"' "$T/lines" >/dev/null ||
    die "lines: $(cat "$T/lines")"

expect_fail 4 "$restore_files" --backend e2fs repo:vm1/2026-11-28T020000Z /etc/nothing "$T/got2"
grep -q '/etc/nothing is in no ext2/3/4 file system' "$T/err" || die "message: $(cat "$T/err")"
expect_fail 4 "$restore_files" --disk 3 repo:vm1/2026-11-28T020000Z /etc/hostname "$T/got2"

# Damage the chunk that holds big.bin's first bytes: the copy of that file
# fails with 6, naming the chunk; the copy of another file still works.
first_block=$(debugfs -c -R 'bmap "/home/ann/dir with space/big.bin" 0' "$T/disk0.img?offset=1048576" 2>/dev/null)
block_size=$(debugfs -c -R 'stats' "$T/disk0.img?offset=1048576" 2>/dev/null | awk -F: '/^Block size/ { print $2 + 0 }')
chunk=$(( (1048576 + first_block * block_size) / 65536 ))
read -r pack offset length < <(chunk_at vm1/2026-11-28T020000Z/disk0 "$chunk")
flip_byte "$pack" $((offset + length / 2))
expect_fail 6 "$restore_files" --backend e2fs repo:vm1/2026-11-28T020000Z "/home/ann/dir with space" "$T/got3"
grep -q "repo:vm1/2026-11-28T020000Z/disk0: chunk $chunk at offset $((chunk * 65536)) .* is damaged" "$T/err" ||
    die "message: $(cat "$T/err")"

# A wrong passphrase is named as such (exit 2), whether zadp-repo serve or the
# search for the newest backup meets it first, and DEST is not created.
printf 'right one\n' >"$T/pw"; printf 'wrong one\n' >"$T/bad"; chmod 600 "$T/pw" "$T/bad"
ZADP_REPO=$T/enc ZADP_REPO_PASSPHRASE_FILE=$T/pw zadp-repo init --encrypt >/dev/null
randimg "$T/small.img" $((1 << 20))
ZADP_REPO=$T/enc ZADP_REPO_PASSPHRASE_FILE=$T/pw store "$T/small.img" vm2/2026-11-28T020000Z/disk0
for b in repo:vm2/2026-11-28T020000Z repo:vm2; do
    expect_fail 2 env ZADP_REPO="$T/enc" ZADP_REPO_PASSPHRASE_FILE="$T/bad" "$restore_files" "$b" /etc/hostname "$T/got4"
    grep -q "wrong passphrase or key" "$T/err" || die "$b, wrong passphrase: $(cat "$T/err")"
    [ ! -e "$T/got4" ] || die "$b: DEST was created with a wrong passphrase"
done
mount | grep -qF "$TMPDIR/restore-files." && die "an nbdfuse mount is left"
# Servers of this test only: nbd-verify-backup may serve its own repo:vm1 meanwhile.
for p in $(pgrep -f "zadp-repo serve" || true); do
    ! tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qxF "ZADP_REPO=$ZADP_REPO" || die "a server is left running: $p"
done
echo "ok: restore-files.sh copies files out of a restore point"
