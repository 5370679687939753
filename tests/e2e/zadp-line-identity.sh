#!/bin/bash
# zadp-read takes its source and identity from a JSON line (--line or stdin) and never stores a secret.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

mkimg "$T/src.img"
line=$(jq -nc --arg u "file://$T/src.img" '{vm:{id:"vm1",name:"web01"},vm_snapshot:{id:"s1"},disk:{index:0},lun_snapshot:{name:"l1"},export:{url:$u}}')
zadp-read --line "$line" > "$T/a.zs"
zadp-write --check < "$T/a.zs" > "$T/a.json"
jq -e '.identity.vm.name == "web01" and .identity.disk.index == 0 and .identity.lun_snapshot.name == "l1"' "$T/a.json" >/dev/null || die "identity missing: $(cat "$T/a.json")"
jq -e '.identity.source == "file://'"$T"'/src.img" and (.identity.tool | startswith("zadp-read ")) and (.identity.created | test("Z$"))' "$T/a.json" >/dev/null || die "source/tool/created wrong"
# the same line on stdin; and a plain "source" field
echo "$line" | zadp-read > "$T/b.zs"
zadp-write --check < "$T/b.zs" | jq -e '.identity.vm.name == "web01"' >/dev/null || die "stdin line ignored"
jq -nc --arg u "$T/src.img" '{source:$u}' | zadp-read | zadp-write --target "$T/out.img"
cmp "$T/src.img" "$T/out.img" || die "restore from a source-field line differs"
# a password in an iSCSI URL never reaches the header or messages
rc=0
zadp-read --line '{"export":{"url":"iscsi://user%s3cret@127.0.0.1:1/iqn.x:y/1"}}' > /dev/null 2> "$T/err" || rc=$?
[ "$rc" -ne 0 ] || die "unreachable iSCSI source succeeded"
grep -q s3cret "$T/err" && die "secret in error message"
# no line at all, two lines, no url
expect_exit 2 zadp-read < /dev/null
printf '%s\n%s\n' "$line" "$line" > "$T/two"
expect_exit 2 zadp-read < "$T/two"
expect_exit 2 zadp-read --line '{"vm":{}}'
echo ok
