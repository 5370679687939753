#!/bin/bash
# One connection per run: hci-vm-get --all over HTTPS, logging in with a
# username and password, makes one login call and several get-vms calls
# (1,200 generated VMs, 500 per page) and the TLS proxy in front of hci-sim
# accepts exactly one TCP connection for all of them. Login goes over the
# same libcurl handle as the queries, so it does not need a connection of
# its own; a client that reconnected per call would show 4 or more.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tls.sh"
start_sim --no-tgtd --generate-vms 1200
tls_front
export CLOUDTOWER_ENDPOINT="$PROXY_URL" CLOUDTOWER_CACERT="$T/ca.pem"

total=$(sim_api get-vms '{"where":{}}' | jq length)
sim_admin counters/reset '{}' >/dev/null
before=$(tls_proxy_accepted)
env -u CLOUDTOWER_TOKEN CLOUDTOWER_USERNAME=admin CLOUDTOWER_PASSWORD=admin-password \
    hci-vm-get --all >"$T/all.jsonl" 2>"$T/err" || die "hci-vm-get --all over HTTPS: $(cat "$T/err")"
connections=$(($(tls_proxy_accepted) - before))
n=$(wc -l <"$T/all.jsonl")
[ "$n" -eq "$total" ] || die "got $n lines, the server has $total VMs"
logins=$(sim_admin counters | jq '.login // 0')
pages=$(sim_admin counters | jq '.["get-vms"] // 0')
[ "$logins" -eq 1 ] || die "expected 1 login call, got $logins"
[ "$pages" -ge 3 ] || die "expected at least 3 get-vms calls for $n VMs, got $pages (the test proves nothing)"
[ "$connections" -eq 1 ] || die "$connections TCP connections for $((logins + pages)) calls: no keep-alive"
echo "ok: $((logins + pages)) calls ($logins login, $pages get-vms) over $connections connection"
