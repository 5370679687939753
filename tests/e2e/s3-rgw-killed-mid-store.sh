#!/bin/bash
# radosgw killed (SIGKILL) in the middle of a store into S3: the store fails
# in one clear line naming the endpoint (exit 3) after its retries and
# commits nothing; once radosgw is back, the earlier backup reads back
# byte-exact, check --read-data is clean, and the next store works. The
# scenario runs its own one-node test bed in $T (the shared one serves other
# scenarios at the same time).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
bed=$T/rgw
testbed() { bash "$HCI_SOURCE_DIR/scripts/rgw-testbed.sh" "$1" "$bed"; }
rc=0
testbed start >"$T/bed.log" 2>&1 || rc=$?
on_exit "bash '$HCI_SOURCE_DIR/scripts/rgw-testbed.sh' stop '$bed' >/dev/null 2>&1"
[ $rc -ne 77 ] || skip "Ceph is not installed"
[ $rc -eq 0 ] || { cat "$T/bed.log" >&2; die "the private RGW test bed did not start"; }
HCI_S3_ENV=$bed/s3.env
. "$HCI_SOURCE_DIR/tests/e2e/s3.sh"

zadp-repo init --chunk-size 64K >/dev/null
store_new "$T/a.img" 2000000 vm1/2026-12-01T020000Z/disk0

# A store caught in the middle: it gets the first 40 MB of its stream, and
# the rest only after radosgw was killed once its first pack was in, so the
# kill lands mid-store however fast the machine is.
randimg "$T/b.img" 120000000
zadp-read --source "$T/b.img" >"$T/b.stream"
mkfifo "$T/feed"
zadp-write --target repo:vm1/2026-12-02T020000Z/disk0 <"$T/feed" >"$T/w.out" 2>"$T/w.err" &
writer=$!
on_exit "kill -KILL $writer 2>/dev/null"
exec 3>"$T/feed"
head -c 40000000 "$T/b.stream" >&3
packs=0
until [ "$packs" -gt 0 ]; do
    kill -0 $writer 2>/dev/null || die "the store ended before its first pack: $(cat "$T/w.err")"
    keys=$(s3_keys 2>/dev/null || true)
    packs=$(grep -c '^packs/../.*\.pack$' <<<"$keys" || true)
    [ "$packs" -gt 0 ] || sleep 0.1
done
kill -KILL "$(cat "$bed/run/client.rgw.test.pid")"
tail -c +40000001 "$T/b.stream" >&3 2>/dev/null || true  # the writer may be gone already
exec 3>&-
rc=0; wait $writer || rc=$?
[ $rc -eq 3 ] || die "the store with radosgw killed: exit $rc, expected 3: $(cat "$T/w.err")"
grep -q "error: .*$AWS_ENDPOINT_URL" "$T/w.err" || die "the error does not name the endpoint: $(cat "$T/w.err")"
[ "$(grep -c 'error:' "$T/w.err")" -eq 1 ] || die "not one error line: $(cat "$T/w.err")"
[ ! -s "$T/w.out" ] || die "the failed store reported success: $(cat "$T/w.out")"
echo "the store said: $(grep error: "$T/w.err")"

testbed start >"$T/bed.log" 2>&1 || { cat "$T/bed.log" >&2; die "radosgw did not restart"; }
. "$HCI_S3_ENV"
! zadp-repo ls | grep -q 2026-12-02T020000Z || die "the killed store committed: $(zadp-repo ls)"
restores_to "$T/a.img" vm1/2026-12-01T020000Z/disk0
zadp-repo check --read-data >"$T/check" || die "check --read-data after the kill: $(cat "$T/check")"
store "$T/b.img" vm1/2026-12-03T020000Z/disk0
restores_to "$T/b.img" vm1/2026-12-03T020000Z/disk0
echo "ok: radosgw killed mid-store: exit 3, one line, nothing committed; earlier backups whole, the next store works"
