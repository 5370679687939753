#!/bin/bash
# SIGINT or SIGTERM during zadp-write removes the temporary file; nothing appears at the target name.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

mkimg "$T/src.img"
zadp-read --source "$T/src.img" > "$T/s.zs"
mkdir "$T/out"
for sig in INT TERM; do
    # half the stream, then a pause during which the signal arrives
    { head -c 200000 "$T/s.zs"; sleep 5; } | zadp-write --target "$T/out/x.img" &
    pid=$!
    for _ in $(seq 50); do ls -A "$T/out" | grep -q . && break; sleep 0.1; done
    ls -A "$T/out" | grep -q '^\.x\.img\.' || die "no temporary file while writing"
    kill -"$sig" "$(pgrep -n -P $$ zadp-write || echo $pid)" 2>/dev/null || true
    wait $pid 2>/dev/null || true
    [ -z "$(ls -A "$T/out")" ] || die "SIG$sig left: $(ls -A "$T/out")"
done
echo ok
