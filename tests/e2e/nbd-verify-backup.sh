#!/bin/bash
# examples/verify-backup.sh checks every file system of every disk of a
# backup read-only (e2fsck -fn through zadp-repo serve and nbdfuse): one
# JSON line each, exit 0 on a good backup; exit 1 naming the disk when a
# guest file system is itself inconsistent; exit 6 naming the disk and the
# chunk when a chunk of the file system's metadata is damaged in the
# repository. The repository is never written.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/nbd.sh"
# The scripts' work directories (and mounts) under $T: other tests, and the
# demo, run restore-files.sh and verify-backup.sh at the same time.
export TMPDIR=$T
require_nbd nbdfuse e2fsck debugfs sfdisk blkid mkfs.ext4
[ -e /dev/fuse ] || skip "no /dev/fuse (nbdfuse needs FUSE)"
verify="$HCI_SOURCE_DIR/examples/verify-backup.sh"

mkdir -p "$T/src/etc" "$T/data"
echo web01 > "$T/src/etc/hostname"
head -c 500000 /dev/urandom > "$T/data/blob"
ext4_disk "$T/disk0.img" "$T/src"
# disk1: a file system on the whole disk, no partition table.
mkfs.ext4 -q -F -d "$T/data" -L data "$T/disk1.img" 8M >/dev/null
# disk2: nothing on it.
truncate -s 4M "$T/disk2.img"

zadp-repo init --chunk-size 64K >/dev/null
for d in 0 1 2; do store "$T/disk$d.img" vm1/2026-11-28T020000Z/disk$d; done
echo '{"format":"hci-backup-manifest","complete":true}' | zadp-repo put-blob vm1/2026-11-28T020000Z/backup.json - >/dev/null
"$verify" repo:vm1 > "$T/good" 2>"$T/log" || die "verify of a good backup failed: $(cat "$T/good" "$T/log")"
jq -se 'length == 3
    and (.[0] | .disk == "disk0" and .partition == 1 and .offset == 1048576 and .fs == "ext4" and .label == "guestroot" and .ok)
    and (.[1] | .disk == "disk1" and .partition == 0 and .fs == "ext4" and .ok and .check == "e2fsck -fn")
    and (.[2] | .disk == "disk2" and .fs == null and .ok == null)' "$T/good" >/dev/null || die "lines: $(cat "$T/good")"

# A guest file system that is itself broken (an inode cleared): exit 1.
cp "$T/disk1.img" "$T/broken.img"
debugfs -w -R 'clri <12>' "$T/broken.img" 2>/dev/null
store "$T/disk0.img" vm1/2026-11-29T020000Z/disk0
store "$T/broken.img" vm1/2026-11-29T020000Z/disk1
rc=0; "$verify" repo:vm1/2026-11-29T020000Z > "$T/broken" 2>/dev/null || rc=$?
[ $rc = 1 ] || die "verify of a broken file system: exit $rc, expected 1: $(cat "$T/broken")"
jq -se '(.[0].ok) and (.[1] | .disk == "disk1" and .ok == false and .exit == 4)' "$T/broken" >/dev/null ||
    die "lines: $(cat "$T/broken")"

# A damaged chunk in disk0's file system metadata (its block group
# descriptors, just after the superblock): exit 6, the line names the chunk.
store "$T/disk0.img" vm1/2026-11-30T020000Z/disk0
before=$(repo_digest)
read -r pack offset length < <(chunk_at vm1/2026-11-30T020000Z/disk0 16)
flip_byte "$pack" $((offset + length / 2))
before=$(repo_digest)
rc=0; "$verify" repo:vm1/2026-11-30T020000Z > "$T/damaged" 2>"$T/log" || rc=$?
[ $rc = 6 ] || die "verify of a damaged backup: exit $rc, expected 6: $(cat "$T/damaged" "$T/log")"
jq -se '.[0] | .disk == "disk0" and .ok == false and (.error | test("chunk 16 at offset 1048576 .* is damaged"))' \
    "$T/damaged" >/dev/null || die "lines: $(cat "$T/damaged")"
grep -q 'repo:vm1/2026-11-30T020000Z/disk0: chunk 16 at offset 1048576' "$T/log" || die "log: $(cat "$T/log")"
[ "$(repo_digest)" = "$before" ] || die "verify wrote into the repository"
mount | grep -qF "$TMPDIR/verify-backup." && die "an nbdfuse mount is left"
echo "ok: verify-backup.sh"
