#!/bin/bash
# zadp-repo hold on a directory repository (flock): a second hold of the
# same GROUP exits 75 at once having taken nothing, one of another group or
# without a group goes on beside it; while any hold runs, sweep is skipped
# (the repository lock is held shared); once its stdin ends it releases
# both, and answers "held" to each line before that.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
require_tools zadp-repo
zadp-repo init >/dev/null

mkfifo "$T/in"
zadp-repo hold vm-a <"$T/in" >"$T/h.out" 2>"$T/h.err" &
holder=$!
exec 4>"$T/in"
on_exit "kill $holder 2>/dev/null"
for _ in $(seq 300); do [ -s "$T/h.out" ] && break; kill -0 $holder || die "hold: $(cat "$T/h.err")"; sleep 0.1; done
[ "$(jq -c . "$T/h.out")" = '{"held":true,"group":"vm-a"}' ] || die "hold said: $(cat "$T/h.out")"

expect_fail 75 zadp-repo hold vm-a </dev/null
grep -q "the group vm-a of $ZADP_REPO is held by another run" "$T/err" || die "second hold: $(cat "$T/err")"
[ ! -s "$T/out" ] || die "the refused hold printed: $(cat "$T/out")"
zadp-repo hold vm-b </dev/null >"$T/b" || die "another group's hold was refused"
zadp-repo hold </dev/null >"$T/b" || die "a hold without a group was refused"
[ "$(zadp-repo sweep | jq -r 'select(.sweep) | .sweep')" = skipped ] || die "sweep ran beside a hold"

echo check >&4
until [ "$(wc -l <"$T/h.out")" -ge 2 ]; do kill -0 $holder || die "hold: $(cat "$T/h.err")"; sleep 0.1; done
[ "$(sed -n 2p "$T/h.out")" = '{"held":true}' ] || die "the answer to a check: $(cat "$T/h.out")"
exec 4>&-
wait $holder || die "hold did not end cleanly at the end of its stdin: $(cat "$T/h.err")"
[ "$(zadp-repo sweep | jq -r 'select(.sweep) | .sweep')" != skipped ] || die "sweep still skipped after the hold ended"
zadp-repo hold vm-a </dev/null >/dev/null || die "vm-a is still held after its holder ended"
echo "ok: hold on a directory: one per group (exit 75 for the second), the repository lock shared, released at the end of stdin"
