# Sourced after lib.sh by the zadp-*, raw-* and stream-* scenarios: test
# images, a map of a zadp stream's byte layout (zadp-stream(5)) and the
# "rejected as corrupt" assertion.

# An 8 MiB sparse image: three random extents (one ends the image) and an
# all-zero allocated block.
mkimg() {
    truncate -s 8M "$1"
    dd if=/dev/urandom of="$1" bs=64K count=3 seek=5 conv=notrunc status=none
    dd if=/dev/urandom of="$1" bs=4K count=5 seek=700 conv=notrunc status=none
    dd if=/dev/zero of="$1" bs=4K count=4 seek=900 conv=notrunc status=none
    dd if=/dev/urandom of="$1" bs=4K count=1 seek=2047 conv=notrunc status=none
}

# make_stream: a fresh sparse image $T/src.img and its zadp stream $T/s.zs.
make_stream() {
    mkimg "$T/src.img"
    zadp-read --source "$T/src.img" > "$T/s.zs"
}

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

# rec FILE TAG N [3]: start (or end with 3) of the Nth record with TAG
rec() { layout "$1" | awk -v t="$2" -v n="$3" -v f="${4:-2}" '$1 == t && ++i == n { print $f }'; }

# piece FILE TAG N: the bytes of the Nth TAG record (or the header) of FILE
piece() {
    local start end
    start=$(rec "$1" "$2" "$3" 2); end=$(rec "$1" "$2" "$3" 3)
    dd if="$1" iflag=skip_bytes,count_bytes skip="$start" count=$((end - start)) bs=1M status=none
}

# flip BYTE: copies $T/s.zs to $T/bad with one bit of byte BYTE inverted
flip() { python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[int(sys.argv[2])] ^= 0x10; sys.stdout.buffer.write(b)' "$T/s.zs" "$1" > "$T/bad"; }

# reject FILE PATTERN: zadp-write must refuse FILE with exit 6, say PATTERN
# (its stderr stays in $T/err), and leave no file at the target name in
# $T/out (nor a temporary one); zadp-write --check must refuse it with exit 6 too.
reject() {
    local rc=0
    mkdir -p "$T/out"
    zadp-write --target "$T/out/restored.img" < "$1" 2>"$T/err" || rc=$?
    cat "$T/err" >&2
    [ "$rc" -eq 6 ] || die "expected exit 6, got $rc"
    grep -q -- "$2" "$T/err" || die "message does not mention '$2'"
    [ -z "$(ls -A "$T/out")" ] || die "target directory not empty: $(ls -A "$T/out")"
    rc=0
    zadp-write --check < "$1" >/dev/null 2>&1 || rc=$?
    [ "$rc" -eq 6 ] || die "--check: expected exit 6, got $rc"
}
