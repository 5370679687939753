#!/bin/bash
# One flipped byte in a chunk of a served image: a read of that range fails
# with EIO (nbdcopy and qemu-img convert fail, never copy wrong bytes) and
# nbdkit's stderr names the image and the chunk's offset; the chunks around
# it still read byte-exact, and the server keeps serving.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/nbd.sh"
require_nbd nbdcopy qemu-img qemu-io

zadp-repo init --chunk-size 64K >/dev/null
# A zero chunk first: the first stored chunk, the one damaged, is chunk 1.
truncate -s 65536 "$T/a.img"
head -c $((65536 * 7)) /dev/urandom >> "$T/a.img"
store "$T/a.img" vm1/2026-11-28T020000Z/disk0
read -r pack offset length < <(some_chunk_of vm1/2026-11-28T020000Z/disk0)
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[int(sys.argv[2])]^=4; open(p,"wb").write(b)' \
    "$pack" $((offset + length / 2))

serve vm1/2026-11-28T020000Z/disk0
rc=0; nbdcopy "$NBD_URL" "$T/copy" 2>"$T/nbdcopy.err" || rc=$?
[ $rc != 0 ] || die "nbdcopy copied a damaged image and succeeded"
grep -qi 'input/output error' "$T/nbdcopy.err" || die "nbdcopy: $(cat "$T/nbdcopy.err")"
rc=0; qemu-img convert -f raw -O raw "$NBD_URL" "$T/copy2" 2>"$T/qemu.err" || rc=$?
[ $rc != 0 ] || die "qemu-img convert copied a damaged image and succeeded"
grep -q 'repo:vm1/2026-11-28T020000Z/disk0: chunk 1 at offset 65536 .* is damaged' "$T/nbdkit.err" ||
    die "nbdkit's message: $(cat "$T/nbdkit.err")"
# Exactly the damaged chunk's range fails: a read touching one byte of it,
# not a read of the chunk before or after.
qemu-io -r -f raw -c 'read 131071 2' "$NBD_URL" > "$T/io" 2>&1 && die "a read of the damaged chunk's last byte passed"
grep -qi 'input/output error' "$T/io" || die "qemu-io: $(cat "$T/io")"
# (qemu-img dd counts the skipped blocks in count)
qemu-img dd -f raw -O raw bs=65536 skip=2 count=8 if="$NBD_URL" of="$T/tail" || die "the chunks after it do not read"
cmp "$T/tail" <(tail -c $((65536 * 6)) "$T/a.img") || die "the chunks after it read other bytes"
qemu-img dd -f raw -O raw bs=65536 count=1 if="$NBD_URL" of="$T/head" || die "the zero chunk before it does not read"
cmp "$T/head" <(head -c 65536 /dev/zero) || die "the zero chunk reads other bytes"
kill -0 "$NBD_PID" || die "nbdkit died"
echo "ok: a damaged chunk is EIO for its range, named on stderr"
