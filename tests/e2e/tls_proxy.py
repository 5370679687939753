#!/usr/bin/env python3
"""A TLS-terminating TCP relay for the e2e tests (Python 3 stdlib only).

    tls_proxy.py --cert server.pem --key server.key --upstream 127.0.0.1:PORT \
                 --count-file FILE

Listens on 127.0.0.1 on a free port and prints its https URL as the first
stdout line. Each accepted TCP connection gets a TLS handshake and one plain
TCP connection to the upstream (hci-sim); bytes are copied both ways until
either side closes. Nothing is parsed, so keep-alive behaves exactly as
between the client and hci-sim.

After every accept it rewrites --count-file with two numbers: TCP connections
accepted, and TLS handshakes that completed. A client that reuses its
connection makes the first number stay at 1; a client that rejects the
certificate makes the second stay at 0.
"""
import argparse
import os
import socket
import ssl
import sys
import threading

lock = threading.Lock()
accepted = 0
handshakes = 0


def write_counts(path):
    # Written under the lock and renamed, so a reader never sees half a file.
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{accepted} {handshakes}\n")
    os.replace(tmp, path)


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    # Pass the close on: the other pump then ends too.
    for s in (dst, src):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(conn, context, upstream, count_file):
    global handshakes
    try:
        tls = context.wrap_socket(conn, server_side=True)
    except (ssl.SSLError, OSError):
        conn.close()  # the client refused our certificate, or spoke plain HTTP
        return
    with lock:
        handshakes += 1
        write_counts(count_file)
    try:
        up = socket.create_connection(upstream)
    except OSError:
        tls.close()
        return
    back = threading.Thread(target=pump, args=(up, tls), daemon=True)
    back.start()
    pump(tls, up)
    back.join()
    tls.close()
    up.close()


def main():
    global accepted
    p = argparse.ArgumentParser()
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--upstream", required=True, help="HOST:PORT of the plain HTTP server")
    p.add_argument("--count-file", required=True)
    args = p.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    upstream = (host, int(port))

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    with lock:
        write_counts(args.count_file)
    print(f"https://127.0.0.1:{listener.getsockname()[1]}", flush=True)

    while True:
        conn, _ = listener.accept()
        with lock:
            accepted += 1
            write_counts(args.count_file)
        threading.Thread(target=serve, args=(conn, context, upstream, args.count_file), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
