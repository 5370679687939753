#!/bin/bash
# The plugin refuses writes (read-only export); with nbdkit's cow filter a
# client writes into an overlay in memory and reads its writes back, and the
# repository's files stay byte for byte as they were: a served restore point
# can be booted or fsck'd without changing the backup.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/nbd.sh"
require_nbd nbdcopy qemu-io
nbdkit --dump-config >/dev/null && nbdkit --filter=cow null --dump-plugin >/dev/null 2>&1 ||
    skip "nbdkit's cow filter is not installed"

zadp-repo init --chunk-size 64K >/dev/null
store_new "$T/a.img" 1000000 vm1/2026-11-28T020000Z/disk0
before=$(repo_digest)

serve vm1/2026-11-28T020000Z/disk0
qemu-io -f raw -c 'write -P 0xab 0 4096' "$NBD_URL" > "$T/io" 2>&1 && die "a write to the plain export passed"
grep -qi 'read-only\|not permitted\|permission denied' "$T/io" || die "qemu-io: $(cat "$T/io")"
kill -TERM "$NBD_PID"

sock="$T/cow.sock"
nbdkit -f -U "$sock" -P "$sock.pid" --filter=cow "$NBD_PLUGIN" repo="$ZADP_REPO" \
    image=vm1/2026-11-28T020000Z/disk0 </dev/null >/dev/null 2>>"$T/nbdkit.err" &
cow=$!
on_exit "kill -TERM $cow 2>/dev/null"
for _ in $(seq 300); do [ -s "$sock.pid" ] && break; sleep 0.1; done
url="nbd+unix:///?socket=$sock"
qemu-io -f raw -c 'write -P 0xab 4096 8192' -c 'write -z 500000 100000' -c 'discard 800000 65536' "$url" ||
    die "writes through the cow filter failed"
qemu-io -f raw -c 'read -P 0xab 4096 8192' -c 'read -P 0 500000 100000' "$url" > "$T/io" || die "the overlay does not read back"
grep -q 'read 8192/8192' "$T/io" || die "qemu-io: $(cat "$T/io")"
nbdcopy "$url" "$T/through-cow"
cmp -s "$T/a.img" "$T/through-cow" && die "the overlay's writes are not seen"
cmp "$T/through-cow" "$T/a.img" -n 4096 || die "bytes the client did not write changed"
[ "$(repo_digest)" = "$before" ] || die "the repository's files changed"
kill -TERM $cow; wait $cow 2>/dev/null || true
restores_to "$T/a.img" vm1/2026-11-28T020000Z/disk0
[ "$(repo_digest)" = "$before" ] || die "the repository's files changed"
echo "ok: writes go to the cow overlay, never into the repository"
