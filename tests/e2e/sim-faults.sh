#!/bin/bash
# hci-sim: /_sim/faults injects HTTP errors, ResourceLocked, latency, dropped
# connections and FAILED tasks for the next N calls of an operation;
# /_sim/counters counts every call.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd --task-duration 50

http_code() {  # http_code OP JSON -> status code, body in $T/body
    curl -sS -o "$T/body" -w '%{http_code}' -X POST -H "Authorization: $CLOUDTOWER_TOKEN" -d "$2" \
        "$SIM_URL/v2/api/$1" || true
}

sim_admin counters/reset '{}' >/dev/null
# 503 twice, then normal again.
sim_admin faults '{"op":"get-vms","count":2,"status":503}' >/dev/null
[ "$(http_code get-vms '{}')" = 503 ] || die "first call not 503"
jq -e '.status == 503 and .path == "/v2/api/get-vms" and (.message | length > 0)' "$T/body" >/dev/null ||
    die "503 body is not an ErrorBody: $(cat "$T/body")"
[ "$(http_code get-vms '{}')" = 503 ] || die "second call not 503"
[ "$(http_code get-vms '{}')" = 200 ] || die "third call not 200"
# Other operations are unaffected.
sim_admin faults '{"op":"get-tasks","count":1,"status":500}' >/dev/null
[ "$(http_code get-vms '{}')" = 200 ] || die "get-vms hit a get-tasks fault"
[ "$(http_code get-tasks '{}')" = 500 ] || die "get-tasks fault not applied"

# ResourceLocked: HTTP 400 with code.
sim_admin faults '{"op":"create-vm-snapshot","count":1,"code":"ResourceLocked"}' >/dev/null
[ "$(http_code create-vm-snapshot '{"data":[]}')" = 400 ] || die "ResourceLocked not 400"
jq -e '.code == "ResourceLocked" and .status == 400' "$T/body" >/dev/null || die "no ResourceLocked code: $(cat "$T/body")"

# Latency.
sim_admin faults '{"op":"get-clusters","count":1,"latency_ms":700}' >/dev/null
start=$(date +%s%N)
[ "$(http_code get-clusters '{}')" = 200 ] || die "latency fault changed the answer"
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$elapsed" -ge 650 ] || die "latency fault: answered after ${elapsed} ms"

# Dropped connection: curl sees an empty reply (exit 52), the next call works.
sim_admin faults '{"op":"get-vms","count":1,"drop":true}' >/dev/null
rc=0
curl -sS -o /dev/null -X POST -H "Authorization: $CLOUDTOWER_TOKEN" -d '{}' "$SIM_URL/v2/api/get-vms" 2>/dev/null || rc=$?
[ "$rc" = 52 ] || die "drop fault: curl exit $rc, wanted 52 (empty reply)"
[ "$(http_code get-vms '{}')" = 200 ] || die "call after a drop failed"

# fail_task: the created task ends FAILED with an error, and nothing is kept.
sim_admin faults '{"op":"create-vm-snapshot","count":1,"fail_task":true}' >/dev/null
vm_id=$(sim_api get-vms '{"where":{"name":"web01"}}' | jq -r '.[0].id')
out=$(sim_api create-vm-snapshot "{\"data\":[{\"vm_id\":\"$vm_id\",\"name\":\"doomed\"}]}")
sleep 0.3
sim_api get-tasks "{\"where\":{\"id\":$(jq '.[0].task_id' <<<"$out")}}" |
    jq -e '.[0].status == "FAILED" and .[0].error_code != null and .[0].error_message != null' >/dev/null ||
    die "fail_task did not fail the task"
sim_api get-vm-snapshots '{"where":{"name":"doomed"}}' | jq -e 'length == 0' >/dev/null || die "failed snapshot kept"

# count -1 lasts until cleared (DELETE and POST faults/clear both clear).
sim_admin faults '{"op":"get-vms","count":-1,"status":500}' >/dev/null
for _ in 1 2 3; do [ "$(http_code get-vms '{}')" = 500 ] || die "forever fault stopped"; done
curl -fsS -X DELETE "$SIM_URL/_sim/faults" >/dev/null
[ "$(http_code get-vms '{}')" = 200 ] || die "DELETE /_sim/faults did not clear"
sim_admin faults '{"op":"get-vms","count":-1,"status":503}' >/dev/null
sim_admin faults/clear '{}' >/dev/null
[ "$(http_code get-vms '{}')" = 200 ] || die "faults/clear did not clear"

# Counters count every call, faulted or not.
sim_admin counters > "$T/counters.json"
jq -e '."get-vms" == 12 and ."get-tasks" == 2 and ."create-vm-snapshot" == 2 and ."get-clusters" == 1' \
    "$T/counters.json" >/dev/null || die "counters: $(cat "$T/counters.json")"
sim_admin counters/reset '{}' >/dev/null
sim_admin counters | jq -e '. == {}' >/dev/null || die "counters/reset did not reset"

# Bad fault specs are refused.
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST -d '{"op":"get-vms"}' "$SIM_URL/_sim/faults")
[ "$code" = 400 ] || die "a fault without a kind was accepted ($code)"
echo "ok"
