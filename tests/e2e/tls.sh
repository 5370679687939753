# Sourced by the tls-* and keepalive-* scenarios after lib.sh (no #! line, so
# ctest does not run it): certificates made with the openssl CLI, and an HTTPS
# front (tests/e2e/tls_proxy.py) for the simulator on 127.0.0.1.
#   tls_make_ca NAME            self-signed CA: $T/NAME.pem, $T/NAME.key
#   tls_make_server_cert CA     $T/server.pem for IP 127.0.0.1, signed by CA
#   tls_proxy_start             proxies $SIM_URL; sets PROXY_URL, PROXY_PID, PROXY_COUNTS
#   tls_proxy_accepted          TCP connections the proxy accepted so far
#   tls_proxy_handshakes        TLS handshakes that completed so far

command -v openssl >/dev/null || skip "the openssl CLI is not installed (Debian package openssl)"
command -v python3 >/dev/null || skip "python3 is not installed"
# The scenarios decide about TLS themselves; nothing from the caller's
# environment may trust or route for them.
unset CLOUDTOWER_CACERT CLOUDTOWER_INSECURE https_proxy HTTPS_PROXY all_proxy ALL_PROXY

tls_make_ca() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=hci-e2e test CA $1" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$T/$1.key" -out "$T/$1.pem" 2>"$T/openssl.err" || die "openssl: $(cat "$T/openssl.err")"
}

tls_make_server_cert() {
    local ca=$1
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$T/server.key" -out "$T/server.csr" 2>"$T/openssl.err" || die "openssl: $(cat "$T/openssl.err")"
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$T/server.ext"
    openssl x509 -req -in "$T/server.csr" -CA "$T/$ca.pem" -CAkey "$T/$ca.key" -CAcreateserial \
        -days 2 -extfile "$T/server.ext" -out "$T/server.pem" 2>"$T/openssl.err" || die "openssl: $(cat "$T/openssl.err")"
}

tls_proxy_start() {
    PROXY_COUNTS="$T/proxy.counts"
    python3 "$HCI_SOURCE_DIR/tests/e2e/tls_proxy.py" --cert "$T/server.pem" --key "$T/server.key" \
        --upstream "${SIM_URL#http://}" --count-file "$PROXY_COUNTS" >"$T/proxy.out" 2>"$T/proxy.err" &
    PROXY_PID=$!
    on_exit 'kill -TERM "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null'
    PROXY_URL=$(await_url tls_proxy.py "$PROXY_PID" "$T/proxy.out" "$T/proxy.err")
    # The proxy really speaks TLS with our certificate (checked by curl, not by us).
    curl -fsS --cacert "$T/ca.pem" -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' \
        -H "Authorization: $CLOUDTOWER_TOKEN" -d '{"where":{"name":"no-such-vm"}}' "$PROXY_URL/v2/api/get-vms" \
        >/dev/null 2>"$T/curl.err" || die "curl through the TLS proxy failed: $(cat "$T/curl.err")"
}

tls_proxy_accepted() { cut -d' ' -f1 "$PROXY_COUNTS"; }
tls_proxy_handshakes() { cut -d' ' -f2 "$PROXY_COUNTS"; }

# tls_front: a CA "ca" that signed the certificate of a TLS proxy in front of
# the running simulator (PROXY_URL).
tls_front() {
    tls_make_ca ca
    tls_make_server_cert ca
    tls_proxy_start
}

# tls_setup: the usual scene: hci-sim without tgtd behind tls_front, an
# unrelated CA "other", and CLOUDTOWER_ENDPOINT at the proxy.
tls_setup() {
    start_sim --no-tgtd
    tls_front
    tls_make_ca other
    export CLOUDTOWER_ENDPOINT="$PROXY_URL"
}
