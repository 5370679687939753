#!/bin/bash
# SIGINT or SIGTERM during zadp-write removes the temporary file; nothing appears at the target name.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

mkimg "$T/src.img"
zadp-read --source "$T/src.img" > "$T/s.zs"
mkdir "$T/out"
mkfifo "$T/fifo"
for sig in INT TERM; do
    # Half the stream, then the feeder holds the pipe open (the store waits
    # for more) until the signal has arrived, however long that takes.
    zadp-write --target "$T/out/x.img" <"$T/fifo" &
    pid=$!
    { head -c 200000 "$T/s.zs"; exec sleep 600; } >"$T/fifo" &
    feeder=$!
    for _ in $(seq 600); do ls -A "$T/out" | grep -q . && break; sleep 0.1; done
    ls -A "$T/out" | grep -q '^\.x\.img\.' || die "no temporary file while writing"
    kill -"$sig" "$pid"
    rc=0
    wait $pid 2>/dev/null || rc=$?
    kill "$feeder" 2>/dev/null || true
    wait "$feeder" 2>/dev/null || true
    [ $rc -ne 0 ] || die "SIG$sig: zadp-write exited 0"
    [ -z "$(ls -A "$T/out")" ] || die "SIG$sig left: $(ls -A "$T/out")"
done
echo ok
