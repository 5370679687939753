#!/bin/bash
# zadp-repo serve: prints the NBD URI (a JSON line with --json) once the
# image can be read, on a private Unix socket or on 127.0.0.1; an encrypted
# repository's passphrase reaches nbdkit by the environment, never argv;
# SIGTERM and Ctrl-C stop nbdkit and remove the socket (exit 0); a missing
# image is exit 4, a wrong passphrase exit 2, nbdkit dying exit 7.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/nbd.sh"
require_nbd nbdcopy nbdinfo

echo 'correct horse' > "$T/pass"
export ZADP_REPO_PASSPHRASE_FILE="$T/pass"
zadp-repo init --encrypt --chunk-size 64K >/dev/null
store_new "$T/a.img" 777777 vm1/2026-11-28T020000Z/disk0

# start_serve OUT [options]: zadp-repo serve in the background; SERVE_PID
start_serve() {
    local out=$1; shift
    zadp-repo serve "$@" > "$out" 2>>"$T/serve.err" &
    SERVE_PID=$!
    on_exit "kill -TERM $SERVE_PID 2>/dev/null"
    await_url "zadp-repo serve" "$SERVE_PID" "$out" "$T/serve.err" >/dev/null
}

start_serve "$T/unix.json" --json repo:vm1/2026-11-28T020000Z/disk0
jq -e '.name == "vm1/2026-11-28T020000Z/disk0" and .size == 777777 and .read_only and (.uri | startswith("nbd+unix:///?socket="))' \
    "$T/unix.json" >/dev/null || die "serve --json: $(cat "$T/unix.json")"
sock=$(jq -r .socket "$T/unix.json"); nbdkit_pid=$(jq -r .pid "$T/unix.json")
[ "$(stat -c %a "$(dirname "$sock")")" = 700 ] || die "the socket's directory is open to others"
tr '\0' '\n' < "/proc/$nbdkit_pid/cmdline" > "$T/cmdline"
grep -q 'correct horse' "$T/cmdline" && die "the passphrase is in nbdkit's argv"
grep -qx "passphrase-file=$T/pass" "$T/cmdline" || die "nbdkit's argv: $(cat "$T/cmdline")"
nbdcopy "$(jq -r .uri "$T/unix.json")" "$T/copy" && cmp "$T/a.img" "$T/copy" || die "the served image reads other bytes"
kill -TERM $SERVE_PID
rc=0; wait $SERVE_PID || rc=$?
[ $rc = 0 ] || die "serve exited $rc on SIGTERM: $(cat "$T/serve.err")"
! kill -0 "$nbdkit_pid" 2>/dev/null || die "nbdkit still runs after serve stopped"
[ ! -e "$sock" ] && [ ! -e "$(dirname "$sock")" ] || die "the socket or its directory is left"

# The same from a passphrase in the environment, on TCP, stopped by Ctrl-C.
unset ZADP_REPO_PASSPHRASE_FILE
export ZADP_REPO_PASSPHRASE='correct horse'
start_serve "$T/tcp.uri" --tcp vm1/2026-11-28T020000Z/disk0
uri=$(head -n 1 "$T/tcp.uri")
[[ $uri =~ ^nbd://127\.0\.0\.1:[0-9]+/$ ]] || die "TCP URI: $uri"
[ "$(nbdinfo --size "$uri")" = 777777 ] || die "nbdinfo --size over TCP"
nbdcopy "$uri" "$T/copy2" && cmp "$T/a.img" "$T/copy2" || die "the image read over TCP differs"
kill -INT $SERVE_PID
rc=0; wait $SERVE_PID || rc=$?
[ $rc = 0 ] || die "serve exited $rc on SIGINT"

expect_fail 4 zadp-repo serve vm1/2026-11-28T020000Z/disk9
grep -q 'repo:vm1/2026-11-28T020000Z/disk9 does not exist' "$T/err" || die "message: $(cat "$T/err")"
ZADP_REPO_PASSPHRASE=wrong expect_fail 2 zadp-repo serve vm1/2026-11-28T020000Z/disk0
expect_fail 2 zadp-repo serve vm1/2026-11-28T020000Z
# nbdkit dying under it ends serve with exit 7.
start_serve "$T/third.json" --json vm1/2026-11-28T020000Z/disk0
kill -KILL "$(jq -r .pid "$T/third.json")"
rc=0; wait $SERVE_PID || rc=$?
[ $rc = 7 ] || die "serve exited $rc when nbdkit died: $(cat "$T/serve.err")"
grep -q 'nbdkit ended (signal 9) while serving' "$T/serve.err" || die "message: $(cat "$T/serve.err")"
echo "ok: zadp-repo serve"
