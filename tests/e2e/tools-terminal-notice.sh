#!/bin/bash
# Every hci-* tool that reads lines from stdin says so at once when stdin is
# a terminal, instead of waiting silently (one behaviour for all; none refuses).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
command -v script >/dev/null || skip "script(1) not installed"
start_sim --no-tgtd
for tool in hci-vm-get hci-snap-create hci-task-wait hci-snap-luns hci-lun-export hci-lun-unexport \
    hci-snap-delete hci-vm-create hci-lun-admit; do
    command -v "$tool" >/dev/null || continue
    args=""
    [ "$tool" = hci-lun-admit ] && args="--initiator-iqn iqn.2026-01.com.example:host"
    [ "$tool" = hci-lun-export ] && args="--target backup-tgt --portal 127.0.0.1:3260"
    # script(1) gives the tool a terminal as stdin; it gets no input, so it is
    # stopped once it has said what it waits for (or after a generous wait).
    script -qec "$tool $args" /dev/null </dev/null >"$T/$tool.out" 2>&1 &
    pid=$!
    for _ in $(seq 600); do
        grep -q "$tool: reading JSON lines from the terminal" "$T/$tool.out" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    grep -q "$tool: reading JSON lines from the terminal" "$T/$tool.out" ||
        die "$tool says nothing while it waits on a terminal: $(cat "$T/$tool.out")"
done
echo ok
