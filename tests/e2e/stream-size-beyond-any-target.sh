#!/bin/bash
# A header whose size no target can hold (2^63 bytes and up, checksum intact)
# is rejected as corrupt the same way with --check and with --target: exit 6,
# the same message, nothing written.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

# forge_header SIZE: a valid version-1 header (zadp-stream(5)) for SIZE bytes,
# its checksum computed with libxxhash, followed by nothing.
forge_header() {
    python3 - "$1" <<'PY'
import ctypes, struct, sys
xxh = ctypes.CDLL("libxxhash.so.0")
xxh.XXH3_64bits.restype = ctypes.c_uint64
xxh.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
h = b"ZADPSTRM" + struct.pack("<IIQII", 1, 0, int(sys.argv[1]), 4096, 2) + b"{}"
sys.stdout.buffer.write(h + struct.pack("<Q", xxh.XXH3_64bits(h, len(h))))
PY
}

# Just below the limit the header is accepted: the stream fails later, as truncated.
forge_header 9223372036854775807 > "$T/hdr"
rc=0
zadp-write --check < "$T/hdr" 2>"$T/err" || rc=$?
[ "$rc" -eq 6 ] && grep -q "without a trailer" "$T/err" || die "size 2^63-1: exit $rc, $(cat "$T/err")"

for size in 9223372036854775808 18446744073709551615; do
    forge_header "$size" > "$T/hdr"
    reject "$T/hdr" "logical size $size in header is more than any target can hold"
    check_err=$(zadp-write --check < "$T/hdr" 2>&1 >/dev/null || true)
    [ "$check_err" = "$(cat "$T/err")" ] || die "--check and --target say different things: '$check_err' vs '$(cat "$T/err")'"
done
echo ok
