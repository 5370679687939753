#!/bin/bash
# check reads what a restore reads: with chunk_size changed in config, every
# read of an image exits 6, and check and check --read-data report each
# image as not ok with the same reason (exit 6).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"

zadp-repo init --chunk-size 64K >/dev/null
store_new "$T/a.img" 1000000 web01/2026-11-28T020000Z/disk0
echo x | zadp-repo put-blob web01/2026-11-28T020000Z/vm.json
zadp-repo check --read-data > /dev/null || die "check before the change"
python3 - "$ZADP_REPO/config" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["chunk_size"] = 131072
open(p, "w").write(json.dumps(c) + "\n")
PY
expect_fail 6 zadp-read --source repo:web01/2026-11-28T020000Z/disk0 --format raw
reason="repo:web01/2026-11-28T020000Z/disk0: index chunk size 65536 differs from the repository's 131072"
grep -qF "$reason" "$T/err" || die "read: $(cat "$T/err")"
for opt in "" --read-data; do
    rc=0; zadp-repo check $opt > "$T/check" 2> "$T/err" || rc=$?
    [ $rc = 6 ] || die "check $opt: exit $rc, expected 6: $(cat "$T/check")"
    jq -se --arg r "$reason" 'any(.[]; .name == "web01/2026-11-28T020000Z/disk0" and .ok == false and .error == $r)' \
        "$T/check" > /dev/null || die "check $opt: $(cat "$T/check")"
    has_line "$T/check" '.name == "web01/2026-11-28T020000Z/vm.json" and .ok == true' || die "check $opt: the blob: $(cat "$T/check")"
done
echo "ok: check reports an image no read can restore"
