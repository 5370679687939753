#!/bin/bash
# An http:// endpoint whose server redirects to https:// (as a web server in
# front of CloudTower may): the redirect is not followed (the token must not
# travel elsewhere unseen), the call fails with exit 3 and says which
# endpoint to use; that endpoint then works.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/tls.sh"
start_sim --no-tgtd
tls_front

# A plain HTTP server that answers every POST with 308 to the TLS proxy.
python3 - "$PROXY_URL" >"$T/redirect.out" 2>"$T/redirect.err" <<'PY' &
import http.server, sys
target = sys.argv[1]
class Redirect(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(308)
        self.send_header("Location", target + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Redirect)
print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
PY
REDIRECT_PID=$!
on_exit 'kill -TERM "$REDIRECT_PID" 2>/dev/null; wait "$REDIRECT_PID" 2>/dev/null'
REDIRECT_URL=$(await_url "the redirecting server" "$REDIRECT_PID" "$T/redirect.out" "$T/redirect.err")

before=$(tls_proxy_accepted)
expect_fail 3 hci-vm-get --endpoint "$REDIRECT_URL" --cacert "$T/ca.pem" --name web01
[ ! -s "$T/out" ] || die "printed lines: the redirect was followed"
[ "$(tls_proxy_accepted)" -eq "$before" ] || die "the redirect was followed to $PROXY_URL"
grep -qF "get-vms: HTTP 308" "$T/err" || die "unclear error: $(cat "$T/err")"
grep -qF "the server redirects to $PROXY_URL: use that as the endpoint" "$T/err" || die "no hint at the https endpoint: $(cat "$T/err")"
hci-vm-get --endpoint "$PROXY_URL" --cacert "$T/ca.pem" --name web01 >"$T/ok.jsonl" || die "the suggested endpoint failed"
[ "$(jq -r .name "$T/ok.jsonl")" = web01 ] || die "web01 not printed through the suggested endpoint"
echo "ok: $(cat "$T/err")"
