#!/bin/bash
# zadp-write(1)'s qcow2 example runs as printed on Debian 12: qemu-img cannot
# read a pipe (/dev/stdin), so the page restores into a sparse raw file first;
# the qcow2 holds the same bytes as the source image.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"
require_tools zadp-read zadp-write
command -v qemu-img >/dev/null || skip "qemu-img not installed (Debian package qemu-utils)"

# The example line after "Convert a backup to qcow2", troff escapes undone.
sed -n '/^Convert a backup to qcow2/,/^\.RE/p' "$HCI_SOURCE_DIR/man/man1/zadp-write.1" | sed -n 's/^\.B //p' |
    sed -e 's/\\-/-/g' -e 's/\\e/\\/g' >"$T/example.sh"
grep -q 'qemu-img convert' "$T/example.sh" || die "no qcow2 example found in zadp-write(1): $(cat "$T/example.sh")"
! grep -q '/dev/stdin' "$T/example.sh" || die "the example reads /dev/stdin, which qemu-img refuses"

mkimg "$T/src.img"
mkdir "$T/ex" && cd "$T/ex"
zadp-read --source "$T/src.img" | zstd -q >web01.disk0.zst
bash -euo pipefail "$T/example.sh" 2>"$T/example.err" || die "the example failed: $(cat "$T/example.err")"
[ -f web01.qcow2 ] || die "no web01.qcow2"
[ ! -e web01.img ] || die "the example left its raw file"
qemu-img compare -f raw -F qcow2 "$T/src.img" web01.qcow2 >/dev/null || die "web01.qcow2 differs from the source image"
echo "ok: zadp-write(1)'s qcow2 example converts a stream to an identical qcow2"
