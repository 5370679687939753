#!/bin/bash
# hci-sim's create-iscsi-target (the "Before the first backup" step 2): a new
# external target on the cluster of cluster_id, answered as {task_id, data}
# in the vendor's shape, whose task succeeds, listed by get-iscsi-targets;
# a name the cluster has, an unknown cluster or a missing field is refused
# with nothing created; a failed task keeps nothing. With tgtd, the target is
# served at once and admits the IQNs of its iqn_whitelist only.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
require_tools hci-task-wait
start_sim --task-duration 50
c2=$(sim_api get-clusters '{"where":{"name":"c2"}}' | jq -r '.[0].id')
c1=$(sim_api get-clusters '{"where":{"name":"c1"}}' | jq -r '.[0].id')
ALLOWED=iqn.2026-01.com.example:backup-host
params() {  # params CLUSTER_ID NAME: one IscsiTargetCreationParams entry
    jq -nc --arg c "$1" --arg n "$2" --arg iqn "$ALLOWED" '[{cluster_id: $c, name: $n, thin_provision: true,
        replica_num: 2, stripe_num: 4, stripe_size: 262144, iqn_whitelist: $iqn}]'
}
targets() { sim_api get-iscsi-targets '{}' | jq length; }
before=$(targets)

params "$c2" backup-tgt >"$T/req.json"
sim_api create-iscsi-target "$(cat "$T/req.json")" >"$T/resp.json" || die "create-iscsi-target failed"
jq -e --arg c "$c2" --arg iqn "$ALLOWED" 'length == 1 and (.[0].task_id | type) == "string" and .[0].data.name == "backup-tgt"
    and .[0].data.cluster.id == $c and .[0].data.iqn_whitelist == $iqn and .[0].data.internal == false
    and .[0].data.stripe_size == 262144' "$T/resp.json" >/dev/null || die "the answer: $(cat "$T/resp.json")"
if python3 -c 'import jsonschema' 2>/dev/null; then
    python3 "$HCI_SOURCE_DIR/tests/schema/validate.py" request create-iscsi-target "$T/req.json" || die "the request does not validate"
    python3 "$HCI_SOURCE_DIR/tests/schema/validate.py" response create-iscsi-target "$T/resp.json" || die "the answer does not validate"
else
    echo "SKIP: schema validation (python3-jsonschema not installed)"
fi
jq -c '.[]' "$T/resp.json" | hci-task-wait >"$T/waited.jsonl" || die "the task did not succeed"
jq -e '.task.status == "SUCCESSED"' "$T/waited.jsonl" >/dev/null || die "task: $(cat "$T/waited.jsonl")"
iqn=$(sim_api get-iscsi-targets "{\"where\":{\"name\":\"backup-tgt\",\"cluster\":{\"id\":\"$c2\"}}}" | jq -r '.[0].iqn_name')
[ -n "$iqn" ] && [ "$iqn" != null ] || die "get-iscsi-targets does not list the new target"
[ "$(targets)" -eq $((before + 1)) ] || die "expected one more target"

# Refusals, each leaving the targets as they were.
refused() {  # refused STATUS BODY
    local code
    code=$(curl -sS -o "$T/err.json" -w '%{http_code}' -X POST -H 'content-type: application/json' \
        -H "Authorization: $CLOUDTOWER_TOKEN" -d "$2" "$SIM_URL/v2/api/create-iscsi-target")
    [ "$code" = "$1" ] || die "expected HTTP $1, got $code for $2: $(cat "$T/err.json")"
    [ "$(targets)" -eq $((before + 1)) ] || die "a refused call created a target: $2"
}
refused 400 "$(params "$c2" backup-tgt)"        # c2 has it now
grep -q 'backup-tgt exists on cluster c2' "$T/err.json" || die "the refusal does not say why: $(cat "$T/err.json")"
refused 400 "$(params "$c1" backup-tgt)"        # c1's from the scenario
refused 404 "$(params no-such-cluster t2)"
refused 400 "$(params "$c2" t2 | jq -c '.[0] |= del(.stripe_size)')"
refused 400 "$(params "$c2" t2 | jq -c '.[0].iqn_whitelist = 5')"
refused 400 "$(jq -nc '[$a[0], $a[0]]' --argjson a "$(params "$c2" twice)")"   # twice in one call

# A failed task keeps nothing.
sim_admin faults '{"op":"create-iscsi-target","fail_task":true}' >/dev/null
sim_api create-iscsi-target "$(params "$c2" doomed)" | jq -c '.[]' >"$T/doomed.jsonl"
expect_exit 5 hci-task-wait "$T/doomed.jsonl"
[ "$(sim_api get-iscsi-targets '{"where":{"name":"doomed"}}' | jq length)" -eq 0 ] || die "a failed task kept its target"

# Served by tgtd: a LUN in it reads for the admitted IQN, not for another.
if sim_admin state | jq -e '.portal != null' >/dev/null; then
    tid=$(jq -r '.[0].data.id' "$T/resp.json")
    sim_api create-iscsi-lun "[{\"iscsi_target_id\":\"$tid\",\"name\":\"probe\",\"assigned_size\":1,\"assigned_size_unit\":\"MB\"}]" |
        jq -c '.[]' | hci-task-wait >/dev/null || die "create-iscsi-lun in the new target failed"
    portal=$(sim_admin state | jq -r .portal)
    url="iscsi://$portal/$iqn/1"
    zadp-read --initiator-iqn "$ALLOWED" --source "$url" >/dev/null 2>"$T/read.err" ||
        die "the admitted IQN cannot read $url: $(cat "$T/read.err")"
    expect_exit 7 zadp-read --initiator-iqn iqn.2026-01.com.example:stranger --source "$url"
else
    echo "SKIP: the iSCSI part (hci-sim runs without tgtd)"
fi
echo "ok: create-iscsi-target creates, refuses duplicates and bad input, and its target admits only its whitelist"
