#!/bin/bash
# One server, several clients: two nbdcopy at once (each opens several
# connections) read byte-exact; a client that goes away in the middle of a
# read (its requests still in flight) leaves the server serving the next
# client byte-exact.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/nbd.sh"
require_nbd nbdcopy

zadp-repo init --chunk-size 64K >/dev/null
randimg "$T/a.img" $((24 << 20))
store "$T/a.img" vm1/2026-11-28T020000Z/disk0
# A cache far smaller than the image: the clients evict each other's chunks.
serve vm1/2026-11-28T020000Z/disk0 cache=1M readahead=256K

nbdcopy "$NBD_URL" "$T/one" & one=$!
nbdcopy "$NBD_URL" "$T/two" & two=$!
wait $one || die "the first client failed"
wait $two || die "the second client failed"
cmp "$T/a.img" "$T/one" || die "the first client read other bytes"
cmp "$T/a.img" "$T/two" || die "the second client read other bytes"

# head leaves after 1 MiB: nbdcopy's writes then fail (EPIPE) and it
# hangs up with its other requests in flight.
rc=0; nbdcopy --request-size=65536 "$NBD_URL" - 2>/dev/null | head -c 1048576 > "$T/part" || rc=$?
[ "$(stat -c %s "$T/part")" = 1048576 ] || die "the cut read got $(stat -c %s "$T/part") bytes"
cmp "$T/part" <(head -c 1048576 "$T/a.img") || die "the cut read got other bytes"
kill -0 "$NBD_PID" || die "nbdkit died when a client hung up"
nbdcopy "$NBD_URL" "$T/three" || die "a client after the one that hung up failed"
cmp "$T/a.img" "$T/three" || die "the client after the one that hung up read other bytes"
grep -q 'error' "$T/nbdkit.err" && grep -v 'Broken pipe\|Connection reset\|write reply' "$T/nbdkit.err" | grep -q error &&
    die "nbdkit logged: $(cat "$T/nbdkit.err")"
echo "ok: two clients at once, one hanging up mid-read"
