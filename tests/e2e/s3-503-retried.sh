#!/bin/bash
# An S3 store that answers 503 SlowDown to every third request (a fault
# proxy in front of the test bed's RGW): a store, a read and gc retry and
# succeed; each retry is said on stderr (a warning naming the request and
# the 503), the image reads back byte-exact and check --read-data is clean.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/s3.sh"
zadp-repo init --chunk-size 64K >/dev/null

python3 "$HCI_SOURCE_DIR/tests/e2e/s3_fault_proxy.py" "$AWS_ENDPOINT_URL" 3 "$T/counts" >"$T/proxy.out" 2>"$T/proxy.err" &
proxy=$!
on_exit "kill $proxy 2>/dev/null"
rgw=$AWS_ENDPOINT_URL
proxy_url=$(await_url "fault proxy" $proxy "$T/proxy.out" "$T/proxy.err")
export AWS_ENDPOINT_URL=$proxy_url

randimg "$T/a.img" 3000000
zadp-read --source "$T/a.img" | zadp-write --target repo:vm1/2026-12-01T020000Z/disk0 >"$T/store.json" 2>"$T/store.err" ||
    { cat "$T/store.err" >&2; die "the store through 503s failed"; }
read -r requests injected <"$T/counts"
[ "$injected" -ge 3 ] || die "only $injected of $requests requests got a 503: the test proves nothing"
grep -q "HTTP 503 SlowDown; retrying in [0-9]* ms" "$T/store.err" || die "the retries are not said: $(cat "$T/store.err")"
! grep -q "error:" "$T/store.err" || die "the store printed an error: $(cat "$T/store.err")"
restores_to "$T/a.img" vm1/2026-12-01T020000Z/disk0
zadp-repo check --read-data >"$T/check" 2>"$T/check.err" || die "check --read-data through 503s: $(cat "$T/check.err")"
zadp-repo gc >"$T/gc" 2>"$T/gc.err" || die "gc through 503s: $(cat "$T/gc.err")"
read -r requests2 injected2 <"$T/counts"
[ "$injected2" -gt "$injected" ] || die "the reads met no 503"
# Straight to the RGW, the same data is there.
AWS_ENDPOINT_URL=$rgw restores_to "$T/a.img" vm1/2026-12-01T020000Z/disk0
echo "ok: $injected2 of $requests2 requests got 503 SlowDown; every one was retried and the data is whole"
