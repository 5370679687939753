#!/bin/bash
# hci-sim: login gives a token; every other call needs it (401 ErrorBody otherwise).
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd

[ -n "$CLOUDTOWER_TOKEN" ] && [ "$CLOUDTOWER_TOKEN" != null ] || die "login gave no token"
sim_api get-vms '{"where":{"name":"web01"}}' | jq -e 'length == 1 and .[0].name == "web01"' >/dev/null ||
    die "get-vms with a valid token failed"

# Wrong password: 401 with an ErrorBody, no token.
code=$(curl -sS -o "$T/bad-login.json" -w '%{http_code}' -X POST -H 'content-type: application/json' \
    -d '{"username":"admin","password":"wrong"}' "$SIM_URL/v2/api/login")
[ "$code" = 401 ] || die "wrong password gave HTTP $code"
jq -e '.status == 401 and (.message | length > 0) and .path == "/v2/api/login" and (has("data") | not)' \
    "$T/bad-login.json" >/dev/null || die "bad ErrorBody for wrong password: $(cat "$T/bad-login.json")"

# Wrong token and missing token: 401 ErrorBody with the request id header.
for auth in "Authorization: not-a-token" "X-Nothing: 1"; do
    code=$(curl -sS -D "$T/headers" -o "$T/err.json" -w '%{http_code}' -X POST -H "$auth" \
        -d '{}' "$SIM_URL/v2/api/get-vms")
    [ "$code" = 401 ] || die "'$auth' gave HTTP $code"
    jq -e '.status == 401 and .path == "/v2/api/get-vms" and (.message | type == "string")' "$T/err.json" \
        >/dev/null || die "bad 401 body: $(cat "$T/err.json")"
    grep -qi '^x-tower-request-id: [0-9a-f-]\{36\}' "$T/headers" || die "no x-tower-request-id header"
done

# One connection serves many requests (HTTP/1.1 keep-alive, as libcurl reuses it).
curl -sS -v -X POST -H "Authorization: $CLOUDTOWER_TOKEN" -d '{}' "$SIM_URL/v2/api/get-clusters" \
    -: -X POST -H "Authorization: $CLOUDTOWER_TOKEN" -d '{}' "$SIM_URL/v2/api/get-vms" >/dev/null 2>"$T/v.txt"
grep -qi 're-using existing connection\|reusing existing connection' "$T/v.txt" || die "connection not kept alive"

# Unknown operation: 404 ErrorBody; malformed JSON and bad where: 400 ErrorBody.
code=$(curl -sS -o "$T/e.json" -w '%{http_code}' -X POST -H "Authorization: $CLOUDTOWER_TOKEN" -d '{}' "$SIM_URL/v2/api/no-such-op")
[ "$code" = 404 ] && jq -e '.status == 404' "$T/e.json" >/dev/null || die "unknown op gave $code"
code=$(curl -sS -o "$T/e.json" -w '%{http_code}' -X POST -H "Authorization: $CLOUDTOWER_TOKEN" -d '{"where":' "$SIM_URL/v2/api/get-vms")
[ "$code" = 400 ] && jq -e '.status == 400 and (.message | test("JSON"))' "$T/e.json" >/dev/null || die "bad JSON gave $code"
code=$(curl -sS -o "$T/e.json" -w '%{http_code}' -X POST -H "Authorization: $CLOUDTOWER_TOKEN" -d '{"where":{"name_in":"x"}}' "$SIM_URL/v2/api/get-vms")
[ "$code" = 400 ] || die "bad where gave $code"

# A token is not an admin secret: the state dump never shows tokens or passwords.
sim_admin state > "$T/state.json"
if grep -q "$CLOUDTOWER_TOKEN" "$T/state.json" || grep -q admin-password "$T/state.json"; then
    die "/_sim/state leaks a secret"
fi
echo "ok"
