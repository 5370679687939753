#!/bin/bash
# hci-sim's /_sim/ admin calls answer out-of-range or ill-typed input with
# HTTP 400 and a message naming the field, not 500: a length of 2^64-1, a
# write past the end of the volume, numbers and flags of the wrong type.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd
# post PATH JSON: prints "HTTP_STATUS MESSAGE".
post() {
    curl -sS -o "$T/body" -w '%{http_code}' -X POST -H 'content-type: application/json' -d "$2" "$SIM_URL/_sim/$1" >"$T/code"
    echo "$(cat "$T/code") $(jq -r '.message // empty' "$T/body" 2>/dev/null)"
}
expect_400() {
    local got
    got=$(post "$1" "$2")
    [[ $got == "400 "*"$3"* ]] || die "POST /_sim/$1 $2: expected 400 mentioning '$3', got: $got"
}
size=$(sim_admin volume-path '{"vm":"web01","disk":0}' | jq -r .size)
expect_400 disk-write '{"vm":"web01","disk":0,"offset":0,"random":{"seed":1,"length":18446744073709551615}}' length
expect_400 disk-write '{"vm":"web01","disk":0,"offset":18446744073709551615,"random":{"seed":1,"length":1}}' offset
expect_400 disk-write "{\"vm\":\"web01\",\"disk\":0,\"offset\":$((size - 2)),\"data_base64\":\"AAAAAA==\"}" 'past the end'
expect_400 disk-write "{\"vm\":\"web01\",\"disk\":0,\"extents\":[[0,4096],[$size,1]],\"random\":{\"seed\":1}}" 'past the end'
expect_400 disk-write '{"vm":"web01","disk":0,"extents":[[-1,4096]],"random":{"seed":1}}' 'extent offset'
expect_400 disk-write '{"vm":"web01","disk":0,"extents":"all","random":{"seed":1}}' extents
expect_400 disk-write '{"vm":"web01","disk":-1,"offset":0,"random":{"seed":1,"length":1}}' disk
expect_400 digest '{"lun_snapshot":5}' lun_snapshot
expect_400 faults '{"op":"get-vms","count":"x","status":500}' count
expect_400 faults '{"op":"get-vms","count":18446744073709551615,"status":500}' count
expect_400 faults '{"op":"get-vms","status":70000}' status
expect_400 faults '{"op":"get-vms","latency_ms":1e300}' latency_ms
expect_400 faults '{"op":"get-vms","drop":"yes"}' drop
# Nothing was written and the simulator still answers.
[ "$(sim_admin digest '{"vm":"web01","disk":0}' | jq .allocated)" -eq 0 ] || die "a refused write changed the volume"
[ "$(sim_admin faults | jq length)" -eq 0 ] || die "a refused fault was added"
echo "ok: 13 bad admin requests answered 400 with a message"
