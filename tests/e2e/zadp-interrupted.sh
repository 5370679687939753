#!/bin/bash
# SIGINT or SIGTERM during zadp-write removes the temporary file; nothing
# appears at the target name. Started with SIGINT ignored (a & job of a
# script, nohup for SIGHUP), zadp-write keeps it ignored, as Unix tools do.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/stream.sh"

mkimg "$T/src.img"
zadp-read --source "$T/src.img" > "$T/s.zs"
mkdir "$T/out"
mkfifo "$T/fifo"
for sig in INT TERM; do
    # Half the stream, then the feeder holds the pipe open (the store waits
    # for more) until the signal has arrived, however long that takes.
    env --default-signal=INT zadp-write --target "$T/out/x.img" <"$T/fifo" &
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

# The signals zadp-write catches, seen in /proc while it waits: SIGINT (2)
# stays ignored when it was at start, SIGTERM (15) is caught.
zadp-write --target "$T/out/y.img" <"$T/fifo" &
pid=$!
{ head -c 200000 "$T/s.zs"; exec sleep 600; } >"$T/fifo" &
feeder=$!
for _ in $(seq 600); do ls -A "$T/out" | grep -q . && break; sleep 0.1; done
mask() { echo $(( (16#$(awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status") >> ($2 - 1)) & 1 )); }
[ "$(mask SigIgn 2)" -eq 1 ] || die "zadp-write started with SIGINT ignored catches it"
[ "$(mask SigCgt 15)" -eq 1 ] || die "zadp-write does not catch SIGTERM"
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
kill "$feeder" 2>/dev/null || true; wait "$feeder" 2>/dev/null || true
[ -z "$(ls -A "$T/out")" ] || die "SIGTERM left: $(ls -A "$T/out")"
echo ok
