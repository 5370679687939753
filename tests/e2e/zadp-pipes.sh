#!/bin/bash
# "-" is stdin/stdout for the data tools: zadp-read --source - reads a raw
# image from a pipe (zero blocks found by scanning; a pipe needs --size),
# zadp-write --target - writes the raw image to stdout; --size reads only a
# prefix of a volume.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

make_stream
want=$(zadp-write --check <"$T/s.zs" | jq -r .digest)
cat "$T/src.img" | zadp-read --source - --size 8M >"$T/pipe.zs"
zadp-write --check <"$T/pipe.zs" >"$T/pipe.json"
jq -e --arg d "$want" '.digest == $d and .size == 8388608' "$T/pipe.json" >/dev/null ||
    die "a raw image piped into zadp-read --source - gives another image: $(cat "$T/pipe.json")"
# 8 MiB with 216 KiB of data in it: the zero blocks travel as ZERO records.
jq -e '.zero_bytes >= 7 * 1048576' "$T/pipe.json" >/dev/null || die "zero blocks not found by scanning"

# A regular file on stdin knows its length.
zadp-read --source - <"$T/src.img" | zadp-write --check | jq -e --arg d "$want" '.digest == $d' >/dev/null ||
    die "a file on stdin gives another image"

# A pipe without --size, a short pipe and a long one are refused.
expect_exit 2 zadp-read --source - < <(cat "$T/src.img") >/dev/null
expect_exit 7 zadp-read --source - --size 9M < <(cat "$T/src.img") >/dev/null
expect_exit 2 zadp-read --source - --size 4M < <(cat "$T/src.img") >/dev/null
expect_exit 2 zadp-read --source - --size 4X < <(cat "$T/src.img") >/dev/null

# zadp-write --target -: the raw image on stdout, into a pipe and into a file.
zadp-write --target - <"$T/s.zs" | cmp - "$T/src.img" || die "--target - into a pipe differs"
zadp-write --target - <"$T/s.zs" >"$T/out.img"
cmp "$T/out.img" "$T/src.img" || die "--target - into a file differs"
zstd -q <"$T/s.zs" | zadp-write --target - | cmp - "$T/src.img" || die "compressed stream to stdout differs"

# --size on a volume: only the image's first bytes are read.
zadp-read --source "$T/src.img" --size 1M --format raw | cmp - <(head -c 1M "$T/src.img") ||
    die "--size 1M does not read the first MiB"
expect_exit 2 zadp-read --source "$T/src.img" --size 9M >/dev/null
echo ok
