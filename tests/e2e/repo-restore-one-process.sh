#!/bin/bash
# zadp-write --source repo:NAME restores an image in one process, with no
# stream in between: the same bytes and holes as the pipe form, every check
# kept (a damaged chunk fails it with exit 6 and no file appears), the
# clobber check of an existing target, and usage errors for what only makes
# sense with a stream on stdin.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

zadp-repo init --chunk-size 64K >/dev/null
# 4 MiB with two data extents and holes between them and at the end.
truncate -s 4M "$T/a.img"
head -c 700000 /dev/urandom | dd of="$T/a.img" bs=64K seek=3 conv=notrunc status=none
head -c 300000 /dev/urandom | dd of="$T/a.img" bs=64K seek=40 conv=notrunc status=none
NAME=web01/2026-11-28T020000Z/disk0
store "$T/a.img" $NAME

zadp-write --source repo:$NAME --target "$T/one.img" 2>"$T/err" || die "one-process restore: $(cat "$T/err")"
cmp "$T/a.img" "$T/one.img" || die "the one-process restore differs from the image"
[ "$(stat -c %b "$T/one.img")" -le $(( ($(stat -c %b "$T/a.img") + 256) )) ] ||
    die "holes were filled: $(stat -c %b "$T/one.img") blocks allocated, the image has $(stat -c %b "$T/a.img")"
restores_to "$T/a.img" $NAME

# An existing target that holds data is refused without --force.
expect_fail 2 zadp-write --source repo:$NAME --target "$T/one.img"
grep -q 'already holds data' "$T/err" || die "message: $(cat "$T/err")"
head -c 4M /dev/urandom > "$T/one.img"
zadp-write --source repo:$NAME --target "$T/one.img" --force || die "--force restore failed"
cmp "$T/a.img" "$T/one.img" || die "the --force restore over random data differs from the image"

# What only a stream on stdin has, and targets it does not restore into.
expect_fail 2 zadp-write --source repo:$NAME --target "$T/x.img" --check
expect_fail 2 zadp-write --source repo:$NAME --target "$T/x.img" --format raw
expect_fail 2 zadp-write --source "$T/a.img" --target "$T/x.img"
grep -q 'repository image' "$T/err" || die "message: $(cat "$T/err")"
expect_fail 2 zadp-write --source repo:$NAME --target repo:web01/2026-11-29T020000Z/disk0
expect_fail 4 zadp-write --source repo:web01/2026-01-01T020000Z/disk0 --target "$T/x.img"
[ ! -e "$T/x.img" ] || die "a refused restore left a file"

# A flipped byte in a chunk: exit 6 naming the image and offset, no file.
read -r pack offset length < <(some_chunk_of $NAME)
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[int(sys.argv[2])]^=4; open(p,"wb").write(b)' \
    "$pack" $((offset + length / 2))
expect_fail 6 zadp-write --source repo:$NAME --target "$T/bad.img"
grep -q "repo:$NAME: chunk 3 at offset 196608 .* is damaged" "$T/err" || die "message: $(cat "$T/err")"
[ ! -e "$T/bad.img" ] || die "a failed restore left a file"
echo "ok: zadp-write --source repo: restores in one process with every check"
