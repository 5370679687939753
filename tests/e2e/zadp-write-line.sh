#!/bin/bash
# zadp-write --line writes where a JSON line's url (an hci-vm-create line)
# says: in place (--force: the targets hold data), holes punched, a smaller target refused untouched; a line
# without url or export.url, or --line with --target, is a usage error.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

make_stream
head -c 8M /dev/urandom >"$T/vol.img"
line=$(jq -nc --arg url "$T/vol.img" '{vm: {id: "v", name: "web01-restored"}, disk: {index: 0, original_index: 0}, url: $url}')
zadp-write --force --line "$line" <"$T/s.zs"
cmp "$T/src.img" "$T/vol.img" || die "the target differs from the source"
[ "$(stat -c %b "$T/vol.img")" -lt 4096 ] || die "zero ranges were not punched: $(stat -c %b "$T/vol.img") blocks"

# export.url works too (a spare exported LUN)
head -c 8M /dev/urandom >"$T/vol2.img"
zadp-write --force --line "$(jq -nc --arg url "$T/vol2.img" '{export: {url: $url}}')" <"$T/s.zs"
cmp "$T/src.img" "$T/vol2.img" || die "export.url target differs"

head -c 1M /dev/urandom >"$T/small.img"
cp "$T/small.img" "$T/small.orig"
rc=0
zadp-write --line "$(jq -nc --arg url "$T/small.img" '{url: $url}')" <"$T/s.zs" 2>"$T/err" || rc=$?
[ "$rc" -eq 7 ] || die "smaller target: expected exit 7, got $rc"
grep -q "too small" "$T/err" || die "message: $(cat "$T/err")"
cmp "$T/small.img" "$T/small.orig" || die "the smaller target was modified"

rc=0; zadp-write --line '{"disk": {"index": 0}}' <"$T/s.zs" 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "no url" "$T/err" || die "line without url: exit $rc, $(cat "$T/err")"
rc=0; zadp-write --line "$line" --target "$T/vol.img" <"$T/s.zs" 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] || die "--line with --target: expected exit 2, got $rc"
rc=0; zadp-write --line 'not json' <"$T/s.zs" 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || die "bad JSON: expected exit 2, got $rc"
echo ok
