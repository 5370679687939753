#!/bin/bash
# Credentials from a token file and from username/password (login); the
# secrets never show in verbose output.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
start_sim --no-tgtd

printf '%s\n' "$CLOUDTOWER_TOKEN" > "$T/token"
chmod 600 "$T/token"
env -u CLOUDTOWER_TOKEN hci-vm-get --token-file "$T/token" --name web01 > "$T/a.jsonl" || die "--token-file failed"
env -u CLOUDTOWER_TOKEN CLOUDTOWER_TOKEN_FILE="$T/token" hci-vm-get --name web01 > "$T/b.jsonl" || die "CLOUDTOWER_TOKEN_FILE failed"
env -u CLOUDTOWER_TOKEN CLOUDTOWER_USERNAME=admin CLOUDTOWER_PASSWORD=admin-password \
    hci-vm-get -v -v --name web01 > "$T/c.jsonl" 2> "$T/c.err" || die "login failed: $(cat "$T/c.err")"
for f in a b c; do [ "$(jq -r .name "$T/$f.jsonl")" = web01 ] || die "$f: web01 not printed"; done
! grep -q admin-password "$T/c.err" || die "the password leaked"
! grep -qF "$CLOUDTOWER_TOKEN" "$T/c.err" || die "a token leaked"
# --token-file beats CLOUDTOWER_TOKEN.
echo wrong > "$T/bad"
chmod 600 "$T/bad"
expect_exit 3 hci-vm-get --token-file "$T/bad" --name web01 2>/dev/null
got=0
env -u CLOUDTOWER_TOKEN CLOUDTOWER_USERNAME=admin CLOUDTOWER_PASSWORD=wrong hci-vm-get --name web01 2> "$T/d.err" >/dev/null || got=$?
[ "$got" -eq 3 ] || die "bad password: expected exit 3, got $got"
grep -q 'login: HTTP' "$T/d.err" || die "unclear login error: $(cat "$T/d.err")"
# A refused login is about the user name and password, not a token.
grep -q 'refused the user name and password' "$T/d.err" || die "the login error does not say the credentials were refused: $(cat "$T/d.err")"
grep -qi 'token' "$T/d.err" && die "a refused login talks about a token: $(cat "$T/d.err")"
echo "ok: credentials"
