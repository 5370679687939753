#!/bin/bash
# Runs racing for one VM's group lock on S3 (zadp-repo hold GROUP, what
# backup-vm.sh takes before it does anything): six takers started at once,
# five rounds; in each exactly one holds it and the five others exit 75
# naming the holder. Never two (the lease protocol); never none (two takers
# that saw each other both back off, then retry at random moments).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/s3.sh"
require_tools zadp-repo
zadp-repo init >/dev/null

for round in 1 2 3 4 5; do
    mkfifo "$T/go" "$T/release"
    pids=()
    for i in 1 2 3 4 5 6; do
        # Each waits for its line of the go, then races.
        ( read -r _ <"$T/go"; exec env ZADP_HOST_ID="racer-$i" zadp-repo hold vm-x <"$T/release" >"$T/out$i" 2>"$T/err$i" ) &
        pids+=($!)
    done
    exec 4<>"$T/release"  # the holders' stdin stays open until we close it
    exec 5<>"$T/go"       # open both ways: a racer that opens it late still reads its line
    printf 'go\ngo\ngo\ngo\ngo\ngo\n' >&5
    # Until every loser has ended (the winner blocks on its stdin).
    for _ in $(seq 600); do
        ended=0
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || ended=$((ended + 1)); done
        [ $ended -lt 5 ] || break
        sleep 0.1
    done
    winners=$(cat "$T"/out? | grep -c '"held":true' || true)
    refused=$(grep -l "held by another run (host racer-" "$T"/err? | wc -l)
    [ "$winners" -eq 1 ] && [ "$refused" -eq 5 ] ||
        die "round $round: $winners holder(s), $refused refused: $(cat "$T"/out? "$T"/err?)"
    exec 4>&- 5>&-
    codes=""
    for p in "${pids[@]}"; do rc=0; wait "$p" || rc=$?; codes+="$rc "; done
    [ "$(tr ' ' '\n' <<<"$codes" | sort | tr '\n' ' ')" = " 0 75 75 75 75 75 " ] || die "round $round: exit codes $codes"
    rm -f "$T/go" "$T/release" "$T"/out? "$T"/err?
done
! s3_keys | grep -q '^locks/' || die "a lease was left: $(s3_keys | grep ^locks/)"
echo "ok: 5 rounds of 6 takers racing for one group lock: one holder each, five refused (exit 75)"
