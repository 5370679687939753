#!/bin/bash
# A record that starts inside the previous one is rejected (exit 6).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"

# layout FILE: prints "header 0 END", then "TAG START END" per record, in
# stream byte offsets (zadp-stream(5)).
layout() {
    python3 - "$1" <<'EOF'
import struct, sys
b = open(sys.argv[1], "rb").read()
idlen = struct.unpack_from("<I", b, 28)[0]
pos = 32 + idlen + 8
print("header", 0, pos)
while pos < len(b):
    tag, _, off, length = struct.unpack_from("<4sIQQ", b, pos)
    end = pos + 32 + (length if tag in (b"DATA", b"TRLR") else 0)
    print(tag.decode(), pos, end)
    pos = end
EOF
}
# field TAG N: start (or end with 3) of the Nth record with TAG
rec() { layout "$1" | awk -v t="$2" -v n="$3" -v f="${4:-2}" '$1 == t && ++i == n { print $f }'; }

# reject FILE PATTERN: zadp-write must refuse FILE with exit 6, say PATTERN,
# and leave no file at the target name (nor a temporary one).
reject() {
    local rc=0
    zadp-write --target "$T/out/restored.img" < "$1" 2>"$T/err" || rc=$?
    cat "$T/err" >&2
    [ "$rc" -eq 6 ] || die "expected exit 6, got $rc"
    grep -q -- "$2" "$T/err" || die "message does not mention '$2'"
    [ -z "$(ls -A "$T/out")" ] || die "target directory not empty: $(ls -A "$T/out")"
    rc=0
    zadp-write --check < "$1" >/dev/null 2>&1 || rc=$?
    [ "$rc" -eq 6 ] || die "--check: expected exit 6, got $rc"
}
mkdir -p "$T/out"

# piece FILE TAG N: the bytes of the Nth TAG record (or the header) of FILE
piece() {
    local start end
    start=$(rec "$1" "$2" "$3" 2); end=$(rec "$1" "$2" "$3" 3)
    dd if="$1" iflag=skip_bytes,count_bytes skip="$start" count=$((end - start)) bs=1M status=none
}

# a: data from 0 (first record 0..1M); b: data from 512 KiB (first record
# 512K..1M, as reads are cut at 1 MiB boundaries)
truncate -s 8M "$T/a.img" "$T/b.img"
dd if=/dev/urandom of="$T/a.img" bs=1M count=8 conv=notrunc status=none
dd if=/dev/urandom of="$T/b.img" bs=512K count=15 seek=1 conv=notrunc status=none
zadp-read --source "$T/a.img" > "$T/a.zs"
zadp-read --source "$T/b.img" > "$T/b.zs"
{ piece "$T/a.zs" header 1; piece "$T/a.zs" DATA 1; piece "$T/b.zs" DATA 1; piece "$T/a.zs" TRLR 1; } > "$T/bad"
reject "$T/bad" "overlapping records"
