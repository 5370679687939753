#!/bin/bash
# One connection per run, across idle time: hci-task-wait polls get-tasks
# every 0.2 s over HTTPS while the tasks run for 3 s, and all its polls go
# over the single TCP connection the TLS proxy in front of hci-sim accepted.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tls.sh"
start_sim --no-tgtd --task-duration 3000
tls_front

# The snapshots are made over plain HTTP; only hci-task-wait uses the proxy.
hci-vm-get --name web01 --name db01 | hci-snap-create 2>/dev/null >"$T/created.jsonl"
[ "$(wc -l <"$T/created.jsonl")" -eq 2 ] || die "expected 2 created snapshots"
sim_admin counters/reset '{}' >/dev/null
before=$(tls_proxy_accepted)
CLOUDTOWER_ENDPOINT="$PROXY_URL" hci-task-wait --cacert "$T/ca.pem" --interval 0.2 --max-interval 0.2 \
    <"$T/created.jsonl" >"$T/done.jsonl" 2>"$T/err" || die "hci-task-wait over HTTPS: $(cat "$T/err")"
connections=$(($(tls_proxy_accepted) - before))
[ "$(jq -r .task.status "$T/done.jsonl" | sort -u)" = SUCCESSED ] || die "tasks did not succeed: $(cat "$T/done.jsonl")"
polls=$(sim_admin counters | jq '.["get-tasks"] // 0')
[ "$polls" -ge 5 ] || die "expected at least 5 get-tasks polls in 3 s, got $polls (the test proves nothing)"
[ "$connections" -eq 1 ] || die "$connections TCP connections for $polls polls: no keep-alive"
echo "ok: $polls get-tasks polls over $connections connection"
