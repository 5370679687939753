#!/bin/bash
# create-lun.sh --target NAME|ID --name LUN --size BYTES: creates an empty
# thin iSCSI LUN through the CloudTower API (create-iscsi-lun), waits for the
# task, and prints one JSON line {lun, target, url} in the shape
# hci-lun-export uses, so the url can be handed to zadp-write --target.
# Used by restore-disk.sh --new-lun. The token is handed to curl through a
# config file descriptor, never on its command line.
set -euo pipefail

prog=${0##*/}
usage() {
    cat <<EOF
usage: $prog --target NAME|ID --name LUN --size BYTES [--replicas N] [--portal HOST[:PORT]]

Creates a thin-provisioned iSCSI LUN of BYTES bytes in the iSCSI target
NAME (or id) and prints {"lun":{...},"target":{...},"url":"iscsi://..."}.
Environment: CLOUDTOWER_ENDPOINT, and CLOUDTOWER_TOKEN, CLOUDTOWER_TOKEN_FILE
or CLOUDTOWER_USERNAME and CLOUDTOWER_PASSWORD; CLOUDTOWER_CACERT for a private
CA, CLOUDTOWER_INSECURE=1 to skip TLS verification.
EOF
    exit "${1:-0}"
}
log() { printf '%s: %s\n' "$prog" "$*" >&2; }

target="" name="" size="" replicas=2 portal=""
while [ $# -gt 0 ]; do
    case $1 in
        --target) target=${2:?}; shift 2 ;;
        --name) name=${2:?}; shift 2 ;;
        --size) size=${2:?}; shift 2 ;;
        --replicas) replicas=${2:?}; shift 2 ;;
        --portal) portal=${2:?}; shift 2 ;;
        -h | --help) usage 0 ;;
        *) log "unknown argument: $1"; usage 2 >&2 ;;
    esac
done
[ -n "$target" ] && [ -n "$name" ] && [ -n "$size" ] || usage 2 >&2
case $size in '' | *[!0-9]*) log "--size must be a number of bytes"; exit 2 ;; esac
: "${CLOUDTOWER_ENDPOINT:?set CLOUDTOWER_ENDPOINT}"
base=${CLOUDTOWER_ENDPOINT%/}
base=${base%/v2/api}/v2/api

curl_tls=()
[ -n "${CLOUDTOWER_CACERT:-}" ] && curl_tls+=(--cacert "$CLOUDTOWER_CACERT")
[ "${CLOUDTOWER_INSECURE:-0}" = 1 ] && curl_tls+=(--insecure)

# post OP JSON [HEADER-CONFIG]: POST to the API; prints the body, fails (3)
# with the server's message on an HTTP error.
post() {
    local op=$1 body=$2 auth=${3:-} out code
    out=$(mktemp)
    code=$(curl -sS "${curl_tls[@]}" -K <(printf '%s' "$auth") -o "$out" -w '%{http_code}' \
        -X POST -H 'content-type: application/json' --data-binary @- "$base/$op" <<<"$body") ||
        { rm -f "$out"; log "$op: cannot reach $base"; exit 3; }
    if [ "$code" != 200 ]; then
        log "$op: HTTP $code: $(jq -r '.message // .' "$out" 2>/dev/null | head -c 300)"
        rm -f "$out"
        exit 3
    fi
    cat "$out"
    rm -f "$out"
}

token=${CLOUDTOWER_TOKEN:-}
if [ -z "$token" ] && [ -n "${CLOUDTOWER_TOKEN_FILE:-}" ]; then
    token=$(head -n 1 "$CLOUDTOWER_TOKEN_FILE")
fi
if [ -z "$token" ]; then
    [ -n "${CLOUDTOWER_USERNAME:-}" ] && [ -n "${CLOUDTOWER_PASSWORD:-}" ] ||
        { log "no credentials: set CLOUDTOWER_TOKEN, CLOUDTOWER_TOKEN_FILE or CLOUDTOWER_USERNAME/PASSWORD"; exit 2; }
    # jq reads the password from its environment, not from its argv.
    token=$(post login "$(jq -nc '{username: env.CLOUDTOWER_USERNAME, password: env.CLOUDTOWER_PASSWORD}')" |
        jq -r .data.token)
fi
auth=$(printf 'header = "Authorization: %s"\n' "$token")

tgt=$(post get-iscsi-targets "$(jq -nc --arg t "$target" '{where: {OR: [{id: $t}, {name: $t}]}}')" "$auth" | jq -c '.[0] // empty')
[ -n "$tgt" ] || { log "iSCSI target $target not found"; exit 4; }
tgt_id=$(jq -r .id <<<"$tgt")
if [ -z "$portal" ]; then
    cluster_id=$(jq -r '.cluster.id' <<<"$tgt")
    portal=$(post get-clusters "$(jq -nc --arg c "$cluster_id" '{where: {id: $c}}')" "$auth" | jq -r '.[0].iscsi_vip // empty')
    [ -n "$portal" ] || { log "cluster $cluster_id has no iscsi_vip; give --portal"; exit 3; }
fi

created=$(post create-iscsi-lun "$(jq -nc --arg n "$name" --arg t "$tgt_id" --argjson s "$size" --argjson r "$replicas" \
    '[{name: $n, iscsi_target_id: $t, assigned_size: $s, assigned_size_unit: "B", replica_num: $r, thin_provision: true}]')" "$auth" |
    jq -c '.[0]')
lun_id=$(jq -r .data.id <<<"$created")
# hci-task-wait waits for the task the same way the backup tools do.
jq -c . <<<"$created" | hci-task-wait --interval 0.1 --max-interval 2 >/dev/null || { log "create-iscsi-lun task for $name failed"; exit 5; }

lun=$(post get-iscsi-luns "$(jq -nc --arg id "$lun_id" '{where: {id: $id}}')" "$auth" | jq -c '.[0] // empty')
[ -n "$lun" ] || { log "LUN $name vanished after creation"; exit 4; }
jq -c --argjson t "$tgt" --arg portal "$portal" '
    {lun: {id, name, lun_id, assigned_size},
     target: ($t | {id, name, iqn_name}),
     url: "iscsi://\($portal)/\($t.iqn_name)/\(.lun_id)"}' <<<"$lun"
