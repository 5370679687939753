#!/bin/bash
# zadp-write --check prints the header and statistics and writes nothing.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

mkimg "$T/src.img"
zadp-read --source "$T/src.img" > "$T/s.zs"
(cd "$T" && zadp-write --check < s.zs > report.json)
jq -e '.version == 1 and .size == 8388608 and .block_size == 4096 and .data_records >= 3 and .zero_records >= 3
       and .data_bytes + .zero_bytes == 8388608 and (.digest | length) == 32' "$T/report.json" >/dev/null \
    || die "bad report: $(cat "$T/report.json")"
# the all-zero allocated block is a ZERO record, not data
[ "$(jq .data_bytes "$T/report.json")" -eq $(((3 * 64 + 5 * 4 + 4) * 1024)) ] || die "data bytes: $(jq .data_bytes "$T/report.json")"
[ "$(ls "$T" | sort | tr '\n' ' ')" = "report.json s.zs src.img " ] || die "--check wrote files: $(ls "$T")"
expect_exit 2 zadp-write --check --target "$T/x.img" < "$T/s.zs"
expect_exit 2 zadp-write < "$T/s.zs"
zadp-read --help | grep -q -- --compress || die "zadp-read --help"
zadp-write --help | grep -q -- --check || die "zadp-write --help"
zadp-read --version | grep -q '^zadp-read ' || die "--version"
expect_exit 2 zadp-read --bogus
echo ok
